"""The one training loop behind ``deepfake train video`` and ``deepfake train audio``.

Per epoch: train with a progress bar, validate (loss, AUC, EER on the validation split), keep the best
weights by validation loss, stop early when it has not improved for ``patience`` epochs. Two files:

* ``last.pth``: everything needed to resume (weights, optimizer, scheduler, epoch, history, best so far),
  rewritten atomically after every epoch; ``--resume`` continues from it;
* the best checkpoint in the *published* layout of the architecture (written by ``save_best``), so
  ``deepfake models import-icpr`` and the audio importer read it like a downloaded one.

CPU or GPU is chosen automatically (``pick_device``); the loop is the same. Every recipe takes a
``TrainOptions`` (or a subclass with its own fields); ``TrainConfig.from_options`` is the loop's part of it.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from shared.errors import InvalidArgument

LAST_FILE = "last.pth"
HISTORY_FILE = "history.json"


def pick_device(requested: str = "auto") -> Any:
    """``auto``: the first CUDA GPU when there is one, else the CPU."""
    import torch

    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested.startswith("cuda") and not torch.cuda.is_available():
        raise InvalidArgument(f"device {requested!r} requested but no CUDA GPU is available")
    return torch.device(requested)


def set_cpu_threads(threads: int) -> None:
    """Limit torch's intra-op threads (0 keeps torch's default of one per core)."""
    import torch

    if threads > 0:
        torch.set_num_threads(threads)


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's global generators."""
    import random

    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


@dataclass(kw_only=True)
class TrainOptions:
    """What every ``deepfake train`` recipe takes; ``VideoTrainOptions`` and ``AudioTrainOptions`` add their own.

    Attributes:
        arch: the architecture (each recipe lists the names it knows).
        out_dir: the run folder: checkpoints, ``history.json``, the model folder.
        init: starting weights: None or ``"none"`` (random), a published model name, or a checkpoint file.
        epochs, patience: at most this many epochs; stop after ``patience`` without validation improvement.
        batch_size, lr: None means the recipe's own default (each recipe's docstring gives it).
        max_steps_per_epoch: at most this many training batches per epoch (None = all).
        device: ``auto`` (the first CUDA GPU when there is one), ``cpu``, ``cuda``, ``cuda:1`` ...
        threads: torch's CPU threads (0 keeps torch's default of one per core).
        workers: data-loading worker processes.
        seed: seeds Python's, NumPy's and torch's generators (splits, shuffling, crops, augmentation).
        resume: continue the run in ``out_dir`` from its ``last.pth``.
        progress: progress bars and one line per epoch.
        export: convert the best checkpoint into a model folder (``out_dir/model``).
        training_data: what the model is trained on, in words, for the model card.
    """

    arch: str
    out_dir: Path
    init: str | None = None
    epochs: int = 20
    patience: int = 5
    batch_size: int | None = None
    lr: float | None = None
    max_steps_per_epoch: int | None = None
    device: str = "auto"
    threads: int = 0
    workers: int = 0
    seed: int = 0
    resume: bool = False
    progress: bool = True
    export: bool = True
    training_data: str = ""


def prepare_process(options: TrainOptions) -> None:
    """The process-wide part of a run's options: every random generator seeded, torch's CPU threads set."""
    seed_everything(options.seed)
    set_cpu_threads(options.threads)


@dataclass
class TrainConfig:
    """The loop's settings (``from_options`` takes them from a recipe's ``TrainOptions``)."""

    epochs: int = 20
    patience: int = 5
    out_dir: Path = Path("runs/train")
    resume: bool = False
    progress: bool = True
    #: at most this many training batches per epoch (None = all); for quick runs on big data
    max_steps_per_epoch: int | None = None

    @classmethod
    def from_options(cls, options: TrainOptions) -> TrainConfig:
        """The loop's part of a recipe's options."""
        return cls(epochs=options.epochs, patience=options.patience, out_dir=Path(options.out_dir),
                   resume=options.resume, progress=options.progress,
                   max_steps_per_epoch=options.max_steps_per_epoch)


