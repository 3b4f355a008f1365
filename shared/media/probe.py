"""Probe a file: what it is (video, image or audio) and its facts, read from the container, never its name.

``open_media`` is the single entry point for unknown input. It turns every way a file can be unusable
into a ``shared.errors`` type with a stable code (missing, empty, not media, damaged, no usable stream,
too large), and for videos it indexes the packets once (cheap: no decoding) so the decoder knows every
frame's exact timestamp, the keyframes it can seek to and the real frame count, also for variable frame
rate.

What is accepted is decided by ``shared.media.formats`` (the list the gateway uses too): the file's first
bytes must match an accepted format and FFmpeg must read it with one of the accepted demuxers.

Limits (:class:`MediaLimits`, from ``AnalyzeSettings``) are checked before anything is decoded:
- video frames larger than ``max_video_pixels`` (4096x4096 by default) and videos longer than
  ``max_video_seconds`` (4 h) are refused as ``file_too_large``, from the container's header and again
  from what demuxing finds (a header can lie); FFmpeg's decoders also get ``max_pixels`` so a frame
  larger than the header promised fails to decode instead of being allocated;
- images are read by Pillow, never by FFmpeg: FFmpeg decodes a picture while *opening* it (its
  ``find_stream_info``), so a 746 KB PNG declaring 16000x16000 took 780 MB and 14 s before anything
  could refuse it; Pillow reads the header first and ``shared.media.image`` refuses above
  ``MAX_PIXELS`` (80 MP);
- at most ``MAX_VIDEO_FRAMES`` packets are indexed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from shared.errors import (
    CorruptMedia,
    EmptyMedia,
    FileTooLarge,
    MediaNotFound,
    NoUsableStream,
    UnsupportedMedia,
)
from shared.media.formats import (
    ACCEPTED_DEMUXERS,
    ACCEPTED_SUMMARY,
    AVIF,
    MEDIA_EXTENSIONS,
    SNIFF_BYTES,
    MediaFormat,
    declared_size,
    sniff,
)
from shared.media.image import StillImage, decode_still
from shared.media.session import MediaFile
from shared.report import MediaFacts

__all__ = ["MEDIA_EXTENSIONS", "MediaLimits", "MediaSource", "VideoIndex", "open_media"]

#: at most this many video packets are indexed (a 4-hour video at 120 fps has 1.7 million)
MAX_VIDEO_FRAMES = 2_000_000
#: FFmpeg's decoders refuse frames somewhat larger than ``max_video_pixels``: it checks the buffers it
#: allocates, whose rows are padded to 64 pixels and whose height is rounded up to whole macroblocks, so
#: a frame exactly at the limit must still decode (a 160x120 H.264 frame needs 192x128 = 24,576)
_DECODER_PIXEL_MARGIN = 1.25
_DECODER_PIXEL_SLACK = 1 << 20


@dataclass(frozen=True)
class MediaLimits:
    """How large a video may be; defaults from ``AnalyzeSettings`` (``DEEPFAKE_MAX_VIDEO_*``)."""

    max_video_pixels: int = 4096 * 4096
    max_video_seconds: float = 4 * 3600.0

    @classmethod
    def from_settings(cls, settings: Any | None = None) -> MediaLimits:
        from shared.settings import get_analyze_settings

        s = settings or get_analyze_settings()
        return cls(max_video_pixels=s.max_video_pixels, max_video_seconds=s.max_video_seconds)

    @property
    def decoder_max_pixels(self) -> int:
        return int(self.max_video_pixels * _DECODER_PIXEL_MARGIN) + _DECODER_PIXEL_SLACK

    def check_frame(self, name: str, width: int, height: int) -> None:
        if width * height > self.max_video_pixels:
            raise FileTooLarge(
                f"{name}: video frames are {width}x{height} ({width * height:,} pixels); the limit is "
                f"{self.max_video_pixels:,} pixels per frame (DEEPFAKE_MAX_VIDEO_PIXELS)",
                width=width,
                height=height,
                limit_pixels=self.max_video_pixels,
            )

    def check_duration(self, name: str, seconds: float) -> None:
        if seconds > self.max_video_seconds:
            raise FileTooLarge(
                f"{name}: the video lasts {seconds:,.0f} s; the limit is {self.max_video_seconds:,.0f} s "
                "(DEEPFAKE_MAX_VIDEO_SECONDS)",
                duration_s=round(seconds, 3),
                limit_s=self.max_video_seconds,
            )


@dataclass
class VideoIndex:
    """Every video frame's presentation timestamp (sorted) and the keyframes, from demuxing only."""

    stream_index: int
    time_base: float
    pts: list[int]
    keyframe_pts: list[int]
    rotation: int = 0
    stored_width: int = 0
    stored_height: int = 0
    #: FFmpeg's ``max_pixels`` for the decoder (``None``: FFmpeg's default)
    decoder_max_pixels: int | None = None
    #: where to seek to reach each keyframe of ``keyframe_pts``: its presentation time for demuxers that seek
    #: by it (MP4, MOV), its decoding time for the others (MPEG-TS: seeking to a keyframe's later
    #: presentation time lands after the keyframe)
    keyframe_seek: list[int] = field(default_factory=list)

    @property
    def frame_count(self) -> int:
        return len(self.pts)

    def time_of(self, index: int) -> float:
        return (self.pts[index] - self.pts[0]) * self.time_base

    @property
    def keyframe_indices(self) -> list[int]:
        """The keyframes as frame indices (where decoding can start), sorted."""
        position = {p: i for i, p in enumerate(self.pts)}
        return sorted(position[p] for p in self.keyframe_pts if p in position)

    @property
    def start_s(self) -> float:
        """When the first frame is shown on the container's clock, seconds (``time_of`` counts from it)."""
        return self.pts[0] * self.time_base if self.pts else 0.0


