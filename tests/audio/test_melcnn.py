"""The seed's mel-spectrogram CNN: OpenVINO export with the front end inside, training on the LA layout
(through ``shared.training.melcnn``, the one MelCNN training path)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from fixtures_audio import write_tiny_asvspoof_la

from shared.audio_scoring import AudioScorer, score_audio, tile_to
from shared.datasets.asvspoof import parse_protocol, read_asvspoof2019_la
from shared.errors import CheckpointMismatch, InvalidArgument
from shared.models import create_model
from shared.models.melcnn import MelCNN, import_checkpoint, save_melcnn_checkpoint
from shared.training.audio_common import AudioTrainOptions, WaveformDataset, crop_or_tile
from shared.training.melcnn import train_melcnn


def test_melcnn_is_registered_and_outputs_one_logit_per_window() -> None:
    model = create_model("MelCNN").eval()
    assert isinstance(model, MelCNN)
    with torch.no_grad():
        out = model(torch.randn(3, 64600) * 0.1)
    assert out.shape == (3,)


def test_spectrogram_is_per_example_and_gain_invariant() -> None:
    model = MelCNN().eval()
    x = torch.randn(2, 64600) * 0.1
    with torch.no_grad():
        both = model.spectrogram(x)
        alone = model.spectrogram(x[:1])
        louder = model.spectrogram(x[:1] * 4)
    assert both.shape == (2, 1, 64, 404)
    torch.testing.assert_close(both[:1], alone, atol=1e-5, rtol=0)  # no batch coupling
    torch.testing.assert_close(louder, alone, atol=1e-3, rtol=0)


def test_untrained_folder_holds_the_front_end_and_matches_pytorch(melcnn_model_dir: Path) -> None:
    card = json.loads((melcnn_model_dir / "model.json").read_text())
    pre = card["preprocessing"]
    assert pre["output"] == "logit" and pre["input"] == "waveform" and pre["window_samples"] == 64600
    assert pre["frontend"]["n_mels"] == 64 and pre["frontend"]["sample_rate"] == 16000
    assert card["training_data"] is None and "UNTRAINED" in card["notes"]
    scorer = AudioScorer.from_folder(melcnn_model_dir)
    x = (np.random.default_rng(0).normal(0, 0.1, (2, 64600))).astype(np.float32)
    torch.manual_seed(0)
    reference = MelCNN().eval()  # the same seed-0 initialisation as the fixture
    with torch.no_grad():
        expected = torch.sigmoid(reference(torch.from_numpy(x))).numpy()
    np.testing.assert_allclose(scorer.score_windows(x), expected, atol=1e-4)


def test_untrained_folder_scores_audio_end_to_end(melcnn_model_dir: Path) -> None:
    scorer = AudioScorer.from_folder(melcnn_model_dir)
    wave = (np.random.default_rng(2).normal(0, 0.1, 100_000)).astype(np.float32)
    result = score_audio(scorer, wave)
    assert result.status == "analyzed" and len(result.segments) == 3
    assert result.score is not None and 0.0 <= result.score <= 1.0


def test_protocol_excerpts_parse(shared_reference: Path) -> None:
    folder = shared_reference / "asvspoof2019"
    entries = parse_protocol(folder / "excerpt.ASVspoof2019.LA.cm.eval.trl.txt")
    assert entries[1].file_id == "LA_E_6163791" and entries[1].system == "A09" and entries[1].label == 1
    assert entries[0].system is None and entries[0].key == "bonafide" and entries[0].label == 0
    train = parse_protocol(folder / "excerpt.ASVspoof2019.LA.cm.train.trn.txt")
    assert train and all(e.file_id.startswith("LA_T_") for e in train)


def test_crop_or_tile() -> None:
    wave = np.arange(10, dtype=np.float32)
    np.testing.assert_array_equal(crop_or_tile(wave, 4, None), wave[:4])
    np.testing.assert_array_equal(crop_or_tile(wave, 25, None), np.concatenate([wave, wave, wave[:5]]))
    crop = crop_or_tile(wave, 4, np.random.default_rng(0))
    assert len(crop) == 4 and np.all(np.diff(crop) == 1)
    # a short clip is padded the way the scorer pads it, whether or not the window is drawn at random
    np.testing.assert_array_equal(crop_or_tile(wave, 25, np.random.default_rng(0)), tile_to(wave, 25))
    with pytest.raises(InvalidArgument, match="empty"):
        crop_or_tile(wave[:0], 4, None)


def test_short_training_run_learns_a_separable_task_and_exports(tmp_path: Path) -> None:
    torch.set_num_threads(2)
    la = write_tiny_asvspoof_la(tmp_path / "data", per_class=6)
    data = read_asvspoof2019_la(la, parts=("train", "val"))
    train = [s for s in data.samples if s.split == "train"]
    val = [s for s in data.samples if s.split == "val"]
    options = AudioTrainOptions(
        arch="melcnn", out_dir=tmp_path / "run", epochs=3, batch_size=6, lr=3e-3, patience=3,
        progress=False, seed=0, augment=False,
        training_data=f"ASVspoof 2019 LA train ({len(train)} files), dev for early stopping",
    )
    summary = train_melcnn(train, val, options)
    assert summary["train_files"] == 12 and summary["val_files"] == 12
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert len(history) == summary["epochs_run"] >= 1
    best = next(h for h in history if h["epoch"] == summary["best_epoch"])
    assert best["val_auc"] >= 0.9, history  # noise bursts vs steady tones: easy
    folder = Path(summary["model_dir"])
    card = json.loads((folder / "model.json").read_text())
    assert card["architecture"] == "MelCNN" and "ASVspoof 2019 LA train" in card["training_data"]
    assert "validation_auc" in card["reported_metrics"]
    # The IR scores the dev files like the PyTorch checkpoint does.
    payload = torch.load(summary["checkpoint"], weights_only=True)
    model = MelCNN().eval()
    model.load_state_dict(payload["state_dict"])
    dev_windows = WaveformDataset(sorted(val, key=lambda s: s.path)[:4], length=64600, train=False,
                                  augment_clips=False)
    windows = torch.stack([dev_windows[i][0] for i in range(len(dev_windows))])
    with torch.no_grad():
        expected = torch.sigmoid(model(windows)).numpy()
    np.testing.assert_allclose(
        AudioScorer.from_folder(folder).score_windows(windows.numpy()), expected, atol=1e-4
    )


def test_wrong_checkpoint_is_refused(tmp_path: Path, melcnn_model_dir: Path) -> None:
    path = save_melcnn_checkpoint(MelCNN(), tmp_path / "ok.pth")
    payload = torch.load(path, weights_only=True)
    payload["state_dict"].pop("classifier.1.weight")
    torch.save(payload, tmp_path / "broken.pth")
    with pytest.raises(CheckpointMismatch, match="missing"):
        import_checkpoint("MelCNN", tmp_path / "broken.pth", tmp_path / "out")
    assert not (tmp_path / "out").exists()
