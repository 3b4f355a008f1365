"""``deepfake audio import | score | evaluate-media`` through the real CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile

from shared.cli import main


def _write_manifest(folder: Path) -> Path:
    rng = np.random.default_rng(0)
    lines = ["path,label,attack_id_if_known,source_repo,source_path,how_label_was_established"]
    for i in range(6):
        name = f"clip{i}.wav"
        soundfile.write(str(folder / name), rng.normal(0, 0.1, 40_000).astype(np.float32), 16000)
        label = "bonafide" if i % 2 == 0 else "spoof"
        lines.append(f"{name},{label},,someone/repo,{name},test")
    soundfile.write(str(folder / "short.wav"), rng.normal(0, 0.1, 8000).astype(np.float32), 16000)
    lines.append("short.wav,spoof,,someone/repo,short.wav,test")
    (folder / "manifest.csv").write_text("\n".join(lines) + "\n")
    return folder / "manifest.csv"


def test_evaluate_media_prints_eer_per_source_and_pooled(
    tmp_path: Path, melcnn_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = _write_manifest(tmp_path)
    out_csv = tmp_path / "scores.csv"
    code = main(
        ["audio", "evaluate-media", "--model", str(melcnn_model_dir), "--manifest", str(manifest),
         "--out", str(out_csv), "--quiet"]
    )  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "7 files, 6 scored, 1 skipped" in printed
    assert "pooled" in printed and "too short" in printed
    lines = out_csv.read_text().splitlines()
    assert len(lines) == 7 and lines[0].startswith("path,source,label,score_mean,score_first")


def test_score_prints_segments_as_json(
    tmp_path: Path, melcnn_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "speech.flac"
    soundfile.write(str(path), np.random.default_rng(1).normal(0, 0.1, 100_000).astype(np.float32), 16000)
    assert main(["audio", "score", str(path), "--model", str(melcnn_model_dir), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["status"] == "analyzed" and len(result["segments"]) == 3


def test_bad_file_is_one_line_and_exit_2(
    tmp_path: Path, melcnn_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "broken.wav"
    path.write_bytes(b"RIFF\x00\x00garbage")
    assert main(["audio", "score", str(path), "--model", str(melcnn_model_dir)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("deepfake: error:")


def test_import_writes_a_model_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from shared.models.melcnn import MelCNN, save_melcnn_checkpoint

    checkpoint = save_melcnn_checkpoint(MelCNN(), tmp_path / "mine.pth", epoch=1)
    out = tmp_path / "model"
    assert main(["audio", "import", "MelCNN", str(checkpoint), "--out", str(out)]) == 0
    card = json.loads((out / "model.json").read_text())
    assert card["name"] == "mine" and card["architecture"] == "MelCNN"
    assert (out / "model.xml").is_file() and "wrote" in capsys.readouterr().out


def test_import_of_a_missing_checkpoint_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["audio", "import", "AASIST", str(tmp_path / "nope.pth"), "--out", str(tmp_path / "m")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_evaluate_media_on_real_labelled_clips(
    aasist_l_model_dir: Path, shared_media: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A few rows of the real manifest (the full run is documented in docs/audio-models.md)."""
    code = main(
        ["audio", "evaluate-media", "--model", str(aasist_l_model_dir),
         "--manifest", str(shared_media / "manifest-audio.csv"), "--limit", "4", "--quiet"]
    )  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 0 and "pooled" in printed and "AASIST-L" in printed


def test_evaluate_media_max_seconds_limits_each_file(
    tmp_path: Path, melcnn_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = _write_manifest(tmp_path)
    out_csv = tmp_path / "scores.csv"
    args = [
        "audio",
        "evaluate-media",
        "--model",
        str(melcnn_model_dir),
        "--manifest",
        str(manifest),
        "--quiet",
    ]
    assert main([*args, "--max-seconds", "1"]) == 2
    assert "at least 1.5" in capsys.readouterr().err
    assert main([*args, "--max-seconds", "2", "--out", str(out_csv)]) == 0
    assert "first 2 s of each file" in capsys.readouterr().out
    durations = [float(line.split(",")[5]) for line in out_csv.read_text().splitlines()[1:]]
    assert durations and max(durations) == 2.0
