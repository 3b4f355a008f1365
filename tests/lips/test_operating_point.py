"""The lips operating point: the shipped file, and the rule that chooses it (``shared.evidence.lips.evaluation``)."""

from __future__ import annotations

import json

import numpy as np

from shared.evidence.lips import OPERATING_POINT_FILE, load_lips_operating_point
from shared.evidence.lips.evaluation import choose

#: every score behind the shipped point, written by the same run (``--table``)
MEASURED_FILE = OPERATING_POINT_FILE.with_name("operating_point.measured.json")


def _row(clips: int, speech: float, originals: list[float], swapped: list[float]) -> dict:
    return {"clips": clips, "speech_s_median": speech, "original_scores": originals, "swapped_scores": swapped}


def test_the_shipped_point_says_how_it_was_measured() -> None:
    shipped = load_lips_operating_point()
    point = shipped.point
    assert point.measured_with and "shared.evidence.lips.evaluation" in point.measured_with
    assert point.false_fake["pooled"].called == 0  # no original called fake where it was measured
    assert 0.0 <= point.real_below <= point.fake_at <= 1.0
    # the check abstains below the length the counts were measured at, whether the rule was met there or not
    assert point.max_seconds is not None and shipped.min_speech_s == point.max_seconds


def test_the_shipped_point_is_what_the_rule_gives_on_the_committed_measurements() -> None:
    """Nobody edited the file by hand: the rule, run again on the scores the run wrote, gives it back."""
    shipped = load_lips_operating_point()
    measured = json.loads(MEASURED_FILE.read_text())
    again = choose(measured, shipped.point.measured_with or "", shipped.point.chosen_on)
    assert again.model_dump() == shipped.model_dump()
    # and the lengths the docs speak of were measured: joins of up to 8 clips, about 50 s of speech
    assert [r["clips"] for r in measured["by_length"]] == list(range(1, 9))
    assert measured["by_length"][-1]["speech_s_median"] > 45.0


def test_the_rule_gives_a_verdict_from_the_first_length_that_catches_half() -> None:
    rows = [
        _row(1, 6.0, [0.1, 0.5, 0.7], [0.2, 0.3, 0.6, 0.95]),  # fake_at 0.701 here: 1 of 4 caught
        _row(2, 12.0, [0.05, 0.2, 0.3], [0.75, 0.8, 0.9, 0.1]),  # fake_at 0.301 from here on: 3 of 4 caught
        _row(3, 18.0, [0.01, 0.02, 0.03], [0.9, 0.95, 0.99, 0.98]),
    ]
    chosen = choose({"by_length": rows}, "cmd", "test rows")
    # the 0.7 of a single clip does not bound it: at 6 s the check abstains
    assert 0.3 < chosen.point.fake_at < 0.31
    assert chosen.min_speech_s == 12.0 and "NOT reached" not in chosen.point.rule
    assert chosen.point.catch["pooled"].called == 3
    assert chosen.point.false_fake["pooled"].called == 0 and chosen.point.false_fake["pooled"].files == 6
    assert chosen.point.real_below == np.quantile([0.75, 0.8, 0.9, 0.1], 0.05)


def test_the_rule_says_so_when_no_length_was_enough() -> None:
    rows = [_row(1, 6.0, [0.1, 0.99], [0.2, 0.3]), _row(2, 12.0, [0.2, 0.3], [0.1, 0.25])]
    chosen = choose({"by_length": rows}, "cmd", "test rows")
    assert chosen.min_speech_s == 12.0  # abstain below the longest length measured
    assert "NOT reached" in chosen.point.rule
    assert chosen.point.fake_at > 0.99  # above every original at every length
    assert chosen.point.catch["pooled"].called == 0


def test_a_clip_left_out_shows_a_fake_point_that_only_held_without_it() -> None:
    """Clip 2's joins score high; chosen without them the point sits low and calls every one of them fake."""
    rows = [
        {
            **_row(2, 12.0, [0.1, 0.1, 0.9, 0.9], [0.5, 0.5, 0.5, 0.5]),
            "original_joins": [[0, 1], [1, 0], [0, 2], [2, 1]],
            "swapped_joins": [[0, 1], [0, 1], [0, 2], [1, 2]],
        }
    ]
    chosen = choose({"clips": ["a", "b", "c"], "by_length": rows}, "cmd", "test rows")
    assert "NOT reached" in chosen.point.rule and chosen.point.false_fake["pooled"].called == 0
    held_out = chosen.point.false_fake_held_out
    assert (held_out["c"].called, held_out["c"].files) == (2, 2)
    assert held_out["a"].called == 0 and held_out["b"].called == 0
