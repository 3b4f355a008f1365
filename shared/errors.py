"""One flat error hierarchy for the whole project.

Each error carries the HTTP status a service answers with and a stable machine-readable ``code``.
Services turn them into ``{"error": {"code": ..., "message": ...}}`` with one handler per app; the CLI
turns them into one line on stderr and exit status 2 (bad input) or 1 (our fault).
"""

from __future__ import annotations

from typing import Any


class DeepfakeError(Exception):
    """Base class. Subclasses set ``status`` and ``code``; the message is safe to show a user."""

    status: int = 500
    code: str = "internal_error"
    #: CLI exit status: 2 for a problem with the user's input, 1 for everything else.
    exit_code: int = 1

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


class ConfigurationError(DeepfakeError):
    code = "configuration_error"
