"""The analysis report: one pydantic model, versioned, exported as JSON Schema (``schemas/report.schema.json``).

Everything that analyses media (``deepfake analyze``, the preprocess worker) returns a :class:`Report`;
everything that shows one (the CLI summary, the web page, API clients) reads it. The schema is the
contract: ``make schemas`` regenerates the committed file and a test checks they are equal.

Versioning: ``schema_version`` is ``MAJOR.MINOR``. Adding an optional field bumps MINOR; removing or
changing the meaning of a field bumps MAJOR.

Scores are fake probabilities in [0, 1]. Each section judges its own score against its own band
(``band``: fake above its upper bound, real below its lower bound, uncertain in between), so a reader
sees the band each verdict used; the overall verdict follows the written rule of
``shared.pipeline.fuse`` over the sections' verdicts. ``not_applicable`` means nothing in the file could
be judged (no face in any sampled frame, no usable speech, no provenance evidence).

Changes:
- 2.4: ``audio.windows_total``, ``audio.windows_scored``, ``audio.scored_stretches`` and ``audio.coverage``: a
  long recording's voice is checked on a budget of windows spread over its speech, and the report says
  which; ``ModelInfo.licence`` (every model's licence, named in the report); ``lips.curve`` (the speaker's
  mouth against the voice, plotted on the page).
- 2.3: ``Track.faces_scored`` (the face model scores a budget of faces per person, not every sampled frame;
  faces seen but not scored have no ``logit``/``score``); ``Sampling.keyframe_runs`` (long videos sampled in
  short runs from keyframes); lips: ``LipsWindow``, per-track ``confidence`` and ``windows``, the section's
  ``model`` and ``confidence`` (the learned SyncNet option).
- 2.2: ``generated`` section (whether a still picture looks generated, at a measured operating point).
- 2.1: ``lips`` section (lips against voice: offset, sync, the speaker's face); ``findings`` (one
  plain-language finding per kind of evidence, ``shared.findings``), ``verdict_rests_on`` (the kinds of
  evidence the overall verdict follows) and ``summary`` (one paragraph a newsroom can read and forward).
- 2.0: the top-level ``thresholds`` is gone (one band cannot describe two models); each section carries
  the ``band`` its verdict used. The ``provenance`` section (1.1) takes part in the overall verdict.
- 1.1: ``provenance`` section (C2PA, generator metadata, watermarks).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import Field

from shared.provenance.section import ProvenanceSection
from shared.schema_base import MediaKind, SectionStatus, Verdict
from shared.schema_base import StrictModel as _Model

SCHEMA_VERSION = "2.4"
SCHEMA_PATH = Path(__file__).resolve().parents[1] / "schemas" / "report.schema.json"

__all__ = ["MediaKind", "SectionStatus", "Verdict"]


class MediaFacts(_Model):
    """What the file is, as read from its container (never from its name)."""

    filename: str = Field(description="file name only, no folders")
    kind: MediaKind
    size_bytes: int
    sha256: str = Field(description="hex sha256 of the file's bytes")
    container: str = Field(description="demuxer name, e.g. 'mov,mp4,m4a,3gp,3g2,mj2' or 'png_pipe'")
    duration_s: float | None = Field(default=None, description="seconds; null for images")
    fps: float | None = Field(
        default=None, description="average frame rate (frames / duration) of the video stream"
    )
    variable_frame_rate: bool | None = Field(
        default=None, description="true when frame durations differ noticeably"
    )
    frame_count: int | None = Field(
        default=None, description="video frames in the file (counted from packets)"
    )
    width: int | None = Field(default=None, description="display width after applying rotation metadata")
    height: int | None = Field(default=None, description="display height after applying rotation metadata")
    rotation: int | None = Field(
        default=None, description="degrees counter-clockwise applied for display (0/90/180/270)"
    )
    video_codec: str | None = Field(
        default=None, description="codec and profile, e.g. 'h264 High 4:4:4 Predictive'"
    )
    pixel_format: str | None = None
    audio_codec: str | None = None
    audio_sample_rate: int | None = None
    audio_channels: int | None = None


class ModelInfo(_Model):
    """Which model produced a score and what that score can be trusted for."""

    name: str
    version: str = Field(description="name:precision:first 12 hex of the source checkpoint's sha256")
    architecture: str
    precision: str
    training_data: str | None = Field(default=None, description="what the weights were trained on, if known")
    reported_metrics: dict[str, float | str] = Field(default_factory=dict)
    decision_threshold: float = 0.5
    licence: str | None = Field(default=None, description="the licence of the model's weights, when known")


class FaceObservation(_Model):
    """One face in one analysed frame."""

    track_id: int
    box: tuple[float, float, float, float] = Field(
        description="x1, y1, x2, y2 in display pixels (detector box)"
    )
    confidence: float = Field(description="face detector probability")
    interpolated: bool = Field(
        default=False,
        description="placed between two detections of this track instead of detected in this frame",
    )
    logit: float | None = Field(default=None, description="model output; fake probability = sigmoid(logit)")
    score: float | None = Field(default=None, description="fake probability of this face")


class FrameResult(_Model):
    index: int = Field(description="0-based frame number in presentation order")
    time_s: float = Field(description="presentation time in seconds (exact, also for variable frame rate)")
    faces: list[FaceObservation] = Field(default_factory=list)


class Track(_Model):
    """One person: the same face followed across analysed frames, scored on its own."""

    id: int
    faces: int = Field(description="number of analysed frames in which this face was found")
    faces_scored: int | None = Field(
        default=None,
        description="how many of those faces the face model scored (at most a budget per person, spread over "
        "the time the person is on screen, plus some where the score changes; all of them with --frames N)",
    )
    first_time_s: float
    last_time_s: float
    mean_logit: float
    score: float = Field(description="sigmoid(mean logit), calibrated when the model card says so")
    verdict: Verdict
    counted: bool = Field(
        description="true when the track was long enough to count towards the video verdict "
        "(very short tracks are usually detector mistakes)"
    )


class Sampling(_Model):
    mode: Literal["every", "frames", "image"]
    every: int | None = Field(default=None, description="every K-th frame (mode 'every')")
    frames: int | None = Field(
        default=None, description="N evenly spaced frames (mode 'frames', the reference recipe)"
    )
    max_frames: int | None = Field(
        default=None, description="cap; beyond it the sampled frames are spread evenly"
    )
    top_face: bool = Field(
        default=False, description="only the most confident face per frame (the reference)"
    )
    keyframe_runs: int | None = Field(
        default=None,
        description="when set, the sampled frames were taken in this many short runs that start where the video "
        "can be decoded from (keyframes), spread over the whole video, instead of exactly every K-th frame: far "
        "less decoding for long videos",
    )


class VideoSection(_Model):
    status: SectionStatus
    model: ModelInfo | None = None
    score: float | None = Field(default=None, description="score of the most suspicious counted track")
    verdict: Verdict
    band: Band | None = Field(default=None, description="the band this section's verdict used")
    sampling: Sampling | None = None
    frames_analyzed: int = 0
    frames_with_faces: int = 0
    tracks: list[Track] = Field(default_factory=list)
    frames: list[FrameResult] = Field(default_factory=list)


class AudioSegment(_Model):
    start_s: float
    end_s: float
    score: float = Field(description="fake (spoof) probability of this window")
    speech_fraction: float | None = Field(
        default=None, description="fraction of the window's 32 ms frames that are speech (voice activity)"
    )
    counted: bool = Field(default=True, description="the section's score was computed from this window")


class AudioStretch(_Model):
    """A stretch of the recording the voice model heard (overlapping scored windows merged)."""

    start_s: float
    end_s: float


class AudioSection(_Model):
    status: SectionStatus
    model: ModelInfo | None = None
    score: float | None = None
    verdict: Verdict
    band: Band | None = Field(default=None, description="the band this section's verdict used")
    duration_s: float | None = Field(
        default=None, description="seconds of audio decoded and given to the audio model (at most the setting "
        "max_audio_seconds from the start of the file)"
    )
    aggregation: str | None = Field(
        default=None, description="how the windows' scores became the section's score (shared.scoring)"
    )
    silent_windows: int = Field(default=0, description="windows skipped as silence (not scored)")
    non_speech_windows: int = Field(default=0, description="scored windows that are mostly not speech")
    speech_s: float | None = Field(default=None, description="seconds of speech found by voice activity detection")
    windows_total: int | None = Field(
        default=None, description="windows with sound (not silent) in the audio analysed: the ones that could be scored"
    )
    windows_scored: int | None = Field(
        default=None,
        description="windows the voice model scored: all of them up to the setting voice_budget_s of speech, "
        "beyond it a budget that grows with the square root of the speech, spread over it",
    )
    scored_stretches: list[AudioStretch] = Field(
        default_factory=list, description="the stretches of the recording the scored windows cover, in time order"
    )
    coverage: str | None = Field(default=None, description="in words: how much of the recording the voice was checked on")
    segments: list[AudioSegment] = Field(default_factory=list, description="the scored windows, in time order")
    reason: str | None = Field(default=None, description="why the audio was not analysed, when it was not")


class GeneratedSection(_Model):
    """Whether a still picture as a whole looks generated (``shared.evidence.generated``)."""

    status: SectionStatus
    model: ModelInfo | None = None
    score: float | None = Field(default=None, description="probability that the picture is generated (calibrated)")
    verdict: Verdict = Field(description="fake: looks generated; real: does not look generated")
    band: Band | None = Field(
        default=None, description="the measured operating point this section's verdict used (none: it judges nothing)"
    )
    finding: str | None = Field(default=None, description="the verdict in words: looks generated, ...")
    notes: list[str] = Field(default_factory=list, description="what a reader should know about what was judged")
    seconds: float | None = Field(default=None, description="seconds the model took for the picture")
    reason: str | None = Field(default=None, description="why the picture was not judged, when it was not")


class LipsWindow(_Model):
    """One stretch of a face track scored by SyncNet (``shared.evidence.lips.syncnet``): every frame at 25 fps, no gap."""

    start_s: float = Field(description="start, seconds on the file's clock")
    end_s: float = Field(description="end, seconds on the file's clock")
    offset_ms: int = Field(description="where lips and voice line up best: positive = the sound comes after the picture")
    confidence: float = Field(description="SyncNet's confidence: median distance minus the smallest (its authors' measure)")


class LipsTrack(_Model):
    """One face track measured against the soundtrack (``shared.evidence.lips``)."""

    track_id: int
    speech_s: float = Field(description="seconds of speech heard while this face was visible and usable")
    face_px: float = Field(description="median face height in frame pixels")
    offset_ms: int | None = Field(
        default=None, description="where lips and voice line up best: positive = the sound comes after the picture"
    )
    sync: float | None = Field(
        default=None, description="how far the lips follow the voice above chance (0: no better than chance)"
    )
    score: float | None = Field(default=None, description="higher = lips and voice disagree")
    confidence: float | None = Field(
        default=None, description="with SyncNet: its confidence over the whole track (median distance minus the smallest)"
    )
    windows: list[LipsWindow] = Field(default_factory=list, description="with SyncNet: each stretch it scored")
    reason: str | None = Field(default=None, description="why this face could not be measured, when it could not")


class LipsCurve(_Model):
    """The speaker's mouth opening and the voice's loudness in the speech band, sound moved by the found
    offset, on the analysed frames' times; each scaled to 0..1 for the plot (at most 600 points)."""

    times_s: list[float]
    mouth: list[float] = Field(description="how open the mouth is, 0 = least open in the plot, 1 = most")
    voice: list[float] = Field(description="the voice's envelope at the same moments plus the offset, 0..1")
    offset_ms: int = Field(description="the offset the voice was moved by (sound after picture positive)")


