"""Generated media for tests, so a fresh machine (no ``../shared``) still exercises the whole pipeline.

Every file is made here, once per test session, from scikit-image's public-domain astronaut photo
(Eileen Collins, NASA) composited onto a moving background, encoded with PyAV (libx264 / AAC) and, for
container tricks PyAV does not expose, the ``ffmpeg`` command line. Nothing is downloaded.

Fixtures (all session-scoped, all paths):
    face_video          3 s, 25 fps, 640x360 H.264 yuv420p with one face and an AAC speech-like track
    two_face_video      2 s, 640x360, two faces (two tracks), no audio
    portrait_video      stored 640x360 with a 90 degree rotation tag: displays as 360x640, face upright
    yuv444_video        2 s, odd-sized 642x361 H.264 High 4:4:4 (like FaceForensics++ c23), no audio
    vfr_video           variable frame rate (irregular timestamps), one face
    no_face_video       2 s of moving background only, with an audio track
    face_image          the astronaut as a PNG (one face)
    speech_audio        4 s, 16 kHz mono WAV with a speech-like signal
    audio_only_mp4      an .mp4 with an AAC track and no video (a valid *audio* file)
    bad_inputs          {name: path} of unusable inputs: missing, empty, directory, not_media, random_bytes,
                        truncated (an mp4 cut after its header), no_usable_stream (subtitles only)
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

__all__ = [
    "media_dir",
    "face_video",
    "two_face_video",
    "portrait_video",
    "yuv444_video",
    "vfr_video",
    "no_face_video",
    "face_image",
    "speech_audio",
    "audio_only_mp4",
    "bad_inputs",
    "astronaut_face",
    "speech_like_signal",
    "write_video",
]


def astronaut_face(side: int = 200) -> np.ndarray:
    """The astronaut photo (RGB uint8) resized to ``side`` x ``side``; her face fills ~45% of the width."""
    import cv2
    from skimage import data

    return cv2.resize(data.astronaut(), (side, side), interpolation=cv2.INTER_AREA)


def _background(height: int, width: int, t: float) -> np.ndarray:
    """A smooth moving gradient: real encoders see motion, face detectors see no face."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    r = 110 + 60 * np.sin(xx / 53.0 + 2.0 * t)
    g = 120 + 50 * np.cos(yy / 41.0 - 1.5 * t)
    b = 130 + 40 * np.sin((xx + yy) / 67.0 + t)
    return np.stack([r, g, b], axis=-1).clip(0, 255).astype(np.uint8)


def _compose(height: int, width: int, t: float, faces: list[tuple[int, int]], side: int = 200) -> np.ndarray:
    frame = _background(height, width, t)
    face = astronaut_face(side)
    for x, y in faces:
        frame[y : y + side, x : x + side] = face
    return frame


