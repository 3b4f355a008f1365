"""Settings, one class per service, all read from the environment (pydantic-settings).

``DEEPFAKE_VIDEO_MODEL`` / ``DEEPFAKE_AUDIO_MODEL`` pick the models everywhere (the CLI, the worker, the
inference services): each is a registry name (``deepfake models list``) or a model folder made by
``deepfake models import-icpr`` / ``fetch``. Services add their own prefixed classes below; each is served
by an ``@lru_cache`` getter so tests can override it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import Field, create_model, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.evidence import builtin_kinds
from shared.roles import ModelRole, get_role, roles

_Settings = TypeVar("_Settings", bound=BaseSettings)


def _with_fields(base: type[_Settings], name: str, fields: list[tuple[str, str, str]]) -> type[_Settings]:
    """``base`` plus one ``str`` field per (name, default, description), for settings that follow from a
    declaration (a model role, a kind of evidence), so a new one brings its settings along.

    Static type checkers see only ``base``: read such a field through what declared it
    (``role.model_spec(settings)``, ``role.service_url(settings)``), never by its literal name.
    """
    made: dict[str, Any] = {key: (str, Field(default, description=description)) for key, default, description in fields}
    return create_model(name, __base__=base, __module__=__name__, __doc__=base.__doc__, **made)


def _with_role_fields(
    base: type[_Settings], name: str, field: Callable[[ModelRole], tuple[str, str, str]]
) -> type[_Settings]:
    """``base`` plus one ``str`` field per model role (``shared.roles``): ``field(role)`` gives the field's
    name, default and description."""
    return _with_fields(base, name, [field(role) for role in roles()])


def _default_cache_dir() -> Path:
    import os

    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "deepfake"


class _ModelSettingsBase(BaseSettings):
    """Where models come from. Shared by every process that runs a model.

    Each model role adds ``<role>_model`` (``DEEPFAKE_VIDEO_MODEL``, ``DEEPFAKE_AUDIO_MODEL``): the
    registry name or model folder of that role, defaulting to the role's published model.
    """

    model_config = SettingsConfigDict(env_prefix="DEEPFAKE_", extra="ignore")

    cache_dir: Path = Field(default_factory=_default_cache_dir, description="downloads and converted IRs")
    icpr_base_url: str = Field(
        "https://f002.backblazeb2.com/file/icpr2020/", description="where the ICPR2020 checkpoints live"
    )
    aasist_base_url: str = Field(
        "https://github.com/clovaai/aasist/raw/main/models/weights/",
        description="where the AASIST checkpoints live",
    )
    blazeface_base_url: str = Field(
        "https://github.com/hollance/BlazeFace-PyTorch/raw/master/",
        description="where the BlazeFace face detector (blazeface.pth, anchors.npy) lives",
    )
    ov_cache_dir: Path | None = Field(None, description="OpenVINO compiled-blob cache (default: cache_dir/ov)")
    inference_threads: int = Field(0, description="CPU threads for inference; 0 = all cores")
    offline: bool = Field(False, description="never download; fail with instructions instead")

    @property
    def ov_cache(self) -> Path:
        return self.ov_cache_dir or (self.cache_dir / "ov")


if TYPE_CHECKING:
    ModelSettings = _ModelSettingsBase
else:
    ModelSettings = _with_role_fields(_ModelSettingsBase, "ModelSettings", lambda role: (
        role.model_field, role.default_model, f"registry name or model folder for {role.label}"))


class _AnalyzeSettingsBase(ModelSettings):
    """Sampling and detection defaults of the pipeline (CLI flags override them).

    Each kind of evidence that runs a model of its own adds ``<kind>_model`` (``DEEPFAKE_<KIND>_MODEL``, declared
    in ``shared.evidence``): read it through the kind's declaration (``kind.model_spec(settings)``).
    """

    model_config = SettingsConfigDict(env_prefix="DEEPFAKE_", extra="ignore")

    every: int = Field(2, ge=1, description="analyze every K-th frame (the seed's default: every second frame)")
    max_frames: int = Field(300, ge=1, description="cap on analyzed frames; spread evenly beyond it")
    detector: str = Field(
        "blazeface",
        description="face detector: 'blazeface' (default: the ICPR2020 reference stage; more faces found on "
        "DFDC/FF++ clips, faces from ~100 px in 1080p) or 'mtcnn' (small or distant faces, from ~55 px); "
        "docs/faces.md",
    )
    face_verification: bool = Field(
        True,
        description="drop detected faces that MediaPipe's face mesh does not see as a face (BlazeFace's "
        "false faces in water and gradients); docs/faces.md",
    )
    blazeface_model: str = Field("blazeface", description="BlazeFace: registry name or model folder")
    mtcnn_model: str = Field("mtcnn", description="MTCNN: registry name or model folder")
    detector_max_side: int = Field(640, ge=64, description="frames are downscaled to this for face detection")
    min_face_size: int = Field(40, ge=10, description="MTCNN min face size, in detector pixels")
    uncertain_low: float = Field(0.35, ge=0.0, le=1.0, description="below: real")
    uncertain_high: float = Field(0.65, ge=0.0, le=1.0, description="above: fake; in between: uncertain")
    min_face_confidence: float = Field(0.8, ge=0.0, le=1.0, description="MTCNN probability below which a face is dropped")
    max_audio_seconds: float = Field(600.0, gt=0, description="analyse at most this much audio per file")
    voice_budget_s: float = Field(
        60.0,
        ge=0,
        description="the voice model scores every window of up to this many seconds of speech; beyond, a number "
        "of windows that grows with the square root of the speech, spread over it (0: every window)",
    )
    max_video_pixels: int = Field(
        4096 * 4096, ge=64 * 64, description="refuse videos whose frames have more pixels (4096x4096)"
    )
    max_video_seconds: float = Field(4 * 3600.0, gt=0, description="refuse videos longer than this (4 h)")
    detect_interval_s: float = Field(
        0.25, ge=0, description="run face detection on analysed frames this far apart; interpolate between (0: all)"
    )
    faces_per_track: int = Field(
        32,
        ge=2,
        description="faces the face model scores per person (spread over their time on screen, plus up to half "
        "as many where the score changes); --frames N scores every face of its N frames",
    )
    keyframe_runs: bool = Field(
        True,
        description="long videos sampled thinly: take the frames in short runs from keyframes when that decodes "
        "at most half as many frames (shared.media.video.keyframe_runs); false: exactly every K-th frame",
    )


if TYPE_CHECKING:
    AnalyzeSettings = _AnalyzeSettingsBase
else:
    # a kind of evidence that runs a model of its own (in-process; no service) brings its setting,
    # ``<kind>_model`` (``DEEPFAKE_<KIND>_MODEL``), from its declaration in ``shared.evidence``
    AnalyzeSettings = _with_fields(_AnalyzeSettingsBase, "AnalyzeSettings", [
        (kind.model_field, kind.model_default, kind.model_description) for kind in builtin_kinds() if kind.own_model
    ])


@lru_cache
def get_model_settings() -> ModelSettings:
    return ModelSettings()


@lru_cache
def get_analyze_settings() -> AnalyzeSettings:
    return AnalyzeSettings()


# --- provenance -------------------------------------------------------------------------------------
# Defaults are the safe ones: no trust list (so no signer is called "trusted"), no network (a manifest
# stored at a URL is reported, never fetched), and bounds on what a hostile file can make the reader spend.
class ProvenanceSettings(BaseSettings):
    """What the C2PA, metadata and watermark checks may read, trust and fetch."""

    model_config = SettingsConfigDict(env_prefix="DEEPFAKE_PROVENANCE_", extra="ignore")

    trust_bundle: Path | None = Field(
        None,
        description="PEM file of trust anchors (root certificates); a signer that chains to one is "
        "'trusted'. None: signers are never verified and the report says so",
    )
    allow_remote_fetch: bool = Field(
        False, description="fetch a manifest that the file only references by URL (off: reported as 'remote')"
    )
    remote_allowed_hosts: list[str] = Field(
        default_factory=list,
        description="hosts (host or host:port) a remote manifest may be fetched from; required when "
        "allow_remote_fetch is on, so a file cannot send the reader anywhere it likes",
    )
    max_manifest_bytes: int = Field(
        8 * 1024 * 1024, ge=1024, description="largest manifest store (as the C2PA reader's JSON) taken in"
    )
    c2pa_timeout_s: float = Field(30.0, gt=0, description="seconds the C2PA reader may take on one file")
    c2pa_max_memory_mb: int = Field(
        2048, ge=64, description="address-space limit of the process that runs the C2PA reader"
    )
    max_trust_bundle_bytes: int = Field(4 * 1024 * 1024, ge=1024, description="largest trust bundle read")
    watermark_max_pixels: int = Field(
        16_777_216, ge=65_536, description="images larger than this (pixels) are not checked for watermarks"
    )
    max_metadata_value_chars: int = Field(
        2000, ge=64, description="longest metadata value copied into the report (longer ones are cut)"
    )

    @model_validator(mode="after")
    def _remote_needs_hosts(self) -> ProvenanceSettings:
        # Refuse an unsafe combination at start-up rather than letting any URL in a file be fetched.
        if self.allow_remote_fetch and not self.remote_allowed_hosts:
            raise ValueError(
                "DEEPFAKE_PROVENANCE_ALLOW_REMOTE_FETCH is on but DEEPFAKE_PROVENANCE_REMOTE_ALLOWED_HOSTS "
                "is empty: name the hosts remote manifests may come from"
            )
        return self



@lru_cache
def get_provenance_settings() -> ProvenanceSettings:
    return ProvenanceSettings()


# --- the service stack (gateway → RQ workers → inference services) ---------------------------------
# Each service has its own prefix; the fields that gateway and workers must agree on (Redis, queue,
# shared folders) live in one base class so their names and defaults cannot drift apart.
PLACEHOLDER_API_KEYS = frozenset({"", "change-me", "changeme", "secret", "placeholder", "your-api-key"})


class _JobQueueSettingsBase(BaseSettings):
    """What the gateway and the preprocess workers share: the queue, the folders both see, and where each
    model role's inference service answers (``<role>_service_url``, one per ``shared.roles`` entry)."""

    redis_url: str = Field("redis://127.0.0.1:6379/0", description="Redis holding the queue and job records")
    queue_name: str = Field("deepfake", description="RQ queue name")
    upload_dir: Path = Field(Path("run/uploads"), description="uploads land here; workers read them from here")
    artifacts_dir: Path = Field(Path("run/artifacts"), description="per-job report images (thumbnails, heatmaps)")
    webhook_allow_private: bool = Field(
        False,
        description="allow callback_url targets on loopback and private networks (development, tests); "
        "link-local, metadata and the service's own ports stay refused",
    )


