"""Training audio detectors (``deepfake train audio``): AASIST / AASIST-L fine-tuning and the mel CNN.

Every clip is decoded to 16 kHz mono (``shared.media.audio.load_audio``) whatever its format and rate.
Training crops a random window of the model's length (64,600 samples, tiled when the clip is shorter:
the AASIST recipe); validation takes the first window. Training clips are augmented so that no model
can key on how a file was stored rather than on what it sounds like:

* a detour through another sample rate (8–44.1 kHz and back): the band limit of a low-rate source;
* a low-pass or high-pass filter with a random corner;
* a lossy re-encode in memory (MP3, Opus or AAC at a random bit rate, with PyAV);
* a random gain and a little white noise.

AASIST loss and optimiser follow the published recipe: cross-entropy with class weights inversely
proportional to the class counts (0.1 spoof / 0.9 bona fide on LA, as published), Adam with weight
decay 1e-4, cosine schedule; lr 1e-4 from scratch, 1e-5 when fine-tuning. ``head_only`` keeps the
network frozen and re-fits its output layer on cached features (affordable on a CPU). The best checkpoint (by validation loss) is a plain state_dict, the published layout, and
is converted to a model folder with the same importer as the published weights.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from shared.datasets.base import Sample
from shared.errors import DeepfakeError, InvalidArgument

SAMPLE_RATE = 16000
BEST_FILE = "best.pth"
MODEL_DIR = "model"
ARCH_NAMES = {"aasist": "AASIST", "aasist-l": "AASIST-L", "melcnn": "melcnn"}


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
def tile_or_crop(wave: np.ndarray, length: int, rng: np.random.Generator | None) -> np.ndarray:
    """A window of ``length``: random start when ``rng`` is given (training), else the first one;
    clips shorter than the window are repeated end to end (the AASIST loaders' padding)."""
    if len(wave) < length:
        wave = np.tile(wave, length // max(len(wave), 1) + 1)
    start = int(rng.integers(0, len(wave) - length + 1)) if rng is not None else 0
    return wave[start : start + length]


class WaveformDataset:
    """Clips → fixed-length 16 kHz windows (float32) and labels (1 = fake)."""

    def __init__(self, samples: list[Sample], *, length: int, train: bool, augment_clips: bool, seed: int = 0,
                 cache_in_memory: bool = True) -> None:
        self.samples = samples
        self.length = length
        self.train = train
        self.augment_clips = augment_clips and train
        self.seed = seed
        self._cache: dict[int, np.ndarray] | None = {} if cache_in_memory else None
        self._epoch_draws = 0

    def __len__(self) -> int:
        return len(self.samples)

    def _load(self, i: int) -> np.ndarray:
        from shared.media.audio import load_audio

        if self._cache is not None and i in self._cache:
            return self._cache[i]
        wave = load_audio(self.samples[i].path, SAMPLE_RATE)
        # the window (plus slack for the augmentation's random crop) is all a training step needs
        if self._cache is not None:
            self._cache[i] = wave
        return wave

    def __getitem__(self, i: int) -> tuple[Any, Any]:
        import torch

        wave = self._load(i)
        rng = np.random.default_rng() if self.train else None
        window = tile_or_crop(wave, self.length, rng)
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


# --- models ------------------------------------------------------------------------------------------
def published_audio_checkpoint(name: str) -> Path:
    """The published AASIST file of ``name``: the download cache (fetched when missing), or, where it
    cannot be fetched, the copy in ``../shared/weights/aasist`` of a development checkout."""
    import os

    from shared.errors import DeepfakeError
    from shared.registry import get_published
    from shared.training.video import fetch_published_checkpoint

    entry = get_published(name)
    try:
        return fetch_published_checkpoint(name)
    except DeepfakeError:
        shared = os.environ.get("DEEPFAKE_SHARED_MATERIAL")
        root = Path(shared) if shared else Path(__file__).resolve().parents[3] / "shared"
        local = root / "weights" / "aasist" / entry.file
        if local.is_file():
            return local
        raise


def build_audio_model(arch: str, init: str | None) -> Any:
    from shared.models import create_model

    if arch not in ("AASIST", "AASIST-L"):
        raise InvalidArgument(f"unknown audio architecture {arch!r}")
    if not init or init == "none":
        return create_model(arch)
    from shared.models.aasist import load_aasist

    path = Path(init)
    if not path.is_file():
        path = published_audio_checkpoint(init)
    return load_aasist(arch, path)


@dataclass
class AudioTrainOptions:
    arch: str
    init: str | None
    out_dir: Path
    epochs: int = 20
    patience: int = 5
    batch_size: int | None = None
    lr: float | None = None
    max_steps_per_epoch: int | None = None
    device: str = "auto"
    workers: int = 0
    seed: int = 0
    resume: bool = False
    progress: bool = True
    export: bool = True
    augment: bool = True
    head_only: bool = False
    #: head-only: frozen-network feature passes per training clip (the first clean, the rest augmented)
    feature_passes: int = 2
    training_data: str = ""


def train_audio(train_samples: list[Sample], val_samples: list[Sample], options: AudioTrainOptions) -> dict[str, Any]:
    """Train or fine-tune an audio model; returns a summary for the command to print."""
    arch = ARCH_NAMES.get(options.arch.lower(), options.arch)
    if arch == "melcnn":
        from shared.training.melcnn import train_melcnn_run

        return train_melcnn_run(train_samples, val_samples, options)
    if options.head_only:
        return _train_aasist_head(arch, train_samples, val_samples, options)
    return _train_aasist(arch, train_samples, val_samples, options)


def class_weights(labels: list[int]) -> list[float]:
    """Cross-entropy weights for (spoof, bona fide), inversely proportional to their counts.

    On ASVspoof 2019 LA (10 % bona fide) this is the published recipe's 0.1 / 0.9.
    """
    n_fake = sum(1 for y in labels if y == 1)
    n_real = len(labels) - n_fake
    total = max(n_fake + n_real, 1)
    return [n_real / total, n_fake / total]


def _hidden_features(model: Any, samples: list[Sample], passes: int, length: int, seed: int,
                     progress: bool, batch: int = 8) -> tuple[Any, Any]:
    """The frozen network's last hidden layer for ``passes`` windows of each clip.

    Pass 0 is the clip's first window, clean (what the scorer sees first); further passes take a
    random window through the format/sample-rate augmentation.
    """
    import torch
    from tqdm import tqdm

    from shared.media.audio import load_audio

    rng = np.random.default_rng(seed)
    windows, labels = [], []
    for s in samples:
        wave = load_audio(s.path, SAMPLE_RATE)
        for k in range(passes):
            w = tile_or_crop(wave, length, None if k == 0 else rng)
            windows.append(w if k == 0 else augment(w, rng))
            labels.append(s.label)
    feats = []
    model.eval()
    with torch.no_grad():
        for start in tqdm(range(0, len(windows), batch), desc="features", unit="batch", disable=not progress):
            x = torch.from_numpy(np.stack(windows[start : start + batch]).astype(np.float32))
            feats.append(model.forward_hidden(x)[0])
    return torch.cat(feats), torch.tensor(labels)


def _train_aasist_head(arch: str, train_samples: list[Sample], val_samples: list[Sample],
                       options: AudioTrainOptions) -> dict[str, Any]:
    """Keep the published network frozen and re-fit only its output layer (Linear 160 → 2).

    The frozen network runs once per training window (``feature_passes`` per clip) instead of once per
    window per epoch, which makes adapting AASIST to new data affordable on a CPU. The result is a
    complete checkpoint in the published layout (every tensor the published one had, ``out_layer``
    replaced).
    """
    import copy

    import torch

    from shared.models.aasist import WINDOW_SAMPLES
    from shared.training.loop import TrainConfig, seed_everything, train

    if not options.init or options.init == "none":
        raise InvalidArgument("--head-only needs --init (the published weights or a checkpoint to adapt)")
    seed_everything(options.seed)
    train_samples, bad_train = readable(train_samples, options.progress)
    val_samples, bad_val = readable(val_samples, options.progress)
    for name, samples in (("training", train_samples), ("validation", val_samples)):
        if {s.label for s in samples} != {0, 1}:
            raise InvalidArgument(f"the {name} split needs real and fake clips")
    model = build_audio_model(arch, options.init)
    x_train, y_train = _hidden_features(model, train_samples, max(1, options.feature_passes), WINDOW_SAMPLES,
                                        options.seed, options.progress)
    x_val, y_val = _hidden_features(model, val_samples, 1, WINDOW_SAMPLES, options.seed, options.progress)
    head = copy.deepcopy(model.out_layer)
    batch = options.batch_size or 64
    generator = torch.Generator().manual_seed(options.seed)
    train_loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x_train, y_train), batch_size=batch,
                                               shuffle=True, generator=generator)
    val_loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x_val, y_val), batch_size=batch)
    ce = torch.nn.CrossEntropyLoss(weight=torch.tensor(class_weights(y_train.tolist())))
    lr = options.lr or 1e-3
    optimizer = torch.optim.Adam(head.parameters(), lr=lr, weight_decay=1e-4)

    def loss_fn(out: Any, y: Any) -> Any:
        return ce(out, (1 - y).long())

    def save_best(h: Any, path: Path, info: dict[str, Any]) -> Path:
        full = model.state_dict()
        full.update({f"out_layer.{k}": v.detach().clone() for k, v in h.state_dict().items()})
        torch.save(full, path)
        return path

    describe = {"kind": "audio-head", "arch": arch, "init": options.init, "lr": lr, "batch_size": batch,
                "passes": options.feature_passes, "train_files": len(train_samples), "val_files": len(val_samples)}
    result = train(
        head, train_loader=train_loader, val_loader=val_loader, loss_fn=loss_fn,
        to_scores=lambda out: torch.softmax(out, dim=1)[:, 0], optimizer=optimizer, scheduler=None,
        save_best=save_best, best_name=BEST_FILE, device=torch.device("cpu"), describe=describe,
        config=TrainConfig(epochs=options.epochs, patience=options.patience, out_dir=options.out_dir,
                           resume=options.resume, progress=options.progress),
    )
    summary: dict[str, Any] = {
        "checkpoint": str(result.best_checkpoint), "best_epoch": result.best_epoch,
        "best_val_loss": result.best_val_loss, "epochs_run": result.epochs_run, "mode": "head-only",
        "stopped_early": result.stopped_early, "train_files": len(train_samples), "val_files": len(val_samples),
        "train_windows": len(y_train), "unreadable_files": bad_train + bad_val, "device": "cpu",
    }
    best = next(h for h in result.history if h["epoch"] == result.best_epoch)
    if options.export:
        summary["model_dir"] = str(export_trained_audio_model(
            arch, result.best_checkpoint, Path(options.out_dir) / MODEL_DIR, training_data=options.training_data,
            best=best, init=f"{options.init}, output layer re-fitted (head-only)", augment=options.augment))
    from shared.evaluation.plots import plot_training_curves

    plot_training_curves(result.history, Path(options.out_dir) / "training_curves.png",
                         title=f"{arch} output layer: training")
    return summary


