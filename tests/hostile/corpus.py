"""A hostile-input corpus, generated (no binary file is committed): every case is made by code here.

``build_corpus(folder)`` writes every case into ``folder`` and returns them as :class:`Case` objects:
the file, and what must happen when it is analysed. The CLI test (``test_hostile_cli.py``) runs each one
through ``deepfake analyze --json``; the service tests can run the very same list through the running
stack (upload each ``case.path``; ``case.refused_at_upload`` says whether the gateway's sniffing must
answer 415, otherwise the job must end with ``case.code`` or with a report).

Outcomes:
- ``"report"``: exit 0 and a report (``case.verdict`` / ``case.reason`` when the outcome is known);
- ``"refused"``: exit 2 and one line on stderr; ``case.code`` is the ``shared.errors`` code the job error
  carries (``corrupt_media``, ``file_too_large``, ...), ``case.reason`` a phrase the message contains.

The cases: random bytes under many extensions, zero and NUL bytes, truncations, RIFF chunk-size bombs,
deeply nested and fragment-only MP4, ID3 size underflow, huge declared PNG/GIF sizes, 1-pixel and tiny
pictures and videos, a long tiny video, an 8192x8192 video, a video over the duration limit, every
channel layout from mono to 24 channels (planar and packed), more channels than FFmpeg resamples,
non-finite samples in an audio file and in a video's sound, HEIC and AVIF photos.

Needs numpy, soundfile, Pillow (with AVIF) and the ``ffmpeg`` command line.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

Outcome = Literal["report", "refused"]

__all__ = ["Case", "build_corpus", "case_names"]


@dataclass(frozen=True)
class Case:
    """One hostile input and what must happen to it.

    Attributes:
        name: a stable identifier (also the test id).
        path: the generated file.
        expect: ``"report"`` (exit 0, a report) or ``"refused"`` (exit 2, one line).
        code: for refusals, the error code (``shared.errors``) the service's job error carries.
        reason: a phrase the report's reasons (report) or the error line (refused) must contain.
        verdict: the report's overall verdict, when it is known in advance (``"not_applicable"``).
        audio_status: the report's audio section status, when known (``"analyzed"``, ``"not_available"``).
        refused_at_upload: the gateway's sniffing (``shared.media.formats``) answers 415 before queueing.
    """

    name: str
    path: Path
    expect: Outcome
    code: str | None = None
    reason: str | None = None
    verdict: str | None = None
    audio_status: str | None = None
    refused_at_upload: bool = False


# --- small writers ----------------------------------------------------------------------------------
def _ffmpeg(*args: str) -> None:
    exe = shutil.which("ffmpeg")
    if exe is None:
        raise RuntimeError("the hostile corpus needs the ffmpeg command line (apt-get install ffmpeg)")
    subprocess.run([exe, "-v", "error", "-y", *args], check=True, capture_output=True, timeout=300)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def _png_declaring(width: int, height: int) -> bytes:
    """A PNG whose header declares ``width`` x ``height`` but whose data holds two rows."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = zlib.compress(b"\0" * (1 + 3 * min(width, 1 << 16)) * 2)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", rows)
        + _png_chunk(b"IEND", b"")
    )


def _gif_declaring(width: int, height: int) -> bytes:
    """A GIF whose logical screen is ``width`` x ``height`` with one 1x1 frame in it."""
    screen = b"GIF89a" + struct.pack("<HH", width, height) + b"\x80\x00\x00" + b"\x00\x00\x00\xff\xff\xff"
    frame = b"\x2c" + struct.pack("<HHHH", 0, 0, 1, 1) + b"\x00" + b"\x02\x02\x44\x01\x00"
    return screen + frame + b"\x3b"


def _picture(path: Path, width: int, height: int, seed: int = 0) -> Path:
    from PIL import Image

    rgb = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(path)
    return path