if TYPE_CHECKING:
    _JobQueueSettings = _JobQueueSettingsBase
else:
    _JobQueueSettings = _with_role_fields(_JobQueueSettingsBase, "_JobQueueSettings", lambda role: (
        role.service_url_field, role.default_service_url, f"{role.service_title} ({role.service})"))


class GatewaySettings(_JobQueueSettings):
    """The HTTP front door (``DEEPFAKE_GATEWAY_*``)."""

    model_config = SettingsConfigDict(env_prefix="DEEPFAKE_GATEWAY_", extra="ignore")

    host: str = Field("127.0.0.1", description="bind address")
    port: int = Field(8000, ge=1, le=65535, description="bind port")
    max_upload_mb: float = Field(500.0, gt=0, description="larger uploads are refused with 413")
    auth_enabled: bool = Field(False, description="require X-API-Key on /v1/*")
    api_key: str = Field("change-me", description="the key clients send; refused at start-up if a placeholder")
    job_timeout: int = Field(900, ge=10, description="seconds one attempt may run before RQ stops it")
    result_ttl: int = Field(86400, ge=60, description="seconds a finished job and its report are kept")
    failure_ttl: int = Field(7 * 86400, ge=60, description="seconds a failed job is kept")
    retries: int = Field(1, ge=0, le=10, description="extra attempts after a worker loss or a transient error")
    max_worker_crashes: int = Field(
        2, ge=1, description="a job whose attempts killed this many workers fails as worker_crashed"
    )
    max_wait: float = Field(30.0, ge=0, le=30, description="cap on the `wait` form field, seconds")
    readiness_timeout: float = Field(2.0, gt=0, description="seconds /readyz waits for each dependency")
    retain_uploads: bool = Field(False, description="keep uploads after processing (default: delete them)")

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)


