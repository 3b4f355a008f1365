"""Audio decoding that cannot crash: every channel layout (1-24 channels, planar and packed codecs), more
channels than FFmpeg can resample, layouts that change part-way, and non-finite samples.

PyAV's ``AudioFrame.to_ndarray()`` used to crash the whole process (SIGSEGV) on planar audio with 8 or
more channels, so every decode of a generated file runs in a child process: a crash fails the one test
(with the signal in the message) instead of killing pytest.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from shared import errors
from shared.media.audio import MAX_AUDIO_CHANNELS, load_audio

REPO = Path(__file__).resolve().parents[2]
CHANNELS = (1, 2, 6, 8, 12, 24)
SECONDS = 2.0
SOURCE_RATE = 48000
#: (name, ffmpeg codec arguments, suffix, sample format family the decoder produces)
CODECS = {
    "wav_s16": (["-c:a", "pcm_s16le"], ".wav", "packed"),
    "wav_f32": (["-c:a", "pcm_f32le"], ".wav", "packed"),
    "flac": (["-c:a", "flac"], ".flac", "packed"),
    "aac_m4a": (["-c:a", "aac", "-b:a", "256k"], ".m4a", "planar"),
    "vorbis_ogg": (["-c:a", "libvorbis"], ".ogg", "planar"),
    "opus": (["-c:a", "libopus", "-mapping_family", "255"], ".opus", "planar"),
}
LOSSLESS = {"wav_s16", "wav_f32", "flac"}

# Decodes one file in a fresh interpreter; prints what the parent checks and saves the waveform.
_CHILD = """
import json, sys
import av, numpy as np
from shared.errors import DeepfakeError
from shared.media.audio import load_audio
path, out = sys.argv[1], sys.argv[2]
with av.open(path) as c:
    first = next(c.decode(audio=0))
    facts = {"planar": first.format.is_planar, "channels": first.layout.nb_channels}
try:
    wave = load_audio(path)
except DeepfakeError as exc:
    facts["error"] = exc.code
else:
    np.save(out, wave)
print(json.dumps(facts))
"""


def channel_signal(channels: int, rate: int, seconds: float = SECONDS) -> np.ndarray:
    """``(samples, channels)`` float32: channel i is a 0.3-amplitude sine at 200 + 50 i Hz."""
    t = np.arange(int(seconds * rate)) / rate
    return np.stack([0.3 * np.sin(2 * np.pi * (200 + 50 * i) * t) for i in range(channels)], axis=1).astype(
        np.float32
    )


def write_channels(path: Path, channels: int, codec: str) -> Path | None:
    """Encode ``channel_signal`` with one of ``CODECS``; ``None`` when this ffmpeg's encoder refuses the
    channel count (FLAC and FFmpeg's AAC stop at 8)."""
    import soundfile

    exe = shutil.which("ffmpeg")
    if exe is None:
        pytest.skip("needs the ffmpeg command line (apt-get install ffmpeg)")
    source = path.with_name(f"{path.stem}_source.wav")
    soundfile.write(str(source), channel_signal(channels, SOURCE_RATE), SOURCE_RATE, subtype="FLOAT")
    args, _suffix, _family = CODECS[codec]
    done = subprocess.run(
        [exe, "-v", "error", "-y", "-i", str(source), *args, str(path)], capture_output=True
    )
    source.unlink()
    return path if done.returncode == 0 else None


def decode_in_child(path: Path, tmp_path: Path) -> tuple[dict, np.ndarray | None]:
    out = tmp_path / "wave.npy"
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path), str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert done.returncode == 0, (
        f"decoding {path.name} ended with status {done.returncode}"
        + (f" (killed by signal {-done.returncode})" if done.returncode < 0 else "")
        + f": {done.stderr[-2000:]}"
    )
    facts = json.loads(done.stdout.strip().splitlines()[-1])
    return facts, (np.load(out) if out.exists() else None)


