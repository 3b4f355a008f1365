"""One flat error hierarchy for the whole project.

Each error carries the HTTP status a service answers with and a stable machine-readable ``code``.
Services turn them into ``{"error": {"code": ..., "message": ...}}`` with one handler per app; the CLI
turns them into one line on stderr and exit status 2 (bad input) or 1 (our fault).
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class DeepfakeError(Exception):
    """Base class. Subclasses set ``status`` and ``code``; the message is safe to show a user."""

    status: int = 500
    code: str = "internal_error"
    #: CLI exit status: 2 for a problem with the user's input, 1 for everything else.
    exit_code: int = 1
    #: whether another attempt of a job that failed with this error can succeed (the worker retries
    #: only these, while retries are left); bad input never is
    retryable: bool = True

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_body(self) -> dict[str, Any]:
        """The error body every service returns (pinned by a test)."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return {"error": body}


# --- the user's input ---------------------------------------------------------------------------
class BadInput(DeepfakeError):
    status = 400
    code = "bad_input"
    exit_code = 2
    retryable = False


class MediaNotFound(BadInput):
    status = 404
    code = "media_not_found"


class EmptyMedia(BadInput):
    status = 422
    code = "empty_media"


class UnsupportedMedia(BadInput):
    status = 415
    code = "unsupported_media"


class CorruptMedia(BadInput):
    status = 422
    code = "corrupt_media"


class NoUsableStream(BadInput):
    status = 422
    code = "no_usable_stream"


class NoAudioStream(BadInput):
    status = 422
    code = "no_audio_stream"


class FileTooLarge(BadInput):
    status = 413
    code = "file_too_large"


class InvalidArgument(BadInput):
    status = 422
    code = "invalid_argument"


class CallbackRefused(BadInput):
    """A ``callback_url`` this service will not POST to (loopback, private, link-local, its own ports...)."""

    status = 422
    code = "callback_url_refused"


# --- models and weights -------------------------------------------------------------------------
class UnknownModel(BadInput):
    status = 404
    code = "unknown_model"


class CheckpointMismatch(DeepfakeError):
    """A checkpoint whose keys or shapes do not match the architecture. Nothing is half-loaded."""

    status = 422
    code = "checkpoint_mismatch"
    exit_code = 2


class ChecksumMismatch(DeepfakeError):
    status = 502
    code = "checksum_mismatch"


class DownloadFailed(DeepfakeError):
    status = 502
    code = "download_failed"


class ModelUnavailable(DeepfakeError):
    """The model is not in the cache and cannot be fetched; the message says how to get it."""

    status = 503
    code = "model_unavailable"


# --- the service --------------------------------------------------------------------------------
class Unauthorized(DeepfakeError):
    status = 401
    code = "unauthorized"


class JobNotFound(DeepfakeError):
    status = 404
    code = "job_not_found"


class QueueUnavailable(DeepfakeError):
    status = 503
    code = "queue_unavailable"


class ServiceUnavailable(DeepfakeError):
    status = 503
    code = "service_unavailable"


class StorageUnavailable(DeepfakeError):
    """The gateway cannot write the upload folder (permissions, full disk, read-only mount)."""

    status = 503
    code = "storage_unavailable"


class InferenceServiceError(DeepfakeError):
    """An inference service refused what the worker sent (a 4xx): our request was wrong, not the upload.

    Retryable: the usual cause is a service redeployed with another model or batch limit after the
    worker read its card, and the retry reconnects and reads the card again.
    """

    status = 502
    code = "inference_failed"


class ModelContractError(DeepfakeError):
    """A model's outputs break its contract (missing output, wrong shape, NaN or infinite values).

    Not retryable: the same model gives the same outputs for the same inputs.
    """

    status = 500
    code = "model_contract"
    retryable = False


class ConfigurationError(DeepfakeError):
    code = "configuration_error"


class MissingDependency(DeepfakeError):
    """An optional package is not installed; the message names the extra that provides it."""

    code = "missing_dependency"
    retryable = False


#: our own top-level packages: one of them missing is a broken checkout, not a missing extra
_OWN_PACKAGES = frozenset({"shared", "gateway", "preprocess_worker", "video_service", "audio_service"})


def require(module: str, extra: str, *, needed_for: str | None = None) -> ModuleType:
    """Import ``module``, or fail with one error naming the extra to install.

    Use it where an optional dependency is first needed (a package's ``__init__``, or inside the
    function that needs it), never behind a silent fallback.

    Args:
        module: dotted module name, e.g. ``"fastapi"`` or ``"openvino"``.
        extra: the ``pyproject.toml`` extra that installs it (``gateway``, ``ml``, ``train``, ``dev``).
        needed_for: what needs it, for the message (default: the module's name).

    Raises:
        MissingDependency: ``module`` (or a package it imports) is not installed.
    """
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        missing = exc.name or module
        if missing.split(".")[0] in _OWN_PACKAGES:
            raise  # a broken checkout, not something pip install would fix
        raise MissingDependency(
            f"{needed_for or module} needs the Python package {missing!r}, which is not installed: "
            f"pip install 'deepfake-detect[{extra}]' (or `make setup`)",
            module=missing,
            extra=extra,
        ) from exc
