"""Audio model folders for every test folder (owned by the audio area).

``aasist_model_dir`` / ``aasist_l_model_dir``: OpenVINO IR folders converted from the published AASIST
weights in ``../shared/weights/aasist`` (skip when that folder is absent). ``melcnn_model_dir``: a small,
freshly initialised mel-CNN IR that needs nothing outside the repository, so a fresh machine still has an
audio model for pipeline tests (its scores mean nothing: it is untrained).
"""

from __future__ import annotations

from pathlib import Path

import pytest


def _import_published(name: str, weights: Path, out: Path) -> Path:
    from shared.models.aasist import import_checkpoint
    from shared.registry import get_published

    checkpoint = weights / "aasist" / f"{name}.pth"
    if not checkpoint.is_file():
        pytest.skip(f"needs {checkpoint} (published AASIST weights in ../shared); absent on this machine")
    import_checkpoint(name, checkpoint, out, published=get_published(name))
    return out


@pytest.fixture(scope="session")
def aasist_model_dir(shared_weights: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Model folder (IR + model.json) of the published AASIST."""
    return _import_published("AASIST", shared_weights, tmp_path_factory.mktemp("aasist") / "AASIST")


@pytest.fixture(scope="session")
def aasist_l_model_dir(shared_weights: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Model folder (IR + model.json) of the published AASIST-L."""
    return _import_published("AASIST-L", shared_weights, tmp_path_factory.mktemp("aasist") / "AASIST-L")
