"""The face stage: sampled frames -> detected (or interpolated) faces -> 224x224 crops, in one loop.

Running the detector on every analysed frame is the most expensive step of the pipeline. Faces move
little in a fraction of a second, so in the every-K-frames mode the detector runs on frames at least
``detect_interval_s`` apart (and always on the last one; with ``--frames N`` on every one, the reference
recipe); the faces of the frames in between are placed by interpolating each track's box between the
detections around them, and cut from those frames' own pixels. Faces placed this way are marked
``interpolated`` in the report.

Frames are decoded and detected chunk by chunk (:data:`CHUNK_FRAMES` detections, at most
:data:`CHUNK_BYTES` of decoded pixels held) so memory stays bounded on long or large videos.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from shared.analysis import AnalyzeOptions, RunContext
from shared.faces.base import Detection, FaceDetectorLike
from shared.faces.crop import crop_face_scale_policy
from shared.faces.tracks import (
    FaceTracker,
    face_appearance,
    frame_appearance,
    frame_thumbnail,
    interpolate_box,
    reduced_frame,
)
from shared.media.probe import MediaSource
from shared.modelcard import VideoPreprocessing
from shared.report import Sampling
from shared.stages import DECODING, DETECTING_FACES

#: frames searched for faces per detector batch, and the most decoded pixels held at once (bounds memory)
CHUNK_FRAMES = 16
CHUNK_BYTES = 100_000_000  # 16 frames of 1080p: a 10-minute 1080p video's analysis stays within 1.5 GB


@dataclass
class PreparedFace:
    """One face on one analysed frame: its box in frame pixels (before margin) and where it came from."""

    frame_index: int
    time_s: float
    box: np.ndarray
    confidence: float
    track_id: int = -1
    interpolated: bool = False


@dataclass
class FrameRecord:
    """A decoded frame waiting in the face stage: its pixels, and whether the detector runs on it."""

    index: int
    time_s: float
    rgb: np.ndarray
    detect: bool


@dataclass
class AnalysedFrame:
    """A frame after the face stage: its faces and their crops (same order)."""

    index: int
    time_s: float
    faces: list[PreparedFace] = field(default_factory=list)
    crops: list[np.ndarray] = field(default_factory=list)


@dataclass
class PreparedFaces:
    """What the face stage gives the face detector: sampling, every analysed frame, faces and crops."""

    sampling: Sampling
    frames: list[AnalysedFrame]
    faces: list[PreparedFace]
    crops: np.ndarray  # (N, size, size, 3) uint8, one per face, in ``faces`` order
    frames_wanted: int

    def by_track(self) -> dict[int, list[int]]:
        """Face indices per track id, each in time order (``shared.faces.budget.tracks_in_time_order``)."""
        from shared.faces.budget import tracks_in_time_order

        return tracks_in_time_order([f.track_id for f in self.faces], [f.time_s for f in self.faces])


@dataclass
class _TrackedFace:
    box: np.ndarray
    confidence: float


class FaceStage:
    """Detection on some analysed frames, tracking, interpolation between detections, and crops.

    Args:
        detector: any :class:`~shared.faces.base.FaceDetectorLike`.
        options: sampling and detection options.
        prep: the video model's preprocessing (crop size and margin).
        run: progress and clock.
    """

    def __init__(
        self, detector: FaceDetectorLike, options: AnalyzeOptions, prep: VideoPreprocessing, run: RunContext
    ) -> None:
        self.detector = detector
        self.options = options
        self.prep = prep
        self.run = run
        self.tracker = FaceTracker()
        #: the last detection: its time and the faces by track id (the left end of an interpolation)
        self._last: tuple[float, dict[int, _TrackedFace]] | None = None
        self._last_detection_time: float | None = None
        self._pending: list[FrameRecord] = []  # frames between two detections
        self._frames: dict[int, AnalysedFrame] = {}

    # -- the loop --------------------------------------------------------------------------------------
    def run_image(self, rgb: np.ndarray) -> PreparedFaces:
        sampling = Sampling(mode="image", top_face=self.options.top_face)
        self.run.progress(DETECTING_FACES.name, 0.0)
        self._process([FrameRecord(0, 0.0, rgb, True)], time.perf_counter())
        self.run.progress(DETECTING_FACES.name, 1.0)
        return self._result(sampling, frames_wanted=1)

    def run_video(self, source: MediaSource) -> PreparedFaces:
        from shared.media.video import iter_frames, keyframe_runs, read_ahead, sample_frame_indices

        assert source.video is not None
        options, clock, progress = self.options, self.run.clock, self.run.progress
        count = source.video.frame_count
        if options.frames is not None:
            sampling = Sampling(mode="frames", frames=options.frames, top_face=options.top_face)
            wanted = sample_frame_indices(count, frames=options.frames)
        else:
            every = options.every or 1
            sampling = Sampling(mode="every", every=every, max_frames=options.max_frames, top_face=options.top_face)
            wanted = sample_frame_indices(count, every=every, max_frames=options.max_frames)
            runs = keyframe_runs(source.video.keyframe_indices, wanted, every, count) if options.keyframe_runs else None
            if runs is not None:
                wanted = runs
                sampling.keyframe_runs = len({k for k in source.video.keyframe_indices if k in set(runs)})
                self.run.notes.append(
                    f"the {len(runs)} sampled frames were taken in short runs from {sampling.keyframe_runs} points "
                    "spread over the video where decoding can start, instead of exactly "
                    f"{'every frame' if every == 1 else f'one frame in {every}'}: reaching evenly spaced "
                    "frames of a long video means decoding nearly all of them"
                )
        progress(DECODING.name, 0.0)
        chunk: list[FrameRecord] = []
        done = 0
        t = time.perf_counter()
        # decoded in a thread ahead of the face search; "decode" times what the search waits for frames
        for frame in read_ahead(iter_frames(source, wanted, threads=options.decode_threads), CHUNK_BYTES):
            record = FrameRecord(frame.index, frame.time_s, frame.rgb, self._wants_detection(frame.time_s, frame.index == wanted[-1]))
            chunk.append(record)
            if len(chunk) % 8 == 0:  # decoding a chunk takes seconds: let the bar follow it
                progress(DECODING.name, (done + len(chunk)) / len(wanted))
            if sum(r.detect for r in chunk) >= CHUNK_FRAMES or sum(r.rgb.nbytes for r in chunk) >= CHUNK_BYTES:
                t = clock.add("decode", t)
                progress(DECODING.name, (done + len(chunk)) / len(wanted))
                t = self._process(chunk, t)
                done += len(chunk)
                chunk = []
                progress(DETECTING_FACES.name, done / len(wanted))
        t = clock.add("decode", t)
        if chunk and not chunk[-1].detect:
            # Decoding stopped early (damaged file): detect on the last decoded frame so the frames
            # before it are not left waiting for a detection that will never come.
            chunk[-1].detect = True
        if chunk:
            progress(DETECTING_FACES.name, done / len(wanted))
            t = self._process(chunk, t)
            done += len(chunk)
        elif self._pending:
            self._fill_pending(self._last_detection_time or 0.0, {})
        progress(DETECTING_FACES.name, 1.0)
        result = self._result(sampling, frames_wanted=len(wanted))
        if done < len(wanted):
            last = result.frames[-1].index if result.frames else -1
            self.run.notes.append(
                f"decoding stopped after frame {last} of {count}: the file may be damaged or truncated; "
                f"{done} of {len(wanted)} sampled frames were analysed"
            )
        if any(f.interpolated for f in result.faces):
            self.run.notes.append(
                f"faces were detected at least every {options.detect_interval_s:g} s and placed on the "
                "frames in between by following each person (interpolated boxes)"
            )
        return result

    # -- steps -----------------------------------------------------------------------------------------
    def _wants_detection(self, time_s: float, is_last: bool) -> bool:
        # --frames N is the reference recipe (a face search on each of N frames): no interpolation.
        interval = 0.0 if self.options.frames is not None else self.options.detect_interval_s
        wanted = (
            is_last
            or interval <= 0
            or self._last_detection_time is None
            or time_s - self._last_detection_time >= interval - 1e-6
        )
        if wanted:
            self._last_detection_time = time_s  # decided now; detected with its chunk
        return wanted

    def _process(self, records: list[FrameRecord], t: float) -> float:
        """Detect on the chunk's chosen frames, place faces on the others; returns the clock time."""
        to_detect = [r.rgb for r in records if r.detect]
        found = iter(self.detector.detect(to_detect) if to_detect else [])
        t = self.run.clock.add("detect_faces", t)
        for record in records:
            if not record.detect:
                self._pending.append(record)
                continue
            detections: list[Detection] = next(found)
            if self.options.top_face and detections:
                detections = [max(detections, key=lambda d: d.confidence)]
            if self.options.top_face:
                ids = [0] * len(detections)
            else:
                small = reduced_frame(record.rgb)  # once for both whole-frame descriptors
                ids = self.tracker.update(
                    [d.box for d in detections],
                    record.time_s,
                    [face_appearance(record.rgb, d.box) for d in detections],
                    frame_appearance(small),
                    frame_thumbnail(small),
                )
            faces = {tid: _TrackedFace(np.asarray(d.box, np.float64), d.confidence) for tid, d in zip(ids, detections, strict=True)}
            self._record(record, {tid: (f, False) for tid, f in faces.items()})
            self._fill_pending(record.time_s, faces)
            self._last = (record.time_s, faces)
        return self.run.clock.add("crop_faces", t)

    def _fill_pending(self, time_s: float, faces: dict[int, _TrackedFace]) -> None:
        """Place the faces of the frames waiting since the last detection (tracks seen at both ends)."""
        for record in self._pending:
            placed: dict[int, tuple[_TrackedFace, bool]] = {}
            if self._last is not None:
                t0, before = self._last
                for tid, after in faces.items():
                    if tid in before:
                        box = interpolate_box(before[tid].box, after.box, t0, time_s, record.time_s)
                        placed[tid] = (_TrackedFace(box, min(before[tid].confidence, after.confidence)), True)
            self._record(record, placed)
        self._pending = []

    def _record(self, record: FrameRecord, faces: dict[int, tuple[_TrackedFace, bool]]) -> None:
        frame = AnalysedFrame(record.index, record.time_s)
        for tid, (face, interpolated) in faces.items():
            frame.faces.append(PreparedFace(record.index, record.time_s, face.box, face.confidence, tid, interpolated))
            frame.crops.append(
                crop_face_scale_policy(record.rgb, face.box, margin=self.prep.margin, size=self.prep.input_size)
            )
        self._frames[record.index] = frame

    def _result(self, sampling: Sampling, *, frames_wanted: int) -> PreparedFaces:
        frames = [self._frames[i] for i in sorted(self._frames)]
        faces = [f for fr in frames for f in fr.faces]
        crops = [c for fr in frames for c in fr.crops]
        size = self.prep.input_size
        return PreparedFaces(
            sampling=sampling,
            frames=frames,
            faces=faces,
            crops=np.stack(crops) if crops else np.zeros((0, size, size, 3), np.uint8),
            frames_wanted=frames_wanted,
        )
