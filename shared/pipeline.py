"""The one analysis pipeline: media in, :class:`shared.report.Report` out.

``deepfake analyze`` and the preprocess worker both run this module; they differ only in the scorers
they pass in (local OpenVINO ``FaceScorer`` / ``AudioScorer`` objects in-process, HTTP clients with the
same methods in the service). The pipeline is split at the tensor boundary:

1. :func:`prepare` - probe, decode the sampled frames, detect faces, cut 224x224 crops, link faces into
   tracks, load the audio at the audio model's rate. CPU work, no model of ours.
2. :func:`score` - the crops through ``face_scorer.score`` and the waveform through the audio scorer.
3. :func:`build_report` - per-track and per-segment scores, verdicts, reasons, artifacts.

:func:`analyze` chains the three. A ``progress(stage, fraction)`` callback reports the stages
``decoding``, ``detecting_faces``, ``scoring_video``, ``scoring_audio`` and ``merging``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from shared import __version__
from shared.errors import BadInput, InvalidArgument, NoAudioStream
from shared.media.probe import MediaSource, open_media
from shared.modelcard import ModelCard, VideoPreprocessing
from shared.report import (
    AudioSection,
    AudioSegment,
    FaceObservation,
    FrameResult,
    ModelInfo,
    Report,
    Sampling,
    SectionStatus,
    Thresholds,
    Track,
    VideoSection,
    verdict_for,
)

ProgressFn = Callable[[str, float], None]

#: frames searched for faces per MTCNN batch, and the most decoded pixels held at once (bounds memory)
CHUNK_FRAMES = 16
CHUNK_BYTES = 200_000_000
#: the face detectors ``AnalyzeOptions.detector`` can name
DETECTORS = ("mtcnn", "blazeface")
#: the order in which a verdict is "more suspicious" when modalities disagree
_SEVERITY = {"not_applicable": 0, "real": 1, "uncertain": 2, "fake": 3}


class FaceScorerLike(Protocol):
    """What the pipeline needs from a video scorer (``shared.video_scoring.FaceScorer`` or a remote one)."""

    card: ModelCard

    def score(self, faces: np.ndarray) -> Any: ...  # -> FaceScores(logits (N,), attention (N,h,w)|None)


@dataclass
class AnalyzeOptions:
    """How to sample and detect. Defaults come from ``AnalyzeSettings`` (``DEEPFAKE_*``)."""

    every: int | None = None
    frames: int | None = None
    max_frames: int = 300
    top_face: bool = False
    detector_max_side: int = 640
    min_face_size: int = 40
    min_face_confidence: float = 0.8
    uncertain_low: float = 0.35
    uncertain_high: float = 0.65
    max_audio_seconds: float = 600.0
    detect_interval_s: float = 0.25
    decode_threads: int = 0
    #: face detector: "mtcnn", or "blazeface" (the ICPR2020 reference face stage, see docs/faces.md)
    detector: str = "mtcnn"

    @classmethod
    def from_settings(cls, settings: Any | None = None, **overrides: Any) -> AnalyzeOptions:
        """Options from ``AnalyzeSettings``; ``None`` overrides are ignored (unset CLI flags)."""
        from shared.settings import get_analyze_settings

        s = settings or get_analyze_settings()
        values: dict[str, Any] = {
            "every": s.every,
            "max_frames": s.max_frames,
            "detector_max_side": s.detector_max_side,
            "min_face_size": s.min_face_size,
            "min_face_confidence": getattr(s, "min_face_confidence", cls.min_face_confidence),
            "uncertain_low": s.uncertain_low,
            "uncertain_high": s.uncertain_high,
            "max_audio_seconds": getattr(s, "max_audio_seconds", cls.max_audio_seconds),
            "detect_interval_s": getattr(s, "detect_interval_s", cls.detect_interval_s),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        if overrides.get("frames") is not None and overrides.get("every") is None:
            values["every"] = None  # --frames N replaces the default every-K sampling
        options = cls(**values)
        options.validate()
        return options

    def validate(self) -> None:
        if self.every is not None and self.frames is not None:
            raise InvalidArgument("choose either --every K or --frames N, not both")
        if self.every is not None and self.every < 1:
            raise InvalidArgument(f"--every must be at least 1, got {self.every}")
        if self.frames is not None and self.frames < 1:
            raise InvalidArgument(f"--frames must be at least 1, got {self.frames}")
        if not 0.0 <= self.uncertain_low <= self.uncertain_high <= 1.0:
            raise InvalidArgument("the uncertainty band must satisfy 0 <= low <= high <= 1")
        if self.detector not in DETECTORS:
            raise InvalidArgument(f"unknown face detector {self.detector!r}; choose one of {', '.join(DETECTORS)}")

    @property
    def thresholds(self) -> Thresholds:
        return Thresholds(uncertain_low=self.uncertain_low, uncertain_high=self.uncertain_high)


@dataclass
class PreparedFace:
    frame_index: int
    time_s: float
    box: np.ndarray
    confidence: float
    track_id: int = -1
    interpolated: bool = False


@dataclass
class Prepared:
    """Everything the models need, and everything the report needs besides their scores."""

    source: MediaSource
    sampling: Sampling | None
    frame_indices: list[int] = field(default_factory=list)
    frame_times: list[float] = field(default_factory=list)
    faces: list[PreparedFace] = field(default_factory=list)
    crops: np.ndarray = field(default_factory=lambda: np.zeros((0, 224, 224, 3), np.uint8))
    audio: np.ndarray | None = None
    audio_sample_rate: int | None = None
    audio_reason: str | None = None
    reasons: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return self.source.facts.kind


@dataclass
class Scores:
    """Model outputs for one :class:`Prepared`."""

    face_logits: np.ndarray | None = None
    attention: np.ndarray | None = None
    audio: Any | None = None  # shared.audio_scoring.AudioResult
    timings: dict[str, float] = field(default_factory=dict)


def _noop(stage: str, fraction: float) -> None:
    return None


class _Clock:
    """Accumulates seconds per stage (decoding and detection interleave chunk by chunk)."""

    def __init__(self, timings: dict[str, float]) -> None:
        self.timings = timings

    def add(self, stage: str, since: float) -> float:
        now = time.perf_counter()
        self.timings[stage] = self.timings.get(stage, 0.0) + (now - since)
        return now


# --------------------------------------------------------------------------------------------------
# 1. prepare
# --------------------------------------------------------------------------------------------------
def prepare(
    path: str | Path,
    options: AnalyzeOptions | None = None,
    *,
    video_preprocessing: VideoPreprocessing | None = None,
    audio_sample_rate: int | None = 16000,
    progress: ProgressFn | None = None,
    source: MediaSource | None = None,
    audio_unavailable: str | None = None,
) -> Prepared:
    """Media -> face crops, tracks and a waveform. Raises ``shared.errors.BadInput`` for unusable input.

    Args:
        path: video, image or audio file.
        options: sampling and detection options.
        video_preprocessing: the video model card's preprocessing (crop size and margin); the ICPR2020
            defaults when ``None``.
        audio_sample_rate: the audio model's rate; ``None`` skips the audio (no audio model).
        progress: ``(stage, fraction)`` callback.
        source: an already probed file (skips probing again).
        audio_unavailable: why there is no audio model (shown in the report when the file has audio).
    """
    options = options or AnalyzeOptions()
    options.validate()
    prep = video_preprocessing or VideoPreprocessing()
    progress = progress or _noop
    timings: dict[str, float] = {}
    clock = _Clock(timings)
    t = time.perf_counter()
    if source is None:
        source = open_media(path)
    t = clock.add("probe", t)
    kind = source.facts.kind
    prepared = Prepared(source=source, sampling=None, timings=timings, reasons=list(source.notes))
    prepared.crops = np.zeros((0, prep.input_size, prep.input_size, 3), np.uint8)

    if kind in ("video", "image"):
        _prepare_faces(prepared, options, prep, progress, clock)
    if audio_sample_rate is not None and kind in ("video", "audio"):
        _prepare_audio(prepared, options, audio_sample_rate, clock)
    elif kind in ("video", "audio") and source.facts.audio_codec:
        prepared.audio_reason = audio_unavailable or "no audio model is configured"
    return prepared


class _FaceStage:
    """Detection on some analysed frames, tracking, and boxes interpolated on the frames in between.

    Running MTCNN on every analysed frame is the most expensive step of the pipeline. Faces move little
    in a fraction of a second, so the detector runs on frames at least ``detect_interval_s`` apart (and
    always on the last one; with ``--frames N`` on every one); the faces of the frames in between are placed by interpolating each
    track's box between the detections around them, and cut from those frames' own pixels. Faces
    placed this way are marked ``interpolated`` in the report.
    """

    def __init__(
        self, prepared: Prepared, options: AnalyzeOptions, prep: VideoPreprocessing, clock: _Clock
    ) -> None:
        from shared.faces import FaceDetectorLike, FaceTracker, get_detector

        self.prepared = prepared
        self.options = options
        self.prep = prep
        self.clock = clock
        self.detector: FaceDetectorLike
        if options.detector == "blazeface":
            from shared.faces.blazeface import get_blazeface_detector

            self.detector = get_blazeface_detector()
        else:
            self.detector = get_detector(
                options.detector_max_side, options.min_face_size, options.min_face_confidence
            )
        self.tracker = FaceTracker()
        self.last_detection: tuple[float, dict[int, tuple[np.ndarray, float]]] | None = None
        self.pending: list[tuple[int, float, np.ndarray]] = []  # frames waiting for the next detection
        self.records: dict[int, tuple[float, list[tuple[PreparedFace, np.ndarray]]]] = {}
        self.last_detection_time: float | None = None

    def wants_detection(self, time_s: float, is_last: bool) -> bool:
        # --frames N is the reference recipe (a face search on each of N frames): no interpolation.
        interval = 0.0 if self.options.frames is not None else self.options.detect_interval_s
        if is_last or interval <= 0 or self.last_detection_time is None:
            return True
        return time_s - self.last_detection_time >= interval - 1e-6

    def add(self, frames: list[tuple[int, float, np.ndarray, bool]], t: float) -> float:
        """Process decoded frames ``(index, time, rgb, detect?)`` in order; returns the clock time."""
        detect_rgbs = [rgb for _, _, rgb, det in frames if det]
        found = iter(self.detector.detect(detect_rgbs) if detect_rgbs else [])
        t = self.clock.add("detect_faces", t)
        for index, time_s, rgb, det in frames:
            if not det:
                self.pending.append((index, time_s, rgb))
                continue
            dets = next(found)
            if self.options.top_face and dets:
                dets = [max(dets, key=lambda d: d.confidence)]
            ids = (
                [0] * len(dets)
                if self.options.top_face
                else self.tracker.update([d.box for d in dets], time_s)
            )
            faces = {tid: (d.box, d.confidence) for tid, d in zip(ids, dets, strict=True)}
            self._record(index, time_s, rgb, [(tid, box, conf, False) for tid, (box, conf) in faces.items()])
            self._fill_pending(time_s, faces)
            self.last_detection = (time_s, faces)
            self.last_detection_time = time_s
        return self.clock.add("crop_faces", t)

    def _fill_pending(self, time_s: float, faces: dict[int, tuple[np.ndarray, float]]) -> None:
        from shared.faces import interpolate_box

        before = self.last_detection
        for index, ptime, rgb in self.pending:
            placed = []
            if before is not None:
                t0, prev_faces = before
                for tid, (box1, conf1) in faces.items():
                    if tid in prev_faces:
                        box0, conf0 = prev_faces[tid]
                        placed.append(
                            (tid, interpolate_box(box0, box1, t0, time_s, ptime), min(conf0, conf1), True)
                        )
            self._record(index, ptime, rgb, placed)
        self.pending = []

    def _record(
        self, index: int, time_s: float, rgb: np.ndarray, faces: list[tuple[int, Any, float, bool]]
    ) -> None:
        from shared.faces import crop_face_scale_policy

        entries = []
        for tid, box, conf, interpolated in faces:
            face = PreparedFace(index, time_s, np.asarray(box, dtype=np.float64), conf, tid, interpolated)
            crop = crop_face_scale_policy(rgb, face.box, margin=self.prep.margin, size=self.prep.input_size)
            entries.append((face, crop))
        self.records[index] = (time_s, entries)

    def finish(self) -> None:
        prepared = self.prepared
        crops = []
        for index in sorted(self.records):
            time_s, entries = self.records[index]
            prepared.frame_indices.append(index)
            prepared.frame_times.append(time_s)
            for face, crop in entries:
                prepared.faces.append(face)
                crops.append(crop)
        if crops:
            prepared.crops = np.stack(crops)


def _prepare_faces(
    prepared: Prepared, options: AnalyzeOptions, prep: VideoPreprocessing, progress: ProgressFn, clock: _Clock
) -> None:
    stage = _FaceStage(prepared, options, prep, clock)
    source = prepared.source
    t = time.perf_counter()
    if source.facts.kind == "image":
        from shared.media.image import load_image

        prepared.sampling = Sampling(mode="image", top_face=options.top_face)
        progress("decoding", 0.0)
        rgb = load_image(source.path)
        t = clock.add("decode", t)
        progress("detecting_faces", 0.0)
        stage.add([(0, 0.0, rgb, True)], t)
        stage.finish()
        progress("detecting_faces", 1.0)
        return

    from shared.media.video import iter_frames, sample_frame_indices

    assert source.video is not None
    count = source.video.frame_count
    if options.frames is not None:
        prepared.sampling = Sampling(mode="frames", frames=options.frames, top_face=options.top_face)
        wanted = sample_frame_indices(count, frames=options.frames)
    else:
        every = options.every or 1
        prepared.sampling = Sampling(
            mode="every", every=every, max_frames=options.max_frames, top_face=options.top_face
        )
        wanted = sample_frame_indices(count, every=every, max_frames=options.max_frames)
    progress("decoding", 0.0)
    chunk: list[tuple[int, float, np.ndarray, bool]] = []
    done = 0
    last_index = wanted[-1]
    for frame in iter_frames(source, wanted, threads=options.decode_threads):
        detect = stage.wants_detection(frame.time_s, frame.index == last_index)
        if detect:
            stage.last_detection_time = frame.time_s  # decided now; detected with its chunk
        chunk.append((frame.index, frame.time_s, frame.rgb, detect))
        if sum(1 for c in chunk if c[3]) >= CHUNK_FRAMES or sum(c[2].nbytes for c in chunk) >= CHUNK_BYTES:
            t = clock.add("decode", t)
            progress("detecting_faces", done / len(wanted))
            t = stage.add(chunk, t)
            done += len(chunk)
            chunk = []
            progress("decoding", done / len(wanted))
    t = clock.add("decode", t)
    if chunk and not chunk[-1][3]:
        # Decoding stopped early (damaged file): the frames after the last detection get none.
        tail = chunk[-1]
        chunk[-1] = (tail[0], tail[1], tail[2], True)
    if chunk:
        progress("detecting_faces", done / len(wanted))
        t = stage.add(chunk, t)
        done += len(chunk)
    elif stage.pending:
        stage._fill_pending(stage.last_detection_time or 0.0, {})
    progress("detecting_faces", 1.0)
    stage.finish()
    if done < len(wanted):
        last = prepared.frame_indices[-1] if prepared.frame_indices else -1
        prepared.reasons.append(
            f"decoding stopped after frame {last} of {count}: the file may be damaged or truncated; "
            f"{done} of {len(wanted)} sampled frames were analysed"
        )
    if any(f.interpolated for f in prepared.faces):
        prepared.reasons.append(
            f"faces were detected at least every {options.detect_interval_s:g} s and placed on the "
            "frames in between by following each person (interpolated boxes)"
        )


def _prepare_audio(prepared: Prepared, options: AnalyzeOptions, sample_rate: int, clock: _Clock) -> None:
    facts = prepared.source.facts
    if not facts.audio_codec:
        prepared.audio_reason = "the file has no audio track"
        return
    try:
        from shared.media.audio import load_audio
    except ImportError:
        prepared.audio_reason = "audio analysis is not available in this installation"
        return
    t = time.perf_counter()
    try:
        prepared.audio = load_audio(prepared.source.path, sample_rate, max_seconds=options.max_audio_seconds)
        prepared.audio_sample_rate = sample_rate
        if facts.duration_s and facts.duration_s > options.max_audio_seconds:
            prepared.reasons.append(f"only the first {options.max_audio_seconds:g} s of audio were analysed")
    except NoAudioStream:
        prepared.audio_reason = "the file has no audio track"
    except BadInput as exc:
        if facts.kind == "audio":
            raise
        prepared.audio_reason = f"the audio track could not be decoded ({exc.message})"
    clock.add("load_audio", t)


# --------------------------------------------------------------------------------------------------
# 2. score
# --------------------------------------------------------------------------------------------------
def score(
    prepared: Prepared,
    face_scorer: FaceScorerLike | None,
    audio_scorer: Any | None = None,
    *,
    progress: ProgressFn | None = None,
) -> Scores:
    """Run the models: crops through ``face_scorer.score``, the waveform through the audio scorer."""
    progress = progress or _noop
    out = Scores()
    if face_scorer is not None and len(prepared.crops):
        progress("scoring_video", 0.0)
        t = time.perf_counter()
        result = face_scorer.score(prepared.crops)
        out.face_logits = np.asarray(result.logits, dtype=np.float64).reshape(-1)
        out.attention = None if result.attention is None else np.asarray(result.attention)
        out.timings["score_video"] = time.perf_counter() - t
        progress("scoring_video", 1.0)
    if audio_scorer is not None and prepared.audio is not None:
        from shared.audio_scoring import score_audio

        progress("scoring_audio", 0.0)
        t = time.perf_counter()
        out.audio = score_audio(audio_scorer, prepared.audio)
        out.timings["score_audio"] = time.perf_counter() - t
        progress("scoring_audio", 1.0)
    return out


# --------------------------------------------------------------------------------------------------
# 3. report
# --------------------------------------------------------------------------------------------------
def model_info(card: ModelCard) -> ModelInfo:
    return ModelInfo(
        name=card.name,
        version=card.version,
        architecture=card.architecture,
        precision=card.precision,
        training_data=card.training_data,
        reported_metrics=dict(card.reported_metrics),
        decision_threshold=card.decision_threshold,
    )


def band_for(card: ModelCard | None, options: AnalyzeOptions) -> Thresholds:
    """The uncertainty band around the model's decision threshold.

    The settings give the band around 0.5; a model card whose threshold differs (a calibrated or
    retrained model) moves the band with it, keeping its width.
    """
    shift = (card.decision_threshold - 0.5) if card is not None else 0.0
    low = min(max(options.uncertain_low + shift, 0.0), 1.0)
    high = min(max(options.uncertain_high + shift, 0.0), 1.0)
    return Thresholds(uncertain_low=low, uncertain_high=high)


def logit_to_probability(logit: float, card: ModelCard | None) -> float:
    """Fake probability of a (mean) logit, with the card's Platt calibration when it has one."""
    if card is not None and card.calibration is not None:
        logit = card.calibration.a * logit + card.calibration.b
    return float(0.5 * (1.0 + math.tanh(0.5 * logit)))


