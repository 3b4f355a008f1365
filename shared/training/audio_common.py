"""What every audio recipe shares: 16 kHz windows, format augmentation, options and the model folder.

The recipes are AASIST / AASIST-L (``shared.training.audio``, also the ``train_audio`` entry) and the
mel CNN (``shared.training.melcnn``); both import this module and neither imports the other's.

Every clip is decoded to 16 kHz mono (``shared.media.audio.load_audio``) whatever its format and rate.
Training takes a random window of the model's length, validation the first one; a clip shorter than the
window is repeated end to end (``crop_or_tile``: the AASIST loaders' padding, the scorer's ``tile_to``).
Training clips are augmented so that no model can key on how a file was stored rather than on what it
sounds like:

* a detour through another sample rate (8–44.1 kHz and back): the band limit of a low-rate source;
* a low-pass or high-pass filter with a random corner;
* a lossy re-encode in memory (MP3, Opus or AAC at a random bit rate, with PyAV);
* a random gain and a little white noise.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from shared.audio_scoring import tile_to
from shared.datasets.base import Sample
from shared.errors import DeepfakeError, InvalidArgument
from shared.training.loop import TrainOptions, TrainResult

SAMPLE_RATE = 16000
MODEL_DIR = "model"


@dataclass(kw_only=True)
class AudioTrainOptions(TrainOptions):
    """``TrainOptions`` plus the audio recipes' own.

    Attributes:
        augment: the format/sample-rate augmentation of training clips (module docstring).
        head_only: AASIST: keep the ``init`` network frozen and re-fit only its output layer.
        feature_passes: head-only: frozen-network feature passes per training clip (the first clean, the
            rest augmented).
    """

    augment: bool = True
    head_only: bool = False
    feature_passes: int = 2


# --- augmentation ------------------------------------------------------------------------------------
def _resample(wave: np.ndarray, src: int, dst: int) -> np.ndarray:
    """Polyphase resampling (scipy): fast enough to run per training clip."""
    from math import gcd

    from scipy.signal import resample_poly

    if src == dst:
        return wave
    g = gcd(src, dst)
    return resample_poly(wave, dst // g, src // g).astype(np.float32)


def _filter(wave: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A 4th-order Butterworth low-pass (3-7.5 kHz) or high-pass (50-300 Hz) with a random corner."""
    from scipy.signal import butter, sosfilt

    if rng.random() < 0.6:
        sos = butter(4, float(rng.uniform(3000, 7500)), btype="lowpass", fs=SAMPLE_RATE, output="sos")
    else:
        sos = butter(4, float(rng.uniform(50, 300)), btype="highpass", fs=SAMPLE_RATE, output="sos")
    return sosfilt(sos, wave).astype(np.float32)


#: (container, encoder, encoder sample rate, bit-rate range)
_CODECS = (("mp3", "libmp3lame", 16000, (32_000, 192_000)), ("ogg", "libopus", 48000, (24_000, 128_000)),
           ("adts", "aac", 16000, (32_000, 160_000)))


