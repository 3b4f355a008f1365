"""Lips against voice (``shared.evidence.lips``): offsets recovered from files re-muxed by ffmpeg, abstaining
without speech or sound, the report section, and the sync measure on signals whose answer is known."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from shared.analysis import AnalyzeOptions, RunContext
from shared.evidence import lips as L
from shared.media.probe import open_media
from shared.products import NO_AUDIO_TRACK
from shared.report import LipsSection

CLIP = "real_hyperlips_input_01.mp4"  # 10.9 s, one frontal speaker, speech throughout
DELAY_MS = 300
#: the issue's tolerance on a recovered delay
OFFSET_TOLERANCE_MS = 80


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True)


def _lips(path: Path, every: int | None = None) -> tuple[L.PreparedLips, Any, list[str]]:
    """The lips check on ``path`` as ``deepfake analyze`` runs it (its products, then its section)."""
    from shared.pipeline import make_products

    options = AnalyzeOptions.from_settings(every=every)
    run = RunContext(options=options)
    source = open_media(path)
    try:
        made = make_products(source, list(L.LipsEvidence.needs), options)
        evidence = L.LipsEvidence()
        prepared = evidence.prepare(made, run)
        reasons: list[str] = []
        section = evidence.build_section(source, prepared, None, run, reasons)
        return prepared, section, reasons
    finally:
        source.close()


@pytest.fixture(scope="module")
def talking(shared_media: Path) -> Path:
    return shared_media / "talking" / CLIP


@pytest.fixture(scope="module")
def original(talking: Path) -> tuple[L.PreparedLips, Any, list[str]]:
    return _lips(talking)


@pytest.mark.parametrize("delay_ms", [DELAY_MS, -DELAY_MS])
def test_a_delay_made_by_ffmpeg_is_recovered(talking: Path, original: Any, tmp_path: Path, delay_ms: int) -> None:
    """Sound moved later (the audio stream starts late) or earlier (its first 300 ms cut by an edit list)."""
    delayed = tmp_path / "delayed.mp4"
    _ffmpeg("-i", str(talking), "-itsoffset", f"{delay_ms / 1000}", "-i", str(talking), "-map", "0:v", "-map", "1:a", "-c", "copy", str(delayed))
    _, before, _ = original
    _, after, _ = _lips(delayed)
    assert before.offset_ms is not None and after.offset_ms is not None
    assert abs((after.offset_ms - before.offset_ms) - delay_ms) <= OFFSET_TOLERANCE_MS
    assert after.speaker_track == before.speaker_track


def test_the_section_reports_the_speaker(original: Any) -> None:
    prepared, section, reasons = original
    assert section.speaker_track is not None and section.sync is not None and section.score is not None
    assert 0.0 <= section.score <= 1.0
    assert section.speech_s is not None and section.speech_s > 5.0
    assert section.band is not None and section.band.source == "model_card"
    assert section.min_speech_s == L.load_lips_operating_point().min_speech_s
    if section.speech_s < section.min_speech_s:
        # too little speech for a verdict: it abstains, in words, and still says what it measured
        assert section.status == "not_applicable" and section.verdict == "not_applicable"
        assert "no verdict" in (section.reason or "")
    else:
        assert section.status == "analyzed" and section.verdict != "fake"  # a real clip
    assert any(r.startswith("lips:") for r in reasons)
    assert [t.track_id for t in section.tracks] == [t.signal.track_id for t in prepared.tracks]


def test_a_voice_from_another_clip_scores_above_the_clip_own(shared_media: Path) -> None:
    """The mouth of one real speaker against its own soundtrack and against another speaker's."""
    own, other = (shared_media / "talking" / n for n in ("real_sadtalker_hdtf_01.mp4", "real_sadtalker_hdtf_02.mp4"))
    prepared, _, _ = _lips(own)
    speaker = prepared.speaker
    assert speaker is not None and speaker.result is not None
    wave = _lips_waveform(other)
    swapped = L.measure_sync(speaker.signal, L.speech_envelope(wave, 16000, 0.0))
    assert swapped is not None
    assert swapped.score > speaker.result.score
    assert speaker.result.sync > swapped.sync


def _lips_waveform(path: Path) -> np.ndarray:
    from shared.pipeline import make_products

    return make_products(path, ["waveform_16k"])["waveform_16k"].samples


def test_silence_abstains(talking: Path, tmp_path: Path) -> None:
    silent = tmp_path / "silent.mp4"
    _ffmpeg("-i", str(talking), "-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono", "-map", "0:v", "-map", "1:a", "-c:v", "copy", "-c:a", "aac", "-shortest", str(silent))
    _, section, reasons = _lips(silent)
    assert section.status == "not_applicable" and section.verdict == "not_applicable"
    assert "too little speech" in (section.reason or "")
    assert section.score is None and any("lips:" in r for r in reasons)


def test_no_audio_track_abstains(talking: Path, tmp_path: Path) -> None:
    mute = tmp_path / "mute.mp4"
    _ffmpeg("-i", str(talking), "-an", "-c:v", "copy", str(mute))
    _, section, _ = _lips(mute)
    assert section.status == "not_applicable" and section.reason == NO_AUDIO_TRACK


