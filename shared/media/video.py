"""Frame sampling and video decoding (PyAV).

Decoding decodes only what is needed: it stops after the last wanted frame, jumps ahead with a seek when
a keyframe lies between the current position and the next wanted frame, converts to RGB only the wanted
frames, and lets FFmpeg decode with several threads. Frames come out upright (rotation metadata applied),
as RGB ``uint8`` whatever the stored pixel format (4:2:0, 4:4:4, 10-bit, odd sizes), with their exact
presentation time (variable frame rate safe).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from shared.errors import CorruptMedia, InvalidArgument
from shared.media.probe import MediaSource, _quiet_ffmpeg


def sample_frame_indices(
    frame_count: int, *, every: int | None = None, frames: int | None = None, max_frames: int | None = None
) -> list[int]:
    """Which frames to analyse.

    Args:
        frame_count: frames in the video.
        every: analyse every K-th frame (0, K, 2K, ...), then keep at most ``max_frames`` of them,
            spread evenly over the whole list.
        frames: N evenly spaced frames over the whole video, first and last included: the ICPR2020
            reference recipe (``frames=32``). Excludes ``every``.
        max_frames: the cap for ``every``.

    Returns:
        Sorted, unique frame indices.
    """
    if frame_count <= 0:
        return []
    if frames is not None and every is not None:
        raise InvalidArgument("choose either every K frames or N frames, not both")
    if frames is not None:
        if frames < 1:
            raise InvalidArgument(f"frames must be at least 1, got {frames}")
        return np.unique(np.linspace(0, frame_count - 1, frames, endpoint=True).astype(int)).tolist()
    every = every or 1
    if every < 1:
        raise InvalidArgument(f"every must be at least 1, got {every}")
    picked = list(range(0, frame_count, every))
    if max_frames is not None and len(picked) > max_frames:
        keep = np.unique(np.linspace(0, len(picked) - 1, max_frames, endpoint=True).astype(int))
        picked = [picked[i] for i in keep]
    return picked


def frames_decoded(keyframes: list[int], wanted: list[int]) -> int:
    """Frames :func:`iter_frames` decodes to reach ``wanted`` (sorted), with keyframes at the frame indices
    ``keyframes`` (sorted): from each target's keyframe, or from where decoding stands when that is nearer.
    The same walk as :func:`iter_frames`, counted without decoding."""
    k = np.asarray(keyframes, dtype=np.int64)
    position, cost = -1, 0
    for target in wanted:
        i = int(np.searchsorted(k, target, side="right")) - 1
        start = int(k[i]) if i >= 0 else 0
        if position >= 0 and start <= position + 1:
            start = position + 1  # no nearer keyframe: go on decoding from here
        cost += target - start + 1
        position = target
    return cost


#: runs from keyframes are used only when they decode at most half as many frames as the exact sampling
#: (below that, exact times are worth the extra decoding)
RUNS_WORTH_IT = 0.5


def keyframe_runs(keyframes: list[int], wanted: list[int], step: int, frame_count: int) -> list[int] | None:
    """The sampled frames moved to short runs that start at keyframes, when that is much cheaper to decode.

    Decoding can only start at a keyframe, so reaching frames spread thinly over a long video decodes
    nearly every frame (a keyframe every 5 s, a sampled frame every 2 s: every frame is decoded). Instead,
    each sampled frame is replaced by a frame of a run that starts at the keyframe before it: a keyframe
    that had ``n`` sampled frames after it gets a run of ``n`` frames, ``step`` apart (the sampling's own
    spacing), kept inside its group of pictures. Same number of frames, over the same stretches of the
    video; each run costs about its own length to decode.

    Returns the new sorted indices, or ``None`` when the runs would not decode at most
    :data:`RUNS_WORTH_IT` of the frames the exact sampling decodes (short or densely sampled videos).
    """
    if len(keyframes) < 2 or not wanted:
        return None
    k = np.asarray(keyframes, dtype=np.int64)
    per_keyframe: dict[int, int] = {}
    for target in wanted:
        i = max(int(np.searchsorted(k, target, side="right")) - 1, 0)
        per_keyframe[i] = per_keyframe.get(i, 0) + 1
    runs: set[int] = set()
    for i, n in per_keyframe.items():
        end = int(k[i + 1]) if i + 1 < len(k) else frame_count
        runs.update(f for f in range(int(k[i]), end, max(step, 1))[:n])
    picked = sorted(runs)
    if frames_decoded(keyframes, picked) > RUNS_WORTH_IT * frames_decoded(keyframes, wanted):
        return None
    return picked


@dataclass
class DecodedFrame:
    index: int
    time_s: float
    rgb: np.ndarray  # (H, W, 3) uint8, upright


def _upright(rgb: np.ndarray, rotation: int) -> np.ndarray:
    # FFmpeg's rotation is counter-clockwise for display; np.rot90 with k>0 turns counter-clockwise.
    k = (rotation // 90) % 4
    return np.ascontiguousarray(np.rot90(rgb, k=k)) if k else rgb


#: codecs whose decoders skip, at ``skip_frame=NONREF``, only frames no other frame is predicted from
#: (H.264's nal_ref_idc 0, HEVC's sub-layer non-reference pictures): every other frame decodes to the
#: same pixels (tests/pipeline/test_media_probe.py). Other codecs decode every frame.
SKIP_NONREF_CODECS = frozenset({"h264", "hevc"})


def _decoded(container: Any, stream: Any, wanted_pts: set[int], skip_nonref: bool) -> Iterator[Any]:
    """The stream's frames from where the container stands. With ``skip_nonref``, a packet whose frame is
    not wanted is decoded only if other frames need it: the decoder drops unreferenced frames unseen
    (half the frames of the DFDC clips: decoding a 10 s 1080p clip for 32 frames took 2.2x less time)."""
    if not skip_nonref:
        yield from container.decode(stream)
        return
    context = stream.codec_context
    for packet in container.demux(stream):
        # the end-of-stream packet (no timestamp) flushes the decoder: nothing is skipped there
        context.skip_frame = "NONREF" if packet.pts is not None and packet.pts not in wanted_pts else "DEFAULT"
        yield from packet.decode()


def iter_frames(source: MediaSource, indices: list[int], *, threads: int = 0) -> Iterator[DecodedFrame]:
    """Decode the frames at ``indices`` (sorted) and yield them in order.

    A file that stops decoding part-way (damaged, truncated) yields the frames before the damage; the
    caller sees fewer frames than asked and says so. Nothing decodes at all -> ``CorruptMedia``.
    """
    import av

    index = source.video
    if index is None or not indices:
        return
    wanted = sorted(set(i for i in indices if 0 <= i < index.frame_count))
    if not wanted:
        return
    _quiet_ffmpeg()  # again: a library imported since probing (torchvision) may have changed it
    pts_to_index = {p: i for i, p in enumerate(index.pts)}
    keyframes = np.asarray(index.keyframe_pts)
    # Seek by each keyframe's decoding timestamp where the index has it (see VideoIndex.keyframe_seek).
    seek_to = dict(zip(index.keyframe_pts, index.keyframe_seek, strict=True)) if index.keyframe_seek else {}
    # The probe's pixel limit, handed to FFmpeg: a frame larger than the header said fails to decode
    # (and decoding stops there) instead of being allocated.
    options = {} if index.decoder_max_pixels is None else {"max_pixels": str(index.decoder_max_pixels)}
    try:
        reader = source.reader()  # a view of the analysis' one open (shared.media.session)
        container: Any = av.open(reader, metadata_errors="ignore", options=options)
    except av.error.FFmpegError as exc:
        reader.close()
        raise CorruptMedia(f"{source.path.name}: cannot be reopened for decoding ({exc})") from None
    yielded = 0
    try:
        stream: Any = container.streams[index.stream_index]
        stream.thread_type = "AUTO"
        stream.thread_count = threads
        if options:
            stream.codec_context.options = options
        wanted_pts = {index.pts[i] for i in wanted}
        skip_nonref = stream.codec_context.name in SKIP_NONREF_CODECS
        position = -1  # index of the last frame decoded
        next_wanted = 0
        while next_wanted < len(wanted):
            target = wanted[next_wanted]
            target_pts = index.pts[target]
            # The last keyframe at or before the target; seek when it is ahead of where we are.
            k = int(np.searchsorted(keyframes, target_pts, side="right")) - 1
            seek_pts = int(keyframes[k]) if k >= 0 else index.pts[0]
            if position < 0 or pts_to_index.get(seek_pts, -1) > position + 1:
                seek_ts = (
                    seek_to.get(seek_pts, seek_pts) if k >= 0 else min(seek_to.values(), default=seek_pts)
                )
                container.seek(seek_ts, stream=stream, backward=True, any_frame=False)
            progressed = False
            try:
                frame: Any
                for frame in _decoded(container, stream, wanted_pts, skip_nonref):
                    fi = pts_to_index.get(frame.pts) if frame.pts is not None else None
                    if fi is None:
                        continue
                    progressed = True
                    position = fi
                    while next_wanted < len(wanted) and wanted[next_wanted] < fi:
                        next_wanted += 1  # a wanted frame the decoder never produced (damaged)
                    if next_wanted < len(wanted) and wanted[next_wanted] == fi:
                        rgb = frame.to_ndarray(format="rgb24")
                        yield DecodedFrame(fi, index.time_of(fi), _upright(rgb, index.rotation))
                        yielded += 1
                        next_wanted += 1
                        if next_wanted >= len(wanted):
                            break
                        # Jump ahead when a keyframe closer to the next wanted frame exists.
                        nxt = index.pts[wanted[next_wanted]]
                        kk = int(np.searchsorted(keyframes, nxt, side="right")) - 1
                        if kk >= 0 and pts_to_index.get(int(keyframes[kk]), -1) > position + 1:
                            break
            except av.error.FFmpegError:
                break  # damaged data: stop with what we have
            if not progressed:
                break  # end of stream
    finally:
        container.close()
        reader.close()
    if yielded == 0:
        raise CorruptMedia(f"{source.path.name}: no video frame could be decoded; the file may be damaged")


def decode_frames(path: str | Path, indices: list[int], *, threads: int = 0) -> list[DecodedFrame]:
    """Convenience: probe ``path`` and decode ``indices`` into a list (tests, notebooks)."""
    from shared.media.probe import open_media

    with open_media(path) as source:
        return list(iter_frames(source, indices, threads=threads))


def read_ahead(frames: Iterator[DecodedFrame], max_bytes: int) -> Iterator[DecodedFrame]:
    """``frames`` decoded in a thread of their own, ahead of the caller, holding at most ``max_bytes`` of
    frames not yet taken (at least one frame).

    Decoding (FFmpeg, which releases the GIL) then runs while the caller searches the previous frames for
    faces, instead of the two taking turns: on 2 cores the face stage of a 10 s 1080p clip went from the sum
    of the two to about the longer one (``benchmarks/bench_analyze.py``). The frames come out in order and
    unchanged; an error of the decoder is raised to the caller at the frame where it happened. Closing the
    returned iterator (or leaving it early) stops the decoding thread.
    """
    ready: deque[DecodedFrame | BaseException | None] = deque()  # None: the end
    held = [0]
    stop = threading.Event()
    changed = threading.Condition()

    def decode() -> None:
        try:
            for frame in frames:
                with changed:
                    while held[0] >= max_bytes and ready and not stop.is_set():
                        changed.wait()
                    if stop.is_set():
                        return
                    ready.append(frame)
                    held[0] += frame.rgb.nbytes
                    changed.notify_all()
            item: BaseException | None = None
        except BaseException as exc:  # handed to the caller, raised there
            item = exc
        finally:
            close = getattr(frames, "close", None)
            if close is not None:
                close()  # the generator's own cleanup (the container), in the thread that ran it
        with changed:
            ready.append(item)
            changed.notify_all()

    thread = threading.Thread(target=decode, name="decode", daemon=True)
    thread.start()
    try:
        while True:
            with changed:
                while not ready:
                    changed.wait()
                item = ready.popleft()
                if isinstance(item, DecodedFrame):
                    held[0] -= item.rgb.nbytes
                    changed.notify_all()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        with changed:
            stop.set()
            changed.notify_all()
        thread.join()
