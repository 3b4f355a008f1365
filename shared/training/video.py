"""Training the ICPR2020 face models on cached face crops (``deepfake train video``).

Recipe (the reference's where it applies): faces cut with the ``scale`` policy at 224×224 from 32
evenly spaced frames per video (``shared.datasets.facecache``), the highest-confidence face per frame;
ImageNet normalisation; binary cross-entropy on the single logit; Adam at 1e-5; classes balanced by
sampling (DFDC is ~5 fakes per real); augmentations on training faces only: horizontal flip,
brightness/contrast or hue/saturation jitter, down-and-up scaling, JPEG re-compression and additive
Gaussian noise. The split is by identity (``shared.datasets.splits``), never by frame.

The best checkpoint is written in the published layout (``{"net": state_dict}`` with the published key
names), then converted into a model folder (OpenVINO IR + ``model.json``) with the same importer as the
published weights, so the service loads what this trains.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from shared.datasets.base import Sample
from shared.datasets.facecache import FaceCache, FaceEntry
from shared.errors import InvalidArgument
from shared.training.loop import Objective, TrainConfig, TrainOptions, pick_device, prepare_process, train

BEST_FILE = "bestval.pth"
MODEL_DIR = "model"
#: the reference recipe's batch size and learning rate, used when the options leave them out
DEFAULT_BATCH_SIZE = 32
DEFAULT_LR = 1e-5


@dataclass
class FaceItem:
    entry: FaceEntry
    index: int
    label: int
    video: str


def face_items(samples: list[Sample], cache: FaceCache, *, progress: bool = True) -> list[FaceItem]:
    """Every cached face of ``samples`` (extracting what is missing) as training items."""
    entries = cache.extract_all([s.path for s in samples], progress=progress)
    items: list[FaceItem] = []
    for s in samples:
        entry = entries[Path(s.path)]
        items.extend(FaceItem(entry, i, s.label, s.id) for i in range(len(entry)))
    return items


def build_augmentation(seed: int | None = None) -> Any:
    """The training augmentation: uint8 ``(3, H, W)`` tensor in, uint8 tensor out."""
    import torch
    from torchvision.transforms import v2

    class DownUpScale(torch.nn.Module):
        """Shrink by a random factor in [0.7, 0.9] and scale back: the look of a re-scaled upload."""

        def forward(self, img: torch.Tensor) -> torch.Tensor:
            size = img.shape[-2:]
            factor = float(torch.empty(1).uniform_(0.7, 0.9))
            small = v2.functional.resize(img, [max(8, int(size[0] * factor)), max(8, int(size[1] * factor))],
                                         antialias=True)
            return v2.functional.resize(small, list(size), antialias=True)

    return v2.Compose([
        v2.RandomHorizontalFlip(),
        v2.RandomChoice([v2.ColorJitter(brightness=0.2, contrast=0.2), v2.ColorJitter(saturation=0.2, hue=0.05)]),
        v2.RandomApply([DownUpScale()], p=0.3),
        v2.RandomApply([v2.JPEG(quality=(50, 99))], p=0.5),
    ])


class FaceDataset:
    """Face crops → normalised float tensors ``(3, 224, 224)`` and float labels (1 = fake)."""

    def __init__(self, items: list[FaceItem], *, mean: tuple[float, ...], std: tuple[float, ...], train: bool) -> None:
        import torch

        self.items = items
        self.train = train
        self.augment = build_augmentation() if train else None
        self.mean = torch.tensor(mean).view(3, 1, 1)
        self.std = torch.tensor(std).view(3, 1, 1)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> tuple[Any, Any]:
        import torch

        item = self.items[i]
        face = torch.from_numpy(np.array(item.entry.faces[item.index])).permute(2, 0, 1).contiguous()
        if self.augment is not None:
            face = self.augment(face)
        x = face.float() / 255.0
        if self.train and float(torch.rand(1)) < 0.3:
            x = (x + torch.randn_like(x) * float(torch.empty(1).uniform_(0.01, 0.03))).clamp(0, 1)
        return (x - self.mean) / self.std, torch.tensor(float(item.label))


def balanced_sampler(labels: list[int], num_samples: int, seed: int) -> Any:
    """Draw real and fake faces equally often (with replacement)."""
    import torch

    counts = np.bincount(np.asarray(labels), minlength=2).astype(np.float64)
    weights = [1.0 / counts[y] for y in labels]
    generator = torch.Generator().manual_seed(seed)
    return torch.utils.data.WeightedRandomSampler(weights, num_samples, replacement=True, generator=generator)


def build_model(arch: str, init: str | None) -> Any:
    """The architecture with its starting weights.

    Args:
        init: None/``"none"`` (random), a published name (``EfficientNetAutoAttB4_DFDC``: its checkpoint
            comes from the download cache, fetched when missing), or a checkpoint file in the published
            layout (e.g. a ``bestval.pth`` of an earlier run).
    """
    from shared.models import create_model
    from shared.models.icpr import ARCHITECTURES, load_published

    if arch not in ARCHITECTURES:
        raise InvalidArgument(f"unknown video architecture {arch!r}; known: {', '.join(ARCHITECTURES)}")
    if not init or init == "none":
        return create_model(arch)
    path = Path(init)
    if not path.is_file():
        path = published_checkpoint_file(init, arch)
    return load_published(arch, path)


def published_checkpoint_file(name: str, arch: str) -> Path:
    """The checkpoint of a published ICPR2020 model: from the download cache, fetched when missing."""
    from shared.registry import PUBLISHED, get_published

    if name not in PUBLISHED:
        raise InvalidArgument(f"--init {name!r} is neither a checkpoint file nor a published model name")
    entry = get_published(name)
    if entry.architecture != arch:
        raise InvalidArgument(f"--init {name} is a {entry.architecture} checkpoint, not {arch}")
    return fetch_published_checkpoint(name)


def fetch_published_checkpoint(name: str) -> Path:
    """``shared.weights.fetch_checkpoint``: the download cache, fetched when missing."""
    from shared.weights import fetch_checkpoint

    return fetch_checkpoint(name)


@dataclass(kw_only=True)
class VideoTrainOptions(TrainOptions):
    """``TrainOptions`` plus the face recipe's own (batch size 32 and lr 1e-5 when not given).

    Attributes:
        weight_decay: Adam's weight decay.
        faces_per_epoch: faces drawn per epoch, real and fake equally often (None = as many as there are).
    """

    weight_decay: float = 0.0
    faces_per_epoch: int | None = None


def train_video(train_samples: list[Sample], val_samples: list[Sample], cache: FaceCache,
                options: VideoTrainOptions) -> dict[str, Any]:
    """Train (or fine-tune) an ICPR2020 architecture; returns a summary for the command to print."""
    import torch

    from shared.models.icpr import IMAGENET_MEAN, IMAGENET_STD, save_published_checkpoint

    prepare_process(options)
    batch = options.batch_size or DEFAULT_BATCH_SIZE
    lr = options.lr or DEFAULT_LR
    train_items = face_items(train_samples, cache, progress=options.progress)
    val_items = face_items(val_samples, cache, progress=options.progress)
    for name, items in (("training", train_items), ("validation", val_items)):
        labels = {it.label for it in items}
        if labels != {0, 1}:
            raise InvalidArgument(f"the {name} split has faces of one class only ({sorted(labels)}); "
                                  "it needs real and fake videos with detectable faces")
    device = pick_device(options.device)
    model = build_model(options.arch, options.init)
    train_set = FaceDataset(train_items, mean=IMAGENET_MEAN, std=IMAGENET_STD, train=True)
    val_set = FaceDataset(val_items, mean=IMAGENET_MEAN, std=IMAGENET_STD, train=False)
    per_epoch = options.faces_per_epoch or len(train_items)
    sampler = balanced_sampler([it.label for it in train_items], per_epoch, options.seed)
    loader_args = {"batch_size": batch, "num_workers": options.workers,
                   "pin_memory": device.type == "cuda"}
    train_loader: Any = torch.utils.data.DataLoader(train_set, sampler=sampler, drop_last=per_epoch > batch,  # type: ignore[arg-type]
                                               **loader_args)
    val_loader: Any = torch.utils.data.DataLoader(val_set, shuffle=False, **loader_args)  # type: ignore[arg-type]
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=options.weight_decay)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.1, patience=max(1, options.patience // 2))
    def save_best(m: Any, path: Path, info: dict[str, Any]) -> Path:
        # the published layout; extra entries are ignored by the importer
        return save_published_checkpoint(m, path, epoch=info["epoch"], val_loss=info["val_loss"],
                                         val_auc=info.get("val_auc"), arch=options.arch)

    describe = {"kind": "video", "arch": options.arch, "init": options.init, "lr": lr,
                "batch_size": batch, "train_videos": len(train_samples), "val_videos": len(val_samples)}
    result = train(
        model, train_loader=train_loader, val_loader=val_loader, objective=Objective.fake_logit(),
        optimizer=optimizer, scheduler=scheduler, save_best=save_best, best_name=BEST_FILE, device=device,
        describe=describe,
        config=TrainConfig.from_options(options),
    )
    summary: dict[str, Any] = {
        **result.summary(), "train_faces": len(train_items), "val_faces": len(val_items),
        "device": str(device),
    }
    best = next(h for h in result.history if h["epoch"] == result.best_epoch) if result.history else {}
    if options.export:
        summary["model_dir"] = str(export_trained_video_model(
            options.arch, result.best_checkpoint, Path(options.out_dir) / MODEL_DIR,
            training_data=options.training_data, best=best, init=options.init,
        ))
    _plot_history(result.history, Path(options.out_dir), options.arch)
    return summary


def export_trained_video_model(arch: str, checkpoint: Path, out_dir: Path, *, training_data: str,
                               best: dict[str, Any], init: str | None) -> Path:
    """Checkpoint → model folder with the published importer, then describe the training in the card."""
    from shared.modelcard import ModelCard
    from shared.models.icpr import import_checkpoint

    import_checkpoint(arch, checkpoint, out_dir)
    card = ModelCard.load(out_dir)
    metrics = {k: float(v) for k, v in best.items() if k in ("val_loss", "val_auc", "val_eer") and v is not None
               and math.isfinite(v)}
    card = card.model_copy(update={
        "name": f"{arch}_{Path(out_dir).parent.name}",
        "training_data": training_data or None,
        "reported_metrics": {f"validation_{k.removeprefix('val_')}": v for k, v in metrics.items()},
        "notes": f"Trained with 'deepfake train video' (init: {init or 'random'}); best epoch {best.get('epoch')}.",
    })
    card.save(out_dir)
    return Path(out_dir)


def _plot_history(history: list[dict[str, Any]], out_dir: Path, title: str) -> None:
    from shared.evaluation.plots import plot_training_curves

    if history:
        plot_training_curves(history, out_dir / "training_curves.png", title=f"{title}: training")
