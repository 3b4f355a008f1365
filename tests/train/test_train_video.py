"""``deepfake train video`` and ``deepfake evaluate video`` end to end on tiny videos the test makes, the
face cache (extract once, resume, atomic entries), and ``deepfake evaluate video`` on ../shared/media."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from shared.cli import main

VIDEO_PLOTS = {f"{kind}_{level}.png" for kind in ("confusion", "roc", "pr", "calibration", "histogram")
               for level in ("video", "frame")}


@pytest.fixture(autouse=True)
def _two_threads() -> None:
    torch.set_num_threads(2)


def _face_clip(path: Path, *, fake: bool, shift: int) -> Path:
    """6 frames, 640x360, the astronaut's face; "fake" clips have the face blurred and brightened, a
    stand-in manipulation a detector can pick up (and MTCNN still finds)."""
    import cv2
    from fixtures_media import astronaut_face, write_video

    face = astronaut_face(200)
    if fake:
        face = np.clip(cv2.GaussianBlur(face, (7, 7), 0).astype(np.int16) + 25, 0, 255).astype(np.uint8)

    def frame(i: int) -> np.ndarray:
        img = np.full((360, 640, 3), (90 + 10 * shift, 120, 140), np.uint8)
        x, y = 200 + 8 * i + 20 * shift, 70 + 3 * i
        img[y : y + 200, x : x + 200] = face
        return img

    path.parent.mkdir(parents=True, exist_ok=True)
    return write_video(path, frame, 6)


@pytest.fixture(scope="module")
def tiny_faces_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("faces-data")
    for split, shift in (("train", 0), ("val", 1)):
        _face_clip(root / split / "real" / f"r{shift}.mp4", fake=False, shift=shift)
        _face_clip(root / split / "fake" / f"f{shift}.mp4", fake=True, shift=shift)
    return root


@pytest.mark.slow
def test_train_video_checkpoint_resume_export_and_evaluate(tiny_faces_dataset: Path, tmp_path: Path, capsys) -> None:
    from shared.modelcard import ModelCard
    from shared.models.icpr import load_published

    run, cache = tmp_path / "run", tmp_path / "faces"
    args = ["train", "video", "--arch", "EfficientNetB4", "--data", str(tiny_faces_dataset), "--out", str(run),
            "--frames", "2", "--batch-size", "2", "--max-steps", "1", "--face-cache", str(cache), "--quiet",
            "--epochs", "1"]
    assert main([*args, "--no-export"]) == 0  # the resumed run below exports
    summary = json.loads(capsys.readouterr().out)
    assert summary["train_faces"] == 4 and summary["val_faces"] == 4
    assert summary["split"]["train"] == {"real": 1, "fake": 1} and "model_dir" not in summary
    assert main([*args[:-1], "2", "--resume"]) == 0
    capsys.readouterr()
    history = json.loads((run / "history.json").read_text())
    assert [h["epoch"] for h in history] == [1, 2]
    # the best checkpoint is in the published layout: the strict published loader takes it
    load_published("EfficientNetB4", run / "bestval.pth")
    card = ModelCard.load(run / "model")
    assert card.architecture == "EfficientNetB4" and card.kind == "video"
    assert "train split" in (card.training_data or "") and "validation_loss" in card.reported_metrics
    assert (run / "training_curves.png").stat().st_size > 1000

    out = tmp_path / "eval"
    assert main(["evaluate", "video", "--model", str(run / "model"), "--data", str(tiny_faces_dataset),
                 "--split", "val", "--frames", "2", "--face-cache", str(cache), "--out", str(out), "--quiet",
                 # the "fake" clips' faces are blurred on purpose, and the face mesh does not see a face in
                 # one of them: this test counts the faces found, face verification has tests of its own
                 "--no-face-verification"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["levels"]["video"]["n"] == 2 and metrics["levels"]["frame"]["n"] == 4
    for key in ("auc", "log_loss", "accuracy", "f1", "precision", "recall", "eer"):
        assert key in metrics["levels"]["video"]
    assert {p.name for p in (out / "plots").iterdir()} == VIDEO_PLOTS
    assert (out / "report.html").read_text().count("data:image/png;base64,") == len(VIDEO_PLOTS)


def test_face_cache_extracts_once_resumes_and_records_failures(face_video: Path, tmp_path: Path) -> None:
    from shared.datasets.facecache import ExtractionSettings, FaceCache

    cache = FaceCache(tmp_path / "c", ExtractionSettings(frames=3))
    entry = cache.extract(face_video)
    assert len(entry) == 3 and entry.faces.shape == (3, 224, 224, 3) and entry.faces.dtype == np.uint8
    assert entry.frame_indices.tolist() == [0, 37, 74] and entry.boxes.shape == (3, 4)
    assert entry.error is None and (entry.confidences > 0.9).all()
    folder = cache.entry_dir(face_video)
    stamp = (folder / "faces.npy").stat().st_mtime_ns
    again = cache.extract(face_video)  # from disk, not re-extracted
    assert (folder / "faces.npy").stat().st_mtime_ns == stamp
    np.testing.assert_array_equal(again.faces, entry.faces)
    assert [p.name for p in folder.parent.iterdir()] == [folder.name]  # no temporary leftovers
    other = FaceCache(tmp_path / "c", ExtractionSettings(frames=2))
    assert other.entry_dir(face_video) != folder and other.get(face_video) is None

    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video at all")
    failed = cache.extract(broken)
    assert len(failed) == 0 and failed.error
    entries = cache.extract_all([face_video, broken], progress=False)
    assert len(entries[face_video]) == 3 and entries[broken].error == failed.error


@pytest.mark.slow
def test_evaluate_video_on_the_shared_labelled_media(shared_media: Path, video_model_dir: Path, tmp_path: Path,
                                                     capsys) -> None:
    out = tmp_path / "eval"
    assert main(["evaluate", "video", "--model", str(video_model_dir), "--data",
                 str(shared_media / "manifest-visual.csv"), "--frames", "2", "--face-cache", str(tmp_path / "f"),
                 "--out", str(out), "--quiet"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    video = metrics["levels"]["video"]
    assert video["n"] + len(metrics["skipped"]) == 7 and video["n_real"] >= 1 and video["n_fake"] >= 1
    assert {p.name for p in (out / "plots").iterdir()} == VIDEO_PLOTS
