"""Strict checkpoint loading: every key present, no extra key, every shape equal, or nothing is loaded."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from shared.errors import CheckpointMismatch

_MAX_LISTED = 5


def read_checkpoint(path: Path, *, entry: str | None = None) -> Mapping[str, Any]:
    """Read a ``torch.save`` file safely (``weights_only``) and return its state_dict.

    Args:
        path: the checkpoint file.
        entry: the dict key holding the state_dict (``"net"`` for ICPR2020 files); ``None`` when the file
            is the state_dict itself (AASIST).

    Raises:
        CheckpointMismatch: unreadable, truncated, or not of the expected layout.
    """
    import torch

    path = Path(path)
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise CheckpointMismatch(f"checkpoint {path} does not exist") from None
    except Exception as exc:  # torch raises many types for truncated/garbage files
        raise CheckpointMismatch(f"checkpoint {path} is not a readable torch file ({type(exc).__name__}: {exc})") from None
    if entry is not None:
        if not isinstance(obj, Mapping) or entry not in obj:
            keys = list(obj)[:_MAX_LISTED] if isinstance(obj, Mapping) else type(obj).__name__
            raise CheckpointMismatch(f"checkpoint {path} has no {entry!r} entry (found: {keys})")
        obj = obj[entry]
    if not isinstance(obj, Mapping):
        raise CheckpointMismatch(f"checkpoint {path} does not hold a state_dict (found {type(obj).__name__})")
    return obj


def check_keys(expected: Mapping[str, Any], state_dict: Mapping[str, Any], *, header: str) -> None:
    """Refuse ``state_dict`` unless its keys are exactly ``expected``'s and every shape is equal.

    Args:
        expected: key → expected shape (a ``torch.Size`` or any sequence of ints).
        state_dict: the tensors read from a file.
        header: the start of the message, e.g. ``"x.pth is not a Xception checkpoint"``.

    Raises:
        CheckpointMismatch: naming the first missing, unexpected and mis-shaped keys.
    """
    missing = [k for k in expected if k not in state_dict]
    unexpected = [k for k in state_dict if k not in expected]
    wrong_shape = [
        f"{k}: expected {tuple(expected[k])}, got {tuple(getattr(state_dict[k], 'shape', ()))}"
        for k in expected
        if k in state_dict and tuple(getattr(state_dict[k], "shape", ())) != tuple(expected[k])
    ]
    if missing or unexpected or wrong_shape:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing keys (first: {', '.join(missing[:_MAX_LISTED])})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected keys (first: {', '.join(unexpected[:_MAX_LISTED])})")
        if wrong_shape:
            parts.append(f"{len(wrong_shape)} keys with the wrong shape (first: {'; '.join(wrong_shape[:_MAX_LISTED])})")
        raise CheckpointMismatch(f"{header}: " + "; ".join(parts))


def load_state_dict_strict(model: Any, state_dict: Mapping[str, Any], *, source: str = "checkpoint") -> None:
    """Load ``state_dict`` into ``model`` only if keys and shapes match exactly.

    The check runs before any tensor is copied, so a refused checkpoint leaves the model untouched.

    Raises:
        CheckpointMismatch: naming the first missing, unexpected and mis-shaped keys.
    """
    expected = {k: v.shape for k, v in model.state_dict().items()}
    check_keys(expected, state_dict, header=f"{source} does not match architecture {type(model).__name__}")
    model.load_state_dict(dict(state_dict), strict=True)