class LipsSection(_Model):
    """Lips against voice: does the mouth on screen move with the speech? (``docs/lips.md``)"""

    status: SectionStatus
    score: float | None = Field(default=None, description="the speaker's score: higher = lips and voice disagree")
    verdict: Verdict
    band: Band | None = Field(default=None, description="the band this section's verdict used")
    speaker_track: int | None = Field(default=None, description="the face whose lips follow the voice best")
    offset_ms: int | None = Field(default=None, description="the speaker's offset (sound after picture positive)")
    sync: float | None = Field(default=None, description="the speaker's sync strength")
    model: ModelInfo | None = Field(default=None, description="the learned model used (SyncNet), when one is configured")
    confidence: float | None = Field(
        default=None, description="with SyncNet: the speaker's confidence (its authors' measure; no operating point)"
    )
    speech_s: float | None = Field(default=None, description="seconds of speech with the speaker's face visible")
    min_speech_s: float | None = Field(
        default=None, description="speech needed for a verdict (measured); below it the check abstains"
    )
    tracks: list[LipsTrack] = Field(default_factory=list)
    curve: LipsCurve | None = Field(
        default=None, description="the speaker's mouth against the voice, for the page's plot (landmark check)"
    )
    reason: str | None = Field(default=None, description="why there is no verdict, when there is none")


