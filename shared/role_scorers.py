"""Which models a file needs, loaded once each: the same choice for ``deepfake analyze`` and the worker.

Only the roles a file's evidence needs are loaded (``Evidence.needs_model``): an image never compiles
the voice model, and the worker never calls the voice service for it. When a role's model cannot be
had (the CLI: the model is not available; the worker: its inference service does not answer), the
file's kind decides: a role the kind requires (``Evidence.required_for``: faces for a video or an image)
fails the analysis, any other is reported as a check that could not run, with the reason, and the
rest of the report is made as usual.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shared.errors import DeepfakeError
from shared.media.probe import MediaSource
from shared.roles import ModelRole, get_role

__all__ = ["RoleScorers", "needed_roles", "scorers_for"]


@dataclass
class RoleScorers:
    """The scorers a file needs, by role name, and the roles that could not be had with why (for the report)."""

    scorers: dict[str, Any] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)


def needed_roles(source: MediaSource) -> dict[str, bool]:
    """Role name -> whether the file's kind requires it, for every role some evidence of ``source`` needs."""
    from shared.evidence.registry import evidence_classes

    needed: dict[str, bool] = {}
    for cls in evidence_classes():
        if cls.model_role is not None and cls.needs_model(source):
            required = source.facts.kind in cls.required_for
            needed[cls.model_role] = needed.get(cls.model_role, False) or required
    return needed


def not_run_reason(role: ModelRole, why: str) -> str:
    """What the report says about a check whose model could not be had (words for people)."""
    return f"the {role.label} check could not run: {why}"


def scorers_for(
    source: MediaSource,
    load: Callable[[ModelRole], Any],
    *,
    missing: tuple[type[DeepfakeError], ...],
) -> RoleScorers:
    """Load the scorer of each role ``source`` needs with ``load(role)``.

    Args:
        source: the probed file.
        load: builds (or returns the cached) scorer of a role.
        missing: the errors that mean "this role's model cannot be had now" (``ModelUnavailable``
            in-process, ``ServiceUnavailable`` for an inference service); other errors propagate.

    Raises:
        DeepfakeError: one of ``missing`` for a role the file's kind requires.
    """
    out = RoleScorers()
    for name, required in needed_roles(source).items():
        role = get_role(name)
        try:
            out.scorers[name] = load(role)
        except missing as exc:
            if required:
                raise
            out.unavailable[name] = not_run_reason(role, exc.message)
    return out
