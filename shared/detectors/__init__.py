"""The detector registry: every kind of evidence the pipeline runs, by name (after timm's registry).

``register_detector`` adds a :class:`~shared.detectors.base.Detector` subclass; the pipeline, the worker,
the gateway's readiness check and the report loop over :func:`detector_classes` instead of naming kinds.
Adding a kind of evidence is one module here plus one line in ``_BUILTIN`` (see ``docs/DESIGN.md``).
"""

from __future__ import annotations

import importlib
from typing import Any

from shared.detectors.base import Detector, model_info
from shared.errors import UnknownModel

_DETECTORS: dict[str, type[Detector]] = {}
#: the built-in detectors, in report order: module and class, imported on first use
_BUILTIN = (
    ("shared.detectors.faces", "FaceEvidence"),
    ("shared.detectors.voice", "VoiceEvidence"),
    ("shared.detectors.provenance", "ProvenanceEvidence"),
)


def register_detector(cls: type[Detector]) -> type[Detector]:
    """Class decorator: register a detector under ``cls.name``."""
    if cls.name in _DETECTORS and _DETECTORS[cls.name] is not cls:
        raise ValueError(f"detector {cls.name!r} registered twice")
    _DETECTORS[cls.name] = cls
    return cls


def _load_builtin() -> None:
    for module, _ in _BUILTIN:
        importlib.import_module(module)


def detector_classes() -> list[type[Detector]]:
    """Every registered detector class, built-ins first in report order."""
    _load_builtin()
    builtin = [_DETECTORS[getattr(importlib.import_module(m), c).name] for m, c in _BUILTIN]
    return builtin + [cls for cls in _DETECTORS.values() if cls not in builtin]


def get_detector_class(name: str) -> type[Detector]:
    _load_builtin()
    try:
        return _DETECTORS[name]
    except KeyError:
        raise UnknownModel(f"unknown detector {name!r}; known detectors: {', '.join(sorted(_DETECTORS))}") from None


def model_roles() -> list[str]:
    """The model roles the detectors score with ("video", "audio"): the inference services a stack needs."""
    return [c.model_role for c in detector_classes() if c.model_role is not None]


def build_detectors(
    scorers: dict[str, Any] | None = None, unavailable: dict[str, str] | None = None
) -> list[Detector]:
    """One instance of every detector, each with the scorer of its model role (``None`` if absent)."""
    scorers = scorers or {}
    unavailable = unavailable or {}
    out = []
    for cls in detector_classes():
        role = cls.model_role
        out.append(
            cls(
                scorers.get(role) if role else None,
                unavailable=unavailable.get(role) if role else None,
            )
        )
    return out


__all__ = [
    "Detector",
    "build_detectors",
    "detector_classes",
    "get_detector_class",
    "model_info",
    "model_roles",
    "register_detector",
]
