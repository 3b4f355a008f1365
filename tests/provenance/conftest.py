"""Fixtures for the provenance tests: files signed here with the C2PA SDK, images watermarked here.

Signing uses c2pa-python's Builder with the C2PA test certificate of ``../shared/reference/c2pa``
(es256; the SDK's own test fixture, never for production). Such files validate as Valid with
``signingCredential.untrusted``, and as Trusted when the test CA bundle is configured.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from provenance_helpers import SdkSigner, encode_image

from shared.settings import ProvenanceSettings


@pytest.fixture(autouse=True)
def _default_provenance_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tests state their settings: none leak in from the environment or the cached getter."""
    from shared.settings import get_provenance_settings

    for name in list(os.environ):
        if name.startswith("DEEPFAKE_PROVENANCE_"):
            monkeypatch.delenv(name)
    get_provenance_settings.cache_clear()
    yield
    get_provenance_settings.cache_clear()


@pytest.fixture
def defaults() -> ProvenanceSettings:
    """The default settings (the environment's DEEPFAKE_PROVENANCE_* are cleared for every test)."""
    return ProvenanceSettings()


@pytest.fixture(scope="session")
def c2pa_reference(shared_reference: Path) -> Path:
    folder = shared_reference / "c2pa"
    if not folder.exists():
        pytest.skip(f"needs {folder} (C2PA test certificates)")
    return folder


@pytest.fixture(scope="session")
def trust_bundle(c2pa_reference: Path) -> Path:
    return c2pa_reference / "trust" / "test_cert_root_bundle.pem"


@pytest.fixture(scope="session")
def sdk_signer(c2pa_reference: Path) -> SdkSigner:
    return SdkSigner(
        cert=(c2pa_reference / "es256.pub").read_bytes(), key=(c2pa_reference / "es256.pem").read_bytes()
    )


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """scikit-image's public-domain astronaut photo (512x512 RGB), the size Stable Diffusion 1.x makes."""
    from skimage import data

    return np.ascontiguousarray(data.astronaut())


@pytest.fixture(scope="session")
def jpeg_bytes(astronaut: np.ndarray) -> bytes:
    return encode_image(astronaut, "JPEG", quality=92)


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, bytes], Path]:
    """Write bytes to a file in the test's folder and return its path."""

    def _write(name: str, data: bytes) -> Path:
        path = tmp_path / name
        path.write_bytes(data)
        return path

    return _write
