"""The analysis data types: options, what each kind of evidence prepared and scored, and the stage clock.

They live apart from :mod:`shared.pipeline` so that the kinds of evidence, the renderers and the pipeline all
import them without importing each other.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shared.errors import InvalidArgument
from shared.media.probe import MediaSource
from shared.report import Thresholds

#: ``progress(stage, fraction)``: stage names are those of :mod:`shared.stages`
ProgressFn = Callable[[str, float], None]


def no_progress(stage: str, fraction: float) -> None:
    return None


@dataclass
class AnalyzeOptions:
    """How to sample and detect. Defaults come from ``AnalyzeSettings`` (``DEEPFAKE_*``)."""

    every: int | None = None
    frames: int | None = None
    max_frames: int = 300
    top_face: bool = False
    #: the face detector by name (``shared.faces.DETECTORS``)
    detector: str = "blazeface"
    #: drop detections that MediaPipe's face mesh does not see as a face (``shared.faces.verify``)
    face_verification: bool = True
    detector_max_side: int = 640
    min_face_size: int = 40
    min_face_confidence: float = 0.8
    uncertain_low: float = 0.35
    uncertain_high: float = 0.65
    max_audio_seconds: float = 600.0
    #: every voice window up to this many seconds of speech, then a square-root budget (0: every window)
    voice_budget_s: float = 60.0
    detect_interval_s: float = 0.25
    decode_threads: int = 0
    #: faces the face model scores per person in the every-K sampling (``shared.faces.budget``): the
    #: reference recipe's 32 frames per video, per person
    faces_per_track: int = 32
    #: long, thinly sampled videos: take the frames in short runs from keyframes (``keyframe_runs``)
    keyframe_runs: bool = True

    @classmethod
    def from_settings(cls, settings: Any | None = None, **overrides: Any) -> AnalyzeOptions:
        """Options from ``AnalyzeSettings``; ``None`` overrides are ignored (unset CLI flags)."""
        from shared.settings import get_analyze_settings

        s = settings or get_analyze_settings()
        values: dict[str, Any] = {
            "every": s.every,
            "max_frames": s.max_frames,
            "detector": s.detector,
            "face_verification": s.face_verification,
            "detector_max_side": s.detector_max_side,
            "min_face_size": s.min_face_size,
            "min_face_confidence": s.min_face_confidence,
            "uncertain_low": s.uncertain_low,
            "uncertain_high": s.uncertain_high,
            "max_audio_seconds": s.max_audio_seconds,
            "voice_budget_s": s.voice_budget_s,
            "detect_interval_s": s.detect_interval_s,
            "faces_per_track": s.faces_per_track,
            "keyframe_runs": s.keyframe_runs,
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
        if self.faces_per_track < 2:
            raise InvalidArgument(f"--faces-per-track must be at least 2, got {self.faces_per_track}")
        if self.frames is not None and self.frames < 1:
            raise InvalidArgument(f"--frames must be at least 1, got {self.frames}")
        from shared.faces import DETECTORS

        if self.detector not in DETECTORS:
            raise InvalidArgument(f"unknown face detector {self.detector!r}; choose one of {', '.join(DETECTORS)}")
        if not 0.0 <= self.uncertain_low <= self.uncertain_high <= 1.0:
            raise InvalidArgument("the uncertainty band must satisfy 0 <= low <= high <= 1")

    @property
    def thresholds(self) -> Thresholds:
        return Thresholds(uncertain_low=self.uncertain_low, uncertain_high=self.uncertain_high)


class StageClock:
    """Accumulates seconds per step (decoding and detection interleave chunk by chunk)."""

    def __init__(self, timings: dict[str, float] | None = None) -> None:
        self.timings: dict[str, float] = {} if timings is None else timings

    def add(self, step: str, since: float) -> float:
        """Add the time since ``since`` to ``step``; returns now (the next step's start)."""
        now = time.perf_counter()
        self.timings[step] = self.timings.get(step, 0.0) + (now - since)
        return now


@dataclass
class RunContext:
    """What every step gets from the pipeline: options, progress and the clock."""

    options: AnalyzeOptions
    progress: ProgressFn = no_progress
    clock: StageClock = field(default_factory=StageClock)
    #: plain-language notes for the report's top-level reasons (e.g. a damaged file)
    notes: list[str] = field(default_factory=list)


@dataclass
class Prepared:
    """What one file gave before the report: the products made for it and each kind of evidence's prepared data.

    ``products`` maps a product name (``shared.products``) to its value; ``evidence`` maps a kind of evidence's
    name to what its ``prepare`` took from them (``shared.evidence.faces.PreparedFaces``,
    ``shared.evidence.voice.PreparedVoice``...).
    """

    source: MediaSource
    options: AnalyzeOptions
    #: the kinds of evidence of this analysis (``shared.evidence``)
    kinds: list[Any]
    products: dict[str, Any] = field(default_factory=dict)
    evidence: dict[str, Any] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return self.source.facts.kind


@dataclass
class Scores:
    """Model outputs for one :class:`Prepared`: kind of evidence's name -> what its model made of it."""

    evidence: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