@dataclass
class MediaSource:
    """A probed input: facts for the report, what the decoders need, and what the probe already read.

    ``file`` is the one open of the file for the whole analysis (:mod:`shared.media.session`): every
    later reader takes a view of it (:meth:`reader`) instead of opening the path again. What the probe
    learnt is kept for the steps after it: a still image's decoded pixels (``still``) and a container's
    tags (``container_tags``), so nothing decodes or demuxes the file twice for them.
    """

    path: Path
    facts: MediaFacts
    video: VideoIndex | None = None
    audio_stream_index: int | None = None
    notes: list[str] = field(default_factory=list)
    file: MediaFile | None = None
    #: a still image as the probe decoded it (``None`` for video and audio)
    still: StillImage | None = None
    #: container and stream tags, as FFmpeg read them while probing (video and audio files); ``None``
    #: when they could not be read, with the reason in ``container_tags_error``
    container_tags: ContainerTags | None = None
    #: when the audio stream starts on the container's clock, seconds (``None``: unknown or no audio).
    #: The decoded waveform begins there; a video's frames begin at ``video.start_s``. Evidence that sets
    #: sound against picture places them with both, never with sample counts alone.
    audio_start_s: float | None = None

    def reader(self) -> BinaryIO:
        """A fresh view of the file from byte 0 (a new open only for a source made without one)."""
        if self.file is not None and not self.file.closed:
            return self.file.reader()
        return open(self.path, "rb")  # noqa: SIM115 - the caller closes it, like a view

    def close(self) -> None:
        """Close the file (the end of an analysis); the facts and kept products stay usable."""
        if self.file is not None:
            self.file.close()

    def __enter__(self) -> MediaSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class ContainerTags:
    """Tags of a video or audio container: the container's own and each stream's (index, type, tags)."""

    container: dict[str, str]
    streams: list[tuple[int, str, dict[str, str]]]


def _check_path(path: Path) -> None:
    if not path.exists():
        raise MediaNotFound(f"{path}: no such file")
    if not path.is_file():
        raise UnsupportedMedia(f"{path}: not a regular file")
    if path.stat().st_size == 0:
        raise EmptyMedia(f"{path}: the file is empty (0 bytes)")


def _quiet_ffmpeg() -> None:
    """Keep FFmpeg's decoder complaints off the user's terminal: we report damage ourselves, in one line.

    FFmpeg's own log callback is used, with its level set to PANIC. A Python log callback (PyAV's
    ``av.logging.set_level(...)``, which torchvision's video module installs on import) is removed:
    FFmpeg's decoding threads calling into Python while the main thread waits for them deadlocked a
    test run here when decoding a damaged file.
    """
    import av

    if av.logging.get_level() is not None:
        av.logging.set_level(None)
        av.logging.restore_default_callback()
    av.logging.set_libav_level(av.logging.PANIC)


