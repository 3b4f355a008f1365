"""Binary detection metrics: one convention, one place.

Convention everywhere in this package: label 1 = fake (spoof), label 0 = real (bona fide), and a score
is the model's fake probability in [0, 1]. Metrics that need a decision use an explicit threshold whose
value *and* the way it was chosen are reported next to the numbers, so a reader can tell a threshold
fixed in advance (the model card's) from one tuned on the very data being scored (optimistic).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from shared import scoring
from shared.errors import InvalidArgument

#: probabilities are clipped to [EPS, 1 - EPS] before log-loss and logit, like scikit-learn does
EPS = 1e-7

THRESHOLD_METHODS = ("card", "eer", "youden", "f1")


@dataclass(frozen=True)
class Threshold:
    """A decision threshold on the fake probability and how it was chosen."""

    value: float
    method: str
    chosen_on: str

    def as_dict(self) -> dict[str, Any]:
        return {"value": self.value, "method": self.method, "chosen_on": self.chosen_on}


def _check(labels: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(labels, dtype=np.int64).reshape(-1)
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    if y.shape != s.shape:
        raise InvalidArgument(f"{y.size} labels but {s.size} scores")
    if y.size == 0:
        raise InvalidArgument("no samples to evaluate")
    if not np.isin(y, (0, 1)).all():
        raise InvalidArgument("labels must be 0 (real) or 1 (fake)")
    if not np.isfinite(s).all() or s.min() < 0 or s.max() > 1:
        raise InvalidArgument("scores must be fake probabilities in [0, 1]")
    return y, s


def both_classes(labels: np.ndarray) -> bool:
    return bool(np.any(labels == 1) and np.any(labels == 0))


def logit(p: np.ndarray | float) -> np.ndarray:
    """Inverse sigmoid of a probability, clipped to [EPS, 1 - EPS] (``shared.scoring.logit``)."""
    return scoring.logit(p, EPS)


#: the one logistic function (``shared.scoring``)
sigmoid = scoring.sigmoid


def equal_error_rate(labels: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray) -> tuple[float, float]:
    """EER and the score threshold where it is reached.

    The EER is where the rate of fakes accepted as real (false negatives among fakes) equals the rate
    of real samples rejected as fake (false positives among reals). Between two ROC points the two
    rates are interpolated linearly, so the value does not depend on how scores happen to be spaced.

    Returns:
        ``(eer, threshold)``; ``(nan, nan)`` when only one class is present.
    """
    from sklearn.metrics import roc_curve

    y, s = _check(labels, scores)
    if not both_classes(y):
        return math.nan, math.nan
    fpr, tpr, thr = roc_curve(y, s, drop_intermediate=False)
    fnr = 1.0 - tpr
    diff = fpr - fnr  # rises from -1 to +1 along the curve
    i = int(np.argmax(diff >= 0))
    if i == 0 or diff[i] == 0:
        t = thr[i] if np.isfinite(thr[i]) else 1.0
        return float((fpr[i] + fnr[i]) / 2), float(min(t, 1.0))
    # interpolate between point i-1 (diff < 0) and i (diff >= 0)
    w = -diff[i - 1] / (diff[i] - diff[i - 1])
    eer = fpr[i - 1] + w * (fpr[i] - fpr[i - 1])
    t0 = min(thr[i - 1], 1.0) if np.isfinite(thr[i - 1]) else 1.0
    return float(eer), float(t0 + w * (thr[i] - t0))


def choose_threshold(
    labels: Sequence[int] | np.ndarray,
    scores: Sequence[float] | np.ndarray,
    method: str,
    *,
    chosen_on: str,
) -> Threshold:
    """Pick a threshold on labelled scores.

    Args:
        method: ``"eer"`` (the EER operating point), ``"youden"`` (maximises TPR - FPR) or ``"f1"``
            (maximises F1 for the fake class).
        chosen_on: a description of the data, reported with the threshold.
    """
    from sklearn.metrics import precision_recall_curve, roc_curve

    y, s = _check(labels, scores)
    if not both_classes(y):
        raise InvalidArgument(f"cannot choose a threshold by {method!r} on {chosen_on}: it holds only one class")
    if method == "eer":
        value = equal_error_rate(y, s)[1]
    elif method == "youden":
        fpr, tpr, thr = roc_curve(y, s)
        value = float(min(thr[int(np.argmax(tpr - fpr))], 1.0))
    elif method == "f1":
        precision, recall, thr = precision_recall_curve(y, s)
        f1 = 2 * precision[:-1] * recall[:-1] / np.maximum(precision[:-1] + recall[:-1], 1e-12)
        value = float(thr[int(np.argmax(f1))])
    else:
        raise InvalidArgument(f"unknown threshold method {method!r}; known: eer, youden, f1, or a number")
    return Threshold(value=value, method=method, chosen_on=chosen_on)


def binary_metrics(
    labels: Sequence[int] | np.ndarray,
    scores: Sequence[float] | np.ndarray,
    threshold: Threshold,
) -> dict[str, Any]:
    """Every number the evaluation report shows, for one set of scored samples.

    Threshold-free: ROC AUC, average precision, log-loss, Brier score, EER (+ its threshold).
    At ``threshold`` (a sample is called fake when its score >= threshold): accuracy, balanced
    accuracy, precision, recall, F1 (fake = positive class) and the confusion matrix.
    Values that need both classes are ``None`` when one is missing.
    """
    from sklearn.metrics import (
        average_precision_score,
        brier_score_loss,
        confusion_matrix,
        log_loss,
        roc_auc_score,
    )

    y, s = _check(labels, scores)
    two = both_classes(y)
    pred = (s >= threshold.value).astype(np.int64)
    tn, fp, fn, tp = (int(v) for v in confusion_matrix(y, pred, labels=[0, 1]).ravel())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else None
    tnr = tn / (tn + fp) if tn + fp else None
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else None
    eer, eer_thr = equal_error_rate(y, s)
    clipped = np.clip(s, EPS, 1 - EPS)
    out: dict[str, Any] = {
        "n": int(y.size),
        "n_real": int((y == 0).sum()),
        "n_fake": int((y == 1).sum()),
        "auc": float(roc_auc_score(y, s)) if two else None,
        "average_precision": float(average_precision_score(y, s)) if two else None,
        "log_loss": float(log_loss(y, clipped, labels=[0, 1])),
        "brier": float(brier_score_loss(y, s, pos_label=1)),
        "eer": None if math.isnan(eer) else eer,
        "eer_threshold": None if math.isnan(eer_thr) else eer_thr,
        "threshold": threshold.as_dict(),
        "accuracy": float((pred == y).mean()),
        "balanced_accuracy": (recall + tnr) / 2 if recall is not None and tnr is not None else None,
        "precision": float(precision),
        "recall": recall,
        "f1": f1,
        "confusion_matrix": {"tn": tn, "fp": fp, "fn": fn, "tp": tp},
    }
    return out


def grouped_metrics(
    labels: Sequence[int] | np.ndarray,
    scores: Sequence[float] | np.ndarray,
    groups: Sequence[str],
    threshold: Threshold,
) -> dict[str, dict[str, Any]]:
    """``binary_metrics`` for each group (source, attack, dataset...), sorted by group name."""
    y, s = _check(labels, scores)
    g = np.asarray(list(groups), dtype=object)
    if g.shape != y.shape:
        raise InvalidArgument(f"{g.size} group names but {y.size} samples")
    return {name: binary_metrics(y[g == name], s[g == name], threshold) for name in sorted(set(g.tolist()))}


def fit_platt(logits: Sequence[float] | np.ndarray, labels: Sequence[int] | np.ndarray) -> tuple[float, float]:
    """Platt scaling: ``a, b`` such that ``sigmoid(a * logit + b)`` is a calibrated fake probability.

    Fitted by (almost unregularised) logistic regression of the labels on the logits.
    """
    from sklearn.linear_model import LogisticRegression

    x = np.asarray(logits, dtype=np.float64).reshape(-1, 1)
    y = np.asarray(labels, dtype=np.int64).reshape(-1)
    if not both_classes(y):
        raise InvalidArgument("Platt calibration needs both real and fake samples")
    model = LogisticRegression(C=1e6, max_iter=1000).fit(x, y)
    return float(model.coef_[0, 0]), float(model.intercept_[0])


def per_attack_metrics(
    labels: Sequence[int] | np.ndarray,
    scores: Sequence[float] | np.ndarray,
    attacks: Sequence[str | None],
    threshold: Threshold,
) -> dict[str, dict[str, Any]]:
    """Metrics of each attack against *all* real samples (the ASVspoof per-attack EER convention).

    Args:
        attacks: the attack id of each fake sample; ignored for real samples. Fakes without an id are
            pooled as ``"unknown"``.
    """
    y, s = _check(labels, scores)
    names = np.asarray(["" if y[i] == 0 else (attacks[i] or "unknown") for i in range(y.size)], dtype=object)
    real = y == 0
    out = {}
    for name in sorted(set(names[~real].tolist())):
        keep = real | (names == name)
        out[name] = binary_metrics(y[keep], s[keep], threshold)
    return out
