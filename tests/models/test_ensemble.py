"""The ICPR2020 ensemble: several face models selected by one name, their logits averaged.

Members are test-made checkpoints in the published layout, converted as any published model is (the
real four members are parity-checked one by one in ``test_icpr_parity.py`` where ``../shared`` has them).
The oracle is each member's own ``FaceScorer``: the ensemble's logit is their mean.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from shared.ensemble import ICPR2020_ENSEMBLES, EnsembleFaceScorer, load_face_scorer, members_of
from shared.errors import ConfigurationError, InvalidArgument
from shared.registry import PUBLISHED
from shared.video_scoring import FaceScorer
from shared.weights import resolve_model

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def second_model_dir(icpr_faces, tmp_path_factory: pytest.TempPathFactory) -> Path:  # type: ignore[no-untyped-def]
    """A second member without attention (EfficientNetB4), trained differently (another seed)."""
    from fixtures_models import build_calibrated_model

    from shared.models.icpr import import_checkpoint, save_published_checkpoint

    model = build_calibrated_model("EfficientNetB4", icpr_faces.faces, seed=1)
    root = tmp_path_factory.mktemp("second-member")
    checkpoint = save_published_checkpoint(model, root / "EfficientNetB4_test.pth")
    out = root / "EfficientNetB4_test"
    import_checkpoint("EfficientNetB4", checkpoint, out)
    return out


def test_the_papers_ensembles_name_four_published_networks_each() -> None:
    for name, members in ICPR2020_ENSEMBLES.items():
        assert len(members) == 4 and all(m in PUBLISHED for m in members), name
        assert members_of(name) == members
    assert members_of("EfficientNetAutoAttB4_DFDC") is None
    with pytest.raises(InvalidArgument):
        members_of("ensemble:only-one")


def test_the_ensemble_logit_is_the_mean_of_its_members(
    video_model_dir: Path, second_model_dir: Path, icpr_faces
) -> None:  # type: ignore[no-untyped-def]
    folder = resolve_model(f"ensemble:{video_model_dir}+{second_model_dir}")
    scorer = load_face_scorer(folder)
    assert isinstance(scorer, EnsembleFaceScorer) and scorer.has_attention and scorer.input_size == 224
    faces = icpr_faces.faces[:6]
    a = FaceScorer.from_folder(video_model_dir).score(faces)
    b = FaceScorer.from_folder(second_model_dir).score(faces)
    assert np.ptp(a.logits - b.logits) > 1e-3  # the members disagree: an average is visible
    out = scorer.score(faces)
    np.testing.assert_allclose(out.logits, (a.logits.astype(np.float64) + b.logits) / 2, atol=1e-5)
    np.testing.assert_allclose(out.attention, a.attention, atol=1e-6)  # the one member with attention
    card = scorer.card
    assert card.calibration is None and card.operating_point is None  # nothing was measured for the mean
    assert "EfficientNetB4" in card.architecture and "EfficientNetAutoAttB4" in card.architecture


def test_members_that_cut_faces_differently_are_refused(
    video_model_dir: Path, second_model_dir: Path, tmp_path: Path
) -> None:
    other = tmp_path / "wider-margin"
    shutil.copytree(second_model_dir, other)
    card = json.loads((other / "model.json").read_text())
    card["preprocessing"]["margin"] = 0.5
    (other / "model.json").write_text(json.dumps(card))
    with pytest.raises(ConfigurationError, match="cut"):
        load_face_scorer(resolve_model(f"ensemble:{video_model_dir}+{other}"))


def test_deepfake_analyze_scores_a_video_with_an_ensemble(
    face_video: Path, video_model_dir: Path, second_model_dir: Path
) -> None:
    spec = f"ensemble:{video_model_dir}+{second_model_dir}"
    result = subprocess.run(
        [sys.executable, "-m", "shared.cli", "analyze", str(face_video), "--json", "--frames", "3",
         "--video-model", spec],
        cwd=REPO, capture_output=True, text=True, timeout=600, env={**os.environ, "OMP_NUM_THREADS": "2"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["video"]["status"] == "analyzed" and report["video"]["model"]["name"] == spec
    assert report["video"]["model"]["architecture"].startswith("ensemble(")