def _not_media(path: Path, reason: str) -> CorruptMedia | UnsupportedMedia:
    """A file that cannot be read: "damaged" when its name or first bytes say it is media."""
    ext = path.suffix.lower()
    if ext in MEDIA_EXTENSIONS:
        return CorruptMedia(
            f"{path.name}: cannot be read as media ({reason}); the file may be damaged, truncated "
            f"or not really a {ext.lstrip('.')} file"
        )
    return UnsupportedMedia(f"{path.name}: not a video, image or audio file ({reason})")


def _open_container(
    path: Path,
    *,
    sniffed: MediaFormat | None = None,
    max_pixels: int | None = None,
    reader: BinaryIO | None = None,
) -> Any:
    """Open with PyAV, from ``reader`` (a view of the analysis' one open, see :class:`MediaSource`) or
    else the path. ``max_pixels`` stops FFmpeg decoding larger pictures while it probes the streams (it
    decodes a first frame of each to learn its format: the 8192x8192 H.264 first frame took 140 MB)."""
    import av

    _quiet_ffmpeg()
    if max_pixels is None:
        max_pixels = MediaLimits.from_settings().decoder_max_pixels
    try:
        return av.open(
            reader if reader is not None else str(path),
            metadata_errors="ignore",
            options={"max_pixels": str(max_pixels)},
        )
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        if sniffed is not None:
            raise CorruptMedia(
                f"{path.name}: starts like a {sniffed.name} file but cannot be read ({reason}); it may be "
                "damaged or truncated"
            ) from None
        raise _not_media(path, reason) from None


def _codec_label(stream: Any) -> str:
    ctx = stream.codec_context
    profile = getattr(ctx, "profile", None) or getattr(stream, "profile", None)
    return f"{ctx.name} {profile}" if profile else ctx.name


def _real_video_stream(container: Any) -> Any | None:
    import av

    for stream in container.streams.video:
        # Cover art in audio files is a one-picture "video" stream: not a video.
        if stream.disposition & av.stream.Disposition.attached_pic:
            continue
        return stream
    return None


#: libavformat's flag for demuxers that seek by presentation timestamps (avformat.h)
AVFMT_SEEK_TO_PTS = 0x4000000


def _index_video(container: Any, stream: Any, path: Path, limits: MediaLimits) -> VideoIndex:
    """Demux the video stream's packets (no decoding) and decode its first frame (rotation, validity)."""
    import av

    pts: list[int] = []
    keys: list[tuple[int, int]] = []  # (pts, where to seek to reach it) of keyframes
    tb = float(stream.time_base) if stream.time_base else 1.0 / 90000
    # Demuxers seek by presentation time (MP4/MOV: FFmpeg's AVFMT_SEEK_TO_PTS) or by decoding time (MPEG-TS,
    # where seeking to a keyframe's later presentation time lands after it). Seeking an MP4 with B-frames
    # by the keyframe's earlier decoding time lands one keyframe too early: a whole group of pictures
    # decoded for nothing (0.7 s per seek on a 1080p loop, against 0.06 s by presentation time).
    seeks_by_pts = bool(getattr(container.format, "flags", 0) & AVFMT_SEEK_TO_PTS)
    try:
        for packet in container.demux(stream):
            if packet.pts is None or packet.size == 0:
                continue
            pts.append(packet.pts)
            if packet.is_keyframe:
                by_dts = packet.dts is not None and not seeks_by_pts
                keys.append((packet.pts, packet.dts if by_dts else packet.pts))
            if len(pts) > MAX_VIDEO_FRAMES:
                raise FileTooLarge(
                    f"{path.name}: the video has more than {MAX_VIDEO_FRAMES:,} frames; at most that many "
                    "can be indexed"
                )
    except av.error.FFmpegError:
        pass  # a damaged tail: keep the packets read so far; decoding will say how far it got
    if not pts:
        raise CorruptMedia(f"{path.name}: the video stream has no frames; the file may be truncated")
    pts.sort()
    keys.sort()
    # The header's duration can understate: what the packets span is what decoding would walk.
    limits.check_duration(path.name, (pts[-1] - pts[0]) * tb)
    stream.codec_context.options = {"max_pixels": str(limits.decoder_max_pixels)}
    keys = keys or [(pts[0], pts[0])]
    rotation = 0
    try:
        container.seek(min(k[1] for k in keys), stream=stream, backward=True, any_frame=False)
        first = next(container.decode(stream), None)
    except av.error.FFmpegError:
        first = None
    if first is None:
        raise CorruptMedia(f"{path.name}: no video frame could be decoded; the file may be damaged")
    limits.check_frame(path.name, first.width, first.height)
    rotation = int(round((first.rotation or 0) / 90.0)) * 90 % 360
    return VideoIndex(
        stream_index=stream.index,
        time_base=tb,
        pts=pts,
        keyframe_pts=[k[0] for k in keys],
        keyframe_seek=[k[1] for k in keys],
        rotation=rotation,
        stored_width=first.width,
        stored_height=first.height,
        decoder_max_pixels=limits.decoder_max_pixels,
    )