def _tiny_video(path: Path, side: int, seconds: float, fps: float, codec: str = "libx264") -> Path:
    _ffmpeg(
        "-f", "lavfi", "-i", f"testsrc=size={side}x{side}:rate={fps}:duration={seconds}",
        "-c:v", codec, "-preset", "ultrafast", "-pix_fmt", "yuv444p" if side % 2 else "yuv420p", str(path),
    )  # fmt: skip
    return path


def _face_video(path: Path, seconds: float = 1.2, audio: bool = True) -> Path:
    """The astronaut over a moving gradient (``tests/fixtures_media.py``), H.264 + AAC."""
    from fixtures_media import _compose, write_video

    return write_video(
        path,
        lambda i: _compose(180, 320, i / 25, [(100 + i, 20)], side=120),
        int(seconds * 25),
        audio_seconds=seconds if audio else None,
    )


def channel_signal(channels: int, rate: int, seconds: float = 2.0) -> np.ndarray:
    """``(samples, channels)`` float32; channel i is a 0.3-amplitude sine at 200 + 50 i Hz."""
    t = np.arange(int(seconds * rate)) / rate
    return np.stack([0.3 * np.sin(2 * np.pi * (200 + 50 * i) * t) for i in range(channels)], axis=1).astype(
        np.float32
    )


def _channels_file(
    path: Path, channels: int, codec_args: list[str], rate: int = 48000, seconds: float = 2.0
) -> Path:
    import soundfile

    source = path.with_name(path.stem + "_src.wav")
    soundfile.write(str(source), channel_signal(channels, rate, seconds), rate, subtype="FLOAT")
    try:
        if codec_args == ["copy"]:
            shutil.copyfile(source, path)
        else:
            _ffmpeg("-i", str(source), *codec_args, str(path))
    finally:
        source.unlink()
    return path


