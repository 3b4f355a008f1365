"""``deepfake models``: list, import-icpr, score (the outside contract), quantize (INT8 agreement)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from shared.cli import main
from shared.modelcard import ModelCard
from shared.video_scoring import FaceScorer, sigmoid


def test_list_names_published_models_and_architectures(capsys) -> None:
    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out
    assert "EfficientNetAutoAttB4_DFDC" in out and "Xception_FFPP" in out and "AASIST-L" in out
    assert "FaceForensics++" in out and "0.943" in out  # training data and reported AUC
    assert "EfficientNetAutoAttB4ST" in out.split("Architectures")[1]


def test_import_icpr_writes_a_model_folder_with_its_card(video_checkpoint, tmp_path, capsys) -> None:
    out_dir = tmp_path / "m"
    assert (
        main(
            [
                "models",
                "import-icpr",
                "--arch",
                "EfficientNetAutoAttB4",
                "--checkpoint",
                str(video_checkpoint),
                "--out",
                str(out_dir),
            ]
        )
        == 0
    )
    card = json.loads((out_dir / "model.json").read_text())
    assert card["architecture"] == "EfficientNetAutoAttB4" and card["precision"] == "FP32"
    assert card["source"]["file"] == video_checkpoint.name and len(card["source"]["sha256"]) == 64
    assert card["preprocessing"]["input_size"] == 224 and card["preprocessing"]["crop_policy"] == "scale"
    assert card["preprocessing"]["mean"] == [0.485, 0.456, 0.406] and card["decision_threshold"] == 0.5
    assert (out_dir / "model.xml").is_file() and (out_dir / "model.bin").is_file()


def test_import_icpr_refuses_a_wrong_checkpoint_in_one_line(video_checkpoint, tmp_path) -> None:
    # As a user runs it: a subprocess, so the exit status and stderr are what a shell sees.
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "shared.cli",
            "models",
            "import-icpr",
            "--arch",
            "Xception",
            "--checkpoint",
            str(video_checkpoint),
            "--out",
            str(tmp_path / "x"),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("deepfake: error:") and "not a Xception checkpoint" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "x").exists()


def test_score_writes_float32_logits_equal_to_the_scorer(video_model_dir, icpr_faces, tmp_path) -> None:
    faces = tmp_path / "faces.npy"
    np.save(faces, icpr_faces.faces)
    out, maps = tmp_path / "logits.npy", tmp_path / "att.npy"
    args = ["models", "score", "--model", str(video_model_dir), "--faces", str(faces), "--out", str(out)]
    assert main([*args, "--attention", str(maps)]) == 0
    logits = np.load(out)
    assert logits.dtype == np.float32 and logits.shape == (len(icpr_faces.faces),)
    expected = FaceScorer.from_folder(video_model_dir).score(icpr_faces.faces)
    np.testing.assert_array_equal(logits, expected.logits)
    assert np.load(maps).shape == (len(icpr_faces.faces), 28, 28)


def test_score_refuses_bad_faces_clearly(video_model_dir, tmp_path, capsys) -> None:
    def score(faces: Path) -> int:
        return main(["models", "score", "--model", str(video_model_dir), "--faces", str(faces),
                     "--out", str(tmp_path / "o.npy")])  # fmt: skip

    bad = tmp_path / "bad.npy"
    np.save(bad, np.zeros((2, 224, 224, 3), np.float32))
    assert score(bad) == 2
    assert "uint8" in capsys.readouterr().err
    (tmp_path / "text.npy").write_text("hello")
    assert score(tmp_path / "text.npy") == 2
    assert "not a .npy array" in capsys.readouterr().err


@pytest.fixture(scope="module")
def int8_dir(video_model_dir, icpr_faces, tmp_path_factory) -> tuple[Path, str]:
    faces, labels = tmp_path_factory.mktemp("q") / "faces.npy", tmp_path_factory.mktemp("q") / "labels.npy"
    np.save(faces, icpr_faces.faces)
    np.save(labels, icpr_faces.labels)
    out = tmp_path_factory.mktemp("int8") / "m"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "shared.cli",
            "models",
            "quantize",
            "--model",
            str(video_model_dir),
            "--calibration",
            str(faces),
            "--labels",
            str(labels),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out, proc.stdout


def test_int8_agrees_with_fp32(int8_dir, video_model_dir, icpr_faces) -> None:
    folder, printed = int8_dir
    card = ModelCard.load(folder)
    assert card.precision == "INT8" and card.source == ModelCard.load(video_model_dir).source
    assert "max |Δ probability|" in printed and "AUC on the labelled set: FP32" in printed
    p32 = sigmoid(FaceScorer.from_folder(video_model_dir).score(icpr_faces.faces).logits)
    int8 = FaceScorer.from_folder(folder).score(icpr_faces.faces)
    p8 = sigmoid(int8.logits)
    # INT8 moves probabilities somewhat and keeps their order. Bounds from a measurement on this kind of
    # random-weight model (which quantizes worse than trained ones): mean |Δp| 0.05, max 0.17, Spearman
    # 0.97 on the 15 real faces. A broken quantization (e.g. wrong input scaling) moves them by ~0.5.
    delta = np.abs(p32 - p8)
    assert delta.mean() < 0.1 and delta.max() < 0.3, delta
    # INT8 is opt-in and carries its own measurement against FP32 (the same faces, measured again here)
    parity = card.precision_parity
    assert parity is not None and card.inference_precision == "f32"
    assert parity.max_abs_delta == pytest.approx(delta.max(), abs=1e-5)
    assert parity.mean_abs_delta == pytest.approx(delta.mean(), abs=1e-5)
    from scipy.stats import spearmanr

    assert spearmanr(p32, p8).statistic > 0.8
    assert int8.attention is not None and int8.attention.shape == (len(p8), 28, 28)
    # The INT8 IR really holds quantized operations.
    assert (
        "FakeQuantize" in (folder / "model.xml").read_text()
        or "fake_quantize" in (folder / "model.xml").read_text().lower()
    )