@dataclass
class TrainResult:
    best_epoch: int
    best_val_loss: float
    epochs_run: int
    stopped_early: bool
    history: list[dict[str, Any]]
    best_checkpoint: Path

    def summary(self) -> dict[str, Any]:
        """What every training command reports about the run (callers add their data counts)."""
        return {"checkpoint": str(self.best_checkpoint), "best_epoch": self.best_epoch,
                "best_val_loss": self.best_val_loss, "epochs_run": self.epochs_run,
                "stopped_early": self.stopped_early}


@dataclass(frozen=True)
class Objective:
    """What a model is trained on and how its output becomes fake probabilities: one pair, so they agree.

    Labels are 1 = fake, 0 = real. Build one with ``fake_logit`` or ``bonafide_logits``, the two output
    layouts of this project's networks.

    Attributes:
        loss_fn: ``loss_fn(model_output, labels)``.
        to_scores: model output → fake probabilities ``(B,)``.
    """

    loss_fn: Callable[[Any, Any], Any]
    to_scores: Callable[[Any], Any]

    @classmethod
    def fake_logit(cls, pos_weight: Any = None) -> Objective:
        """One fake logit per example (MelCNN, the ICPR2020 networks): binary cross-entropy on it, sigmoid.

        Args:
            pos_weight: ``BCEWithLogitsLoss``'s weight of the fake class, a ``(1,)`` tensor (None = 1).
        """
        import torch

        bce = torch.nn.BCEWithLogitsLoss(pos_weight=pos_weight)
        return cls(loss_fn=lambda out, y: bce(out.reshape(-1), y.float()),
                   to_scores=lambda out: torch.sigmoid(out.reshape(-1)))

    @classmethod
    def bonafide_logits(cls, class_weights: Any) -> Objective:
        """Two logits, bona fide as class 1 (the published AASIST layout): cross-entropy, P(spoof) by softmax.

        Args:
            class_weights: ``CrossEntropyLoss``'s weight per class, a ``(2,)`` tensor (spoof, bona fide).
        """
        import torch

        ce = torch.nn.CrossEntropyLoss(weight=class_weights)
        return cls(loss_fn=lambda out, y: ce(out, (1 - y).long()),
                   to_scores=lambda out: torch.softmax(out, dim=1)[:, 0])


def _atomic_torch_save(obj: Any, path: Path) -> None:
    import torch

    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def evaluate_loader(
    model: Any, loader: Iterable[Any], loss_fn: Callable[..., Any], to_scores: Callable[[Any], Any], device: Any
) -> dict[str, Any]:
    """Mean loss, and fake probabilities + labels of every validation sample."""
    import torch

    from shared.evaluation.metrics import both_classes, equal_error_rate

    model.eval()
    losses, weights, scores, labels = [], [], [], []
    with torch.no_grad():
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            out = model(x)
            losses.append(float(loss_fn(out, y)))
            weights.append(len(y))
            scores.append(to_scores(out).detach().cpu().numpy())
            labels.append(y.detach().cpu().numpy())
    s = np.concatenate(scores) if scores else np.zeros(0)
    y = np.concatenate(labels).astype(np.int64) if labels else np.zeros(0, np.int64)
    result: dict[str, Any] = {"val_loss": float(np.average(losses, weights=weights)) if losses else math.nan}
    if y.size and both_classes(y):
        from sklearn.metrics import roc_auc_score

        result["val_auc"] = float(roc_auc_score(y, s))
        result["val_eer"] = equal_error_rate(y, s)[0]
    else:
        result["val_auc"] = result["val_eer"] = None
    return result


