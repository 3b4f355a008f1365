"""The voice check's budget for long recordings (``shared.audio_scoring.window_budget``/``choose_windows``).

A recording with up to a minute of speech keeps every window, with the scores the audio model gives those
windows when they are cut by hand and scored directly; a long one is scored on at most the budget, spread
over its speech, and the report says which stretches were heard.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from fixtures_media import speech_like_signal

from shared.audio_scoring import AudioScorer, budget_seconds, choose_windows, score_audio, window_budget
from shared.modelcard import AudioPreprocessing

RATE = 16000
W, HOP = 64600, 32300
AASIST_LIKE = AudioPreprocessing(window_samples=W, hop_samples=HOP)
SPEECH_FILE = "Resemblyzer__audio_data__librispeech_test-other__1998__1998-15444-0000.flac"  # 13.3 s, read speech


def _windows_by_hand(length: int) -> list[int]:
    """Window starts as the module docstring states them: every HOP samples, plus one aligned to the end."""
    starts = [s for s in range(0, length, HOP) if s + W <= length]
    if starts[-1] + W < length:
        starts.append(length - W)
    return starts


# --- the budget and the choice, without a model ----------------------------------------------------------
def test_the_budget_keeps_a_minute_whole_and_then_grows_as_the_square_root() -> None:
    minute = len(_windows_by_hand(60 * RATE))  # 29 AASIST windows
    assert [window_budget(s, AASIST_LIKE) for s in (0.0, 12.0, 60.0)] == [minute] * 3
    ten, forty = window_budget(600.0, AASIST_LIKE), window_budget(2400.0, AASIST_LIKE)
    assert ten is not None and forty is not None
    assert ten < len(_windows_by_hand(600 * RATE)) / 3  # far fewer than every window of 10 minutes
    assert abs(forty / ten - 2.0) < 0.05  # 4x the speech, 2x the windows
    assert window_budget(600.0, AASIST_LIKE, 0) is None and window_budget(600.0, AASIST_LIKE, None) is None


def test_the_seconds_heard_match_the_windows_heard() -> None:
    """The progress bar weighs the voice check by seconds heard: they agree with the windows scored."""
    assert budget_seconds(45.0) == 45.0 and budget_seconds(600.0, 0) == 600.0
    per_second = 29 / 60  # AASIST windows of a 60 s clip
    for speech in (120.0, 600.0, 3600.0):
        windows = window_budget(speech, AASIST_LIKE)
        assert windows is not None and abs(budget_seconds(speech) * per_second - windows) <= 1
        assert budget_seconds(speech) < speech


def test_windows_that_fit_the_budget_are_all_chosen() -> None:
    fractions = np.linspace(0, 1, 12)
    assert choose_windows(fractions, 12) == list(range(12))
    assert choose_windows(fractions, 50) == list(range(12))
    assert choose_windows(fractions, None) == list(range(12))


def test_windows_follow_the_speech_and_keep_the_first_ones() -> None:
    # 60 windows of music (no speech), then 240 of speech, 40 of them quieter (half speech)
    fractions = np.concatenate([np.zeros(60), np.ones(200), np.full(40, 0.6)])
    chosen = choose_windows(fractions, 40)
    assert len(chosen) == 40 and chosen == sorted(set(chosen))
    assert chosen[:2] == [0, 60]  # the first window (aggregation "first") and the first speech window
    assert all(i >= 60 for i in chosen[1:])  # nothing else where nobody speaks
    gaps = np.diff(chosen[1:])
    assert gaps.max() <= 2 * (240 / 38)  # spread evenly over the speech, no long hole
    # more per window where there is more speech: the half-speech end gets fewer per window
    assert sum(i >= 260 for i in chosen) / 40 < sum(60 <= i < 260 for i in chosen) / 200


def test_scarce_speech_is_taken_whole_and_the_rest_spread_in_time() -> None:
    fractions = np.zeros(100)
    fractions[[10, 11, 50]] = [1.0, 0.2, 0.7]
    chosen = choose_windows(fractions, 10)
    assert len(chosen) == 10 and {0, 10, 11, 50} <= set(chosen)
    assert max(np.diff(chosen)) < 30  # the windows without speech are spread, not bunched at the start
    music = choose_windows(np.zeros(100), 5)  # sound but no speech at all: evenly in time
    assert len(music) == 5 and music[0] == 0 and max(np.diff(music)) <= 25


# --- with a real audio model -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def melcnn(melcnn_model_dir: Path) -> AudioScorer:
    return AudioScorer.from_folder(melcnn_model_dir)


def _write(path: Path, wave: np.ndarray) -> Path:
    import soundfile

    soundfile.write(str(path), wave, RATE, subtype="FLOAT")
    return path


def _analyze(path: Path, scorer: AudioScorer):  # type: ignore[no-untyped-def]
    from shared.analysis import AnalyzeOptions
    from shared.pipeline import analyze

    return analyze(path, audio_scorer=scorer, options=AnalyzeOptions(voice_budget_s=60.0))


def test_a_short_recording_keeps_every_window_and_its_scores(melcnn: AudioScorer, tmp_path: Path) -> None:
    """59 s: every window scored, each with the score the model gives it when cut and scored directly."""
    assert (melcnn.prep.window_samples, melcnn.prep.hop_samples) == (W, HOP)
    wave = speech_like_signal(59.0, RATE, seed=3)
    report = _analyze(_write(tmp_path / "short.wav", wave), melcnn)
    audio = report.audio
    assert audio.status == "analyzed"
    starts = _windows_by_hand(len(wave))
    direct = melcnn.score_windows(np.stack([wave[s : s + W] for s in starts]))
    assert audio.windows_total == audio.windows_scored == len(starts) == len(audio.segments)
    assert [seg.start_s for seg in audio.segments] == [round(s / RATE, 3) for s in starts]
    np.testing.assert_allclose([seg.score for seg in audio.segments], direct, atol=1e-4)
    assert audio.score == pytest.approx(float(direct[0]), abs=1e-4)  # MelCNN: the first window, as before
    assert [(t.start_s, t.end_s) for t in audio.scored_stretches] == [(0.0, round(len(wave) / RATE, 3))]
    assert audio.coverage is not None and f"all {len(starts)}" in audio.coverage
    assert not any("spread over its speech" in r for r in report.reasons)


@pytest.fixture(scope="module")
def long_recording(shared_media: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray, int]:
    """Five minutes: one of a steady chord (sound, no speech), then four of read speech looped."""
    from shared.media.audio import load_audio

    speech = load_audio(shared_media / "audio" / SPEECH_FILE, RATE)
    t = np.arange(60 * RATE) / RATE
    chord = (0.1 * (np.sin(2 * np.pi * 220 * t) + np.sin(2 * np.pi * 330 * t))).astype(np.float32)
    talk = np.tile(speech, math.ceil(240 * RATE / len(speech)))[: 240 * RATE]
    wave = np.concatenate([chord, talk]).astype(np.float32)
    path = _write(tmp_path_factory.mktemp("long") / "long.wav", wave)
    return path, wave, len(chord)


def test_a_long_recording_is_scored_on_the_budget_spread_over_its_speech(
    melcnn: AudioScorer, long_recording: tuple[Path, np.ndarray, int]
) -> None:
    path, wave, speech_from = long_recording
    report = _analyze(path, melcnn)
    audio = report.audio
    assert audio.status == "analyzed" and audio.speech_s is not None and 120 < audio.speech_s < 240
    starts = _windows_by_hand(len(wave))
    # the budget the docs state: 29 windows (a minute) times the square root of the minutes of speech
    budget = math.ceil(29 * math.sqrt(audio.speech_s / 60))
    total = len(starts)  # 148: every window has sound
    assert audio.windows_total == total
    assert audio.windows_scored == len(audio.segments) == budget < audio.windows_total / 2
    # the report's times are rounded to the millisecond: each is one of the file's windows
    scored = [min(starts, key=lambda s, t=seg.start_s: abs(s - t * RATE)) for seg in audio.segments]
    assert all(abs(s - seg.start_s * RATE) <= RATE / 1000 for s, seg in zip(scored, audio.segments, strict=True))
    # the first window is kept (MelCNN's file score is its score: the same as scoring every window)
    assert scored[0] == 0
    assert audio.score == pytest.approx(float(melcnn.score_windows(wave[None, :W])[0]), abs=1e-4)
    # the chord minute has no speech: at most the first window and one at the border are heard there
    assert sum(s + W <= speech_from for s in scored) <= 2
    in_speech = [s for s in scored if s >= speech_from]
    assert len(in_speech) >= budget - 3
    assert in_speech[0] - speech_from < 4 * HOP and len(wave) - (in_speech[-1] + W) < 4 * HOP
    assert max(np.diff(in_speech)) <= 3 * (240 * RATE / budget)  # no long stretch of speech left unheard
    # each scored window keeps the score the model gives it directly
    direct = melcnn.score_windows(np.stack([wave[s : s + W] for s in scored[:6]]))
    np.testing.assert_allclose([seg.score for seg in audio.segments[:6]], direct, atol=1e-4)
    # the report says which stretches were heard: merged, in order, covering exactly the scored windows
    stretches = [(t.start_s, t.end_s) for t in audio.scored_stretches]
    assert stretches == sorted(stretches) and all(a[1] < b[0] for a, b in zip(stretches, stretches[1:], strict=False))
    for seg in audio.segments:
        assert any(a <= seg.start_s and seg.end_s <= b for a, b in stretches)
    heard = np.zeros(len(wave) // 160 + 1, bool)  # the union of the scored windows, in 10 ms ticks
    for s in scored:
        heard[s // 160 : (s + W) // 160] = True
    assert sum(b - a for a, b in stretches) == pytest.approx(heard.sum() / 100, abs=0.05 * len(stretches))
    assert audio.coverage is not None and f"{budget} of the recording's {total}" in audio.coverage
    assert any(f"{budget} of the recording's {total}" in r for r in report.reasons)
    voice = next(f for f in report.findings if f.evidence == "voice")
    assert voice.based_on is not None and f"{budget} of the recording's {total}" in voice.based_on


def test_no_budget_scores_every_window(melcnn: AudioScorer, long_recording: tuple[Path, np.ndarray, int]) -> None:
    _, wave, _ = long_recording
    every = score_audio(melcnn, wave[: 150 * RATE], budget_s=0)
    assert every.windows_scored == every.windows_total == len(_windows_by_hand(150 * RATE))


def test_a_long_generated_recording_without_speech_gets_a_minutes_worth_spread_in_time(
    melcnn: AudioScorer, tmp_path: Path
) -> None:
    """Needs nothing outside the repository: 3 minutes of voiced tones (sound that silero-vad does not call
    speech) get the budget of a minute of speech, spread evenly over the recording."""
    wave = speech_like_signal(180.0, RATE, seed=5)
    report = _analyze(_write(tmp_path / "long_tones.wav", wave), melcnn)
    audio = report.audio
    assert audio.status == "analyzed" and audio.speech_s is not None and audio.speech_s < 60
    starts = _windows_by_hand(len(wave))
    minute = len(_windows_by_hand(60 * RATE))
    assert audio.windows_total == len(starts) and audio.windows_scored == len(audio.segments) == minute
    scored = [min(starts, key=lambda s, t=seg.start_s: abs(s - t * RATE)) for seg in audio.segments]
    assert scored[0] == 0 and len(wave) - (scored[-1] + W) < 4 * HOP
    assert max(np.diff(scored)) <= 2 * len(wave) / minute  # spread over the whole recording
    assert audio.score == pytest.approx(float(melcnn.score_windows(wave[None, :W])[0]), abs=1e-4)
    assert len(audio.scored_stretches) >= minute // 2
    assert audio.coverage is not None and f"{minute} of the recording's {len(starts)}" in audio.coverage
