"""The media formats this project accepts: one list for the CLI (``shared.media.probe``) and the gateway
(``gateway.media``), so a file the command line analyses is never refused by the API, nor the reverse.

A file is judged by its first bytes (:func:`sniff`), never by its name, with the magic numbers below; the
decoder is then the real judge: ``open_media`` also requires that FFmpeg reads the file with one of the
format's demuxers (:data:`ACCEPTED_DEMUXERS`), and a file that sniffs as media but does not decode is
``corrupt_media``, not ``unsupported_media``. The gateway, which has no FFmpeg, stops at the sniff.

HEIC/HEIF and AVIF. Phone photos in these formats are usually *grid* images: the picture is stored as
tiles (e.g. 48 tiles of 512x512) plus a rule for assembling them. FFmpeg (PyAV 18, libavformat 62) opens
them with its MP4 demuxer and shows each tile as its own one-frame "video" stream, so analysing them
through PyAV would look at one tile, not the photo (checked here on a 2x2 grid AVIF made by ``avifenc``:
four 512x512 streams instead of one 1024x1024 picture), and rotation (``irot``) is not applied.
- AVIF is accepted as an image and decoded by Pillow's AVIF plugin (libavif), which assembles grids and
  applies ``irot``/``imir``: the same 1024x1024 upright picture as the PNG it was made from (mean
  difference 1.5/255). A Pillow without AVIF support is refused with what to install.
- HEIC/HEIF is refused, by the CLI and the gateway alike, with :data:`HEIF_REFUSAL`: nothing installed
  here decodes it correctly (Pillow has no HEIF plugin; ``pillow-heif`` would add one).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

MediaKind = Literal["video", "audio", "image"]

#: how many leading bytes sniffing looks at (the gateway reads this much before queueing anything)
SNIFF_BYTES = 8192

HEIF_REFUSAL = (
    "HEIC/HEIF images cannot be analysed here (no decoder here assembles their tiles into the whole "
    "picture): convert the photo to JPEG or PNG first"
)


@dataclass(frozen=True)
class MediaFormat:
    """One accepted (or explicitly refused) container format.

    Attributes:
        name: short name shown to users (``"mp4"``).
        kind: what a file of this format usually holds; the probe decides from the streams (an mp4 can
            be audio only, an ogg can be Theora video).
        mime: the MIME type the gateway reports.
        extensions: file name extensions of the format (lower case, with the dot).
        demuxers: FFmpeg demuxer names that read it, as PyAV's ``container.format.name`` spells them.
        reader: who decodes it: ``"ffmpeg"`` (PyAV: video, audio, animated pictures) or ``"pillow"``
            (still images; ``shared.media.image``).
        refusal: why the format is refused (``None``: accepted).
    """

    name: str
    kind: MediaKind
    mime: str
    extensions: tuple[str, ...]
    demuxers: tuple[str, ...] = ()
    reader: Literal["ffmpeg", "pillow"] = "ffmpeg"
    refusal: str | None = None

    @property
    def accepted(self) -> bool:
        return self.refusal is None


_MOV = "mov,mp4,m4a,3gp,3g2,mj2"
_MKV = "matroska,webm"

MP4 = MediaFormat("mp4", "video", "video/mp4", (".mp4", ".m4v", ".mov", ".3gp", ".3g2"), (_MOV,))
MOV = MediaFormat("mov", "video", "video/quicktime", (".mov", ".qt"), (_MOV,))
THREE_GP = MediaFormat("3gp", "video", "video/3gpp", (".3gp", ".3g2"), (_MOV,))
M4A = MediaFormat("m4a", "audio", "audio/mp4", (".m4a", ".m4b"), (_MOV,))
MKV = MediaFormat("mkv", "video", "video/x-matroska", (".mkv", ".mka", ".mk3d"), (_MKV,))
WEBM = MediaFormat("webm", "video", "video/webm", (".webm",), (_MKV,))
AVI = MediaFormat("avi", "video", "video/x-msvideo", (".avi",), ("avi",))
MPEG_PS = MediaFormat("mpeg", "video", "video/mpeg", (".mpg", ".mpeg", ".vob"), ("mpeg", "mpegvideo"))
MPEG_TS = MediaFormat("mpegts", "video", "video/mp2t", (".ts", ".mts", ".m2ts"), ("mpegts",))
FLV = MediaFormat("flv", "video", "video/x-flv", (".flv",), ("flv", "live_flv"))
ASF = MediaFormat("asf", "video", "video/x-ms-asf", (".wmv", ".wma", ".asf"), ("asf",))
WAV = MediaFormat("wav", "audio", "audio/wav", (".wav", ".wave"), ("wav",))
FLAC = MediaFormat("flac", "audio", "audio/flac", (".flac",), ("flac",))
MP3 = MediaFormat("mp3", "audio", "audio/mpeg", (".mp3",), ("mp3",))
AAC = MediaFormat("aac", "audio", "audio/aac", (".aac",), ("aac",))
OGG = MediaFormat("ogg", "audio", "audio/ogg", (".ogg", ".oga", ".opus", ".ogv"), ("ogg",))
AMR = MediaFormat("amr", "audio", "audio/amr", (".amr",), ("amr",))
AIFF = MediaFormat("aiff", "audio", "audio/aiff", (".aiff", ".aif", ".aifc"), ("aiff",))
# Still images are decoded by Pillow; the demuxer name is what the report's ``container`` says.
PNG = MediaFormat("png", "image", "image/png", (".png",), ("png_pipe",), "pillow")
JPEG = MediaFormat("jpeg", "image", "image/jpeg", (".jpg", ".jpeg", ".jfif"), ("jpeg_pipe",), "pillow")
WEBP = MediaFormat("webp", "image", "image/webp", (".webp",), ("webp_pipe",), "pillow")
BMP = MediaFormat("bmp", "image", "image/bmp", (".bmp",), ("bmp_pipe",), "pillow")
TIFF = MediaFormat("tiff", "image", "image/tiff", (".tif", ".tiff"), ("tiff_pipe",), "pillow")
#: decoded by Pillow (libavif), never by PyAV: see the module docstring
AVIF = MediaFormat("avif", "image", "image/avif", (".avif",), ("avif",), "pillow")
# Animated pictures are read by FFmpeg, frame by frame, like a video.
GIF = MediaFormat("gif", "image", "image/gif", (".gif",), ("gif", "gif_pipe"))
APNG = MediaFormat("apng", "image", "image/apng", (".apng",), ("apng",))
HEIF = MediaFormat("heif", "image", "image/heic", (".heic", ".heif", ".hif"), refusal=HEIF_REFUSAL)

FORMATS: tuple[MediaFormat, ...] = (
    MP4, MOV, THREE_GP, M4A, MKV, WEBM, AVI, MPEG_PS, MPEG_TS, FLV, ASF,
    WAV, FLAC, MP3, AAC, OGG, AMR, AIFF,
    PNG, JPEG, WEBP, BMP, TIFF, AVIF, GIF, APNG, HEIF,
)  # fmt: skip
ACCEPTED_FORMATS = tuple(f for f in FORMATS if f.accepted)
#: every FFmpeg demuxer the probe accepts a file from
ACCEPTED_DEMUXERS = frozenset(d for f in ACCEPTED_FORMATS if f.reader == "ffmpeg" for d in f.demuxers)
#: extensions of files that are meant to be media: failing to open one means "damaged", not "not media"
MEDIA_EXTENSIONS = frozenset(e for f in FORMATS for e in f.extensions)

ACCEPTED_SUMMARY = (
    "a video (mp4, mov, mkv, webm, avi, mpeg, ts, flv, wmv), an image (jpg, png, webp, avif, bmp, gif, "
    "tiff) or an audio file (wav, mp3, m4a, aac, flac, ogg, opus, amr, aiff, wma)"
)


# --- the sniffing rules ---------------------------------------------------------------------------
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1"}
_AVIF_BRANDS = {b"avif", b"avis"}
_AUDIO_MP4_BRANDS = {b"M4A ", b"M4B ", b"M4P ", b"F4A ", b"F4B "}
#: QuickTime files from before ``ftyp`` existed start with one of these atoms
_QT_ATOMS = {b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot"}


def _iso_bmff(head: bytes) -> MediaFormat | None:
    if len(head) < 12:
        return None
    box = head[4:8]
    if box in _QT_ATOMS:
        return MOV
    if box != b"ftyp":
        return None
    size = struct.unpack(">I", head[:4])[0]
    major = head[8:12]
    compatible = {head[i : i + 4] for i in range(16, min(max(size, 16), len(head)) - 3, 4)}
    brands = {major} | compatible
    # An image file names its image brand (avif, heic, mif1, ...) as the major brand; a video that is
    # also readable as an image sequence lists them among the compatible ones, so only the major counts
    # for HEIF. AVIF wins when both appear: a mif1 file that says avif is an AVIF.
    if major in _AVIF_BRANDS or (major in _HEIF_BRANDS and brands & _AVIF_BRANDS):
        return AVIF
    if major in _HEIF_BRANDS:
        return HEIF
    if major in _AUDIO_MP4_BRANDS:
        return M4A
    if major == b"qt  ":
        return MOV
    if major[:3] in (b"3gp", b"3g2", b"3ge", b"3gg"):
        return THREE_GP
    return MP4


def _riff(head: bytes) -> MediaFormat | None:
    if len(head) < 12 or head[:4] not in (b"RIFF", b"RF64", b"BW64"):
        return None
    return {b"WAVE": WAV, b"AVI ": AVI, b"WEBP": WEBP}.get(head[8:12])


def _ebml(head: bytes) -> MediaFormat | None:
    if head[:4] != b"\x1a\x45\xdf\xa3":
        return None
    return WEBM if b"webm" in head[:64] else MKV


def _mpeg_ts(head: bytes) -> MediaFormat | None:
    for first, step in ((0, 188), (4, 192)):  # plain TS, and M2TS (4-byte timestamp before each packet)
        if len(head) >= first + 2 * step + 1 and all(head[first + k * step] == 0x47 for k in range(3)):
            return MPEG_TS
    return None


def _mpeg_ps(head: bytes) -> MediaFormat | None:
    return MPEG_PS if head[:4] in (b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3") else None


_MP3_BITRATES_V1_L3 = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)


def _mpeg_audio_frame(head: bytes, at: int) -> int | None:
    """The length of an MPEG-1/2 layer III frame starting at ``at``; ``None`` if no valid header is there."""
    if len(head) < at + 4 or head[at] != 0xFF or head[at + 1] & 0xE0 != 0xE0:
        return None
    version = (head[at + 1] >> 3) & 3  # 0: MPEG 2.5, 2: MPEG 2, 3: MPEG 1
    layer = (head[at + 1] >> 1) & 3  # 1: layer III
    bitrate_index = head[at + 2] >> 4
    rate_index = (head[at + 2] >> 2) & 3
    if version == 1 or layer != 1 or bitrate_index in (0, 15) or rate_index == 3:
        return None
    rate = (44100, 48000, 32000)[rate_index] >> {3: 0, 2: 1, 0: 2}[version]
    bitrate = _MP3_BITRATES_V1_L3[bitrate_index] * 1000 if version == 3 else None
    if bitrate is None:  # MPEG 2/2.5 layer III bitrates
        bitrate = (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)[bitrate_index] * 1000
    padding = (head[at + 2] >> 1) & 1
    per_frame = 144 if version == 3 else 72
    return per_frame * bitrate // rate + padding


def _adts_frame(head: bytes, at: int) -> int | None:
    """The length of an ADTS (raw AAC) frame starting at ``at``; ``None`` if no valid header is there."""
    if len(head) < at + 7 or head[at] != 0xFF or head[at + 1] & 0xF6 != 0xF0:
        return None
    if (head[at + 2] >> 2) & 0xF > 12:  # sampling frequency index
        return None
    length = ((head[at + 3] & 3) << 11) | (head[at + 4] << 3) | (head[at + 5] >> 5)
    return length if length >= 7 else None


def _frames_chain(head: bytes, at: int, frame: Callable[[bytes, int], int | None]) -> bool:
    """A valid frame header at ``at`` and, when the head is long enough, another right after it."""
    length = frame(head, at)
    if length is None:
        return False
    return at + length + 4 > len(head) or frame(head, at + length) is not None


def _audio_streams(head: bytes) -> MediaFormat | None:
    start = 0
    if head[:3] == b"ID3" and len(head) >= 10:
        # ID3v2 tag: a syncsafe size (7 bits per byte) after a 10-byte header; what follows is the audio.
        size = 0
        for byte in head[6:10]:
            size = (size << 7) | (byte & 0x7F)
        start = 10 + size + (10 if head[5] & 0x10 else 0)  # footer flag
        if start + 4 > len(head):
            return MP3  # a long tag (cover art): the audio is beyond what we read; MP3 is what carries ID3
    if head[start : start + 4] == b"fLaC":
        return FLAC
    if _frames_chain(head, start, _adts_frame):
        return AAC
    if _frames_chain(head, start, _mpeg_audio_frame):
        return MP3
    return MP3 if start else None  # an ID3 tag followed by something else: let the decoder judge


def _simple(head: bytes) -> MediaFormat | None:
    if head[:4] == b"fLaC":
        return FLAC
    if head[:4] == b"OggS":
        return OGG
    if head[:5] == b"#!AMR":
        return AMR
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return AIFF
    if head[:3] == b"FLV" and len(head) > 3 and head[3] == 1:
        return FLV
    if head[:16] == b"\x30\x26\xb2\x75\x8e\x66\xcf\x11\xa6\xd9\x00\xaa\x00\x62\xce\x6c":
        return ASF
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        # An animated PNG has an acTL chunk before its first image data.
        idat = head.find(b"IDAT")
        return APNG if b"acTL" in head[: idat if idat >= 0 else len(head)] else PNG
    if head[:3] == b"\xff\xd8\xff":
        return JPEG
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return GIF
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return TIFF
    if head[:2] == b"BM" and len(head) >= 18 and head[6:10] == b"\x00\x00\x00\x00":
        dib = struct.unpack("<I", head[14:18])[0]
        return BMP if dib in (12, 16, 40, 52, 56, 64, 108, 124) else None
    return None


_RULES: tuple[Callable[[bytes], MediaFormat | None], ...] = (
    _simple, _iso_bmff, _riff, _ebml, _mpeg_ts, _mpeg_ps, _audio_streams,
)  # fmt: skip


def sniff(head: bytes) -> MediaFormat | None:
    """The format a file's first bytes belong to (accepted or refused), or ``None`` when none matches.

    Args:
        head: the first :data:`SNIFF_BYTES` of the file (fewer for a shorter file).
    """
    for rule in _RULES:
        found = rule(head)
        if found is not None:
            return found
    return None


def declared_size(fmt: MediaFormat, head: bytes) -> tuple[int, int] | None:
    """The picture size an animated-picture header declares (GIF, APNG), before FFmpeg sees the file.

    FFmpeg learns these sizes only by decoding a frame, so the probe reads them here to apply the pixel
    limit first. ``None`` for other formats (their demuxers report the size without decoding).
    """
    if fmt is GIF and len(head) >= 10:
        return struct.unpack("<HH", head[6:10])
    if fmt is APNG and len(head) >= 24:
        return struct.unpack(">II", head[16:24])
    return None


def read_head(path: str, size: int = SNIFF_BYTES) -> bytes:
    """The first ``size`` bytes of a file."""
    with open(path, "rb") as f:
        return f.read(size)