def train(
    model: Any,
    *,
    train_loader: Iterable[Any],
    val_loader: Iterable[Any],
    objective: Objective,
    optimizer: Any,
    scheduler: Any | None,
    save_best: Callable[[Any, Path, dict[str, Any]], Path],
    best_name: str,
    config: TrainConfig,
    device: Any,
    describe: dict[str, Any] | None = None,
) -> TrainResult:
    """Train ``model`` with early stopping on validation loss; resumable (see the module docstring).

    Args:
        objective: the loss and how an output becomes fake probabilities (for validation).
        scheduler: stepped once per epoch; ``ReduceLROnPlateau`` gets the validation loss.
        save_best: writes the published-layout checkpoint: ``save_best(model, path, info)``.
        best_name: file name of the best checkpoint in ``config.out_dir``.
        describe: what is being trained (architecture, data, settings), stored in ``last.pth`` so a
            resume with different settings is refused.
    """
    import torch
    from tqdm import tqdm

    out = Path(config.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    last_path, best_path = out / LAST_FILE, out / best_name
    history: list[dict[str, Any]] = []
    start_epoch, best_loss, best_epoch, bad_epochs = 1, math.inf, 0, 0
    describe = describe or {}
    if config.resume and last_path.is_file():
        state = torch.load(last_path, map_location="cpu", weights_only=False)
        if state.get("describe", {}) != describe:
            raise InvalidArgument(
                f"cannot resume from {last_path}: it was trained with other settings "
                f"({state.get('describe')}); use another --out or drop --resume"
            )
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if scheduler is not None and state.get("scheduler") is not None:
            scheduler.load_state_dict(state["scheduler"])
        history = state["history"]
        start_epoch = state["epoch"] + 1
        best_loss, best_epoch, bad_epochs = state["best_loss"], state["best_epoch"], state["bad_epochs"]
        if config.progress:
            print(f"resuming after epoch {state['epoch']} (best validation loss {best_loss:.4f} at epoch {best_epoch})")
    elif last_path.is_file() and not config.resume:
        raise InvalidArgument(f"{out} already holds a training run ({LAST_FILE}); pass --resume or another --out")
    model.to(device)
    stopped_early = bad_epochs >= config.patience
    epoch = start_epoch - 1
    for epoch in range(start_epoch, config.epochs + 1):
        if stopped_early:
            break
        model.train()
        total, count = 0.0, 0
        steps = len(train_loader) if hasattr(train_loader, "__len__") else None  # type: ignore[arg-type]
        if config.max_steps_per_epoch and steps:
            steps = min(steps, config.max_steps_per_epoch)
        bar = tqdm(total=steps, desc=f"epoch {epoch}/{config.epochs}", unit="batch", disable=not config.progress)
        for step, (x, y) in enumerate(train_loader):
            if config.max_steps_per_epoch and step >= config.max_steps_per_epoch:
                break
            x, y = x.to(device), y.to(device)
            optimizer.zero_grad(set_to_none=True)
            loss = objective.loss_fn(model(x), y)
            if not torch.isfinite(loss):
                raise InvalidArgument(f"training diverged at epoch {epoch} step {step} (loss {float(loss)})")
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * len(y)
            count += len(y)
            bar.update(1)
            bar.set_postfix(loss=f"{total / max(count, 1):.4f}")
        bar.close()
        val = evaluate_loader(model, val_loader, objective.loss_fn, objective.to_scores, device)
        lr = optimizer.param_groups[0]["lr"]
        if scheduler is not None:
            if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
                scheduler.step(val["val_loss"])
            else:
                scheduler.step()
        record = {"epoch": epoch, "train_loss": total / max(count, 1), "lr": lr, **val}
        improved = val["val_loss"] < best_loss
        if improved:
            best_loss, best_epoch, bad_epochs = val["val_loss"], epoch, 0
            save_best(model, best_path, {"epoch": epoch, **val})
        else:
            bad_epochs += 1
        record["best"] = improved
        history.append(record)
        if config.progress:
            auc = f", val AUC {val['val_auc']:.4f}, EER {val['val_eer']:.2%}" if val["val_auc"] is not None else ""
            print(f"epoch {epoch}: train loss {record['train_loss']:.4f}, val loss {val['val_loss']:.4f}{auc}"
                  + (" (best)" if improved else f" (no improvement for {bad_epochs})"))
        _atomic_torch_save(
            {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
             "scheduler": scheduler.state_dict() if scheduler is not None else None, "epoch": epoch,
             "history": history, "best_loss": best_loss, "best_epoch": best_epoch, "bad_epochs": bad_epochs,
             "describe": describe},
            last_path,
        )
        (out / HISTORY_FILE).write_text(json.dumps(history, indent=2) + "\n")
        if bad_epochs >= config.patience:
            stopped_early = True
            if config.progress:
                print(f"early stop: no validation improvement for {config.patience} epochs")
            break
    if not best_path.is_file():
        raise InvalidArgument(f"no epoch finished, so there is no checkpoint in {out}")
    return TrainResult(best_epoch, best_loss, len(history), stopped_early, history, best_path)