def reencode(wave: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Encode to a random lossy codec in memory and decode back to 16 kHz mono float32.

    Falls back to the input when the codec is unavailable in this FFmpeg build.
    """
    import av

    fmt, codec, rate, (lo, hi) = _CODECS[int(rng.integers(len(_CODECS)))]
    buf = io.BytesIO()
    try:
        with av.open(buf, "w", format=fmt) as out:
            stream: Any = out.add_stream(codec, rate=rate)
            stream.bit_rate = int(rng.integers(lo, hi))
            stream.layout = "mono"
            pcm = np.clip(wave, -1, 1).astype(np.float32)[None, :]
            frame = av.AudioFrame.from_ndarray(pcm, format="flt", layout="mono")
            frame.sample_rate = SAMPLE_RATE
            for packet in stream.encode(frame):
                out.mux(packet)
            for packet in stream.encode(None):
                out.mux(packet)
        buf.seek(0)
        chunks = []
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        with av.open(buf, "r") as inp:
            for decoded in inp.decode(audio=0):
                for r in resampler.resample(decoded):
                    chunks.append(r.to_ndarray().reshape(-1))
        decoded_wave = np.concatenate(chunks) if chunks else wave
    except (av.error.FFmpegError, ValueError):
        return wave
    if len(decoded_wave) >= len(wave):
        return decoded_wave[: len(wave)].astype(np.float32)
    return np.pad(decoded_wave, (0, len(wave) - len(decoded_wave))).astype(np.float32)


def augment(wave: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One random chain of the augmentations listed in the module docstring (each applied or not).

    The output has the input's length (resampling round trips can gain or lose a sample).
    """
    length = len(wave)
    if rng.random() < 0.5:
        mid = int(rng.choice([8000, 11025, 12000, 22050, 24000, 44100]))
        wave = _resample(_resample(wave, SAMPLE_RATE, mid), mid, SAMPLE_RATE)
    if rng.random() < 0.4:
        wave = _filter(wave, rng)
    if rng.random() < 0.5:
        wave = reencode(wave, rng)
    gain = 10 ** (rng.uniform(-6, 6) / 20)
    wave = wave * gain
    if rng.random() < 0.3:
        rms = float(np.sqrt(np.mean(wave**2))) or 1e-4
        wave = wave + rng.normal(0, rms * 10 ** (-rng.uniform(30, 50) / 20), wave.shape)
    wave = wave[:length] if len(wave) >= length else np.pad(wave, (0, length - len(wave)))
    return np.clip(wave, -1, 1).astype(np.float32)


# --- data --------------------------------------------------------------------------------------------
def crop_or_tile(wave: np.ndarray, length: int, rng: np.random.Generator | None) -> np.ndarray:
    """A ``length``-sample window of ``wave``: a random start when ``rng`` is given (training), else the
    first window (validation, the official evaluation). A clip shorter than ``length`` is repeated end to
    end from its start (``shared.audio_scoring.tile_to``: the AASIST loaders' and the scorer's padding).

    Raises:
        InvalidArgument: an empty clip (there is nothing to repeat).
    """
    if len(wave) == 0:
        raise InvalidArgument("cannot take a window of an empty clip")
    if len(wave) < length:
        return tile_to(wave, length)
    start = int(rng.integers(0, len(wave) - length + 1)) if rng is not None else 0
    return wave[start : start + length]


class WaveformDataset:
    """Clips → fixed-length 16 kHz windows (float32) and labels (1 = fake).

    Training windows start at random and are augmented (``augment_clips``); validation windows are each
    clip's first, as they are. The random draws come from torch's generator, which ``seed_everything``
    seeds and the DataLoader re-seeds per worker and epoch: every epoch sees new windows and a run is
    repeatable.
    """

    def __init__(self, samples: list[Sample], *, length: int, train: bool, augment_clips: bool,
                 cache_in_memory: bool = True) -> None:
        self.samples = samples
        self.length = length
        self.train = train
        self.augment_clips = augment_clips and train
        # decoding (and resampling) is most of a step's cost on small data; a clip is a few hundred kB
        self._cache: dict[int, np.ndarray] | None = {} if cache_in_memory else None

    def __len__(self) -> int:
        return len(self.samples)

    def _load(self, i: int) -> np.ndarray:
        from shared.media.audio import load_audio

        if self._cache is not None and i in self._cache:
            return self._cache[i]
        wave = load_audio(self.samples[i].path, SAMPLE_RATE)
        if self._cache is not None:
            self._cache[i] = wave
        return wave

    def __getitem__(self, i: int) -> tuple[Any, Any]:
        import torch

        wave = self._load(i)
        rng = np.random.default_rng(int(torch.randint(0, 2**31 - 1, ()).item())) if self.train else None
        window = crop_or_tile(wave, self.length, rng)
        if self.augment_clips and rng is not None:
            window = augment(window, rng)
        return torch.from_numpy(np.ascontiguousarray(window, dtype=np.float32)), torch.tensor(self.samples[i].label)


def readable(samples: list[Sample], progress: bool = True) -> tuple[list[Sample], list[str]]:
    """The samples whose audio decodes (training should not die at epoch 7 on one bad file)."""
    from tqdm import tqdm

    from shared.media.audio import load_audio

    good, bad = [], []
    for s in tqdm(samples, desc="checking audio", unit="file", disable=not progress):
        try:
            wave = load_audio(s.path, SAMPLE_RATE, max_seconds=0.5)
            if wave.size:
                good.append(s)
        except DeepfakeError as exc:
            bad.append(f"{s.path}: {exc.message}")
    return good, bad


@dataclass
class CheckedSplits:
    """The training and validation clips that decode, and the ones that did not (``path: reason``)."""

    train: list[Sample]
    val: list[Sample]
    unreadable: list[str]

    def counts(self) -> dict[str, Any]:
        """What a run's summary says of its data: the clips of each split and the ones left out."""
        return {"train_files": len(self.train), "val_files": len(self.val), "unreadable_files": self.unreadable}


def checked_splits(train_samples: list[Sample], val_samples: list[Sample], progress: bool = True) -> CheckedSplits:
    """Drop clips that do not decode; both splits must keep real and fake clips.

    Raises:
        InvalidArgument: a split left with one class only.
    """
    train, bad_train = readable(train_samples, progress)
    val, bad_val = readable(val_samples, progress)
    for name, samples in (("training", train), ("validation", val)):
        if {s.label for s in samples} != {0, 1}:
            raise InvalidArgument(f"the {name} split needs real and fake clips")
    return CheckedSplits(train, val, bad_train + bad_val)


def export_trained_audio_model(arch: str, checkpoint: Path, out_dir: Path, *, training_data: str,
                               best: dict[str, Any], init: str | None, augment: bool) -> Path:
    """Best checkpoint → model folder with the architecture's own importer (the one published weights
    go through), then the card says what it was trained on and how it scored on validation."""
    from shared.modelcard import ModelCard

    if arch == "MelCNN":
        from shared.models.melcnn import import_checkpoint
    else:
        from shared.models.aasist import import_checkpoint

    import_checkpoint(arch, checkpoint, out_dir)
    card = ModelCard.load(out_dir)
    metrics = {f"validation_{k.removeprefix('val_')}": float(v) for k, v in best.items()
               if k in ("val_loss", "val_auc", "val_eer") and v is not None and math.isfinite(v)}
    card = card.model_copy(update={
        "name": f"{arch}_{Path(out_dir).parent.name}",
        "training_data": training_data or None,
        "reported_metrics": metrics,
        "notes": (card.notes or "") + f" Trained with 'deepfake train audio' (init: {init or 'random'}; "
                 f"augmentation {'on' if augment else 'off'}); best epoch {best.get('epoch')}.",
    })
    card.save(out_dir)
    return Path(out_dir)


def finish_audio_run(result: TrainResult, options: AudioTrainOptions, summary: dict[str, Any], *, arch: str,
                     init: str | None, title: str) -> dict[str, Any]:
    """What every audio recipe does after the loop: the model folder (``--export``) and the training curves.

    Args:
        result: the loop's result.
        summary: the recipe's summary; gains ``model_dir`` when the best checkpoint is exported.
        arch: the architecture, for its importer and the card's name.
        init: what the run started from, as the card should say it.
        title: the title of ``training_curves.png``.
    """
    from shared.evaluation.plots import plot_training_curves

    if options.export:
        best = next(h for h in result.history if h["epoch"] == result.best_epoch)
        summary["model_dir"] = str(export_trained_audio_model(
            arch, result.best_checkpoint, Path(options.out_dir) / MODEL_DIR, training_data=options.training_data,
            best=best, init=init, augment=options.augment))
    plot_training_curves(result.history, Path(options.out_dir) / "training_curves.png", title=title)
    return summary