# --- the measure itself, on signals whose answer is known -------------------------------------------------
def _smooth_noise(seconds: float, hop: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    raw = rng.standard_normal(int(seconds / hop))
    kernel = np.hanning(15)
    return np.convolve(raw, kernel / kernel.sum(), mode="same")


@pytest.mark.parametrize("lag_s", [-0.3, 0.0, 0.12, 0.45])
def test_the_offset_of_a_known_lag_is_found(lag_s: float) -> None:
    hop = 0.01
    envelope = L.Envelope(0.0, hop, _smooth_noise(30.0, hop, seed=1))
    times = np.arange(1.0, 29.0, 0.04)  # 25 fps
    # the mouth shows at t what the voice says at t + lag (the sound comes lag later)
    rng = np.random.default_rng(2)
    mouth = envelope.at(times + lag_s) + 0.3 * np.std(envelope.values) * rng.standard_normal(times.size)
    result = L.measure_sync(L.MouthSignal(0, times, mouth, 200.0), envelope)
    assert result is not None
    assert abs(result.offset_s - lag_s) <= 0.02
    assert result.sync > 5.0 and result.score < 1e-3


def test_an_unrelated_mouth_is_not_in_sync() -> None:
    hop = 0.01
    envelope = L.Envelope(0.0, hop, _smooth_noise(30.0, hop, seed=3))
    times = np.arange(1.0, 29.0, 0.04)
    unrelated = L.Envelope(0.0, hop, _smooth_noise(30.0, hop, seed=4)).at(times)
    result = L.measure_sync(L.MouthSignal(0, times, unrelated, 200.0), envelope)
    assert result is not None
    assert result.sync < 3.0 and result.score > 1e-3


def test_the_envelope_places_sound_by_its_start_time() -> None:
    rate = 16000
    t = np.arange(4 * rate) / rate
    burst = ((t > 2.0) & (t < 2.2)) * np.sin(2 * np.pi * 1000 * t)
    late = L.speech_envelope(burst, rate, start_s=0.5)
    on_time = L.speech_envelope(burst, rate, start_s=0.0)
    grid = np.arange(0.6, 3.9, 0.01)
    assert abs(grid[np.nanargmax(late.at(grid))] - grid[np.nanargmax(on_time.at(grid))] - 0.5) <= 0.011


def test_speech_without_a_face_abstains(talking: Path, tmp_path: Path) -> None:
    faceless = tmp_path / "faceless.mp4"
    _ffmpeg("-f", "lavfi", "-i", "color=c=gray:s=320x240:r=25", "-i", str(talking), "-map", "0:v", "-map", "1:a", "-t", "6", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", str(faceless))
    _, section, _ = _lips(faceless)
    assert section.status == "not_applicable" and section.reason == "no face was found in the video"


def test_sparse_frames_and_one_frame_faces_are_refused_in_words(talking: Path) -> None:
    """Six frames over 11 s (``--frames 6``): no track can follow lips, and every number stays a number."""
    from shared.pipeline import make_products

    options = AnalyzeOptions.from_settings(frames=6)
    run = RunContext(options=options)
    source = open_media(talking)
    try:
        made = make_products(source, list(L.LipsEvidence.needs), options)
        evidence = L.LipsEvidence()
        section = evidence.build_section(source, evidence.prepare(made, run), None, run, [])
    finally:
        source.close()
    assert section.status == "not_applicable" and section.tracks
    for track in section.tracks:
        assert track.reason and np.isfinite(track.speech_s)
    LipsSection.model_validate_json(section.model_dump_json())  # valid JSON numbers, no NaN


def test_the_pages_curve_is_the_mouth_and_the_voice_at_the_found_offset() -> None:
    hop = 0.01
    envelope = L.Envelope(0.0, hop, _smooth_noise(30.0, hop, seed=5))
    times = np.arange(1.0, 29.0, 0.04)
    mouth = envelope.at(times + 0.12)  # the mouth shows at t what is heard at t + 0.12 s
    curve = L.speaker_curve(L.MouthSignal(0, times, mouth, 200.0), envelope, 0.12)
    assert curve is not None and curve.offset_ms == 120
    assert len(curve.times_s) == L.CURVE_POINTS  # 700 frames thinned to the plot's 600
    for values in (curve.mouth, curve.voice):
        assert min(values) == 0.0 and max(values) == 1.0
    # at the found offset the two lines are the same signal up to the mouth's drift removal
    assert np.corrcoef(curve.mouth, curve.voice)[0, 1] > 0.9
    # moved by another offset they are not
    other = L.speaker_curve(L.MouthSignal(0, times, mouth, 200.0), envelope, -0.4)
    assert other is not None and np.corrcoef(other.mouth, other.voice)[0, 1] < 0.5


def test_the_envelope_of_a_long_recording_is_computed_in_chunks_with_the_same_numbers() -> None:
    # speech_envelope takes ENVELOPE_CHUNK windows at a time (memory); the oracle is every window at once,
    # written out here: the band's amplitude of each Hann-tapered 25 ms window, every 10 ms.
    rate = 16000
    audio = np.random.default_rng(5).normal(0.0, 0.1, rate * 100)  # 100 s: 10 000 windows, 3 chunks
    window, hop = 400, 160
    count = 1 + (audio.size - window) // hop
    frames = np.lib.stride_tricks.sliding_window_view(audio, window)[::hop][:count] * np.hanning(window)
    freqs = np.fft.rfftfreq(window, 1.0 / rate)
    band = (freqs >= L.BAND_HZ[0]) & (freqs <= L.BAND_HZ[1])
    energy = np.sqrt((np.abs(np.fft.rfft(frames, axis=1)) ** 2)[:, band].sum(axis=1))
    times = (np.arange(count) * hop + window / 2) / rate
    assert count > 2 * L.ENVELOPE_CHUNK
    np.testing.assert_array_equal(L.speech_envelope(audio, rate, 0.0).values, L._detrend(energy, times, L.DETREND_S))
