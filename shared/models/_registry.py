"""Architecture registry (after timm's ``_registry.py``): networks are registered by name and built
with ``create_model(name)``. An unknown name raises with the list of known ones.

Published *weights* are a different registry (``shared.registry``): one architecture can have several.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shared.errors import UnknownModel

_MODELS: dict[str, Callable[..., Any]] = {}


def register_model(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: register a function that builds the architecture ``name`` (random weights)."""

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        if name in _MODELS:
            raise ValueError(f"architecture {name!r} registered twice")
        _MODELS[name] = fn
        return fn

    return wrap


def _load_all() -> None:
    # Importing the families registers them; done lazily so `import shared.models` stays cheap.
    import importlib

    for family in ("icpr", "aasist", "melcnn", "blazeface"):
        importlib.import_module(f"shared.models.{family}")


def list_models() -> list[str]:
    _load_all()
    return sorted(_MODELS)


def create_model(name: str, **kwargs: Any) -> Any:
    """Build a registered architecture (an ``torch.nn.Module`` in eval mode is the caller's job)."""
    _load_all()
    try:
        fn = _MODELS[name]
    except KeyError:
        raise UnknownModel(f"unknown architecture {name!r}; known architectures: {', '.join(sorted(_MODELS))}") from None
    return fn(**kwargs)