def _train_aasist(arch: str, train_samples: list[Sample], val_samples: list[Sample],
                  options: AudioTrainOptions) -> dict[str, Any]:
    import torch

    from shared.models.aasist import WINDOW_SAMPLES
    from shared.training.loop import TrainConfig, pick_device, seed_everything, train

    seed_everything(options.seed)
    train_samples, bad_train = readable(train_samples, options.progress)
    val_samples, bad_val = readable(val_samples, options.progress)
    for name, samples in (("training", train_samples), ("validation", val_samples)):
        if {s.label for s in samples} != {0, 1}:
            raise InvalidArgument(f"the {name} split needs real and fake clips")
    device = pick_device(options.device)
    model = build_audio_model(arch, options.init)
    batch = options.batch_size or 24
    lr = options.lr or (1e-5 if options.init else 1e-4)
    train_set = WaveformDataset(train_samples, length=WINDOW_SAMPLES, train=True, augment_clips=options.augment,
                                seed=options.seed)
    val_set = WaveformDataset(val_samples, length=WINDOW_SAMPLES, train=False, augment_clips=False)
    generator = torch.Generator().manual_seed(options.seed)
    train_loader: Any = torch.utils.data.DataLoader(train_set, batch_size=batch, shuffle=True, generator=generator,  # type: ignore[arg-type]
                                               num_workers=options.workers, drop_last=len(train_set) > batch)
    val_loader: Any = torch.utils.data.DataLoader(val_set, batch_size=batch, shuffle=False, num_workers=options.workers)  # type: ignore[arg-type]
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.9, 0.999), weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, options.epochs), eta_min=lr / 100)
    # bona fide is class 1 of the published models; our labels are 1 = fake. Weights inversely
    # proportional to the class counts: the published 0.1 / 0.9 on LA's 10 % bona fide.
    ce = torch.nn.CrossEntropyLoss(weight=torch.tensor(class_weights([s.label for s in train_samples]), device=device))

    def loss_fn(out: Any, y: Any) -> Any:
        return ce(out, (1 - y).long())

    def save_best(m: Any, path: Path, info: dict[str, Any]) -> Path:
        torch.save(m.state_dict(), path)  # the published layout: a plain state_dict
        return path

    describe = {"kind": "audio", "arch": arch, "init": options.init, "lr": lr, "batch_size": batch,
                "augment": options.augment, "train_files": len(train_samples), "val_files": len(val_samples)}
    result = train(
        model, train_loader=train_loader, val_loader=val_loader, loss_fn=loss_fn,
        to_scores=lambda out: torch.softmax(out, dim=1)[:, 0], optimizer=optimizer, scheduler=scheduler,
        save_best=save_best, best_name=BEST_FILE, device=device, describe=describe,
        config=TrainConfig.from_options(options),
    )
    summary: dict[str, Any] = {
        **result.summary(), "train_files": len(train_samples), "val_files": len(val_samples),
        "unreadable_files": bad_train + bad_val, "device": str(device),
    }
    best = next(h for h in result.history if h["epoch"] == result.best_epoch)
    if options.export:
        summary["model_dir"] = str(export_trained_audio_model(
            arch, result.best_checkpoint, Path(options.out_dir) / MODEL_DIR, training_data=options.training_data,
            best=best, init=options.init, augment=options.augment))
    from shared.evaluation.plots import plot_training_curves

    plot_training_curves(result.history, Path(options.out_dir) / "training_curves.png", title=f"{arch}: training")
    return summary


def export_trained_audio_model(arch: str, checkpoint: Path, out_dir: Path, *, training_data: str,
                               best: dict[str, Any], init: str | None, augment: bool) -> Path:
    from shared.modelcard import ModelCard
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
