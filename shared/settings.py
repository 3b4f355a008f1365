"""Settings, one class per service, all read from the environment (pydantic-settings).

``DEEPFAKE_VIDEO_MODEL`` / ``DEEPFAKE_AUDIO_MODEL`` pick the models everywhere (the CLI, the worker, the
inference services): each is a registry name (``deepfake models list``) or a model folder made by
``deepfake models import-icpr`` / ``fetch``. Services add their own prefixed classes below; each is served
by an ``@lru_cache`` getter so tests can override it.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_cache_dir() -> Path:
    import os

    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "deepfake"


class ModelSettings(BaseSettings):
    """Where models come from. Shared by every process that runs a model."""

    model_config = SettingsConfigDict(env_prefix="DEEPFAKE_", extra="ignore")

    video_model: str = Field(
        "EfficientNetAutoAttB4_DFDC", description="registry name or model folder for faces"
    )
    audio_model: str = Field("AASIST", description="registry name or model folder for speech")
    cache_dir: Path = Field(default_factory=_default_cache_dir, description="downloads and converted IRs")
    icpr_base_url: str = Field(
        "https://f002.backblazeb2.com/file/icpr2020/", description="where the ICPR2020 checkpoints live"
    )
    aasist_base_url: str = Field(
        "https://github.com/clovaai/aasist/raw/main/models/weights/",
        description="where the AASIST checkpoints live",
    )
    ov_cache_dir: Path | None = Field(None, description="OpenVINO compiled-blob cache (default: cache_dir/ov)")
    inference_threads: int = Field(0, description="CPU threads for inference; 0 = all cores")
    offline: bool = Field(False, description="never download; fail with instructions instead")

    @property
    def ov_cache(self) -> Path:
        return self.ov_cache_dir or (self.cache_dir / "ov")


class AnalyzeSettings(ModelSettings):
    """Sampling and detection defaults of the pipeline (CLI flags override them)."""

    model_config = SettingsConfigDict(env_prefix="DEEPFAKE_", extra="ignore")

    every: int = Field(2, ge=1, description="analyze every K-th frame (the seed's default: every second frame)")
    max_frames: int = Field(300, ge=1, description="cap on analyzed frames; spread evenly beyond it")
    detector_max_side: int = Field(640, ge=64, description="frames are downscaled to this for face detection")
    min_face_size: int = Field(40, ge=10, description="MTCNN min face size, in detector pixels")
    uncertain_low: float = Field(0.35, ge=0.0, le=1.0, description="below: real")
    uncertain_high: float = Field(0.65, ge=0.0, le=1.0, description="above: fake; in between: uncertain")


@lru_cache
def get_model_settings() -> ModelSettings:
    return ModelSettings()


@lru_cache
def get_analyze_settings() -> AnalyzeSettings:
    return AnalyzeSettings()
