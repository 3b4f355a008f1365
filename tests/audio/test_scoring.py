"""shared.scoring and the operating-point arithmetic of shared.evaluation.audio_media, on constructed inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shared.audio_scoring import score_audio
from shared.errors import InvalidArgument
from shared.evaluation.audio_media import (
    FileScores,
    ScoredFile,
    choose_aggregation,
    choose_operating_point,
    compare_aggregations,
    study_operating_point,
    thresholds_on,
)
from shared.modelcard import AudioPreprocessing, Calibration, MeasuredRate, ModelCard, OperatingPoint
from shared.report import Thresholds
from shared.scoring import (
    AUDIO_AGGREGATIONS,
    Band,
    aggregate_audio,
    aggregate_tracks,
    band_for,
    calibrated,
    fake_probability,
    logit,
    min_track_faces,
    sigmoid,
    verdict_for,
)
from shared.scoring import verdict_for as report_verdict_for


def _card(**update: object) -> ModelCard:
    card = ModelCard(name="M", architecture="A", kind="audio", preprocessing=AudioPreprocessing(window_samples=10, hop_samples=5, min_seconds=0.001))
    return card.model_copy(update=update)


def _point(fake_at: float = 0.9, real_below: float = 0.2, aggregation: str = "median") -> OperatingPoint:
    return OperatingPoint(
        fake_at=fake_at, real_below=real_below, aggregation=aggregation, chosen_on="test data", rule="by hand",
        target_false_fake_rate=0.05,
        false_fake={"A": MeasuredRate(called=1, files=40), "pooled": MeasuredRate(called=2, files=80)},
        false_fake_held_out={"A": MeasuredRate(called=2, files=40), "B": MeasuredRate(called=1, files=40)},
        catch={"pooled": MeasuredRate(called=30, files=120)},
    )


# --- probabilities --------------------------------------------------------------------------------------
def test_sigmoid_logit_and_calibration_exact_values() -> None:
    assert sigmoid(0.0) == 0.5
    assert sigmoid(np.log(3.0)) == pytest.approx(0.75, abs=1e-15)
    assert sigmoid(-1000.0) == 0.0 and sigmoid(1000.0) == 1.0  # no overflow warning in the tanh form
    np.testing.assert_allclose(logit(sigmoid(np.array([-7.5, 0.25, 12.0]))), [-7.5, 0.25, 12.0], rtol=1e-9)
    assert np.isfinite(logit(1.0)) and np.isfinite(logit(0.0))
    cal = Calibration(a=2.0, b=-1.0, fitted_on="x")
    np.testing.assert_allclose(calibrated(np.array([0.0, 1.5]), cal), np.array([-1.0, 2.0]))
    np.testing.assert_array_equal(calibrated(np.array([0.0, 1.5]), None), np.array([0.0, 1.5]))
    assert fake_probability(0.5, _card(calibration=cal)) == 0.5  # 2 * 0.5 - 1 = 0
    assert fake_probability(0.5, None) == pytest.approx(0.6224593312, abs=1e-10)


# --- the band -------------------------------------------------------------------------------------------
def test_band_is_fake_at_and_above_real_strictly_below() -> None:
    band = Band(fake_at=0.8, real_below=0.3)
    assert [band.verdict(s) for s in (0.0, 0.2999, 0.3, 0.5, 0.7999, 0.8, 1.0)] == [
        "real", "real", "uncertain", "uncertain", "uncertain", "fake", "fake"
    ]
    assert band.verdict(None) == "not_applicable" and band.verdict(float("nan")) == "not_applicable"
    with pytest.raises(InvalidArgument):
        Band(fake_at=0.3, real_below=0.8)


def test_legacy_thresholds_keep_their_inclusive_bounds() -> None:
    """verdict_for on a report Thresholds gives exactly what shared.report.verdict_for gives."""
    th = Thresholds(uncertain_low=0.35, uncertain_high=0.65)
    for score in [0.0, 0.3499999, 0.35, 0.5, 0.65, 0.6500001, 1.0, None]:
        assert verdict_for(score, th) == report_verdict_for(score, th), score
    assert verdict_for(0.65, th) == "uncertain" and verdict_for(0.35, th) == "uncertain"
    assert verdict_for(1.0, Thresholds(uncertain_low=0.0, uncertain_high=1.0)) == "uncertain"


def test_band_for_prefers_the_cards_operating_point_then_shifts_by_the_threshold() -> None:
    default = Band.around(0.35, 0.65)
    assert band_for(None, default) is default
    assert band_for(_card(), default) is default
    moved = band_for(_card(decision_threshold=0.6), default)
    assert moved.real_below == pytest.approx(0.45) and moved.fake_at == pytest.approx(0.75)
    assert moved.verdict(0.75) == "uncertain" and moved.verdict(0.7501) == "fake"  # legacy: upper bound uncertain
    measured = band_for(_card(decision_threshold=0.6, operating_point=_point()), default)
    assert (measured.fake_at, measured.real_below) == (0.9, 0.2)
    assert measured.operating_point is not None and "operating point" in measured.source


def test_operating_point_describes_itself_in_one_line() -> None:
    line = _point().describe()
    assert "\n" not in line
    assert "'fake' at score >= 0.9, 'real' below 0.2 (median)" in line
    assert "2.5 % of 80 real recordings called fake" in line and "chosen without a source, up to 5.0 % on it (A)" in line
    assert "25.0 % of 120 spoofed recordings caught" in line and line.endswith("chosen on test data")
    assert Band.from_operating_point(_point(), source="x").describe() == line


def test_card_round_trips_its_operating_point(tmp_path: Path) -> None:
    _card(operating_point=_point()).save(tmp_path)
    loaded = ModelCard.load(tmp_path)
    assert loaded.operating_point == _point()
    assert loaded.operating_point.false_fake["pooled"].rate == 0.025
    assert ModelCard.model_validate({k: v for k, v in _card().model_dump().items() if k != "operating_point"}).operating_point is None


# --- audio aggregation ------------------------------------------------------------------------------------
P = [0.2, 0.9, 0.4, 0.7]
SPEECH = [0.1, 0.6, 0.5, 0.9]  # windows 1, 2, 3 are mostly speech


@pytest.mark.parametrize(
    ("method", "score", "used"),
    [
        ("first", 0.2, (0,)),
        ("mean", 0.55, (0, 1, 2, 3)),
        ("median", 0.55, (0, 1, 2, 3)),
        ("max", 0.9, (1,)),
        ("speech_first", 0.9, (1,)),
        ("speech_mean", 2.0 / 3.0, (1, 2, 3)),
        ("speech_median", 0.7, (1, 2, 3)),
        ("speech_max", 0.9, (1,)),
    ],
)
def test_each_aggregation_on_constructed_windows(method: str, score: float, used: tuple[int, ...]) -> None:
    result = aggregate_audio(P, method, SPEECH)
    assert result.score == pytest.approx(score, abs=1e-12) and result.windows_used == used and result.method == method


def test_speech_aggregations_without_speech_or_fractions() -> None:
    none = aggregate_audio(P, "speech_mean", [0.0, 0.49, 0.1, 0.2])
    assert none.score is None and none.windows_used == () and "speech" in (none.reason or "")
    with pytest.raises(InvalidArgument, match="speech fraction"):
        aggregate_audio(P, "speech_first")
    with pytest.raises(InvalidArgument, match="unknown audio aggregation"):
        aggregate_audio(P, "mode", SPEECH)
    assert aggregate_audio([], "mean").score is None
    assert set(AUDIO_AGGREGATIONS) == {"first", "mean", "median", "max", "speech_first", "speech_mean",
                                       "speech_median", "speech_max"}


class _StubScorer:
    """Returns fixed window probabilities; the card has 10-sample windows, hop 5."""

    def __init__(self, card: ModelCard, probs: list[float]) -> None:
        self.card, self.probs = card, probs

    def score_windows(self, windows: np.ndarray) -> np.ndarray:
        assert windows.shape == (len(self.probs), 10)
        return np.asarray(self.probs, dtype=np.float32)


class _FixedActivity:
    speech_seconds = 1.25

    def __init__(self, fractions: list[float]) -> None:
        self.fractions = fractions

    def window_fractions(self, starts: list[int], ends: list[int]) -> np.ndarray:
        assert len(starts) == len(self.fractions)
        return np.asarray(self.fractions)


class _StubDetector:
    """Gives fixed speech fractions per window (the real detector is tested in test_scoring_vad.py)."""

    def __init__(self, fractions: list[float]) -> None:
        self.fractions = fractions

    def activity(self, waveform: np.ndarray, rate: int) -> _FixedActivity:
        return _FixedActivity(self.fractions)


def test_score_audio_uses_the_aggregation_and_counts_non_speech_windows() -> None:
    wave = np.full(25, 0.1, dtype=np.float32)  # windows at 0, 5, 10, 15 (10 samples each, hop 5)
    scorer = _StubScorer(_card(), P)
    result = score_audio(scorer, wave, aggregation="speech_median", speech_detector=_StubDetector(SPEECH))
    assert result.status == "analyzed" and result.aggregation == "speech_median"
    assert result.score == pytest.approx(0.7, abs=1e-6) and result.max_score == pytest.approx(0.9, abs=1e-6)
    assert result.non_speech_windows == 1 and result.speech_s == 1.25
    assert [w.counted for w in result.segments] == [False, True, True, True]
    assert [w.speech_fraction for w in result.segments] == SPEECH
    # the card's operating point decides the default aggregation (its thresholds apply to that score)
    with_point = score_audio(_StubScorer(_card(operating_point=_point(aggregation="max")), P), wave,
                             speech_detector=_StubDetector(SPEECH))
    assert with_point.aggregation == "max" and with_point.score == pytest.approx(0.9, abs=1e-6)
    quiet = score_audio(scorer, wave, aggregation="speech_first", speech_detector=_StubDetector([0.0] * 4))
    assert quiet.status == "not_applicable" and "no speech" in (quiet.reason or "")
    assert quiet.non_speech_windows == 4 and len(quiet.segments) == 4


# --- video aggregation ------------------------------------------------------------------------------------
def test_tracks_score_sigmoid_of_the_mean_logit_and_the_worst_counted_track_wins() -> None:
    logits = [2.0, 0.0, -1.0, -3.0, 4.0, 6.0]
    ids = [0, 0, 1, 1, 2, 0]  # track 2 is seen once: a likely detector mistake
    video = aggregate_tracks(logits, ids, None, frames_analyzed=10, frames_with_faces=10)
    assert video.min_faces == 2
    by_id = {t.track_id: t for t in video.tracks}
    assert by_id[0].members == (0, 1, 5) and by_id[0].mean_logit == pytest.approx(8.0 / 3.0)
    assert by_id[0].score == pytest.approx(1 / (1 + np.exp(-8.0 / 3.0)), abs=1e-12)
    assert by_id[1].score == pytest.approx(1 / (1 + np.exp(2.0)), abs=1e-12)
    assert not by_id[2].counted and by_id[2].score > by_id[0].score
    assert video.worst.track_id == 0 and video.score == by_id[0].score
    cal = Calibration(a=0.5, b=0.0, fitted_on="x")
    calibrated_video = aggregate_tracks(logits, ids, _card(calibration=cal), frames_analyzed=10, frames_with_faces=10)
    assert calibrated_video.score == pytest.approx(1 / (1 + np.exp(-4.0 / 3.0)), abs=1e-12)
    # nothing long enough: the longest track counts
    short = aggregate_tracks([1.0, -1.0], [0, 1], None, frames_analyzed=30, frames_with_faces=30)
    assert short.min_faces == 3 and all(t.counted for t in short.tracks) and short.worst.track_id == 0
    with pytest.raises(InvalidArgument):
        aggregate_tracks([], [], None, frames_analyzed=1, frames_with_faces=0)


def test_min_track_faces() -> None:
    assert [min_track_faces(a, w) for a, w in ((1, 1), (2, 2), (3, 3), (50, 19), (50, 21), (300, 300))] == [1, 1, 2, 2, 3, 30]


# --- operating point arithmetic ----------------------------------------------------------------------------
def _set(scores: dict[tuple[str, int], list[float]]) -> FileScores:
    s, y, g = [], [], []
    for (source, label), values in scores.items():
        s += values
        y += [label] * len(values)
        g += [source] * len(values)
    return FileScores(np.array(s, dtype=np.float64), np.array(y), np.array(g, dtype=object))


def test_fake_point_lets_the_strictest_source_decide() -> None:
    data = _set({
        ("A", 0): [i / 20 for i in range(20)],  # 0.00 .. 0.95: 1 of 20 may be called fake -> above 0.90
        ("B", 0): [0.1] * 10,  # 10 files: none may be called fake -> above 0.1
        ("A", 1): [0.3, 0.6, 0.97, 0.99],
        ("C", 1): [0.5] * 19 + [0.05],  # 1 of 20 may be called real -> below 0.5
    })
    t = thresholds_on(data, 0.05)
    # A: midway in log-odds between 0.90 (must stay below) and 0.95; B's point (0.1 + margin) is lower
    assert t.fake_at == pytest.approx(float(sigmoid((logit(0.90) + logit(0.95)) / 2)), abs=1e-12)
    assert t.fake_at == pytest.approx(0.9289606, abs=1e-6)
    # spoofs: A (0 of 4 may be called real) gives logit(0.3) - 0.5; C (1 of 20) midway 0.05 .. 0.5: lower
    assert t.real_below == pytest.approx(float(sigmoid((logit(0.05) + logit(0.5)) / 2)), abs=1e-12)
    assert np.sum(data.scores[data.labels == 0] >= t.fake_at) == 1


def test_leave_one_source_out_measures_each_real_source_with_a_point_chosen_without_it() -> None:
    data = _set({
        ("A", 0): [0.1, 0.2, 0.3, 0.4],
        ("B", 0): [0.6, 0.7, 0.8, 0.9],
        ("B", 1): [0.75, 0.95],
    })
    study = study_operating_point(data, 0.05)
    point_without_b, real_b, caught_b = study.held_out["B"]
    assert point_without_b.fake_at == pytest.approx(float(sigmoid(logit(0.4) + 0.5)), abs=1e-12)  # 0.5237
    assert (real_b.called, real_b.files) == (4, 4)  # chosen on A only, it calls every real B file fake
    assert caught_b is not None and (caught_b.called, caught_b.files) == (2, 2)
    point_without_a, real_a, caught_a = study.held_out["A"]
    assert point_without_a.fake_at == pytest.approx(float(sigmoid(logit(0.9) + 0.5)), abs=1e-12)  # 0.9369
    assert real_a.called == 0 and caught_a is None
    assert study.thresholds.fake_at == point_without_a.fake_at


def _file(source: str, label: int, z: list[float], speech: list[float] | None = None) -> ScoredFile:
    return ScoredFile(path=f"{source}{label}{z}", source=source, label=label, duration_s=4.0,
                      log_odds=np.array(z), speech=np.array(speech or [1.0] * len(z)),
                      starts_s=np.arange(len(z)) * 2.0)


def test_compare_and_choose_on_constructed_files() -> None:
    # first windows separate nothing; the max of each file separates perfectly
    files = [
        _file("S", 0, [0.0, -2.0]), _file("S", 0, [0.0, -1.0]), _file("S", 1, [0.0, 3.0]), _file("S", 1, [0.0, 2.0]),
        _file("T", 0, [0.0, -2.0]), _file("T", 1, [0.0, 1.0]),
        _file("U", 0, [0.0, 0.0], speech=[0.0, 0.0]),  # no speech: left out of the comparison
    ]
    table = compare_aggregations(files)
    assert table.files == 6 and len(table.dropped) == 1
    assert table.row("first").pooled == 50.0 and table.row("max").pooled == 0.0
    assert table.row("max").per_source["S"] == 0.0
    assert choose_aggregation(table) == "mean"  # mean separates as well and comes first among the winners
    point, _ = choose_operating_point(files, "max", max_seconds=None, chosen_on="constructed")
    assert point.aggregation == "max" and point.false_fake["pooled"].called == 0
    # every real file's max is sigmoid(0) = 0.5; no source may have one called fake: 0.5 + margin
    assert point.catch["pooled"].files == 3 and point.fake_at == pytest.approx(float(sigmoid(0.5)), abs=1e-12)
    assert point.catch["pooled"].called == 3  # the spoofs' maxima: sigmoid(3), sigmoid(2), sigmoid(1) > 0.62


def test_windows_round_trip_and_the_first_window_cut(tmp_path: Path) -> None:
    from shared.evaluation.audio_media import Skipped, first_window_only, load_windows, save_windows

    files = [_file("S", 0, [0.5, -1.0, 2.0], speech=[0.9, 0.2, 0.7]), _file("S", 1, [3.0])]
    silent_first = _file("S", 1, [1.0, 2.0])
    silent_first.starts_s = np.array([2.0, 4.0])  # its first window was skipped as silence
    path = save_windows(tmp_path / "w.json", [*files, silent_first], [Skipped("x.wav", "too short")], {"model": "M"})
    loaded, skipped, meta = load_windows(path)
    assert meta == {"model": "M"} and skipped == [Skipped("x.wav", "too short")]
    np.testing.assert_array_equal(loaded[0].log_odds, [0.5, -1.0, 2.0])
    np.testing.assert_array_equal(loaded[0].speech, [0.9, 0.2, 0.7])
    assert loaded[0].score("max") == pytest.approx(float(np.float32(sigmoid(2.0))))  # float32, as analyze reports
    cut, silent = first_window_only(loaded)
    assert [len(f.log_odds) for f in cut] == [1, 1] and [s.reason for s in silent] == ["the audio is silent"]
    assert cut[0].score("mean") == cut[0].score("first") == loaded[0].score("first")
