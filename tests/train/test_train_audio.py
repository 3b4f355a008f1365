"""``deepfake train audio`` and ``deepfake evaluate audio`` end to end on a tiny ASVspoof-layout dataset the
test writes; ``deepfake evaluate audio`` on the real labelled clips of ../shared/media when present."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from shared.cli import main

PLOTS = {"confusion_file.png", "roc_file.png", "pr_file.png", "calibration_file.png", "histogram_file.png",
         "mel_examples.png"}


@pytest.fixture(autouse=True)
def _two_threads() -> None:
    torch.set_num_threads(2)


@pytest.fixture(scope="module")
def tiny_la(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from fixtures_audio import write_tiny_asvspoof_la

    return write_tiny_asvspoof_la(tmp_path_factory.mktemp("la"), per_class=4, seconds=2.0)


def _check_report(out: Path, n: int) -> dict:
    metrics = json.loads((out / "metrics.json").read_text())
    m = metrics["levels"]["file"]
    assert m["n"] == n
    for key in ("auc", "log_loss", "accuracy", "f1", "precision", "recall", "eer", "threshold"):
        assert key in m
    assert {p.name for p in (out / "plots").iterdir()} == PLOTS
    page = (out / "report.html").read_text()
    assert page.count("data:image/png;base64,") == len(PLOTS)
    return metrics


@pytest.mark.slow
def test_melcnn_trains_resumes_exports_and_evaluates(tiny_la: Path, tmp_path: Path, capsys) -> None:
    run = tmp_path / "run"
    args = ["train", "audio", "--arch", "melcnn", "--data", str(tiny_la), "--out", str(run), "--batch-size", "4",
            "--quiet", "--epochs", "1"]
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["epochs_run"] == 1 and summary["split"]["train"] == {"real": 4, "fake": 4}
    # an existing run is not overwritten by accident; --resume continues it
    assert main(args) == 2
    assert "already holds a training run" in capsys.readouterr().err
    assert main([*args[:-1], "2", "--resume"]) == 0
    history = json.loads((run / "history.json").read_text())
    assert [h["epoch"] for h in history] == [1, 2]
    assert all(np.isfinite(h["train_loss"]) and h["val_auc"] is not None for h in history)
    model_dir = run / "model"
    assert {"model.xml", "model.bin", "model.json"} <= {p.name for p in model_dir.iterdir()}
    assert (run / "training_curves.png").stat().st_size > 1000
    capsys.readouterr()

    out = tmp_path / "eval"
    assert main(["evaluate", "audio", "--model", str(model_dir), "--data", str(tiny_la), "--split", "val",
                 "--out", str(out), "--quiet"]) == 0
    metrics = _check_report(out, 8)
    assert "bonafide" in metrics["per_group"]["file"]
    assert set(metrics["per_attack"]["file"]) <= {"A01", "A02", "A03", "A04", "A05", "A06"}
    assert metrics["threshold"]["method"] == "card"


@pytest.mark.slow
def test_aasist_l_fine_tunes_from_published_weights(tiny_la: Path, tmp_path: Path, shared_weights: Path,
                                                    capsys) -> None:
    from shared.models.aasist import load_aasist

    run = tmp_path / "run"
    assert main(["train", "audio", "--arch", "aasist-l", "--init", str(shared_weights / "aasist" / "AASIST-L.pth"),
                 "--data", str(tiny_la), "--out", str(run), "--epochs", "1", "--batch-size", "2", "--max-steps", "1",
                 "--no-augment", "--quiet"]) == 0
    capsys.readouterr()
    best = run / "best.pth"
    model = load_aasist("AASIST-L", best)  # the published layout: strict load of a plain state_dict
    published = torch.load(shared_weights / "aasist" / "AASIST-L.pth", map_location="cpu", weights_only=True)
    changed = [k for k, v in model.state_dict().items() if not torch.equal(v, published[k])]
    assert changed, "one training step must move some weights"
    card = json.loads((run / "model" / "model.json").read_text())
    assert card["architecture"] == "AASIST-L" and "train split" in card["training_data"]


def test_calibration_is_fitted_on_validation_and_saved(tiny_la: Path, tmp_path: Path, melcnn_model_dir: Path,
                                                        capsys) -> None:
    import shutil

    model = tmp_path / "model"
    shutil.copytree(melcnn_model_dir, model)
    out = tmp_path / "eval"
    assert main(["evaluate", "audio", "--model", str(model), "--data", str(tiny_la), "--split", "train",
                 "--threshold", "eer", "--calibrate", "--save-calibration", "--out", str(out), "--quiet"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["threshold"]["chosen_on"] == "the validation split"
    assert "file (before calibration)" in metrics["levels"]
    card = json.loads((model / "model.json").read_text())
    assert card["calibration"]["method"] == "platt" and "validation split" in card["calibration"]["fitted_on"]
    assert card["decision_threshold"] == pytest.approx(metrics["threshold"]["value"])


@pytest.mark.slow
def test_evaluate_audio_on_the_shared_labelled_clips(shared_media: Path, aasist_l_model_dir: Path, tmp_path: Path,
                                                     capsys) -> None:
    out = tmp_path / "eval"
    assert main(["evaluate", "audio", "--model", str(aasist_l_model_dir), "--data",
                 str(shared_media / "manifest-audio.csv"), "--split", "all", "--limit", "16", "--out", str(out),
                 "--quiet"]) == 0
    metrics = _check_report(out, 16)
    assert metrics["data"]["evaluated"]["real"] + metrics["data"]["evaluated"]["fake"] == 16
    assert set(metrics["per_group"]["file"]) <= {"LibriSpeech", "Tortoise", "LJSpeech-WaveFake", "ASVspoof2019-LA"}


def test_bad_data_is_one_clear_line(tmp_path: Path, capsys) -> None:
    assert main(["train", "audio", "--arch", "melcnn", "--data", str(tmp_path / "missing"), "--out",
                 str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("deepfake: error:") and "Traceback" not in err


@pytest.mark.slow
def test_aasist_l_head_only_changes_only_the_output_layer(tiny_la: Path, tmp_path: Path, shared_weights: Path,
                                                          capsys) -> None:
    from shared.models.aasist import load_aasist

    run = tmp_path / "run"
    published_path = shared_weights / "aasist" / "AASIST-L.pth"
    assert main(["train", "audio", "--arch", "aasist-l", "--init", str(published_path), "--head-only",
                 "--feature-passes", "1", "--data", str(tiny_la), "--out", str(run), "--epochs", "3",
                 "--no-export", "--quiet"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["mode"] == "head-only" and summary["train_windows"] == 8
    model = load_aasist("AASIST-L", run / "best.pth")  # complete, strictly loadable published layout
    published = torch.load(published_path, map_location="cpu", weights_only=True)
    changed = {k for k, v in model.state_dict().items() if not torch.equal(v, published[k])}
    assert changed == {"out_layer.weight", "out_layer.bias"}


def test_source_filters_keep_and_drop_sources(shared_media: Path) -> None:
    from shared.datasets import load_dataset
    from shared.errors import InvalidArgument
    from shared.training.data import filter_sources

    data = load_dataset(shared_media / "manifest-audio.csv")
    held_out = filter_sources(data, only=["Tortoise"])
    rest = filter_sources(data, exclude=["Tortoise"])
    assert {s.source for s in held_out.samples} == {"Tortoise"}
    assert "Tortoise" not in {s.source for s in rest.samples}
    assert len(held_out) + len(rest) == len(data)
    with pytest.raises(InvalidArgument, match="unknown source"):
        filter_sources(data, exclude=["Tortoisse"])
