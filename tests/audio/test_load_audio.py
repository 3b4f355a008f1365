"""load_audio: real decoding of generated wav / flac / mp3 / video tracks, and clear errors for bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shared.errors import CorruptMedia, EmptyMedia, MediaNotFound, NoAudioStream, UnsupportedMedia
from shared.media.audio import load_audio


def _tone(seconds: float, rate: int, freq: float, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _peak_hz(wave: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(wave * np.hanning(len(wave))))
    return float(np.fft.rfftfreq(len(wave), 1 / rate)[np.argmax(spectrum)])


def _encode(path: Path, codec: str, wave: np.ndarray, rate: int, layout: str = "mono") -> Path:
    """Encode with PyAV (FFmpeg's encoders), planar float input."""
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=rate, layout=layout)
        channels = 2 if layout == "stereo" else 1
        planes = np.atleast_2d(wave).astype(np.float32)
        assert planes.shape[0] == channels
        frame_size = stream.codec_context.frame_size or 1024
        fmt = stream.codec_context.format.name
        for start in range(0, planes.shape[1], frame_size):
            chunk = np.ascontiguousarray(planes[:, start : start + frame_size])
            if fmt == "s16":
                frame = av.AudioFrame.from_ndarray(
                    (chunk.T.reshape(1, -1) * 32767).astype(np.int16), format="s16", layout=layout
                )
            elif fmt.endswith("p"):
                frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=layout)
            else:
                frame = av.AudioFrame.from_ndarray(chunk.T.reshape(1, -1), format="flt", layout=layout)
            frame.sample_rate = rate
            frame.pts = start
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def test_wav_is_resampled_to_16k_and_keeps_its_content(tmp_path: Path) -> None:
    import soundfile

    path = tmp_path / "tone.wav"
    soundfile.write(str(path), _tone(2.0, 44100, 440.0), 44100, subtype="PCM_16")
    wave = load_audio(path)
    assert wave.dtype == np.float32 and wave.ndim == 1
    assert abs(len(wave) - 32000) <= 2
    assert abs(_peak_hz(wave, 16000) - 440.0) < 2.0
    assert 0.48 < np.abs(wave[1000:-1000]).max() < 0.52  # no normalisation


def test_16k_flac_is_returned_as_is(tmp_path: Path) -> None:
    import soundfile

    original = np.round(_tone(1.0, 16000, 1000.0) * 32767) / 32768  # exactly representable in 16 bit
    path = tmp_path / "tone.flac"
    soundfile.write(str(path), original, 16000, subtype="PCM_16")
    np.testing.assert_allclose(load_audio(path), original, atol=1e-6)


def test_stereo_is_downmixed_by_averaging_the_channels(tmp_path: Path) -> None:
    import soundfile

    left = _tone(1.0, 16000, 300.0, 0.6)
    right = np.zeros_like(left)
    path = tmp_path / "stereo.wav"
    soundfile.write(str(path), np.stack([left, right], axis=1), 16000, subtype="FLOAT")
    np.testing.assert_allclose(load_audio(path), left / 2, atol=1e-6)


@pytest.mark.parametrize(
    ("codec", "suffix", "rate"), [("libmp3lame", ".mp3", 24000), ("flac", ".flac", 48000)]
)
def test_compressed_formats_decode(tmp_path: Path, codec: str, suffix: str, rate: int) -> None:
    path = _encode(tmp_path / f"tone{suffix}", codec, _tone(1.5, rate, 880.0), rate)
    wave = load_audio(path)
    assert abs(len(wave) / 16000 - 1.5) < 0.1  # mp3 adds encoder delay/padding
    assert abs(_peak_hz(wave, 16000) - 880.0) < 3.0


def test_max_seconds_bounds_the_decoded_length(tmp_path: Path) -> None:
    import soundfile

    path = tmp_path / "long.wav"
    soundfile.write(str(path), _tone(5.0, 22050, 200.0), 22050)
    assert len(load_audio(path, max_seconds=1.0)) == 16000


def test_audio_track_of_a_video(face_video: Path) -> None:
    wave = load_audio(face_video)
    assert abs(len(wave) / 16000 - 3.0) < 0.1
    assert np.abs(wave).max() > 0.01


def test_audio_only_mp4(audio_only_mp4: Path, speech_audio: Path) -> None:
    wave = load_audio(audio_only_mp4)
    assert abs(len(wave) / 16000 - 4.0) < 0.1


def test_video_without_audio_says_so(two_face_video: Path) -> None:
    with pytest.raises(NoAudioStream, match="no audio stream"):
        load_audio(two_face_video)


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("missing", MediaNotFound),
        ("empty", EmptyMedia),
        ("directory", UnsupportedMedia),
        ("not_media", CorruptMedia),  # an .mp4 name that is not media: "damaged or not really mp4"
        ("random_bytes", CorruptMedia),
        ("truncated", CorruptMedia),
        ("no_usable_stream", NoAudioStream),
    ],
)
def test_bad_inputs_raise_typed_errors(bad_inputs: dict[str, Path], name: str, error: type) -> None:
    with pytest.raises(error):
        load_audio(bad_inputs[name])


def test_text_file_without_media_extension_is_unsupported(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello\n" * 100)
    with pytest.raises(UnsupportedMedia):
        load_audio(path)


def test_wav_with_zero_samples_is_empty(tmp_path: Path) -> None:
    import soundfile

    path = tmp_path / "nothing.wav"
    soundfile.write(str(path), np.zeros(0, dtype=np.float32), 16000)
    with pytest.raises(EmptyMedia):
        load_audio(path)


def test_real_shared_clips_decode_at_their_true_length(shared_media: Path) -> None:
    """22.05 kHz WAV, 24 kHz MP3 and 16 kHz FLAC from the labelled set (lengths from the golden README)."""
    wave = load_audio(shared_media / "audio" / "AudioDeepFakeDetecti__samples__LJ040-0073.wav")
    assert len(wave) == 129_217  # librosa's 22050 -> 16000 length for this file
    golden = np.load(shared_media.parent / "reference" / "aasist" / "golden" / "inputs.npy")[0]
    # A different resampler than the golden recipe (swresample vs soxr): close, not identical.
    assert np.sqrt(np.mean((wave[:64600] - golden) ** 2)) < 0.005
