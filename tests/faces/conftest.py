"""BlazeFace fixtures: the published weights from ``../shared/weights/blazeface`` and their IR folder.

``blazeface_ir`` converts the published files once per session into a folder of its own (no model cache
involved). ``blazeface_in_cache`` (per test) places the published files in the test's download cache,
as a user without internet would, so ``resolve_model("blazeface")`` converts them on first use and the
pipeline's ``get_blazeface_detector()`` finds them.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

BLAZEFACE_FILES = ("blazeface.pth", "anchors.npy")


@pytest.fixture(scope="session")
def blazeface_weights(shared_weights: Path) -> Path:
    folder = shared_weights / "blazeface"
    if not all((folder / f).is_file() for f in BLAZEFACE_FILES):
        pytest.skip(f"needs {folder}/blazeface.pth and anchors.npy (the read-only ../shared material)")
    return folder


@pytest.fixture(scope="session")
def blazeface_golden(reference_npz):  # -> np.lib.npyio.NpzFile
    return reference_npz("blazeface/golden.npz")


@pytest.fixture(scope="session")
def blazeface_ir(blazeface_weights: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The FP32 BlazeFace model folder (model.xml, model.bin, model.json, anchors.npy) of the published files."""
    from shared.models.blazeface import import_checkpoint
    from shared.registry import get_published

    out = tmp_path_factory.mktemp("blazeface-ir") / "blazeface"
    import_checkpoint("blazeface", blazeface_weights / "blazeface.pth", out, published=get_published("blazeface"))
    return out


@pytest.fixture()
def blazeface_in_cache(blazeface_weights: Path) -> Path:
    """The published files in this test's ``downloads/`` (once per session cache); returns that folder."""
    from shared.weights import downloads_dir

    downloads = downloads_dir()
    downloads.mkdir(parents=True, exist_ok=True)
    for name in BLAZEFACE_FILES:
        if not (downloads / name).is_file():
            shutil.copy(blazeface_weights / name, downloads / name)
    return downloads
