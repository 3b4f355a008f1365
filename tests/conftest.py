"""Fixtures every test folder can use.

``shared_material`` is ``../shared`` (the product lead's read-only folder: real media, reference facts,
published AASIST weights). Tests that need it skip with a clear reason when it is absent (a fresh
machine), and run here and in CI, where it is present.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_MATERIAL = Path(os.environ.get("DEEPFAKE_SHARED_MATERIAL", REPO.parent / "shared")).resolve()


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"needs {path} (the read-only ../shared material); absent on this machine")
    return path


@pytest.fixture(scope="session")
def shared_material() -> Path:
    return _need(SHARED_MATERIAL)


@pytest.fixture(scope="session")
def shared_media(shared_material: Path) -> Path:
    return _need(shared_material / "media")


@pytest.fixture(scope="session")
def shared_reference(shared_material: Path) -> Path:
    return _need(shared_material / "reference")


@pytest.fixture(scope="session")
def shared_weights(shared_material: Path) -> Path:
    return _need(shared_material / "weights")


@pytest.fixture(scope="session")
def reference_npz(shared_reference: Path):  # -> Callable[[str], np.lib.npyio.NpzFile]
    """``np.load`` of a golden file below ``../shared/reference``, by its relative path; skips when absent."""
    import numpy as np

    def load(relative: str):  # -> np.lib.npyio.NpzFile
        return np.load(_need(shared_reference / relative))

    return load


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache_for_the_session(tmp_path_factory: pytest.TempPathFactory):  # -> Iterator[None]
    """The same for module- and session-scoped fixtures, which are made before any per-test fixture (a module
    fixture that runs the default face detector, BlazeFace, needs its weights seeded first)."""
    patch = pytest.MonkeyPatch()
    _isolate(tmp_path_factory, patch)
    yield
    patch.undo()


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never let a test read or write the user's real model cache, nor reach the internet for weights."""
    _isolate(tmp_path_factory, monkeypatch)


def _isolate(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path_factory.getbasetemp() / "deepfake-cache"
    monkeypatch.setenv("DEEPFAKE_CACHE_DIR", str(cache))
    monkeypatch.setenv("DEEPFAKE_ICPR_BASE_URL", "http://127.0.0.1:9/unreachable/")
    monkeypatch.setenv("DEEPFAKE_AASIST_BASE_URL", "http://127.0.0.1:9/unreachable/")
    monkeypatch.setenv("DEEPFAKE_BLAZEFACE_BASE_URL", "http://127.0.0.1:9/unreachable/")
    # The default face detector is BlazeFace, whose published weights a user's first run downloads. Here
    # they come from ../shared/weights (as if downloaded); where that is absent (a fresh machine), tests
    # that use the default detector run MTCNN, whose weights ship inside facenet-pytorch.
    blazeface = SHARED_MATERIAL / "weights" / "blazeface"
    downloads = cache / "downloads"
    if (blazeface / "blazeface.pth").is_file() and (blazeface / "anchors.npy").is_file():
        downloads.mkdir(parents=True, exist_ok=True)
        for name in ("blazeface.pth", "anchors.npy"):
            if not (downloads / name).is_file():
                shutil.copy(blazeface / name, downloads / name)
    else:
        monkeypatch.setenv("DEEPFAKE_DETECTOR", "mtcnn")
    from shared import settings

    settings.get_model_settings.cache_clear()
    settings.get_analyze_settings.cache_clear()


# Cross-area fixtures live in tests/fixtures_<area>.py, each owned by one area:
#   fixtures_models.py: test-made ICPR checkpoints and IR folders (video_model_dir, ...)
#   fixtures_media.py:  generated media (a video with a face and an audio track, ...), bad-input corpus
#   fixtures_audio.py:  audio model folders (AASIST from ../shared/weights), generated speech
#   fixtures_stack.py:  the running service stack (make up / make down) for end-to-end tests
# Registered as plugins so every test folder sees their fixtures (tests/ is on sys.path: rootdir conftest).
pytest_plugins = ["fixtures_models", "fixtures_media", "fixtures_audio", "fixtures_stack", "fixtures_generated"]
