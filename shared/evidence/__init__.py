"""The registry of kinds of evidence: every kind of evidence the pipeline runs, by name (after timm's registry).

``register_evidence`` adds a :class:`~shared.evidence.base.Evidence` subclass; the pipeline, the worker,
the gateway's readiness check and the report loop over :func:`evidence_classes` instead of naming kinds.
Adding a kind of evidence is one module here plus one line in ``_BUILTIN`` (see ``docs/DESIGN.md``).
"""

from __future__ import annotations

import importlib
from typing import Any

from shared.errors import UnknownModel
from shared.evidence.base import Evidence, model_info

_KINDS: dict[str, type[Evidence]] = {}
#: the built-in kinds of evidence, in report order: module and class, imported on first use
_BUILTIN = (
    ("shared.evidence.faces", "FaceEvidence"),
    ("shared.evidence.voice", "VoiceEvidence"),
    ("shared.evidence.provenance", "ProvenanceEvidence"),
    ("shared.evidence.lips", "LipsEvidence"),
    ("shared.evidence.generated", "GeneratedEvidence"),
)


def register_evidence(cls: type[Evidence]) -> type[Evidence]:
    """Class decorator: register a kind of evidence under ``cls.name``."""
    if cls.name in _KINDS and _KINDS[cls.name] is not cls:
        raise ValueError(f"kind of evidence {cls.name!r} registered twice")
    _KINDS[cls.name] = cls
    return cls


def _load_builtin() -> None:
    for module, _ in _BUILTIN:
        importlib.import_module(module)


def evidence_classes() -> list[type[Evidence]]:
    """Every registered kind of evidence, built-ins first in report order."""
    _load_builtin()
    builtin = [_KINDS[getattr(importlib.import_module(m), c).name] for m, c in _BUILTIN]
    return builtin + [cls for cls in _KINDS.values() if cls not in builtin]


def get_evidence_class(name: str) -> type[Evidence]:
    _load_builtin()
    try:
        return _KINDS[name]
    except KeyError:
        raise UnknownModel(f"unknown kind of evidence {name!r}; known kinds: {', '.join(sorted(_KINDS))}") from None


def build_evidence(
    scorers: dict[str, Any] | None = None, unavailable: dict[str, str] | None = None
) -> list[Evidence]:
    """One instance of every kind of evidence, each with the scorer of its model role (``None`` if absent)."""
    scorers = scorers or {}
    unavailable = unavailable or {}
    out = []
    for cls in evidence_classes():
        role = cls.model_role
        out.append(
            cls(
                scorers.get(role) if role else None,
                unavailable=unavailable.get(role) if role else None,
            )
        )
    return out


__all__ = [
    "Evidence",
    "build_evidence",
    "evidence_classes",
    "get_evidence_class",
    "model_info",
    "register_evidence",
]
