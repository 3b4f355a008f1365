"""Settings of the provenance checks (``DEEPFAKE_PROVENANCE_*``).

Kept here until the lead moves the class beside the others in ``shared/settings.py``. Defaults are the
safe ones: no trust list (so no signer is called "trusted"), no network (a manifest stored at a URL is
reported, never fetched), and bounds on what a hostile file can make the reader spend.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


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