def _min_track_faces(frames_analyzed: int, frames_with_faces: int) -> int:
    # A face seen in one frame of many is more often a detector mistake than a person. Tracks must
    # appear in at least 2 analysed frames and in 10% of the frames with faces to count.
    if frames_analyzed <= 2:
        return 1
    return max(2, math.ceil(0.1 * frames_with_faces))


def _video_section(
    prepared: Prepared, scores: Scores, card: ModelCard | None, options: AnalyzeOptions, reasons: list[str]
) -> VideoSection:
    kind = prepared.kind
    if kind == "audio":
        return VideoSection(status="not_applicable", verdict="not_applicable")
    band = band_for(card, options)
    logits = scores.face_logits
    n_frames = len(prepared.frame_indices)
    with_faces = len({f.frame_index for f in prepared.faces})
    model = model_info(card) if card is not None else None
    frames: dict[int, FrameResult] = {
        i: FrameResult(index=i, time_s=round(t, 4), faces=[])
        for i, t in zip(prepared.frame_indices, prepared.frame_times, strict=True)
    }
    for n, face in enumerate(prepared.faces):
        logit = float(logits[n]) if logits is not None else None
        frames[face.frame_index].faces.append(
            FaceObservation(
                track_id=face.track_id,
                box=tuple(round(float(v), 1) for v in face.box),  # type: ignore[arg-type]
                confidence=round(face.confidence, 4),
                interpolated=face.interpolated,
                logit=None if logit is None else round(logit, 4),
                score=None if logit is None else round(logit_to_probability(logit, card), 4),
            )
        )
    section = VideoSection(
        status="analyzed",
        model=model,
        verdict="not_applicable",
        sampling=prepared.sampling,
        frames_analyzed=n_frames,
        frames_with_faces=with_faces,
        frames=list(frames.values()),
    )
    what = "image" if kind == "image" else f"{n_frames} sampled frames"
    if not prepared.faces:
        section.status = "not_applicable"
        reasons.append(
            f"no face found in the {what}" if kind == "image" else f"no face found in any of the {what}"
        )
        return section
    if logits is None:
        section.status = "not_available"
        reasons.append("faces were found but no video model scored them")
        return section

    by_track: dict[int, list[int]] = {}
    for n, face in enumerate(prepared.faces):
        by_track.setdefault(face.track_id, []).append(n)
    min_faces = _min_track_faces(n_frames, with_faces)
    longest = max(len(v) for v in by_track.values())
    tracks: list[Track] = []
    for tid in sorted(by_track):
        members = by_track[tid]
        mean_logit = float(np.mean(logits[members]))
        prob = logit_to_probability(mean_logit, card)
        counted = len(members) >= min_faces or (longest < min_faces and len(members) == longest)
        tracks.append(
            Track(
                id=tid,
                faces=len(members),
                first_time_s=round(prepared.faces[members[0]].time_s, 4),
                last_time_s=round(prepared.faces[members[-1]].time_s, 4),
                mean_logit=round(mean_logit, 4),
                score=round(prob, 4),
                verdict=verdict_for(prob, band),
                counted=counted,
            )
        )
    section.tracks = tracks
    counted_tracks = [tr for tr in tracks if tr.counted]
    worst = max(counted_tracks, key=lambda tr: tr.score)
    section.score = worst.score
    section.verdict = verdict_for(worst.score, band)
    if kind == "video":
        reasons.append(f"faces found in {with_faces} of {n_frames} sampled frames")
    ignored = len(tracks) - len(counted_tracks)
    people = "person" if len(counted_tracks) == 1 else "people"
    if len(counted_tracks) > 1:
        reasons.append(
            f"{len(counted_tracks)} {people} (face tracks) found; the video score is that of the most "
            f"suspicious one (track {worst.id})"
        )
    if ignored:
        reasons.append(
            f"{ignored} face track(s) seen in fewer than {min_faces} frames were not counted "
            "(likely detector mistakes)"
        )
    if card is not None and card.training_data:
        reasons.append(
            f"the video model {card.name} was trained on {card.training_data}; scores on other kinds "
            "of video are less reliable"
        )
    if verdict_for(worst.score, band) == "uncertain":
        reasons.append(
            f"the video score {worst.score:.2f} lies in the uncertainty band "
            f"[{band.uncertain_low:.2f}, {band.uncertain_high:.2f}]"
        )
    return section


