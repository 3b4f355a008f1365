"""One list of accepted formats for the CLI and the gateway (``shared.media.formats``), HEIC/AVIF, and the
pixel and duration limits for video, checked before anything is decoded."""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

from shared import errors
from shared.media import formats
from shared.media.formats import HEIF_REFUSAL, SNIFF_BYTES, sniff
from shared.media.probe import MediaLimits, open_media

# (file name, ffmpeg output arguments): one small file per accepted container the ffmpeg here can write
_VIDEO = ["-f", "lavfi", "-i", "testsrc=size=64x48:rate=10:duration=0.5"]
_AUDIO = ["-f", "lavfi", "-i", "sine=f=440:duration=0.5:sample_rate=16000"]
CONTAINERS = {
    "clip.mp4": [*_VIDEO, "-c:v", "libx264"],
    "clip.mov": [*_VIDEO, "-c:v", "libx264"],
    "clip.3gp": [*_VIDEO, "-c:v", "libx264"],
    "clip.mkv": [*_VIDEO, "-c:v", "libx264"],
    "clip.webm": [*_VIDEO, "-c:v", "libvpx"],
    "clip.avi": [*_VIDEO, "-c:v", "mjpeg"],
    "clip.mpg": [*_VIDEO, "-c:v", "mpeg2video"],
    "clip.ts": [*_VIDEO, "-c:v", "libx264"],
    "clip.flv": [*_VIDEO, "-c:v", "flv"],
    "clip.wmv": [*_VIDEO, "-c:v", "wmv2"],
    "clip.gif": [*_VIDEO],
    "clip.apng": [*_VIDEO, "-plays", "0"],
    "sound.wav": [*_AUDIO],
    "sound.flac": [*_AUDIO],
    "sound.mp3": [*_AUDIO, "-c:a", "libmp3lame"],
    "sound.aac": [*_AUDIO, "-c:a", "aac"],
    "sound.m4a": [*_AUDIO, "-c:a", "aac"],
    "sound.ogg": [*_AUDIO, "-c:a", "libvorbis"],
    "sound.opus": [*_AUDIO, "-c:a", "libopus"],
    "sound.aiff": [*_AUDIO],
    "sound.wma": [*_AUDIO, "-c:a", "wmav2"],
    "still.png": [*_VIDEO, "-frames:v", "1"],
    "still.jpg": [*_VIDEO, "-frames:v", "1"],
    "still.bmp": [*_VIDEO, "-frames:v", "1"],
    "still.tiff": [*_VIDEO, "-frames:v", "1"],
    "still.webp": [*_VIDEO, "-frames:v", "1"],
}


def ffmpeg(*args: str) -> None:
    exe = shutil.which("ffmpeg")
    if exe is None:
        pytest.skip("needs the ffmpeg command line (apt-get install ffmpeg)")
    subprocess.run([exe, "-v", "error", "-y", *args], check=True, capture_output=True)


def head(path: Path) -> bytes:
    return path.read_bytes()[:SNIFF_BYTES]


def sniffed(data: bytes) -> str | None:
    found = sniff(data)
    return None if found is None else found.name


def gateway_sniff(data: bytes) -> tuple[str, str]:
    pytest.importorskip("filetype", reason="the gateway extra is not installed")
    from gateway.media import sniff_media

    return sniff_media(data)


