"""Windowing, aggregation and not-applicable rules of score_audio, with real compiled audio models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shared.audio_scoring import AudioScorer, make_windows, plan_windows, score_audio, tile_to
from shared.errors import InvalidArgument
from shared.modelcard import AudioPreprocessing

W, HOP = 64600, 32300


def test_plan_for_a_clip_shorter_than_a_window_is_one_tiled_window() -> None:
    plan = plan_windows(30_000, W, HOP)
    assert plan.starts == [0] and plan.ends == [30_000] and plan.tiled


def test_plan_for_exactly_one_window() -> None:
    plan = plan_windows(W, W, HOP)
    assert plan.starts == [0] and plan.ends == [W] and not plan.tiled


def test_plan_hops_and_aligns_a_last_window_to_the_end() -> None:
    plan = plan_windows(150_000, W, HOP)
    assert plan.starts == [0, 32_300, 64_600, 150_000 - W]
    assert plan.ends[-1] == 150_000
    assert all(e - s == W for s, e in zip(plan.starts, plan.ends, strict=True))


def test_plan_adds_no_extra_window_when_the_hops_end_exactly() -> None:
    plan = plan_windows(W + 2 * HOP, W, HOP)
    assert plan.starts == [0, HOP, 2 * HOP]


def test_tiling_repeats_the_clip_like_the_official_loader() -> None:
    clip = np.arange(7, dtype=np.float32)
    np.testing.assert_array_equal(tile_to(clip, 17), np.concatenate([clip, clip, clip[:3]]))


def test_make_windows_cuts_the_waveform() -> None:
    prep = AudioPreprocessing(window_samples=10, hop_samples=5)
    wave = np.arange(23, dtype=np.float32)
    windows, plan = make_windows(wave, prep)
    assert windows.shape == (4, 10)
    np.testing.assert_array_equal(windows[-1], wave[13:23])


def test_invalid_window_plan_is_refused() -> None:
    with pytest.raises(InvalidArgument):
        plan_windows(100, 0, 10)


@pytest.fixture(scope="module")
def aasist_l_scorer(aasist_l_model_dir: Path) -> AudioScorer:
    return AudioScorer.from_folder(aasist_l_model_dir)


def test_tiled_short_clip_reproduces_the_official_input_and_score(
    aasist_l_scorer: AudioScorer, shared_reference: Path
) -> None:
    """Golden row 1 is an 18,133-sample clip tiled by the official loader: un-tile it and tile it again."""
    golden = shared_reference / "aasist" / "golden"
    official = np.load(golden / "inputs.npy")[1]
    windows, plan = make_windows(official[:18_133], aasist_l_scorer.prep)
    assert plan.tiled and plan.ends == [18_133]
    np.testing.assert_array_equal(windows[0], official)
    logits = np.load(golden / "outputs_AASIST-L.npy")[1]
    expected = 1.0 / (1.0 + np.exp(-(logits[0] - logits[1])))  # softmax P(spoof); bona fide = index 1
    assert float(aasist_l_scorer.score_windows(windows)[0]) == pytest.approx(expected, abs=1e-4)
    # ... but 1.13 s is below the 1.5 s minimum, so a whole file that short is not judged.
    result = score_audio(aasist_l_scorer, official[:18_133])
    assert result.status == "not_applicable" and "too short" in result.not_applicable


def test_clip_between_the_minimum_and_one_window_is_one_tiled_segment(aasist_l_scorer: AudioScorer) -> None:
    clip = np.random.default_rng(1).normal(0, 0.05, 40_000).astype(np.float32)
    result = score_audio(aasist_l_scorer, clip)
    assert result.status == "analyzed" and result.not_applicable is None
    assert [(s.start_s, s.end_s) for s in result.segments] == [(0.0, 2.5)]
    direct = aasist_l_scorer.score_windows(tile_to(clip, W)[None])
    assert result.score == pytest.approx(float(direct[0]), abs=1e-6)


def test_long_clip_gets_overlapping_segments_and_a_mean_score(
    aasist_l_scorer: AudioScorer, shared_media: Path
) -> None:
    from shared.media.audio import load_audio

    wave = load_audio(shared_media / "audio" / "AudioDeepFakeDetecti__samples__LJ040-0073.wav")  # 8.08 s
    result = score_audio(aasist_l_scorer, wave, aggregation="mean")
    assert result.status == "analyzed"
    starts = [s.start_s for s in result.segments]
    assert starts[:2] == [0.0, HOP / 16000]
    assert result.segments[-1].end_s == pytest.approx(len(wave) / 16000)
    scores = [s.score for s in result.segments]
    assert result.score == pytest.approx(np.mean(scores))
    assert result.max_score == pytest.approx(max(scores))
    assert all(0.0 <= s <= 1.0 for s in scores)
    direct = aasist_l_scorer.score_windows(wave[None, :W])
    assert scores[0] == pytest.approx(float(direct[0]), abs=1e-6)


def test_too_short_and_silent_audio_are_not_applicable(aasist_l_scorer: AudioScorer) -> None:
    short = score_audio(aasist_l_scorer, np.full(16_000, 0.1, dtype=np.float32))
    assert short.status == "not_applicable" and short.score is None and "too short" in short.not_applicable
    silent = score_audio(aasist_l_scorer, np.zeros(5 * 16_000, dtype=np.float32))
    assert silent.status == "not_applicable" and "silent" in silent.reason and not silent.segments


def test_silent_stretches_are_skipped(aasist_l_scorer: AudioScorer) -> None:
    rng = np.random.default_rng(0)
    wave = np.zeros(200_000, dtype=np.float32)
    wave[:70_000] = rng.normal(0, 0.1, 70_000)  # only the first windows hear anything
    result = score_audio(aasist_l_scorer, wave)
    assert result.status == "analyzed"
    assert result.silent_windows >= 1
    assert all(seg.start_s < 70_000 / 16000 for seg in result.segments)


def test_wrong_window_shape_and_non_mono_input_are_refused(aasist_l_scorer: AudioScorer) -> None:
    with pytest.raises(InvalidArgument, match="64600"):
        aasist_l_scorer.score_windows(np.zeros((2, 1000), dtype=np.float32))
    with pytest.raises(InvalidArgument, match="mono"):
        score_audio(aasist_l_scorer, np.zeros((2, 50_000), dtype=np.float32))