def _audio_section(
    prepared: Prepared, scores: Scores, card: ModelCard | None, options: AnalyzeOptions, reasons: list[str]
) -> AudioSection:
    kind = prepared.kind
    if kind == "image":
        return AudioSection(status="not_applicable", verdict="not_applicable", reason="images have no audio")
    model = model_info(card) if card is not None else None
    if prepared.audio is None:
        reason = prepared.audio_reason or "the file has no audio track"
        status: SectionStatus = (
            "not_applicable" if reason == "the file has no audio track" else "not_available"
        )
        reasons.append(f"audio: {reason}")
        return AudioSection(status=status, model=model, verdict="not_applicable", reason=reason)
    duration = len(prepared.audio) / float(prepared.audio_sample_rate or 16000)
    result = scores.audio
    if result is None:
        reason = "audio analysis is not available (no audio model)"
        reasons.append(f"audio: {reason}")
        return AudioSection(
            status="not_available",
            model=model,
            verdict="not_applicable",
            duration_s=round(duration, 3),
            reason=reason,
        )
    not_applicable = getattr(result, "not_applicable", None)
    if not_applicable:
        reasons.append(f"audio: {not_applicable}")
        return AudioSection(
            status="not_applicable",
            model=model,
            verdict="not_applicable",
            duration_s=round(duration, 3),
            reason=str(not_applicable),
        )
    band = band_for(card, options)
    segments = [
        AudioSegment(
            start_s=round(float(s.start_s), 3), end_s=round(float(s.end_s), 3), score=round(float(s.score), 4)
        )
        for s in result.segments
    ]
    overall = float(result.score)
    section = AudioSection(
        status="analyzed",
        model=model,
        score=round(overall, 4),
        verdict=verdict_for(overall, band),
        duration_s=round(duration, 3),
        segments=segments,
    )
    if card is not None and card.training_data:
        reasons.append(
            f"the audio model {card.name} was trained on {card.training_data}; speech from other "
            "sources (other languages, microphones, generators) is scored less reliably"
        )
    return section