@pytest.mark.parametrize("name", sorted(CONTAINERS))
def test_the_gateway_and_the_cli_accept_the_same_files(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    ffmpeg(*CONTAINERS[name], str(path))
    kind, mime = gateway_sniff(head(path))
    facts = open_media(path).facts
    assert mime and kind in ("video", "audio", "image")
    # The gateway's kind is what the format usually holds; the probe reads the streams (an ASF file can be
    # sound only, a GIF is analysed frame by frame like a video). Still images are images for both.
    if kind == "image" and not name.endswith((".gif", ".apng")):
        assert facts.kind == "image"
    assert facts.container in formats.ACCEPTED_DEMUXERS | {
        f.demuxers[0] for f in formats.FORMATS if f.demuxers
    }


def test_mpeg_ts_is_decoded_from_its_keyframes(tmp_path: Path) -> None:
    """MPEG-TS seeks by decoding timestamps: seeking to a keyframe's presentation time landed after it and
    no frame decoded (every .ts file was ``corrupt_media``)."""
    from shared.media.video import decode_frames

    path = tmp_path / "gop.ts"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x48:rate=10:duration=4", "-c:v", "libx264",
           "-g", "10", "-bf", "2", str(path))  # fmt: skip
    source = open_media(path)
    assert source.video is not None
    assert source.facts.frame_count == 40 and len(source.video.keyframe_pts) == 4
    everything = {f.index: f.rgb for f in decode_frames(path, list(range(40)))}
    assert sorted(everything) == list(range(40))
    for indices in ([0], [5, 25], [12, 13, 39], [31]):
        frames = decode_frames(path, indices)
        assert [f.index for f in frames] == indices
        assert all(np.array_equal(f.rgb, everything[f.index]) for f in frames)


@pytest.mark.parametrize("container", ["mp4", "ts"])
def test_a_seek_to_a_keyframe_lands_on_it(tmp_path: Path, container: str) -> None:
    """Each keyframe's seek target lands the demuxer on that keyframe, not one group of pictures earlier:
    MP4 seeks by presentation time, MPEG-TS by decoding time (with B-frames the two differ). An MP4 sought
    by decoding time decoded a whole extra group of pictures per seek."""
    import av

    path = tmp_path / f"gop.{container}"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x48:rate=10:duration=4", "-c:v", "libx264",
           "-g", "10", "-bf", "2", str(path))  # fmt: skip
    source = open_media(path)
    index = source.video
    assert index is not None and len(index.keyframe_pts) == 4
    with av.open(str(path)) as probe_again:
        stream = probe_again.streams.video[0]
        for pts, seek in zip(index.keyframe_pts[1:], index.keyframe_seek[1:], strict=True):
            probe_again.seek(seek, stream=stream, backward=True, any_frame=False)
            first = next(f for f in probe_again.decode(stream) if f.pts is not None)
            assert first.pts == pts, (container, pts, seek)


def heic_files(folder: Path) -> list[Path]:
    """A HEIC made by libheif's encoder when it is installed, and always a file whose ftyp says heic."""
    stub = folder / "photo.heic"
    stub.write_bytes(
        struct.pack(">I", 24) + b"ftypheic\0\0\0\0mif1heic" + struct.pack(">I", 72) + b"meta" + b"\0" * 64
    )
    out = [stub]
    if shutil.which("heif-enc"):
        from PIL import Image

        png = folder / "src.png"
        Image.fromarray(np.full((64, 64, 3), 128, np.uint8)).save(png)
        real = folder / "real.heic"
        subprocess.run(["heif-enc", str(png), "-o", str(real)], check=True, capture_output=True)
        out.append(real)
    return out


def test_heic_is_refused_by_both_with_the_same_message(tmp_path: Path) -> None:
    for path in heic_files(tmp_path):
        with pytest.raises(errors.UnsupportedMedia) as cli:
            open_media(path)
        assert cli.value.message == f"{path.name}: {HEIF_REFUSAL}"
        with pytest.raises(errors.UnsupportedMedia) as gateway:
            gateway_sniff(head(path))
        assert gateway.value.message == HEIF_REFUSAL