def speech_like_signal(seconds: float, sample_rate: int = 16000, seed: int = 0) -> np.ndarray:
    """Voiced harmonics with a wandering pitch and a 4 Hz syllable envelope, plus a little noise (float32)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    f0 = 140 + 30 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / sample_rate
    voiced = sum(np.sin(k * phase) / k for k in range(1, 8))
    envelope = 0.5 * (1 - np.cos(2 * np.pi * 4 * t)) * (0.6 + 0.4 * np.sin(2 * np.pi * 0.5 * t))
    wave = 0.25 * envelope * voiced + 0.01 * rng.standard_normal(t.size)
    return wave.astype(np.float32)


def write_video(
    path: Path,
    frames: Callable[[int], np.ndarray],
    count: int,
    *,
    fps: int = 25,
    pix_fmt: str = "yuv420p",
    audio_seconds: float | None = None,
    pts: list[int] | None = None,
    gop: int | None = None,
) -> Path:
    """Encode ``count`` RGB frames (``frames(i)``) as H.264, optionally with an AAC speech-like track.

    ``pts`` (in 1/1000 s) gives irregular timestamps for a variable-frame-rate file; ``gop`` puts a
    keyframe every ``gop`` frames (seekable).
    """
    import av

    first = frames(0)
    height, width = first.shape[:2]
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        stream.options = {"preset": "ultrafast", "crf": "20"}
        if gop:
            stream.options = {**stream.options, "g": str(gop), "keyint_min": str(gop), "sc_threshold": "0"}
        if pts is not None:
            stream.codec_context.time_base = Fraction(1, 1000)
        audio = None
        if audio_seconds:
            audio = container.add_stream("aac", rate=44100)
            audio.layout = "mono"
        for i in range(count):
            frame = av.VideoFrame.from_ndarray(first if i == 0 else frames(i), format="rgb24")
            if pts is not None:
                frame.pts, frame.time_base = pts[i], Fraction(1, 1000)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
        if audio is not None:
            _encode_audio(container, audio, speech_like_signal(audio_seconds, 44100))
    return path


def _encode_audio(container, stream, wave: np.ndarray) -> None:  # type: ignore[no-untyped-def]
    import av

    chunk = 1024
    for start in range(0, wave.size, chunk):
        piece = wave[start : start + chunk]
        frame = av.AudioFrame.from_ndarray(piece[None, :].astype(np.float32), format="fltp", layout="mono")
        frame.sample_rate = 44100
        frame.pts = start
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)


def _ffmpeg(*args: str) -> None:
    exe = shutil.which("ffmpeg")
    if exe is None:
        pytest.skip("needs the ffmpeg command line (apt-get install ffmpeg)")
    subprocess.run([exe, "-v", "error", "-y", *args], check=True, capture_output=True)


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def cut_faststart_video(face_video: Path, media_dir: Path) -> Path:
    """``face_video`` with its index first (faststart), cut at 60 %: the index promises 75 frames, fewer are there."""
    faststart = media_dir / "faststart.mp4"
    subprocess.run(
        [shutil.which("ffmpeg") or "ffmpeg", "-v", "error", "-y", "-i", str(face_video), "-c", "copy",
         "-movflags", "+faststart", str(faststart)],
        check=True,
    )  # fmt: skip
    cut = media_dir / "cut.mp4"
    cut.write_bytes(faststart.read_bytes()[: int(faststart.stat().st_size * 0.6)])
    return cut


@pytest.fixture(scope="session")
def face_video(media_dir: Path) -> Path:
    return write_video(
        media_dir / "face.mp4",
        lambda i: _compose(360, 640, i / 25, [(220 + 2 * i, 70 + (i % 10))]),
        75,
        audio_seconds=3.0,
    )


@pytest.fixture(scope="session")
def two_face_video(media_dir: Path) -> Path:
    return write_video(
        media_dir / "two_faces.mp4",
        lambda i: _compose(360, 640, i / 25, [(40 + i, 80), (400 - i, 100)], side=180),
        50,
    )


@pytest.fixture(scope="session")
def portrait_video(media_dir: Path) -> Path:
    """Stored landscape, tagged "rotate 90": only a decoder that applies the tag sees an upright face."""
    upright = lambda i: _compose(640, 360, i / 25, [(80, 200 + i)])  # noqa: E731 - portrait 360x640
    # ffmpeg's rotate=90 tag means "turn 90 degrees counter-clockwise to display", so store the
    # upright picture turned clockwise.
    stored = media_dir / "portrait_stored.mp4"
    write_video(stored, lambda i: np.ascontiguousarray(np.rot90(upright(i), k=-1)), 25)
    out = media_dir / "portrait.mp4"
    _ffmpeg("-i", str(stored), "-c", "copy", "-metadata:s:v:0", "rotate=90", str(out))
    return out


@pytest.fixture(scope="session")
def yuv444_video(media_dir: Path) -> Path:
    return write_video(
        media_dir / "yuv444.mp4",
        lambda i: _compose(361, 642, i / 25, [(200 + i, 60)]),
        50,
        pix_fmt="yuv444p",
    )


@pytest.fixture(scope="session")
def vfr_video(media_dir: Path) -> Path:
    """40 frames whose spacing alternates between 20 ms and 80 ms (average 20 fps)."""
    pts = np.cumsum([0] + [20 if i % 2 else 80 for i in range(39)]).tolist()
    return write_video(
        media_dir / "vfr.mp4",
        lambda i: _compose(360, 640, i / 25, [(220 + i, 70)]),
        40,
        pts=pts,
    )


@pytest.fixture(scope="session")
def no_face_video(media_dir: Path) -> Path:
    return write_video(
        media_dir / "no_face.mp4", lambda i: _background(360, 640, i / 25), 50, audio_seconds=2.0
    )


@pytest.fixture(scope="session")
def face_image(media_dir: Path) -> Path:
    import cv2

    path = media_dir / "face.png"
    frame = _compose(360, 480, 0.0, [(140, 60)])
    cv2.imwrite(str(path), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    return path


@pytest.fixture(scope="session")
def speech_audio(media_dir: Path) -> Path:
    import soundfile

    path = media_dir / "speech.wav"
    soundfile.write(str(path), speech_like_signal(4.0, 16000), 16000, subtype="PCM_16")
    return path


@pytest.fixture(scope="session")
def audio_only_mp4(media_dir: Path, speech_audio: Path) -> Path:
    out = media_dir / "audio_only.mp4"
    _ffmpeg("-i", str(speech_audio), "-c:a", "aac", str(out))
    return out


@pytest.fixture(scope="session")
def bad_inputs(media_dir: Path, face_video: Path) -> dict[str, Path]:
    """Unusable inputs, each of which must give exit status 2 and one clear line (never a traceback)."""
    bad = media_dir / "bad"
    bad.mkdir()
    out: dict[str, Path] = {"missing": bad / "does_not_exist.mp4"}
    out["empty"] = bad / "empty.mp4"
    out["empty"].write_bytes(b"")
    out["directory"] = bad / "a_folder.mp4"
    out["directory"].mkdir()
    out["not_media"] = bad / "notes.mp4"
    out["not_media"].write_text("this is a text file, not a video\n" * 20)
    out["random_bytes"] = bad / "noise.mov"
    out["random_bytes"].write_bytes(
        np.random.default_rng(0).integers(0, 256, 50_000, dtype=np.uint8).tobytes()
    )
    # PyAV writes the moov atom at the end: cutting the file leaves an mp4 no demuxer can index.
    data = face_video.read_bytes()
    out["truncated"] = bad / "truncated.mp4"
    out["truncated"].write_bytes(data[: len(data) // 3])
    srt = bad / "subs.srt"
    srt.write_text("1\n00:00:00,000 --> 00:00:01,000\nhello\n")
    out["no_usable_stream"] = bad / "subtitles_only.mkv"
    _ffmpeg("-i", str(srt), str(out["no_usable_stream"]))
    return out
