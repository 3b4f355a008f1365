"""Metrics, thresholds and Platt calibration against hand-computed values and scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import f1_score, log_loss, precision_score, recall_score, roc_auc_score

from shared.errors import InvalidArgument
from shared.evaluation.metrics import (
    Threshold,
    binary_metrics,
    choose_threshold,
    equal_error_rate,
    fit_platt,
    grouped_metrics,
    logit,
    sigmoid,
)

FIXED = Threshold(0.5, "card", "model card")


def test_eer_is_zero_for_separable_scores_and_half_for_identical_ones() -> None:
    y = np.array([0, 0, 0, 1, 1, 1])
    eer, thr = equal_error_rate(y, [0.1, 0.2, 0.3, 0.7, 0.8, 0.9])
    assert eer == 0.0 and 0.3 < thr <= 0.7
    eer, _ = equal_error_rate(y, [0.5] * 6)
    assert eer == pytest.approx(0.5)


def test_eer_hand_computed_with_one_error_each_side() -> None:
    # 4 real, 4 fake; one real scores above one fake: at the crossing, 1 of 4 of each side is wrong
    y = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    s = np.array([0.1, 0.2, 0.3, 0.65, 0.6, 0.7, 0.8, 0.9])
    eer, thr = equal_error_rate(y, s)
    assert eer == pytest.approx(0.25)
    m = binary_metrics(y, s, Threshold(thr, "eer", "test"))
    fpr = m["confusion_matrix"]["fp"] / 4
    fnr = m["confusion_matrix"]["fn"] / 4
    assert abs(fpr - fnr) <= 0.25


def test_binary_metrics_agree_with_sklearn() -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 300)
    s = sigmoid(rng.normal(size=300) + 1.2 * y)
    m = binary_metrics(y, s, FIXED)
    pred = (s >= 0.5).astype(int)
    assert m["auc"] == pytest.approx(roc_auc_score(y, s))
    assert m["log_loss"] == pytest.approx(log_loss(y, s))
    assert m["precision"] == pytest.approx(precision_score(y, pred))
    assert m["recall"] == pytest.approx(recall_score(y, pred))
    assert m["f1"] == pytest.approx(f1_score(y, pred))
    assert m["accuracy"] == pytest.approx((pred == y).mean())
    cm = m["confusion_matrix"]
    assert cm["tp"] + cm["fn"] == y.sum() and cm["tn"] + cm["fp"] == (1 - y).sum()
    assert m["threshold"] == {"value": 0.5, "method": "card", "chosen_on": "model card"}


def test_one_class_gives_none_for_ranking_metrics_but_still_counts() -> None:
    m = binary_metrics([0, 0, 0], [0.1, 0.6, 0.2], FIXED)
    assert m["auc"] is None and m["eer"] is None and m["recall"] is None
    assert m["confusion_matrix"] == {"tn": 2, "fp": 1, "fn": 0, "tp": 0}


@pytest.mark.parametrize("method", ["eer", "youden", "f1"])
def test_threshold_methods_separate_separable_data(method: str) -> None:
    y = np.array([0] * 5 + [1] * 5)
    s = np.r_[np.linspace(0.05, 0.3, 5), np.linspace(0.6, 0.95, 5)]
    t = choose_threshold(y, s, method, chosen_on="validation")
    assert binary_metrics(y, s, t)["accuracy"] == 1.0
    assert t.method == method and t.chosen_on == "validation"


def test_grouped_metrics_split_by_group() -> None:
    y = [0, 1, 0, 1]
    out = grouped_metrics(y, [0.2, 0.9, 0.6, 0.4], ["a", "a", "b", "b"], FIXED)
    assert list(out) == ["a", "b"]
    assert out["a"]["accuracy"] == 1.0 and out["b"]["accuracy"] == 0.0


def test_platt_recovers_the_generating_parameters() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(0, 2, 20000)
    y = (rng.random(20000) < sigmoid(0.5 * x - 1.0)).astype(int)
    a, b = fit_platt(x, y)
    assert a == pytest.approx(0.5, abs=0.05) and b == pytest.approx(-1.0, abs=0.08)
    assert logit(sigmoid(1.5)) == pytest.approx(1.5)


@pytest.mark.parametrize(
    ("labels", "scores"),
    [([0, 1], [0.5]), ([], []), ([0, 2], [0.1, 0.2]), ([0, 1], [0.1, 1.5]), ([0, 1], [0.1, float("nan")])],
)
def test_bad_inputs_are_refused_clearly(labels: list, scores: list) -> None:
    with pytest.raises(InvalidArgument):
        binary_metrics(labels, scores, FIXED)


def test_threshold_needs_both_classes() -> None:
    with pytest.raises(InvalidArgument, match="one class"):
        choose_threshold([1, 1], [0.2, 0.3], "eer", chosen_on="x")


def test_per_attack_metrics_pool_every_real_sample_with_each_attack() -> None:
    from shared.evaluation.metrics import per_attack_metrics

    y = [0, 0, 1, 1, 1]
    s = [0.1, 0.2, 0.9, 0.8, 0.15]
    out = per_attack_metrics(y, s, [None, None, "A01", "A01", "A02"], FIXED)
    assert set(out) == {"A01", "A02"}
    assert out["A01"]["n"] == 4 and out["A01"]["eer"] == 0.0
    assert out["A02"]["n"] == 3 and out["A02"]["n_real"] == 2 and out["A02"]["recall"] == 0.0