def build_report(
    prepared: Prepared,
    scores: Scores,
    *,
    video_card: ModelCard | None,
    audio_card: ModelCard | None,
    options: AnalyzeOptions | None = None,
    artifacts_dir: str | Path | None = None,
    heatmaps_dir: str | Path | None = None,
    progress: ProgressFn | None = None,
) -> Report:
    """Merge scores into the report; optionally write artifacts (thumbnails, heatmaps, spectrogram)."""
    options = options or AnalyzeOptions()
    progress = progress or _noop
    progress("merging", 0.0)
    t = time.perf_counter()
    reasons = list(prepared.reasons)
    video = _video_section(prepared, scores, video_card, options, reasons)
    audio = _audio_section(prepared, scores, audio_card, options, reasons)
    sections = [s for s in (video, audio) if s.status == "analyzed" and s.score is not None]
    if sections:
        top = max(sections, key=lambda s: (_SEVERITY[s.verdict], s.score or 0.0))
        verdict, overall = top.verdict, top.score
    else:
        verdict, overall = "not_applicable", None
        reasons.append("nothing in the file could be analysed: no face and no usable speech")
    models = {}  # the models that actually scored something
    if video_card is not None and video.status == "analyzed":
        models["video"] = video_card.version
    if audio_card is not None and audio.status == "analyzed":
        models["audio"] = audio_card.version
    report = Report(
        tool_version=__version__,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        verdict=verdict,
        score=overall,
        thresholds=options.thresholds,
        media=prepared.source.facts,
        video=video,
        audio=audio,
        reasons=reasons,
        models=models,
    )
    if artifacts_dir is not None:
        from shared.media.render import write_artifacts

        report.artifacts = write_artifacts(Path(artifacts_dir), prepared, scores, report)
    if heatmaps_dir is not None:
        from shared.media.render import write_heatmaps

        write_heatmaps(Path(heatmaps_dir), prepared, scores)
    timings = dict(prepared.timings)
    timings.update(scores.timings)
    timings["report"] = time.perf_counter() - t
    report.timings = {k: round(v, 4) for k, v in timings.items()}
    progress("merging", 1.0)
    return report