class WorkerSettings(_JobQueueSettings):
    """The RQ preprocess workers (``DEEPFAKE_WORKER_*``). Sampling and detection follow AnalyzeSettings."""

    model_config = SettingsConfigDict(env_prefix="DEEPFAKE_WORKER_", extra="ignore")

    make_artifacts: bool = Field(True, description="write face thumbnails/heatmaps/spectrograms for the page")
    heartbeat_interval: int = Field(5, ge=1, description="seconds between job heartbeats while a job runs")
    heartbeat_grace: int = Field(15, ge=5, description="a job whose worker is silent this long is abandoned")
    maintenance_interval: int = Field(10, ge=1, description="seconds between sweeps for abandoned jobs")
    service_timeout: float = Field(120.0, gt=0, description="seconds one inference call may take")
    service_retries: int = Field(3, ge=0, description="retries of an inference call that could not connect")
    webhook_timeout: float = Field(5.0, gt=0, le=60, description="seconds per webhook attempt")
    webhook_attempts: int = Field(3, ge=1, le=20, description="webhook delivery attempts")
    webhook_backoff: float = Field(1.0, gt=0, description="seconds before the 2nd webhook attempt; doubles after")
    opencv_threads: int = Field(1, ge=1, description="OpenCV threads per worker (the face stage's resizes)")


