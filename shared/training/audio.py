"""Training audio detectors (``deepfake train audio``): the ``train_audio`` entry, and AASIST / AASIST-L
fine-tuning; the mel CNN's recipe is ``shared.training.melcnn``, what both share (16 kHz windows, the
format augmentation, options, model folder export) is ``shared.training.audio_common``.

AASIST loss and optimiser follow the published recipe: cross-entropy with class weights inversely
proportional to the class counts (0.1 spoof / 0.9 bona fide on LA, as published), Adam with weight
decay 1e-4, cosine schedule; lr 1e-4 from scratch, 1e-5 when fine-tuning; batch 24. ``head_only`` keeps
the network frozen and re-fits its output layer on cached features (affordable on a CPU; batch 64, lr
1e-3). The best checkpoint (by validation loss) is a plain state_dict, the published layout, and is
converted to a model folder with the same importer as the published weights.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from shared.datasets.base import Sample
from shared.errors import InvalidArgument
from shared.training.audio_common import (
    SAMPLE_RATE,
    AudioTrainOptions,
    WaveformDataset,
    augment,
    checked_splits,
    crop_or_tile,
    finish_audio_run,
)
from shared.training.loop import Objective, TrainConfig, pick_device, prepare_process, train
from shared.training.melcnn import train_melcnn

__all__ = ["ARCH_NAMES", "BEST_FILE", "AudioTrainOptions", "build_audio_model", "class_weights",
           "published_audio_checkpoint", "train_audio"]

BEST_FILE = "best.pth"
ARCH_NAMES = {"aasist": "AASIST", "aasist-l": "AASIST-L", "melcnn": "MelCNN"}


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


def _has_init(init: str | None) -> bool:
    """Whether ``--init`` names starting weights (None and ``"none"`` mean random ones)."""
    return bool(init) and init != "none"


def build_audio_model(arch: str, init: str | None) -> Any:
    """AASIST or AASIST-L with random weights, a checkpoint file's, or a published model's (``init``)."""
    from shared.models import create_model

    if arch not in ("AASIST", "AASIST-L"):
        raise InvalidArgument(f"unknown audio architecture {arch!r}")
    if init is None or not _has_init(init):
        return create_model(arch)
    from shared.models.aasist import load_aasist

    path = Path(init)
    if not path.is_file():
        path = published_audio_checkpoint(init)
    return load_aasist(arch, path)


def train_audio(train_samples: list[Sample], val_samples: list[Sample], options: AudioTrainOptions) -> dict[str, Any]:
    """Train or fine-tune an audio model (``options.arch``: melcnn, aasist or aasist-l); returns a summary
    for the command to print."""
    arch = ARCH_NAMES.get(options.arch.lower(), options.arch)
    if arch == "MelCNN":
        return train_melcnn(train_samples, val_samples, options)
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
            w = crop_or_tile(wave, length, None if k == 0 else rng)
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

    if not _has_init(options.init):
        raise InvalidArgument("--head-only needs --init (the published weights or a checkpoint to adapt)")
    prepare_process(options)
    data = checked_splits(train_samples, val_samples, options.progress)
    model = build_audio_model(arch, options.init)
    x_train, y_train = _hidden_features(model, data.train, max(1, options.feature_passes), WINDOW_SAMPLES,
                                        options.seed, options.progress)
    x_val, y_val = _hidden_features(model, data.val, 1, WINDOW_SAMPLES, options.seed, options.progress)
    head = copy.deepcopy(model.out_layer)
    batch = options.batch_size or 64
    generator = torch.Generator().manual_seed(options.seed)
    train_loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x_train, y_train), batch_size=batch,
                                               shuffle=True, generator=generator)
    val_loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x_val, y_val), batch_size=batch)
    objective = Objective.bonafide_logits(torch.tensor(class_weights(y_train.tolist())))
    lr = options.lr or 1e-3
    optimizer = torch.optim.Adam(head.parameters(), lr=lr, weight_decay=1e-4)

    def save_best(h: Any, path: Path, info: dict[str, Any]) -> Path:
        full = model.state_dict()
        full.update({f"out_layer.{k}": v.detach().clone() for k, v in h.state_dict().items()})
        torch.save(full, path)
        return path

    describe = {"kind": "audio-head", "arch": arch, "init": options.init, "lr": lr, "batch_size": batch,
                "passes": options.feature_passes, "train_files": len(data.train), "val_files": len(data.val)}
    result = train(
        head, train_loader=train_loader, val_loader=val_loader, objective=objective,
        optimizer=optimizer, scheduler=None,
        # the features are computed once, on the CPU; a linear layer gains nothing from a GPU
        save_best=save_best, best_name=BEST_FILE, device=torch.device("cpu"), describe=describe,
        config=TrainConfig.from_options(options),
    )
    summary: dict[str, Any] = {
        **result.summary(), "mode": "head-only", "train_files": len(data.train), "val_files": len(data.val),
        "train_windows": len(y_train), "unreadable_files": data.unreadable, "device": "cpu",
    }
    return finish_audio_run(result, options, summary, arch=arch,
                            init=f"{options.init}, output layer re-fitted (head-only)",
                            title=f"{arch} output layer: training")


def _train_aasist(arch: str, train_samples: list[Sample], val_samples: list[Sample],
                  options: AudioTrainOptions) -> dict[str, Any]:
    import torch

    from shared.models.aasist import WINDOW_SAMPLES

    prepare_process(options)
    data = checked_splits(train_samples, val_samples, options.progress)
    device = pick_device(options.device)
    model = build_audio_model(arch, options.init)
    batch = options.batch_size or 24
    lr = options.lr or (1e-5 if _has_init(options.init) else 1e-4)
    train_set = WaveformDataset(data.train, length=WINDOW_SAMPLES, train=True, augment_clips=options.augment)
    val_set = WaveformDataset(data.val, length=WINDOW_SAMPLES, train=False, augment_clips=False)
    generator = torch.Generator().manual_seed(options.seed)
    train_loader: Any = torch.utils.data.DataLoader(train_set, batch_size=batch, shuffle=True, generator=generator,  # type: ignore[arg-type]
                                               num_workers=options.workers, drop_last=len(train_set) > batch)
    val_loader: Any = torch.utils.data.DataLoader(val_set, batch_size=batch, shuffle=False, num_workers=options.workers)  # type: ignore[arg-type]
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.9, 0.999), weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, options.epochs), eta_min=lr / 100)
    # bona fide is class 1 of the published models; our labels are 1 = fake. Weights inversely
    # proportional to the class counts: the published 0.1 / 0.9 on LA's 10 % bona fide.
    objective = Objective.bonafide_logits(torch.tensor(class_weights([s.label for s in data.train]), device=device))

    def save_best(m: Any, path: Path, info: dict[str, Any]) -> Path:
        torch.save(m.state_dict(), path)  # the published layout: a plain state_dict
        return path

    describe = {"kind": "audio", "arch": arch, "init": options.init, "lr": lr, "batch_size": batch,
                "augment": options.augment, "train_files": len(data.train), "val_files": len(data.val)}
    result = train(
        model, train_loader=train_loader, val_loader=val_loader, objective=objective, optimizer=optimizer,
        scheduler=scheduler, save_best=save_best, best_name=BEST_FILE, device=device, describe=describe,
        config=TrainConfig.from_options(options),
    )
    summary = {**result.summary(), **data.counts(), "device": str(device)}
    return finish_audio_run(result, options, summary, arch=arch, init=options.init, title=f"{arch}: training")