class Thresholds(_Model):
    uncertain_low: float = Field(description="scores below are 'real'")
    uncertain_high: float = Field(description="scores above are 'fake'; in between 'uncertain'")


class Band(Thresholds):
    """How one section's score became its verdict: real below ``uncertain_low``, fake above
    ``uncertain_high``, uncertain in between (bounds inclusive; a ``model_card`` point is fake at
    ``uncertain_high`` itself too)."""

    source: Literal["settings", "model_card"] = Field(
        description="settings: the configured band (moved with the model's decision threshold); "
        "model_card: the operating point measured for the model and recorded in its card"
    )
    description: str = Field(description="one line saying where the band comes from and what it means")
    false_alarm_rate: float | None = Field(
        default=None, description="measured share of real media called fake at this band, when known"
    )
    catch_rate: float | None = Field(
        default=None, description="measured share of fake media called fake at this band, when known"
    )


class Artifact(_Model):
    """A file made next to the report on request (``artifacts_dir``): plain file name, no path."""

    name: str
    kind: Literal["face_thumbnail", "heatmap_overlay", "mel_spectrogram"]
    track_id: int | None = None
    media_type: Literal["image/png"] = "image/png"


class Finding(_Model):
    """One kind of evidence's result in words a journalist reads (``shared.findings``).

    Numbers keep full precision in the sections; a finding only words and rounds them.
    """

    evidence: str = Field(description="the kind of evidence (faces, voice, provenance, ...)")
    section: str = Field(description="the report field with the details")
    label: str = Field(description="what was checked, for people: 'Face', 'Voice', 'Content credentials'")
    verdict: Verdict = Field(description="the section's verdict")
    headline: str = Field(description="the result in a few words: 'likely swapped', 'no conclusion'")
    text: str = Field(description="one line: label, headline and what the number means")
    score_position: str | None = Field(
        default=None, description="where the score falls against the section's band, in words"
    )
    based_on: str | None = Field(default=None, description="what the result rests on: which frames, which seconds")
    means: str | None = Field(default=None, description="what this result indicates")
    does_not_prove: str | None = Field(default=None, description="what it does not prove")


