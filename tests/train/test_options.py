"""The recipes' option classes share one base, and the audio windows are repeatable under a seed."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from shared.datasets.base import Sample
from shared.training.audio_common import AudioTrainOptions, WaveformDataset
from shared.training.loop import TrainConfig, TrainOptions, seed_everything
from shared.training.video import VideoTrainOptions


@pytest.mark.parametrize("cls", [VideoTrainOptions, AudioTrainOptions])
def test_recipe_options_add_fields_without_repeating_the_base(cls: type[TrainOptions]) -> None:
    assert issubclass(cls, TrainOptions)
    own = set(cls.__dict__.get("__annotations__", {}))
    base = {f.name for f in dataclasses.fields(TrainOptions)}
    assert own and not own & base, f"{cls.__name__} repeats {sorted(own & base)}"
    assert {"seed", "epochs", "batch_size", "lr", "device", "threads", "out_dir", "resume"} <= base


def test_train_config_takes_the_loop_part_of_the_options(tmp_path: Path) -> None:
    options = AudioTrainOptions(arch="melcnn", out_dir=tmp_path / "run", epochs=7, patience=2,
                                max_steps_per_epoch=3, resume=True, progress=False, augment=False)
    assert TrainConfig.from_options(options) == TrainConfig(epochs=7, patience=2, out_dir=tmp_path / "run",
                                                            resume=True, progress=False, max_steps_per_epoch=3)


def _clips(tmp_path: Path) -> list[Sample]:
    import soundfile

    rng = np.random.default_rng(0)
    samples = []
    for i, seconds in enumerate((3.0, 0.5)):  # one longer than the window, one shorter
        path = tmp_path / f"clip{i}.wav"
        soundfile.write(path, rng.normal(0, 0.1, int(seconds * 16000)).astype(np.float32), 16000)
        samples.append(Sample(path=path, label=i, group=str(i), source="test"))
    return samples


def test_training_windows_are_random_but_repeatable_under_a_seed(tmp_path: Path) -> None:
    data = WaveformDataset(_clips(tmp_path), length=16000, train=True, augment_clips=False)

    def draw(seed: int) -> list[np.ndarray]:
        seed_everything(seed)
        return [data[0][0].numpy() for _ in range(4)]

    first, again, other = draw(1), draw(1), draw(2)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert len({a.tobytes() for a in first}) > 1, "training windows must start at random"
    assert any(not np.array_equal(a, b) for a, b in zip(first, other, strict=True))
    # a clip shorter than the window is repeated from its start, the same every time
    short, label = data[1]
    assert short.shape == (16000,) and int(label) == 1
    np.testing.assert_array_equal(short[:8000], short[8000:])


def test_validation_windows_are_the_first_window(tmp_path: Path) -> None:
    from shared.media.audio import load_audio

    samples = _clips(tmp_path)
    data = WaveformDataset(samples, length=16000, train=False, augment_clips=True)
    torch.manual_seed(0)
    np.testing.assert_array_equal(data[0][0].numpy(), load_audio(samples[0].path, 16000)[:16000])