def analyze(
    path: str | Path,
    *,
    face_scorer: FaceScorerLike | None,
    audio_scorer: Any | None = None,
    options: AnalyzeOptions | None = None,
    progress: ProgressFn | None = None,
    artifacts_dir: str | Path | None = None,
    heatmaps_dir: str | Path | None = None,
    source: MediaSource | None = None,
    audio_unavailable: str | None = None,
) -> Report:
    """The whole pipeline: :func:`prepare`, :func:`score`, :func:`build_report`."""
    started = time.perf_counter()
    options = options or AnalyzeOptions.from_settings()
    video_card = face_scorer.card if face_scorer is not None else None
    audio_card = getattr(audio_scorer, "card", None) if audio_scorer is not None else None
    video_prep = video_card.preprocessing if video_card is not None else None
    audio_rate = audio_card.preprocessing.sample_rate if audio_card is not None else None  # type: ignore[union-attr]
    prepared = prepare(
        path,
        options,
        video_preprocessing=video_prep if isinstance(video_prep, VideoPreprocessing) else None,
        audio_sample_rate=audio_rate,
        progress=progress,
        source=source,
        audio_unavailable=audio_unavailable,
    )
    scores = score(prepared, face_scorer, audio_scorer, progress=progress)
    report = build_report(
        prepared,
        scores,
        video_card=video_card,
        audio_card=audio_card,
        options=options,
        artifacts_dir=artifacts_dir,
        heatmaps_dir=heatmaps_dir,
        progress=progress,
    )
    report.timings["total"] = round(time.perf_counter() - started, 4)
    return report
