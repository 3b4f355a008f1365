"""The registry of kinds of evidence: every kind of evidence the pipeline runs, by name (after timm's registry).

``register_evidence`` adds a :class:`~shared.evidence.base.Evidence` subclass; the pipeline, the worker,
the gateway's readiness check and the report loop over :func:`evidence_classes` instead of naming kinds.
The built-in kinds are declared in ``shared.evidence`` (``_BUILTIN``) and imported here on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from shared.errors import UnknownModel
from shared.evidence import builtin_kinds
from shared.evidence.base import Evidence

_KINDS: dict[str, type[Evidence]] = {}


def register_evidence(cls: type[Evidence]) -> type[Evidence]:
    """Class decorator: register a kind of evidence under ``cls.name``."""
    if cls.name in _KINDS and _KINDS[cls.name] is not cls:
        raise ValueError(f"kind of evidence {cls.name!r} registered twice")
    _KINDS[cls.name] = cls
    return cls


def _load_builtin() -> None:
    for kind in builtin_kinds():
        importlib.import_module(kind.module)


def evidence_classes() -> list[type[Evidence]]:
    """Every registered kind of evidence, built-ins first in report order."""
    _load_builtin()
    builtin = []
    for kind in builtin_kinds():
        cls = getattr(importlib.import_module(kind.module), kind.cls)
        if cls.name != kind.name:
            # the declaration names the module by the kind's name: one name, so they cannot drift apart
            raise ValueError(f"{kind.module}.{kind.cls} is named {cls.name!r}, declared as {kind.name!r}")
        builtin.append(_KINDS[cls.name])
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


__all__ = ["build_evidence", "evidence_classes", "get_evidence_class", "register_evidence"]