class Report(_Model):
    """The result of analysing one file."""

    schema_version: str = SCHEMA_VERSION
    tool_version: str
    created_at: str = Field(description="ISO-8601 UTC")
    verdict: Verdict
    score: float | None = Field(
        default=None, description="fake probability of the most suspicious modality, or null"
    )
    media: MediaFacts
    video: VideoSection
    audio: AudioSection
    provenance: ProvenanceSection | None = Field(
        default=None, description="what the file says about its own origin (C2PA, metadata, watermarks)"
    )
    generated: GeneratedSection | None = Field(
        default=None, description="whether a still picture as a whole looks generated (no face needed)"
    )
    lips: LipsSection | None = Field(
        default=None, description="whether the lips on screen move with the voice (videos with sound)"
    )
    reasons: list[str] = Field(default_factory=list, description="plain-language explanations and caveats")
    timings: dict[str, float] = Field(default_factory=dict, description="seconds per stage")
    models: dict[str, str] = Field(default_factory=dict, description="role -> model version used")
    artifacts: list[Artifact] = Field(default_factory=list)
    findings: list[Finding] = Field(
        default_factory=list, description="one plain-language finding per kind of evidence, in report order"
    )
    verdict_rests_on: list[str] = Field(
        default_factory=list, description="the kinds of evidence (Finding.evidence) that gave the overall verdict"
    )
    summary: str | None = Field(default=None, description="one paragraph: the verdict, what it rests on, caveats")


def report_json_schema() -> dict:
    """The JSON Schema of :class:`Report` as committed in ``schemas/report.schema.json``."""
    schema = Report.model_json_schema()
    schema["$id"] = f"https://deepfake-detect.local/schemas/report-{SCHEMA_VERSION}.json"
    schema["title"] = "Deepfake analysis report"
    return schema


def render_schema() -> str:
    return json.dumps(report_json_schema(), indent=2, sort_keys=True) + "\n"


def write_schema(path: Path = SCHEMA_PATH) -> Path:
    """Regenerate the committed schema file (``python -m shared.report``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_schema())
    return path


if __name__ == "__main__":
    print(write_schema())