class _InferenceServiceSettings(BaseSettings):
    host: str = Field("127.0.0.1", description="bind address")
    max_batch: int = Field(256, ge=1, description="largest batch one /v1/infer call may send")
    performance_hint: str = Field("THROUGHPUT", description="OpenVINO PERFORMANCE_HINT")
    max_body_mb: float = Field(256.0, gt=0, description="largest /v1/infer body")


class VideoServiceSettings(_InferenceServiceSettings):
    """The face inference service (``DEEPFAKE_VIDEO_SERVICE_*``); the model is ``DEEPFAKE_VIDEO_MODEL``."""

    model_config = SettingsConfigDict(env_prefix="DEEPFAKE_VIDEO_SERVICE_", extra="ignore")

    port: int = Field(get_role("video").port, ge=1, le=65535, description="bind port")
    async_infer: bool = Field(True, description="run a request's batches on all streams (AsyncInferQueue)")


class AudioServiceSettings(_InferenceServiceSettings):
    """The speech inference service (``DEEPFAKE_AUDIO_SERVICE_*``); the model is ``DEEPFAKE_AUDIO_MODEL``."""

    model_config = SettingsConfigDict(env_prefix="DEEPFAKE_AUDIO_SERVICE_", extra="ignore")

    port: int = Field(get_role("audio").port, ge=1, le=65535, description="bind port")


@lru_cache
def get_gateway_settings() -> GatewaySettings:
    return GatewaySettings()


@lru_cache
def get_worker_settings() -> WorkerSettings:
    return WorkerSettings()


@lru_cache
def get_video_service_settings() -> VideoServiceSettings:
    return VideoServiceSettings()


@lru_cache
def get_audio_service_settings() -> AudioServiceSettings:
    return AudioServiceSettings()


def without_password(url: str) -> str:
    """``url`` with its password replaced by ``***``, for logs (a Redis that other hosts reach has one)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if not parts.password:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{user}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))