@pytest.mark.parametrize(
    "name, content",
    [
        ("report.pdf", b"%PDF-1.7\n" + b"x" * 200),
        ("archive.zip", b"PK\x03\x04" + b"\0" * 200),
        ("notes.txt", b"hello world\n" * 40),
        ("notes.mp4", b"hello world\n" * 40),
    ],
)
def test_non_media_is_refused_by_both(tmp_path: Path, name: str, content: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(errors.UnsupportedMedia):
        gateway_sniff(content)
    expected = errors.CorruptMedia if path.suffix in formats.MEDIA_EXTENSIONS else errors.UnsupportedMedia
    with pytest.raises(expected):
        open_media(path)


@pytest.mark.parametrize("name, args", [("clip.y4m", [*_VIDEO, "-pix_fmt", "yuv420p"]), ("clip.nut", _VIDEO)])
def test_containers_outside_the_list_are_refused_by_both_although_ffmpeg_reads_them(
    tmp_path: Path, name: str, args: list[str]
) -> None:
    import av

    path = tmp_path / name
    ffmpeg(*args, str(path))
    with av.open(str(path)) as container:
        assert container.streams.video  # FFmpeg reads it: before, the CLI analysed it and the API refused it
    with pytest.raises(errors.UnsupportedMedia):
        gateway_sniff(head(path))
    with pytest.raises(errors.UnsupportedMedia):
        open_media(path)


def test_avif_is_an_image_decoded_by_pillow(tmp_path: Path) -> None:
    from PIL import Image, features
    from skimage import data

    from shared.media.image import load_image

    if not features.check("avif"):
        pytest.skip("this Pillow has no AVIF support")
    source = data.astronaut()
    path = tmp_path / "photo.avif"
    Image.fromarray(source).save(path, quality=90)
    assert gateway_sniff(head(path)) == ("image", "image/avif")
    facts = open_media(path).facts
    assert (facts.kind, facts.width, facts.height, facts.container) == ("image", 512, 512, "avif")
    assert np.abs(load_image(path).astype(int) - source.astype(int)).mean() < 4


def test_a_grid_avif_is_decoded_whole_and_upright(tmp_path: Path) -> None:
    """Phone photos are grids of tiles: PyAV shows each tile as a stream; Pillow assembles the picture."""
    import av
    import cv2
    from PIL import Image, features
    from skimage import data

    from shared.media.image import load_image

    if not (features.check("avif") and shutil.which("avifenc")):
        pytest.skip("needs Pillow with AVIF and libavif's avifenc (apt-get install libavif-bin)")
    source = cv2.resize(data.astronaut(), (1024, 1024))
    png = tmp_path / "source.png"
    Image.fromarray(source).save(png)
    grid, turned = tmp_path / "grid.avif", tmp_path / "turned.avif"
    subprocess.run(["avifenc", "--grid", "2x2", str(png), str(grid)], check=True, capture_output=True)
    subprocess.run(["avifenc", "--irot", "1", str(png), str(turned)], check=True, capture_output=True)
    with av.open(str(grid)) as container:  # why AVIF does not go through PyAV
        assert [(s.codec_context.width, s.codec_context.height) for s in container.streams.video] == [
            (512, 512)
        ] * 4
    assert (open_media(grid).facts.width, open_media(grid).facts.height) == (1024, 1024)
    assert np.abs(load_image(grid).astype(int) - source.astype(int)).mean() < 4
    # irot 1: displayed turned 90 degrees counter-clockwise
    assert np.abs(load_image(turned).astype(int) - np.rot90(source).astype(int)).mean() < 4


_PEAK_MEMORY = """
import json, resource, sys
from shared.errors import DeepfakeError
from shared.media.probe import open_media
try:
    open_media(sys.argv[1])
    code = None
except DeepfakeError as exc:
    code = exc.code
print(json.dumps({"code": code, "mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def probe_in_child(path: Path) -> dict:
    """``open_media`` in a fresh interpreter: the error code and the process's peak memory (MB)."""
    import json
    import os
    import sys

    repo = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", _PEAK_MEMORY, str(path)], capture_output=True, text=True, cwd=repo, timeout=300,
        env={**os.environ, "PYTHONPATH": str(repo)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_an_8192x8192_video_is_refused_from_its_header_before_decoding(tmp_path: Path) -> None:
    huge, small = tmp_path / "huge.mp4", tmp_path / "small.mp4"
    for path, size in ((huge, "8192x8192"), (small, "64x64")):
        ffmpeg("-f", "lavfi", "-i", f"color=c=gray:size={size}:rate=25:duration=0.08",
               "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(path))  # fmt: skip
    with pytest.raises(errors.FileTooLarge) as info:
        open_media(huge)
    assert "8192x8192" in info.value.message and "16,777,216 pixels" in info.value.message
    assert info.value.code == "file_too_large" and info.value.details["width"] == 8192
    # Nothing was decoded: one 8192x8192 frame is 100 MB, FFmpeg's stream probing decoded one (peak
    # 221 MB here before the fix); refusing costs what probing a 64x64 clip costs.
    refused, baseline = probe_in_child(huge), probe_in_child(small)
    assert refused["code"] == "file_too_large" and baseline["code"] is None
    assert refused["mb"] - baseline["mb"] < 50, (refused, baseline)
    # A limit that allows the size decodes the first frame as usual.
    assert open_media(huge, limits=MediaLimits(max_video_pixels=8192 * 8192)).facts.width == 8192


def test_the_pixel_limit_is_the_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from shared import settings

    path = tmp_path / "clip.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=160x120:rate=10:duration=0.5", "-c:v", "libx264", str(path))
    monkeypatch.setenv("DEEPFAKE_MAX_VIDEO_PIXELS", str(160 * 120))
    settings.get_analyze_settings.cache_clear()
    assert open_media(path).facts.width == 160  # exactly at the limit: accepted
    monkeypatch.setenv("DEEPFAKE_MAX_VIDEO_PIXELS", str(160 * 120 - 1))
    settings.get_analyze_settings.cache_clear()
    with pytest.raises(errors.FileTooLarge, match="160x120 .19,200 pixels.; the limit is 19,199"):
        open_media(path)
    settings.get_analyze_settings.cache_clear()


def test_the_duration_limit_reads_the_header_and_the_packets(tmp_path: Path) -> None:
    import av

    limits = MediaLimits(max_video_seconds=60)
    declared = tmp_path / "two_minutes.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=16x16:rate=1:duration=120", "-c:v", "libx264", str(declared))
    with pytest.raises(errors.FileTooLarge, match="lasts 120 s; the limit is 60 s"):
        open_media(declared, limits=limits)
    # Written to a pipe, a Matroska file has no duration in its header: the packets still tell.
    exe = shutil.which("ffmpeg") or "ffmpeg"
    piped = subprocess.run(
        [exe, "-v", "error", "-f", "lavfi", "-i", "testsrc=size=16x16:rate=1:duration=120",
         "-c:v", "libx264", "-f", "matroska", "-"],
        check=True, capture_output=True,
    ).stdout  # fmt: skip
    live = tmp_path / "live.mkv"
    live.write_bytes(piped)
    with av.open(str(live)) as container:
        assert not container.duration and not container.streams.video[0].duration
    with pytest.raises(errors.FileTooLarge, match="lasts 119 s; the limit is 60 s"):
        open_media(live, limits=limits)
    assert open_media(live).facts.frame_count == 120  # under the default 4 h


def _png_declaring(width: int, height: int) -> bytes:
    from hostile.corpus import _png_declaring as declare

    return declare(width, height)


@pytest.mark.parametrize("width, height", [(65535, 65535), (20000, 12000), (10000, 9000)])
def test_huge_declared_pngs_are_refused_from_their_header(tmp_path: Path, width: int, height: int) -> None:
    path = tmp_path / "declared.png"
    path.write_bytes(_png_declaring(width, height))  # two rows of data: decoding it would say "truncated"
    assert gateway_sniff(head(path))[0] == "image"  # a PNG: the worker's probe refuses it
    with pytest.raises(errors.FileTooLarge, match="limit (of|is) 80,000,000 pixels"):
        open_media(path)


@pytest.mark.parametrize("width, height", [(65535, 65535), (5000, 5000)])
def test_huge_declared_gifs_are_refused_from_their_header(tmp_path: Path, width: int, height: int) -> None:
    from hostile.corpus import _gif_declaring

    path = tmp_path / "declared.gif"
    path.write_bytes(_gif_declaring(width, height))
    with pytest.raises(errors.FileTooLarge, match=f"{width}x{height}"):
        open_media(path)


def test_a_picture_bomb_costs_no_memory_in_the_probe(tmp_path: Path) -> None:
    """The 196-byte PNG declaring 20000x12000 made FFmpeg allocate 734 MB while opening it."""
    bomb, small = tmp_path / "bomb.png", tmp_path / "small.png"
    bomb.write_bytes(_png_declaring(20000, 12000))
    ffmpeg(*CONTAINERS["still.png"], str(small))
    refused, baseline = probe_in_child(bomb), probe_in_child(small)
    assert refused["code"] == "file_too_large" and baseline["code"] is None
    assert refused["mb"] - baseline["mb"] < 50, (refused, baseline)  # 720 MB of pixels never allocated


# --- the sniffing rules themselves --------------------------------------------------------------------
def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


@pytest.mark.parametrize(
    "major, compatible, expected",
    [
        (b"isom", b"isomiso2avc1mp41", "mp4"),
        (b"qt  ", b"qt  ", "mov"),
        (b"3gp5", b"3gp5isom", "3gp"),
        (b"M4A ", b"M4A mp42isom", "m4a"),
        (b"avif", b"avifmif1miaf", "avif"),
        (b"mif1", b"mif1avifmiaf", "avif"),  # an AVIF that names the generic brand first
        (b"mif1", b"mif1heic", "heif"),
        (b"heic", b"mif1heic", "heif"),
        (b"dash", b"iso6mp41", "mp4"),
    ],
)
def test_iso_bmff_brands(major: bytes, compatible: bytes, expected: str) -> None:
    found = sniff(_box(b"ftyp", major + b"\0\0\0\0" + compatible) + _box(b"free", b""))
    assert found is not None and found.name == expected
    assert found.accepted == (expected != "heif")


def test_audio_streams_after_an_id3_tag(tmp_path: Path) -> None:
    path = tmp_path / "tagged.mp3"
    ffmpeg(*_AUDIO, "-c:a", "libmp3lame", str(path))
    data = path.read_bytes()
    assert data[:3] == b"ID3" and sniffed(data[:SNIFF_BYTES]) == "mp3"
    frames = data[10 + sum((b & 0x7F) << (7 * (3 - i)) for i, b in enumerate(data[6:10])) :]
    assert sniffed(frames[:SNIFF_BYTES]) == "mp3"  # frame sync, two frames chained
    flac = tmp_path / "tagged.flac"
    ffmpeg(*_AUDIO, str(flac))
    assert sniffed(b"ID3\x04\0\0\0\0\0\x00" + flac.read_bytes()[: SNIFF_BYTES - 10]) == "flac"
    # A tag longer than what the gateway reads (cover art): the audio is beyond it, the tag says MP3.
    assert sniffed(b"ID3\x04\0\0\x00\x7f\x7f\x7f" + b"\0" * 100) == "mp3"


def test_random_bytes_sniff_as_nothing() -> None:
    rng = np.random.default_rng(0)
    hits = [
        found.name for _ in range(3000) if (found := sniff(rng.integers(0, 256, 4096, np.uint8).tobytes()))
    ]
    assert hits == []


def test_matroska_webm_ts_bmp_and_apng(tmp_path: Path) -> None:
    for name, expected in (
        ("clip.mkv", "mkv"),
        ("clip.webm", "webm"),
        ("clip.ts", "mpegts"),
        ("still.bmp", "bmp"),
    ):
        path = tmp_path / name
        ffmpeg(*CONTAINERS[name], str(path))
        assert sniffed(head(path)) == expected, name
    apng, png = tmp_path / "clip.apng", tmp_path / "still.png"
    ffmpeg(*CONTAINERS["clip.apng"], str(apng))
    ffmpeg(*CONTAINERS["still.png"], str(png))
    assert (sniffed(head(apng)), sniffed(head(png))) == ("apng", "png")


def test_every_shared_file_is_accepted_by_the_sniffing(shared_media: Path) -> None:
    files = [p for p in shared_media.rglob("*") if p.is_file() and p.suffix.lower() not in (".csv", ".md")]
    assert files
    refused = [str(p.relative_to(shared_media)) for p in files if not (f := sniff(head(p))) or not f.accepted]
    assert refused == []
