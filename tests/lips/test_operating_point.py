"""The lips operating point: the shipped file, and the rule that chooses it (``shared.evaluation.lips``)."""

from __future__ import annotations

import numpy as np

from shared.evaluation.lips import UNMEASURED_MIN_SPEECH_S, choose
from shared.evidence.lips import load_lips_operating_point


def _row(clips: int, speech: float, originals: list[float], swapped: list[float]) -> dict:
    return {"clips": clips, "speech_s_median": speech, "original_scores": originals, "swapped_scores": swapped}


def test_the_shipped_point_says_how_it_was_measured() -> None:
    shipped = load_lips_operating_point()
    point = shipped.point
    assert point.measured_with and "shared.evaluation.lips" in point.measured_with
    assert point.false_fake["pooled"].called == 0  # no original called fake where it was measured
    assert 0.0 <= point.real_below <= point.fake_at <= 1.0
    if "NOT measured" in point.rule:
        assert shipped.min_speech_s == UNMEASURED_MIN_SPEECH_S
    assert point.max_seconds is not None and shipped.min_speech_s >= point.max_seconds


def test_the_rule_gives_a_verdict_from_the_first_length_that_catches_half() -> None:
    rows = [
        _row(1, 6.0, [0.1, 0.5, 0.7], [0.2, 0.3, 0.6, 0.95]),  # only 0.95 >= fake_at 0.701: 1 of 4 caught
        _row(2, 12.0, [0.05, 0.2, 0.3], [0.75, 0.8, 0.9, 0.1]),  # 3 of 4 caught
        _row(3, 18.0, [0.01, 0.02, 0.03], [0.9, 0.95, 0.99, 0.98]),
    ]
    chosen = choose({"by_length": rows}, "cmd", "test rows")
    assert chosen.point.fake_at > 0.7 and chosen.point.fake_at < 0.75
    assert chosen.min_speech_s == 12.0 and "NOT measured" not in chosen.point.rule
    assert chosen.point.catch["pooled"].called == 3 and chosen.point.false_fake["pooled"].called == 0
    assert chosen.point.real_below == np.quantile([0.75, 0.8, 0.9, 0.1], 0.05)


def test_the_rule_says_so_when_no_length_was_enough() -> None:
    rows = [_row(1, 6.0, [0.1, 0.99], [0.2, 0.3]), _row(2, 12.0, [0.2, 0.3], [0.5, 0.6])]
    chosen = choose({"by_length": rows}, "cmd", "test rows")
    assert chosen.min_speech_s == UNMEASURED_MIN_SPEECH_S
    assert "NOT measured" in chosen.point.rule
    assert chosen.point.catch["pooled"].called == 0
