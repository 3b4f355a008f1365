"""Probe a file: what it is (video, image or audio) and its facts, read from the container, never its name.

``open_media`` is the single entry point for unknown input. It turns every way a file can be unusable
into a ``shared.errors`` type with a stable code (missing, empty, not media, damaged, no usable stream),
and for videos it indexes the packets once (cheap: no decoding) so the decoder knows every frame's exact
timestamp, the keyframes it can seek to and the real frame count, also for variable frame rate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared.errors import CorruptMedia, EmptyMedia, MediaNotFound, NoUsableStream, UnsupportedMedia
from shared.fsutil import sha256_file
from shared.report import MediaFacts

#: extensions of files that are meant to be media: failing to open one means "damaged", not "not media"
MEDIA_EXTENSIONS = {
    ".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ts", ".3gp", ".flv", ".wmv",
    ".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif",
    ".wav", ".flac", ".mp3", ".m4a", ".aac", ".ogg", ".opus", ".wma",
}  # fmt: skip


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

    @property
    def frame_count(self) -> int:
        return len(self.pts)

    def time_of(self, index: int) -> float:
        return (self.pts[index] - self.pts[0]) * self.time_base


@dataclass
class MediaSource:
    """An opened (and closed again) input: facts for the report plus what the decoders need."""

    path: Path
    facts: MediaFacts
    video: VideoIndex | None = None
    audio_stream_index: int | None = None
    notes: list[str] = field(default_factory=list)


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


def _open_container(path: Path) -> Any:
    import av

    _quiet_ffmpeg()
    try:
        return av.open(str(path), metadata_errors="ignore")
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        ext = path.suffix.lower()
        if ext in MEDIA_EXTENSIONS:
            raise CorruptMedia(
                f"{path.name}: cannot be read as media ({reason}); the file may be damaged, truncated "
                f"or not really a {ext.lstrip('.')} file"
            ) from None
        raise UnsupportedMedia(f"{path.name}: not a video, image or audio file ({reason})") from None


def _is_image_container(container: Any) -> bool:
    name = container.format.name
    return name == "image2" or name.endswith("_pipe")


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


def _index_video(container: Any, stream: Any, path: Path) -> VideoIndex:
    """Demux the video stream's packets (no decoding) and decode its first frame (rotation, validity)."""
    import av

    pts: list[int] = []
    keys: list[int] = []
    try:
        for packet in container.demux(stream):
            if packet.pts is None or packet.size == 0:
                continue
            pts.append(packet.pts)
            if packet.is_keyframe:
                keys.append(packet.pts)
    except av.error.FFmpegError:
        pass  # a damaged tail: keep the packets read so far; decoding will say how far it got
    if not pts:
        raise CorruptMedia(f"{path.name}: the video stream has no frames; the file may be truncated")
    pts.sort()
    keys.sort()
    rotation = 0
    try:
        container.seek(pts[0], stream=stream, backward=True, any_frame=False)
        first = next(container.decode(stream), None)
    except av.error.FFmpegError:
        first = None
    if first is None:
        raise CorruptMedia(f"{path.name}: no video frame could be decoded; the file may be damaged")
    rotation = int(round((first.rotation or 0) / 90.0)) * 90 % 360
    tb = float(stream.time_base) if stream.time_base else 1.0 / 90000
    return VideoIndex(
        stream_index=stream.index,
        time_base=tb,
        pts=pts,
        keyframe_pts=keys or [pts[0]],
        rotation=rotation,
        stored_width=first.width,
        stored_height=first.height,
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


def open_media(path: str | Path) -> MediaSource:
    """Identify a file and read its facts.

    Args:
        path: any file a user gave us.

    Returns:
        A :class:`MediaSource` whose ``facts.kind`` is ``video``, ``image`` or ``audio``.

    Raises:
        MediaNotFound, EmptyMedia, UnsupportedMedia, CorruptMedia, NoUsableStream: unusable input.
    """
    path = Path(path)
    _check_path(path)
    container = _open_container(path)
    try:
        return _probe_open(path, container)
    finally:
        container.close()


def _probe_open(path: Path, container: Any) -> MediaSource:
    base = {
        "filename": path.name,
        "size_bytes": path.stat().st_size,
        "sha256": sha256_file(path),
        "container": container.format.name,
    }
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

    if video_stream is not None and _is_image_container(container):
        from shared.media.image import load_image

        image = load_image(path)
        facts = MediaFacts(
            kind="image",
            width=int(image.shape[1]),
            height=int(image.shape[0]),
            video_codec=video_stream.codec_context.name,
            pixel_format=video_stream.codec_context.pix_fmt,
            **base,
        )
        return MediaSource(path=path, facts=facts)

    if video_stream is not None:
        index = _index_video(container, video_stream, path)
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
        return MediaSource(path=path, facts=facts, audio_stream_index=audio_stream.index)

    kinds = sorted({s.type for s in container.streams}) or ["none"]
    raise NoUsableStream(
        f"{path.name}: no video, image or audio stream to analyse (streams found: {', '.join(kinds)})"
    )