def _speech_wav(path: Path, bad: float | None = None, seconds: float = 3.0, rate: int = 16000) -> Path:
    import soundfile
    from fixtures_media import speech_like_signal

    wave = speech_like_signal(seconds, rate).astype(np.float64)
    if bad is not None:
        wave[rate // 2 :: rate] = bad  # one sample per second
    soundfile.write(str(path), wave, rate, subtype="FLOAT")
    return path


def _boxes(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def _find_box(data: bytes, kind: bytes) -> int:
    """Offset of the first top-level box of ``kind`` in an MP4 file."""
    at = 0
    while at + 8 <= len(data):
        size, found = struct.unpack(">I4s", data[at : at + 8])
        if found == kind:
            return at
        if size < 8:
            break
        at += size
    raise ValueError(f"no {kind!r} box")


# --- the cases --------------------------------------------------------------------------------------
Builder = Callable[[Path], Case]
_BUILDERS: list[tuple[str, Builder]] = []


def _case(name: str) -> Callable[[Callable[[Path, str], Case]], Callable[[Path, str], Case]]:
    def register(fn: Callable[[Path, str], Case]) -> Callable[[Path, str], Case]:
        _BUILDERS.append((name, lambda folder: fn(folder, name)))
        return fn

    return register


_RANDOM_EXTENSIONS = (
    ".mp4", ".mov", ".mkv", ".webm", ".avi", ".ts", ".wav", ".mp3", ".flac", ".ogg", ".m4a",
    ".png", ".jpg", ".gif", ".webp", ".avif", ".heic", ".bin", ".txt", "",
)  # fmt: skip


def _random_case(ext: str) -> None:
    from shared.media.formats import MEDIA_EXTENSIONS

    name = f"random_bytes{ext.replace('.', '_') or '_no_extension'}"

    @_case(name)
    def build(folder: Path, name: str) -> Case:
        path = folder / f"{name}{ext}"
        seed = sum(map(ord, ext)) + 1
        path.write_bytes(np.random.default_rng(seed).integers(0, 256, 40_000, dtype=np.uint8).tobytes())
        code = "corrupt_media" if ext in MEDIA_EXTENSIONS else "unsupported_media"
        return Case(name, path, "refused", code, refused_at_upload=True)


for _ext in _RANDOM_EXTENSIONS:
    _random_case(_ext)


@_case("zero_bytes_mp4")
def _zero_bytes(folder: Path, name: str) -> Case:
    path = folder / "zero.mp4"
    path.write_bytes(b"")
    return Case(name, path, "refused", "empty_media", "empty", refused_at_upload=True)


@_case("nul_bytes_wav")
def _nul_bytes(folder: Path, name: str) -> Case:
    path = folder / "nul.wav"
    path.write_bytes(b"\0" * 65536)
    return Case(name, path, "refused", "corrupt_media", refused_at_upload=True)


@_case("text_named_mp3")
def _text_mp3(folder: Path, name: str) -> Case:
    path = folder / "lyrics.mp3"
    path.write_text("la la la\n" * 500)
    return Case(name, path, "refused", "corrupt_media", refused_at_upload=True)


@_case("pdf")
def _pdf(folder: Path, name: str) -> Case:
    path = folder / "paper.pdf"
    path.write_bytes(b"%PDF-1.7\n" + b"x" * 4000 + b"\n%%EOF\n")
    return Case(name, path, "refused", "unsupported_media", refused_at_upload=True)


@_case("subtitles_only_mkv")
def _subtitles(folder: Path, name: str) -> Case:
    srt = folder / "subs.srt"
    srt.write_text("1\n00:00:00,000 --> 00:00:01,000\nhello\n")
    path = folder / "subtitles_only.mkv"
    _ffmpeg("-i", str(srt), str(path))
    srt.unlink()
    return Case(name, path, "refused", "no_usable_stream", "no video, image or audio stream")


# truncations
@_case("truncated_mp4_moov_at_end")
def _truncated(folder: Path, name: str) -> Case:
    full = _face_video(folder / "full_for_truncation.mp4")
    path = folder / "truncated.mp4"
    data = full.read_bytes()
    path.write_bytes(data[: len(data) // 3])  # PyAV writes moov last: no index is left
    full.unlink()
    return Case(name, path, "refused", "corrupt_media")


@_case("truncated_mp4_header_only")
def _header_only(folder: Path, name: str) -> Case:
    full = _face_video(folder / "full_for_header.mp4", audio=False)
    path = folder / "header_only.mp4"
    path.write_bytes(full.read_bytes()[:48])
    full.unlink()
    return Case(name, path, "refused", "corrupt_media")


@_case("truncated_faststart_mp4")
def _cut_faststart(folder: Path, name: str) -> Case:
    full = _face_video(folder / "full_for_faststart.mp4")
    fast = folder / "faststart_full.mp4"
    _ffmpeg("-i", str(full), "-c", "copy", "-movflags", "+faststart", str(fast))
    path = folder / "cut_faststart.mp4"
    data = fast.read_bytes()
    path.write_bytes(data[: int(len(data) * 0.6)])  # moov first: the index survives, the tail is gone
    full.unlink()
    fast.unlink()
    return Case(name, path, "report", reason="probably truncated")


def _first_half(full: Path, path: Path) -> Path:
    """The first half of ``full``'s bytes as ``path`` (``full`` is removed)."""
    path.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    full.unlink()
    return path


@_case("truncated_png")
def _truncated_png(folder: Path, name: str) -> Case:
    full = _picture(folder / "full.png", 256, 256)
    return Case(name, _first_half(full, folder / "truncated.png"), "refused", "corrupt_media")


@_case("truncated_jpeg")
def _truncated_jpeg(folder: Path, name: str) -> Case:
    full = _picture(folder / "full.jpg", 256, 256)
    return Case(name, _first_half(full, folder / "truncated.jpg"), "refused", "corrupt_media")


@_case("truncated_wav")
def _truncated_wav(folder: Path, name: str) -> Case:
    full = _speech_wav(folder / "full.wav", seconds=6.0)
    path = folder / "truncated.wav"
    path.write_bytes(full.read_bytes()[: full.stat().st_size // 2])  # the header promises twice the data
    full.unlink()
    return Case(name, path, "report", audio_status="analyzed")


@_case("truncated_flac")
def _truncated_flac(folder: Path, name: str) -> Case:
    path = folder / "truncated.flac"
    _channels_file(path, 2, ["-c:a", "flac"], seconds=6.0)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    return Case(name, path, "report", audio_status="analyzed")


# RIFF chunk-size bombs
@_case("wav_riff_and_data_size_bomb")
def _riff_bomb(folder: Path, name: str) -> Case:
    path = _speech_wav(folder / "riff_bomb.wav")
    data = bytearray(path.read_bytes())
    data[4:8] = b"\xff\xff\xff\xff"  # RIFF size: 4 GB
    at = data.find(b"data")
    data[at + 4 : at + 8] = b"\xff\xff\xff\xff"  # data chunk: 4 GB, 190 KB present
    path.write_bytes(bytes(data))
    return Case(name, path, "report", audio_status="analyzed")


@_case("wav_huge_chunk_before_data")
def _chunk_bomb(folder: Path, name: str) -> Case:
    wav = _speech_wav(folder / "plain.wav").read_bytes()
    fmt_end = wav.find(b"data")
    bomb = b"LIST" + struct.pack("<I", 0xFFFFFFF0) + b"INFO" + b"\0" * 64  # claims 4 GB, hides the data
    path = folder / "chunk_bomb.wav"
    path.write_bytes(wav[:fmt_end] + bomb + wav[fmt_end:])
    (folder / "plain.wav").unlink()
    return Case(name, path, "refused", "corrupt_media")


@_case("wav_65535_channels_declared")
def _wav_channels_bomb(folder: Path, name: str) -> Case:
    path = _speech_wav(folder / "channels_bomb.wav")
    data = bytearray(path.read_bytes())
    at = data.find(b"fmt ")
    data[at + 10 : at + 12] = struct.pack("<H", 65535)  # nChannels
    path.write_bytes(bytes(data))
    return Case(name, path, "refused", "corrupt_media")  # the decoder refuses to open


@_case("avi_riff_size_bomb")
def _avi_bomb(folder: Path, name: str) -> Case:
    path = folder / "riff_bomb.avi"
    _ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x48:rate=10:duration=1", "-c:v", "mjpeg", str(path))
    data = bytearray(path.read_bytes())
    data[4:8] = b"\xff\xff\xff\xff"
    at = data.find(b"movi")
    data[at - 4 : at] = b"\xff\xff\xff\xff"  # the LIST movi size
    path.write_bytes(bytes(data))
    return Case(name, path, "report", verdict="not_applicable", reason="no face found")


@_case("webp_riff_size_bomb")
def _webp_bomb(folder: Path, name: str) -> Case:
    path = _picture(folder / "bomb.webp", 64, 64)
    data = bytearray(path.read_bytes())
    data[4:8] = b"\xff\xff\xff\xff"
    path.write_bytes(bytes(data))
    return Case(name, path, "refused", "corrupt_media")


# MP4 structure
@_case("mp4_deeply_nested_boxes")
def _nested(folder: Path, name: str) -> Case:
    inner = b""
    for _ in range(20000):
        inner = _boxes(b"moov" if len(inner) % 2 else b"trak", inner)
    path = folder / "nested.mp4"
    path.write_bytes(_boxes(b"ftyp", b"isom\0\0\x02\0isomiso2mp41") + inner)
    return Case(name, path, "refused", "corrupt_media")


@_case("mp4_box_size_larger_than_file")
def _bad_box_size(folder: Path, name: str) -> Case:
    path = folder / "box_size.mp4"
    ftyp = _boxes(b"ftyp", b"isom\0\0\x02\0isomiso2mp41")
    path.write_bytes(ftyp + struct.pack(">I", 1) + b"moov" + struct.pack(">Q", 1 << 62) + b"\0" * 256)
    return Case(name, path, "refused", "corrupt_media")


@_case("mp4_fragmented")
def _fragmented(folder: Path, name: str) -> Case:
    full = _face_video(folder / "for_fragments.mp4", audio=False)
    path = folder / "fragmented.mp4"
    _ffmpeg("-i", str(full), "-c", "copy", "-movflags", "frag_keyframe+empty_moov", str(path))
    full.unlink()
    return Case(name, path, "report")  # the positive control of the next case


@_case("mp4_fragments_without_moov")
def _fragment_only(folder: Path, name: str) -> Case:
    full = _face_video(folder / "for_fragment_only.mp4", audio=False)
    fragmented = folder / "fragmented_full.mp4"
    _ffmpeg("-i", str(full), "-c", "copy", "-movflags", "frag_keyframe+empty_moov", str(fragmented))
    data = fragmented.read_bytes()
    at = _find_box(data, b"moov")
    size = struct.unpack(">I", data[at : at + 4])[0]
    path = folder / "fragments_only.mp4"
    path.write_bytes(data[:at] + data[at + size :])  # ftyp, then moof/mdat pairs, no moov
    full.unlink()
    fragmented.unlink()
    return Case(name, path, "refused", "corrupt_media")


# ID3
def _mp3(folder: Path, stem: str) -> bytes:
    path = folder / f"{stem}.mp3"
    _ffmpeg("-f", "lavfi", "-i", "sine=f=440:d=2", "-c:a", "libmp3lame", "-id3v2_version", "0", str(path))
    data = path.read_bytes()
    path.unlink()
    return data


@_case("mp3_id3_size_underflow")
def _id3_underflow(folder: Path, name: str) -> Case:
    frames = _mp3(folder, "underflow_src")
    # ID3v2.3 with the extended-header flag, a tag size of 6 and an extended header claiming 0x7fffffff:
    # parsers that subtract the one from the other underflow.
    tag = b"ID3\x03\x00\x40" + bytes([0, 0, 0, 6]) + struct.pack(">I", 0x7FFFFFFF) + b"\0\0"
    path = folder / "id3_underflow.mp3"
    path.write_bytes(tag + frames)
    return Case(name, path, "report", audio_status="analyzed")


@_case("mp3_id3_size_beyond_the_file")
def _id3_huge(folder: Path, name: str) -> Case:
    frames = _mp3(folder, "huge_src")
    tag = b"ID3\x04\x00\x00" + bytes([0x7F, 0x7F, 0x7F, 0x7F])  # 256 MB of tag in a 30 KB file
    path = folder / "id3_huge.mp3"
    path.write_bytes(tag + frames)
    return Case(name, path, "refused", "corrupt_media")


# pictures: declared sizes, tiny, one pixel
def _declared_size_case(file: str, width: int, height: int, detail: str) -> None:
    """A picture whose header declares ``width`` x ``height`` (a few bytes of data): refused before decoding."""
    ext = file.rsplit(".", 1)[1]
    declaring = {"png": _png_declaring, "gif": _gif_declaring}[ext]

    @_case(f"{ext}_declares_{width}x{height}")
    def build(folder: Path, name: str) -> Case:
        path = folder / file
        path.write_bytes(declaring(width, height))
        return Case(name, path, "refused", "file_too_large", detail)


for _file, _width, _height, _detail in (
    ("declared_huge.png", 65535, 65535, "limit of 80,000,000 pixels"),
    ("declared_big.png", 20000, 12000, "limit of 80,000,000 pixels"),  # FFmpeg allocated 734 MB for this 196-byte file
    ("declared_90mp.png", 10000, 9000, "10000x9000"),  # over our 80 MP, under Pillow's own bomb guard
    ("declared_huge.gif", 65535, 65535, "65535x65535"),
    ("declared_big.gif", 5000, 5000, "5000x5000"),
):
    _declared_size_case(_file, _width, _height, _detail)


def _tiny_picture_case(side: int, ext: str) -> None:
    name = f"{ext.strip('.')}_{side}x{side}"

    @_case(name)
    def build(folder: Path, name: str) -> Case:
        path = _picture(folder / f"tiny_{side}{ext}", side, side, seed=side)
        return Case(name, path, "report", verdict="not_applicable", reason="no face found in the image")


for _side, _ext in ((1, ".png"), (16, ".png"), (32, ".png"), (1, ".jpg"), (2, ".bmp"), (1, ".webp")):
    _tiny_picture_case(_side, _ext)


@_case("gif_5000_frames_32x32")
def _long_gif(folder: Path, name: str) -> Case:
    path = folder / "long.gif"
    _ffmpeg("-f", "lavfi", "-i", "testsrc=size=32x32:rate=25:duration=200", "-frames:v", "5000", str(path))
    return Case(name, path, "report", verdict="not_applicable", reason="no face found in any of the")


@_case("video_16x16_two_hours")
def _long_tiny_video(folder: Path, name: str) -> Case:
    path = _tiny_video(folder / "tiny_2h.mp4", 16, 7200, 1)
    return Case(name, path, "report", verdict="not_applicable", reason="no face found in any of the")


@_case("video_1x1")
def _one_pixel_video(folder: Path, name: str) -> Case:
    path = _tiny_video(folder / "one_pixel.mp4", 1, 2, 10)
    return Case(name, path, "report", verdict="not_applicable", reason="no face found in any of the")


@_case("video_8192x8192")
def _huge_video(folder: Path, name: str) -> Case:
    path = folder / "huge_8192.mp4"
    _ffmpeg(
        "-f", "lavfi", "-i", "color=c=gray:size=8192x8192:rate=25:duration=0.08",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(path),
    )  # fmt: skip
    return Case(name, path, "refused", "file_too_large", "8192x8192")


@_case("video_longer_than_the_limit")
def _over_duration(folder: Path, name: str) -> Case:
    path = _tiny_video(folder / "five_hours.mp4", 16, 5 * 3600, 1 / 30)  # a frame every 30 s
    return Case(name, path, "refused", "file_too_large", "the limit is 14,400 s")


# photos
@_case("avif_photo")
def _avif(folder: Path, name: str) -> Case:
    from fixtures_media import _compose
    from PIL import Image

    path = folder / "photo.avif"
    Image.fromarray(_compose(360, 480, 0.0, [(140, 60)])).save(path, quality=80)
    return Case(name, path, "report")


@_case("heic_photo")
def _heic(folder: Path, name: str) -> Case:
    path = folder / "photo.heic"
    heif_enc = shutil.which("heif-enc")
    if heif_enc is not None:  # a real one when libheif's encoder is installed
        source = _picture(folder / "for_heic.png", 128, 128)
        subprocess.run([heif_enc, str(source), "-o", str(path)], check=True, capture_output=True, timeout=120)
        source.unlink()
    else:  # the brand is what decides: an ISO-BMFF file whose ftyp says heic
        path.write_bytes(_boxes(b"ftyp", b"heic\0\0\0\0mif1heic") + _boxes(b"meta", b"\0" * 64))
    return Case(name, path, "refused", "unsupported_media", "HEIC/HEIF", refused_at_upload=True)


# audio: channel layouts, too many channels, layout changes, non-finite samples
_LAYOUTS = (
    (1, "aac", ["-c:a", "aac"], ".m4a"),
    (2, "opus", ["-c:a", "libopus"], ".opus"),
    (6, "aac", ["-c:a", "aac"], ".m4a"),
    (8, "aac", ["-c:a", "aac"], ".m4a"),  # 7.1 AAC: planar float, the layout that crashed the worker
    (8, "pcm_s16le", ["-c:a", "pcm_s16le"], ".wav"),
    (12, "vorbis", ["-c:a", "libvorbis"], ".ogg"),
    (24, "opus", ["-c:a", "libopus", "-mapping_family", "255"], ".opus"),
    (24, "pcm_f32le", ["copy"], ".wav"),
)


def _layout_case(channels: int, codec: str, args: list[str], ext: str) -> None:
    name = f"audio_{channels}ch_{codec}"

    @_case(name)
    def build(folder: Path, name: str) -> Case:
        path = _channels_file(folder / f"{name}{ext}", channels, args)
        return Case(name, path, "report", audio_status="analyzed")


for _layout in _LAYOUTS:
    _layout_case(*_layout)


@_case("audio_65_channels")
def _too_many_channels(folder: Path, name: str) -> Case:
    import soundfile

    path = folder / "channels_65.wav"
    soundfile.write(str(path), channel_signal(65, 16000, 0.5), 16000, subtype="PCM_16")
    return Case(name, path, "refused", "unsupported_media", "65 channels")


@_case("video_with_71_sound")
def _surround_video(folder: Path, name: str) -> Case:
    silent = _tiny_video(folder / "surround_silent.mp4", 64, 2, 25)
    sound = _channels_file(folder / "surround_sound.m4a", 8, ["-c:a", "aac"])
    path = folder / "surround.mp4"
    _ffmpeg("-i", str(silent), "-i", str(sound), "-map", "0:v", "-map", "1:a", "-c", "copy", str(path))
    silent.unlink()
    sound.unlink()
    return Case(name, path, "report", verdict=None, audio_status="analyzed")


@_case("adts_layout_change")
def _layout_change(folder: Path, name: str) -> Case:
    parts = []
    for stem, rate, channels, freq in (("mono", 44100, 1, 300), ("stereo", 48000, 2, 500)):
        part = folder / f"{stem}.aac"
        _ffmpeg(
            "-f", "lavfi", "-i", f"sine=f={freq}:d=1:r={rate}", "-ac", str(channels), "-c:a", "aac", str(part)
        )
        parts.append(part.read_bytes())
        part.unlink()
    path = folder / "layout_change.aac"
    path.write_bytes(b"".join(parts))
    return Case(name, path, "report", audio_status="analyzed")


@_case("wav_header_only")
def _header_only_wav(folder: Path, name: str) -> Case:
    import soundfile

    path = folder / "no_samples.wav"
    soundfile.write(str(path), np.zeros(0, np.float32), 16000)
    return Case(name, path, "refused", "empty_media")


@_case("wav_nan_samples")
def _nan_wav(folder: Path, name: str) -> Case:
    path = _speech_wav(folder / "nan.wav", float("nan"))
    return Case(name, path, "refused", "corrupt_media", "NaN or infinity")


@_case("wav_inf_samples")
def _inf_wav(folder: Path, name: str) -> Case:
    path = _speech_wav(folder / "inf.wav", float("inf"), rate=44100)
    return Case(name, path, "refused", "corrupt_media", "NaN or infinity")


@_case("video_with_nan_sound")
def _nan_video(folder: Path, name: str) -> Case:
    silent = _tiny_video(folder / "nan_silent.mp4", 64, 2, 25)
    sound = _speech_wav(folder / "nan_sound.wav", float("nan"), seconds=2.0)
    path = folder / "nan_sound.mkv"
    _ffmpeg("-i", str(silent), "-i", str(sound), "-map", "0:v", "-map", "1:a", "-c", "copy", str(path))
    silent.unlink()
    sound.unlink()
    return Case(name, path, "report", reason="could not be decoded", audio_status="not_available")


def case_names() -> list[str]:
    """The names of every case, in order (for test ids, known before anything is built)."""
    return [name for name, _ in _BUILDERS]


def build_corpus(folder: str | Path, only: list[str] | None = None) -> list[Case]:
    """Write every case (or those named in ``only``) into ``folder`` and return them in order."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return [build(folder) for name, build in _BUILDERS if only is None or name in only]