def _is_vfr(pts: list[int]) -> bool:
    if len(pts) < 3:
        return False
    deltas = [b - a for a, b in zip(pts, pts[1:], strict=False)]
    positive = sorted(d for d in deltas if d > 0)
    if not positive:
        return False
    median = positive[len(positive) // 2]
    return any(abs(d - median) > 0.25 * median for d in positive)


def open_media(path: str | Path, *, limits: MediaLimits | None = None) -> MediaSource:
    """Identify a file and read its facts.

    Args:
        path: any file a user gave us.
        limits: size limits for video (default: from ``AnalyzeSettings``).

    Returns:
        A :class:`MediaSource` whose ``facts.kind`` is ``video``, ``image`` or ``audio``.

    Raises:
        MediaNotFound, EmptyMedia, UnsupportedMedia, CorruptMedia, NoUsableStream: unusable input.
        FileTooLarge: a video over ``limits`` or an image over ``shared.media.image.MAX_PIXELS``.
    """
    path = Path(path)
    _check_path(path)
    limits = limits or MediaLimits.from_settings()
    file = MediaFile(path)  # the analysis' one open of the file (shared.media.session)
    try:
        source = _probe(path, file, limits)
    except BaseException:
        file.close()
        raise
    source.file = file
    return source


def _probe(path: Path, file: MediaFile, limits: MediaLimits) -> MediaSource:
    with file.reader() as reader:
        head = reader.read(SNIFF_BYTES)
        reader.seek(0)
        digest = hashlib.file_digest(reader, "sha256").hexdigest()
    sniffed = sniff(head)
    if sniffed is None:
        raise _not_media(path, f"its first bytes match none of the accepted formats: {ACCEPTED_SUMMARY}")
    if sniffed.refusal is not None:
        raise UnsupportedMedia(f"{path.name}: {sniffed.refusal}")
    if sniffed.reader == "pillow":
        return _probe_image(path, file, sniffed, digest)  # Pillow, never FFmpeg (see the module docstring)
    size = declared_size(sniffed, head)
    if size is not None:
        limits.check_frame(path.name, *size)
    with file.reader() as reader:
        container = _open_container(path, sniffed=sniffed, max_pixels=limits.decoder_max_pixels, reader=reader)
        try:
            if container.format.name not in ACCEPTED_DEMUXERS:
                raise UnsupportedMedia(
                    f"{path.name}: FFmpeg reads it as {container.format.long_name or container.format.name}, "
                    f"which is not an accepted format ({ACCEPTED_SUMMARY})"
                )
            return _probe_open(path, container, limits, _base_facts(path, container.format.name, file, digest))
        finally:
            container.close()


def _base_facts(path: Path, container: str, file: MediaFile, digest: str) -> dict[str, Any]:
    return {"filename": path.name, "size_bytes": file.size, "sha256": digest, "container": container}


def _probe_image(path: Path, file: MediaFile, sniffed: MediaFormat, digest: str) -> MediaSource:
    """A still image: header and pixel limit first (Pillow), then one full decode to prove it is whole;
    the decoded pixels are kept for the steps that need them."""
    with file.reader() as reader:
        still = decode_still(reader, path.name, avif=sniffed is AVIF)
    facts = MediaFacts(
        kind="image",
        width=int(still.rgb.shape[1]),
        height=int(still.rgb.shape[0]),
        video_codec="av1" if sniffed is AVIF else sniffed.name,
        **_base_facts(path, sniffed.demuxers[0], file, digest),
    )
    return MediaSource(path=path, facts=facts, still=still)


def _start_s(stream: Any) -> float | None:
    """A stream's start time on the container's clock, seconds, when its header gives one."""
    if stream is None or stream.start_time is None or not stream.time_base:
        return None
    return float(stream.start_time * stream.time_base)


def _read_tags(container: Any) -> ContainerTags:
    return ContainerTags(
        container={str(k): str(v) for k, v in dict(container.metadata).items()},
        streams=[
            (s.index, s.type, {str(k): str(v) for k, v in dict(s.metadata).items()}) for s in container.streams
        ],
    )


def _probe_open(path: Path, container: Any, limits: MediaLimits, base: dict[str, Any]) -> MediaSource:
    tags = _read_tags(container)
    video_stream = _real_video_stream(container)
    audio_stream = container.streams.audio[0] if container.streams.audio else None
    audio_facts: dict[str, Any] = {}
    if audio_stream is not None:
        ctx = audio_stream.codec_context
        audio_facts = {
            "audio_codec": _codec_label(audio_stream),
            "audio_sample_rate": ctx.sample_rate or None,
            "audio_channels": ctx.channels or None,
        }

    if video_stream is not None:
        # Refuse from the header before demuxing or decoding anything; _index_video checks again.
        ctx = video_stream.codec_context
        limits.check_frame(path.name, ctx.width or 0, ctx.height or 0)
        if video_stream.duration and video_stream.time_base:
            limits.check_duration(path.name, float(video_stream.duration * video_stream.time_base))
        elif container.duration:
            limits.check_duration(path.name, container.duration / 1_000_000)
        index = _index_video(container, video_stream, path, limits)
        tb = index.time_base
        span = (index.pts[-1] - index.pts[0]) * tb
        frame_step = span / (index.frame_count - 1) if index.frame_count > 1 else 0.0
        duration = None
        if container.duration:
            duration = container.duration / 1_000_000
        elif video_stream.duration:
            duration = video_stream.duration * tb
        duration = duration or (span + frame_step)
        fps = float(video_stream.average_rate) if video_stream.average_rate else None
        if not fps and span > 0:
            fps = (index.frame_count - 1) / span
        swap = index.rotation in (90, 270)
        width, height = index.stored_width, index.stored_height
        facts = MediaFacts(
            kind="video",
            duration_s=round(duration, 3),
            fps=round(fps, 3) if fps else None,
            variable_frame_rate=_is_vfr(index.pts),
            frame_count=index.frame_count,
            width=height if swap else width,
            height=width if swap else height,
            rotation=index.rotation,
            video_codec=_codec_label(video_stream),
            pixel_format=video_stream.codec_context.pix_fmt,
            **audio_facts,
            **base,
        )
        notes = []
        claimed = int(video_stream.frames or 0)
        if claimed > index.frame_count + 1:
            notes.append(
                f"the file says it has {claimed} video frames but only {index.frame_count} could be read: "
                "it is probably truncated"
            )
        return MediaSource(
            path=path,
            facts=facts,
            video=index,
            audio_stream_index=audio_stream.index if audio_stream is not None else None,
            notes=notes,
            container_tags=tags,
            audio_start_s=_start_s(audio_stream),
        )

    if audio_stream is not None:
        duration = None
        if container.duration:
            duration = container.duration / 1_000_000
        elif audio_stream.duration and audio_stream.time_base:
            duration = float(audio_stream.duration * audio_stream.time_base)
        facts = MediaFacts(
            kind="audio", duration_s=round(duration, 3) if duration else None, **audio_facts, **base
        )
        return MediaSource(path=path, facts=facts, audio_stream_index=audio_stream.index, container_tags=tags)

    if not container.streams:
        raise CorruptMedia(f"{path.name}: no stream could be read from it; the file may be damaged")
    kinds = sorted({s.type for s in container.streams})
    raise NoUsableStream(
        f"{path.name}: no video, image or audio stream to analyse (streams found: {', '.join(kinds)})"
    )
