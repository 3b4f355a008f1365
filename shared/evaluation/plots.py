"""The evaluation plots, as PNG files (matplotlib, non-interactive Agg backend).

Every function takes plain arrays (label 1 = fake, score = fake probability) and a path, writes one
PNG and returns its path. Nothing here computes a metric that ``metrics.py`` does not also report.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

DPI = 110
REAL_COLOR = "#2b7bba"
FAKE_COLOR = "#d7301f"


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    _pyplot().close(fig)
    return path


def plot_confusion_matrix(cm: Mapping[str, int], path: Path, *, title: str, threshold: float) -> Path:
    """Counts and row-normalised rates of the 2x2 confusion matrix (rows = truth, columns = verdict)."""
    plt = _pyplot()
    counts = np.array([[cm["tn"], cm["fp"]], [cm["fn"], cm["tp"]]], dtype=np.float64)
    rates = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(4.6, 4.0))
    ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    for i in range(2):
        for j in range(2):
            ax.text(
                j, i, f"{int(counts[i, j])}\n({rates[i, j]:.1%})", ha="center", va="center",
                color="white" if rates[i, j] > 0.6 else "black", fontsize=12,
            )
    ax.set_xticks([0, 1], ["real", "fake"])
    ax.set_yticks([0, 1], ["real", "fake"])
    ax.set_xlabel(f"predicted (fake if score ≥ {threshold:.3g})")
    ax.set_ylabel("true label")
    ax.set_title(title)
    return _save(fig, path)


def plot_roc(curves: Mapping[str, tuple[np.ndarray, np.ndarray]], path: Path, *, title: str) -> Path:
    """ROC curves (one per named subset) with their AUC and EER point, and the chance diagonal."""
    from sklearn.metrics import roc_auc_score, roc_curve

    from shared.evaluation.metrics import both_classes, equal_error_rate

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.2, 4.8))
    for name, (y, s) in curves.items():
        y = np.asarray(y)
        if not both_classes(y):
            continue
        fpr, tpr, _ = roc_curve(y, s)
        eer, _ = equal_error_rate(y, s)
        line = ax.plot(fpr, tpr, lw=1.8, label=f"{name}: AUC {roc_auc_score(y, s):.3f}, EER {eer:.1%}")[0]
        ax.plot([eer], [1 - eer], "o", color=line.get_color(), ms=5)
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1, label="chance")
    ax.plot([0, 1], [1, 0], ls=":", color="grey", lw=0.8)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.set_xlabel("false positive rate (real called fake)")
    ax.set_ylabel("true positive rate (fake caught)")
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def plot_precision_recall(curves: Mapping[str, tuple[np.ndarray, np.ndarray]], path: Path, *, title: str) -> Path:
    """Precision-recall curves for the fake class, with average precision and the prevalence baseline."""
    from sklearn.metrics import average_precision_score, precision_recall_curve

    from shared.evaluation.metrics import both_classes

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.2, 4.8))
    for name, (y, s) in curves.items():
        y = np.asarray(y)
        if not both_classes(y):
            continue
        precision, recall, _ = precision_recall_curve(y, s)
        line = ax.step(recall, precision, where="post", lw=1.8,
                       label=f"{name}: AP {average_precision_score(y, s):.3f}")[0]
        ax.axhline(y.mean(), ls="--", lw=1, color=line.get_color(), alpha=0.6)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("recall (fake caught)")
    ax.set_ylabel("precision (of those called fake)")
    ax.set_title(title + "\n(dashed: share of fakes = chance level)", fontsize=10)
    ax.legend(loc="lower left", fontsize=8)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def plot_calibration(
    labels: np.ndarray,
    scores: np.ndarray,
    path: Path,
    *,
    title: str,
    n_bins: int = 10,
    extra: Mapping[str, np.ndarray] | None = None,
) -> Path:
    """Reliability diagram (observed share of fakes per score bin) above the score distribution.

    Args:
        extra: other score sets on the same labels to overlay (e.g. ``{"Platt-calibrated": p}``).
    """
    from sklearn.calibration import calibration_curve

    plt = _pyplot()
    fig, (ax, hist) = plt.subplots(2, 1, figsize=(5.2, 5.8), gridspec_kw={"height_ratios": [3, 1]}, sharex=True)
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1, label="perfectly calibrated")
    sets = {"model": scores, **(extra or {})}
    for name, s in sets.items():
        frac, mean_pred = calibration_curve(labels, s, n_bins=n_bins, strategy="uniform")
        ax.plot(mean_pred, frac, "o-", lw=1.6, ms=4, label=name)
        hist.hist(s, bins=n_bins, range=(0, 1), histtype="step", lw=1.5, label=name)
    ax.set_ylabel("observed share of fakes")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(title)
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    hist.set_xlabel("predicted fake probability")
    hist.set_ylabel("count")
    hist.set_xlim(0, 1)
    return _save(fig, path)


def plot_score_histograms(
    labels: np.ndarray, scores: np.ndarray, path: Path, *, title: str, threshold: float, bins: int = 30
) -> Path:
    """Score distribution of each class on a shared axis, with the decision threshold."""
    plt = _pyplot()
    labels = np.asarray(labels)
    scores = np.asarray(scores)
    fig, ax = plt.subplots(figsize=(5.6, 3.8))
    edges = np.linspace(0, 1, bins + 1)
    for value, name, color in ((0, "real", REAL_COLOR), (1, "fake", FAKE_COLOR)):
        s = scores[labels == value]
        if s.size:
            ax.hist(s, bins=edges, alpha=0.55, color=color, label=f"{name} (n={s.size})")
    ax.axvline(threshold, color="black", ls="--", lw=1.2, label=f"threshold {threshold:.3g}")
    ax.set_xlim(0, 1)
    ax.set_xlabel("fake probability")
    ax.set_ylabel("count")
    ax.set_title(title)
    ax.legend(fontsize=8)
    return _save(fig, path)


def log_mel_spectrogram(waveform: np.ndarray, sample_rate: int, *, n_mels: int = 80) -> np.ndarray:
    """Log-mel spectrogram (dB, ``(n_mels, frames)``) for display: 25 ms windows, 10 ms hop."""
    import torch
    import torchaudio

    mel = torchaudio.transforms.MelSpectrogram(
        sample_rate=sample_rate,
        n_fft=int(0.025 * sample_rate),
        hop_length=int(0.010 * sample_rate),
        n_mels=n_mels,
    )
    with torch.no_grad():
        spec = mel(torch.as_tensor(np.asarray(waveform, dtype=np.float32)).reshape(1, -1))[0]
        db = torchaudio.transforms.AmplitudeToDB(top_db=80.0)(spec)
    return db.numpy()


def plot_mel_examples(examples: Sequence[tuple[str, np.ndarray]], path: Path, *, sample_rate: int, title: str) -> Path:
    """A grid of log-mel spectrograms, one per ``(caption, waveform)`` example."""
    plt = _pyplot()
    n = max(len(examples), 1)
    cols = 2 if n > 1 else 1
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(6.0 * cols, 2.6 * rows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, (caption, wave) in zip(axes.ravel(), examples, strict=False):
        db = log_mel_spectrogram(wave, sample_rate)
        seconds = len(wave) / sample_rate
        ax.axis("on")
        image = ax.imshow(db, origin="lower", aspect="auto", cmap="magma", extent=(0, seconds, 0, db.shape[0]))
        ax.set_title(caption, fontsize=9)
        ax.set_xlabel("time (s)")
        ax.set_ylabel("mel bin")
        fig.colorbar(image, ax=ax, format="%+.0f dB", pad=0.01)
    fig.suptitle(title)
    return _save(fig, path)


def plot_training_curves(history: Sequence[Mapping[str, Any]], path: Path, *, title: str) -> Path:
    """Training and validation loss (and validation AUC when present) per epoch."""
    plt = _pyplot()
    epochs = [h["epoch"] for h in history]
    fig, ax = plt.subplots(figsize=(5.6, 3.8))
    ax.plot(epochs, [h["train_loss"] for h in history], "o-", label="train loss")
    ax.plot(epochs, [h["val_loss"] for h in history], "o-", label="validation loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    if any(h.get("val_auc") is not None for h in history):
        ax2 = ax.twinx()
        ax2.plot(epochs, [h.get("val_auc") for h in history], "s--", color="green", label="validation AUC")
        ax2.set_ylabel("AUC")
        ax2.set_ylim(0, 1)
        ax2.legend(loc="center right", fontsize=8)
    ax.legend(loc="upper left", fontsize=8)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    return _save(fig, path)