@pytest.mark.parametrize("codec", sorted(CODECS))
@pytest.mark.parametrize("channels", CHANNELS)
def test_every_channel_layout_decodes_to_the_mean_of_its_channels(
    tmp_path: Path, channels: int, codec: str
) -> None:
    path = write_channels(tmp_path / f"ch{channels}{CODECS[codec][1]}", channels, codec)
    if path is None:
        pytest.skip(f"this ffmpeg cannot encode {channels} channels as {codec}")
    facts, wave = decode_in_child(path, tmp_path)
    assert facts.get("error") is None, facts
    assert facts["channels"] == channels
    assert facts["planar"] == (CODECS[codec][2] == "planar")  # the matrix covers what it says it covers
    assert wave is not None and wave.dtype == np.float32 and wave.ndim == 1
    expected = channel_signal(channels, 16000).mean(axis=1)
    # Lossy codecs add a few ms of priming/padding; the length is the stream's, near 2 s.
    assert abs(wave.size - expected.size) <= 0.05 * 16000, wave.size
    if codec in LOSSLESS:
        n = min(wave.size, expected.size)
        assert np.abs(wave[100 : n - 100] - expected[100 : n - 100]).max() < 2e-3
    # The average of the channels, not one channel nor their sum: the RMS of a mean of N sines at
    # different frequencies is 1/sqrt(N) of one sine's, so a wrong downmix is off by >= 41 % from 2 up.
    middle = wave[wave.size // 8 : -wave.size // 8]
    rms, expected_rms = float(np.sqrt(np.mean(middle**2))), float(np.sqrt(np.mean(expected**2)))
    assert rms == pytest.approx(expected_rms, rel=0.2), (rms, expected_rms)


def test_the_matrix_has_planar_cases_with_8_or_more_channels(tmp_path: Path) -> None:
    # The crash was planar audio with >= 8 channels: make sure this ffmpeg produced such files above.
    made = [
        c for c in ("aac_m4a", "vorbis_ogg", "opus") if write_channels(tmp_path / f"p{c}{CODECS[c][1]}", 8, c)
    ]
    assert made, "no planar codec could encode 8 channels here"
    assert write_channels(tmp_path / "p24.opus", 24, "opus") or write_channels(
        tmp_path / "p24.ogg", 24, "vorbis_ogg"
    )


def test_more_channels_than_ffmpeg_can_resample_are_refused(tmp_path: Path) -> None:
    import soundfile

    path = tmp_path / "many.wav"
    soundfile.write(str(path), channel_signal(MAX_AUDIO_CHANNELS + 1, 16000, 0.5), 16000, subtype="PCM_16")
    with pytest.raises(errors.UnsupportedMedia) as info:
        load_audio(path)
    assert f"{MAX_AUDIO_CHANNELS + 1} channels" in info.value.message and "many.wav" in info.value.message
    # 64 is still fine
    soundfile.write(str(path), channel_signal(MAX_AUDIO_CHANNELS, 16000, 0.5), 16000, subtype="PCM_16")
    assert load_audio(path).size == 8000


def test_a_layout_and_rate_change_part_way_is_decoded(tmp_path: Path) -> None:
    # Two ADTS streams glued together (mono 44.1 kHz, then stereo 48 kHz): players play both halves.
    exe = shutil.which("ffmpeg")
    if exe is None:
        pytest.skip("needs the ffmpeg command line")
    parts = []
    for name, rate, channels, freq in (("a", 44100, 1, 300), ("b", 48000, 2, 500)):
        part = tmp_path / f"{name}.aac"
        subprocess.run(
            [exe, "-v", "error", "-f", "lavfi", "-i", f"sine=f={freq}:d=1:r={rate}", "-ac", str(channels),
             "-c:a", "aac", "-f", "adts", str(part)],
            check=True,
        )  # fmt: skip
        parts.append(part.read_bytes())
    glued = tmp_path / "glued.aac"
    glued.write_bytes(b"".join(parts))
    wave = load_audio(glued)
    assert wave.size == pytest.approx(2 * 16000, abs=0.1 * 16000)
    peak = lambda x: float(np.fft.rfftfreq(x.size, 1 / 16000)[np.argmax(np.abs(np.fft.rfft(x)))])  # noqa: E731
    assert peak(wave[2000:14000]) == pytest.approx(300, abs=5)
    assert peak(wave[-14000:-2000]) == pytest.approx(500, abs=5)


def nan_wav(path: Path, bad: float, rate: int = 16000, subtype: str = "FLOAT", seconds: float = 4.0) -> Path:
    """Speech-like float WAV with one non-finite sample per second (the trick that hid a fake)."""
    import soundfile
    from fixtures_media import speech_like_signal

    wave = speech_like_signal(seconds, rate).astype(np.float64)
    wave[rate // 2 :: rate] = bad
    soundfile.write(str(path), wave, rate, subtype=subtype)
    return path


@pytest.mark.parametrize(
    "bad, rate, subtype",
    [
        (float("nan"), 16000, "FLOAT"),  # passes through the resampler untouched
        (float("nan"), 44100, "FLOAT"),  # resampled: the NaN smears over its neighbours
        (float("inf"), 16000, "FLOAT"),
        (float("-inf"), 22050, "FLOAT"),
        (1e300, 16000, "DOUBLE"),  # finite as float64, infinite once decoded to float32
    ],
)
def test_non_finite_samples_are_corrupt_media(tmp_path: Path, bad: float, rate: int, subtype: str) -> None:
    path = nan_wav(tmp_path / "spoof.wav", bad, rate, subtype)
    with pytest.raises(errors.CorruptMedia) as info:
        load_audio(path)
    assert info.value.code == "corrupt_media" and "spoof.wav" in info.value.message
    assert "NaN or infinity" in info.value.message and "first at 0.5" in info.value.message


def test_the_same_file_without_the_bad_samples_decodes(tmp_path: Path) -> None:
    path = nan_wav(tmp_path / "clean.wav", 0.0)
    assert load_audio(path).size == 4 * 16000


@pytest.fixture(scope="module")
def video_with_71_sound(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An ordinary H.264 mp4 with 7.1 AAC sound (the upload that killed a worker)."""
    from fixtures_media import _background, write_video

    folder = tmp_path_factory.mktemp("surround")
    silent = write_video(folder / "silent.mp4", lambda i: _background(120, 160, i / 25), 50)
    sound = write_channels(folder / "sound.m4a", 8, "aac_m4a")
    if sound is None:
        pytest.skip("this ffmpeg cannot encode 7.1 AAC")
    return mux(silent, sound, folder / "surround.mp4")


def mux(video: Path, audio: Path, out: Path) -> Path:
    """``video``'s picture with ``audio``'s sound, both copied as they are."""
    subprocess.run(
        [shutil.which("ffmpeg") or "ffmpeg", "-v", "error", "-i", str(video), "-i", str(audio),
         "-map", "0:v", "-map", "1:a", "-c", "copy", str(out)],
        check=True,
    )  # fmt: skip
    return out


def test_a_video_with_71_sound_decodes_its_audio(video_with_71_sound: Path, tmp_path: Path) -> None:
    from shared.media.probe import open_media

    assert open_media(video_with_71_sound).facts.audio_channels == 8
    facts, wave = decode_in_child(video_with_71_sound, tmp_path)
    assert facts["planar"] and facts["channels"] == 8 and facts.get("error") is None
    assert wave is not None and wave.size == pytest.approx(2 * 16000, abs=0.05 * 16000)


def test_nan_in_a_videos_audio_track_says_it_could_not_be_decoded(tmp_path: Path) -> None:
    """A video's audio track with NaNs: the audio section is ``not_available`` with the reason, never
    ``not_applicable`` (that would read as "no speech": a spoofed voice hidden by a few NaNs)."""
    from fixtures_media import _background, write_video

    from shared.pipeline import AnalyzeOptions, analyze

    silent = write_video(tmp_path / "silent.mp4", lambda i: _background(120, 160, i / 25), 25)
    sound = nan_wav(tmp_path / "nan.wav", float("nan"), seconds=1.0)
    video = mux(silent, sound, tmp_path / "nan_sound.mkv")
    report = analyze(video, options=AnalyzeOptions(frames=1))
    reason = report.audio.reason or ""
    assert "could not be decoded" in reason and "NaN or infinity" in reason
    assert report.audio.status == "not_available" and report.audio.verdict == "not_applicable"
    assert "silent" not in (report.audio.reason or "")
    assert any("NaN or infinity" in r for r in report.reasons)
