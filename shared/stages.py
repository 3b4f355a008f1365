"""The analysis stages, named once: what the pipeline reports, the CLI's bar shows and the job record says.

A detector reports its stages through the pipeline's ``progress(stage, fraction)`` callback; the CLI
progress bar, the worker's overall job progress and the page read their labels and spans from here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Stage:
    """One stage: its machine name, a label for people, and its share of the overall progress.

    ``span`` is where the stage sits on the job's 0..1 progress; decoding and face detection interleave
    chunk by chunk, so they share one span.
    """

    name: str
    label: str
    span: tuple[float, float]


STARTING = Stage("starting", "starting", (0.0, 0.02))
DECODING = Stage("decoding", "decoding", (0.02, 0.66))
DETECTING_FACES = Stage("detecting_faces", "finding faces", (0.02, 0.66))
CHECKING_PROVENANCE = Stage("checking_provenance", "reading provenance", (0.66, 0.7))
SCORING_VIDEO = Stage("scoring_video", "scoring faces", (0.7, 0.85))
SCORING_AUDIO = Stage("scoring_audio", "scoring speech", (0.85, 0.95))
MERGING = Stage("merging", "writing report", (0.95, 1.0))

#: every stage, in pipeline order (every detector prepares before any model scores)
STAGES: dict[str, Stage] = {
    s.name: s
    for s in (STARTING, DECODING, DETECTING_FACES, CHECKING_PROVENANCE, SCORING_VIDEO, SCORING_AUDIO, MERGING)
}


def overall_progress(stage: str, fraction: float) -> float:
    """Where ``fraction`` of ``stage`` puts the whole analysis on 0..1 (unknown stages span everything)."""
    low, high = STAGES[stage].span if stage in STAGES else (0.0, 1.0)
    return low + (high - low) * min(max(fraction, 0.0), 1.0)


# --- progress weighted by work ----------------------------------------------------------------------------
# Kinds of evidence run side by side (the voice model scores while frames decode), so placing each stage
# on a fixed span and taking the maximum let a fast stage that sits late on the scale (voice scoring)
# jump the bar to 95 % while most of the work (face scoring) was still ahead. Instead the bar is the share
# of the file's expected work done: each group of stages weighs its expected seconds for this file
# (:func:`expected_work`), and the bar is the weighted sum of the groups' fractions.

#: stages that advance together (none at present: decoding and face detection report their own share)
_GROUP: dict[str, str] = {}


@dataclass(frozen=True)
class UnitCosts:
    """Seconds per unit of work, measured with ``benchmarks/progress_costs.py`` from a report's
    ``timings`` (the 10 s DFDC clip with audio, 720x1280, every 2nd frame; 2 shared cores at load 6).

    Only the ratios matter (the bar is a share of the total); absolute values move with the machine.
    """

    #: decoding one frame of the file, per megapixel (every frame is decoded: inter-frame coding)
    decode_per_megapixel_frame: float = 0.026
    #: one face search (the detector scales frames down to ``detector_max_side`` first)
    detect: float = 0.19
    #: cutting the face crops of one sampled frame
    crop_per_frame: float = 0.006
    #: the face model on one face crop (one face per sampled frame is assumed)
    score_per_face: float = 0.2
    #: the voice check per second of audio: decoding, speech activity and the voice model
    audio_per_second: float = 1.17
    #: reading Content Credentials and metadata
    provenance: float = 0.75
    #: opening the file, building the report
    fixed: float = 0.05


UNIT_COSTS = UnitCosts()


def expected_work(
    kind: str,
    *,
    frame_count: int = 0,
    megapixels: float = 0.0,
    sampled_frames: int = 0,
    detections: int = 0,
    audio_seconds: float = 0.0,
    score_faces: bool = True,
    scored_faces: int | None = None,
    costs: UnitCosts = UNIT_COSTS,
) -> dict[str, float]:
    """Expected seconds of each stage group for one file (group name -> seconds), from :class:`UnitCosts`.

    Args:
        kind: the media kind ("video", "image", "audio").
        frame_count: frames in the video (all of them are decoded).
        megapixels: pixels per frame / 1e6.
        sampled_frames: frames the face stage keeps (one face each is assumed for the face model).
        detections: face searches (one per ``detect_interval_s``, or one per sampled frame with ``--frames``).
        audio_seconds: seconds of audio the voice check will decode and score (0 without a voice check).
        score_faces: whether a face model will score the faces.
        scored_faces: how many faces it will score (default ``sampled_frames``: one face a frame, all
            scored; the budget per person scores fewer, ``shared.faces.budget``).
    """
    work = {STARTING.name: costs.fixed, CHECKING_PROVENANCE.name: costs.provenance, MERGING.name: costs.fixed}
    if kind == "video":
        work[DECODING.name] = frame_count * megapixels * costs.decode_per_megapixel_frame
        work[DETECTING_FACES.name] = detections * costs.detect + sampled_frames * costs.crop_per_frame
    elif kind == "image":
        work[DETECTING_FACES.name] = costs.detect + megapixels * costs.decode_per_megapixel_frame
    if kind in ("video", "image") and score_faces:
        work[SCORING_VIDEO.name] = max(sampled_frames if scored_faces is None else scored_faces, 1) * costs.score_per_face
    if audio_seconds > 0:
        work[SCORING_AUDIO.name] = audio_seconds * costs.audio_per_second
    return work


class WorkProgress:
    """The share of a file's expected work done, from ``progress(stage, fraction)`` calls; never goes back.

    Each stage group keeps the highest fraction it reported; the overall share is the sum of the groups'
    fractions weighted by their expected work (:func:`expected_work`). A stage the plan did not foresee
    (a kind of evidence added later) gets the weight of the median group, so it still moves the bar.
    The last stage (``merging``) completing means the whole analysis is done: the share is then 1.

    Args:
        work: group name -> expected seconds; ``None`` weighs every stage the same.
    """

    def __init__(self, work: dict[str, float] | None = None) -> None:
        self.work = {k: max(v, 1e-6) for k, v in (work or {}).items()}
        self.done: dict[str, float] = {}
        self.value = 0.0

    def plan(self, work: dict[str, float]) -> None:
        """Set the expected work once the file is probed (before, every stage weighs the same)."""
        self.work = {k: max(v, 1e-6) for k, v in work.items()}

    def _weight(self, group: str) -> float:
        if group not in self.work:
            known = sorted(self.work.values())
            self.work[group] = known[len(known) // 2] if known else 1.0
        return self.work[group]

    def update(self, stage: str, fraction: float) -> float:
        """Record ``fraction`` of ``stage``; returns the overall share done, in 0..1."""
        group = _GROUP.get(stage, stage)
        self._weight(group)
        self.done[group] = max(self.done.get(group, 0.0), min(max(fraction, 0.0), 1.0))
        if stage == MERGING.name and fraction >= 1.0:
            share = 1.0
        else:
            total = sum(self.work.values())
            share = sum(self.work[g] * f for g, f in self.done.items()) / total
        self.value = max(self.value, min(share, 1.0))
        return self.value

    __call__ = update


def work_for(source: Any, options: Any, roles: Iterable[str]) -> dict[str, float]:
    """:func:`expected_work` for a probed file (``MediaSource``), the analysis options and the model roles
    that will score it (``"video"``: the face model, ``"audio"``: the voice model)."""
    from shared.media.video import frames_decoded, keyframe_runs, sample_frame_indices

    facts = source.facts
    roles = set(roles)
    megapixels = (facts.width or 0) * (facts.height or 0) / 1e6
    frame_count = sampled = detections = 0
    scored: int | None = None
    if facts.kind == "video" and source.video is not None:
        frame_count = int(source.video.frame_count or 0)
        if options.frames is not None:
            sampled = len(sample_frame_indices(frame_count, frames=options.frames))
            detections = sampled  # --frames N searches every sampled frame (the reference recipe)
        else:
            wanted = sample_frame_indices(frame_count, every=options.every or 1, max_frames=options.max_frames)
            sampled = len(wanted)
            interval = options.detect_interval_s
            searches = math.ceil((facts.duration_s or 0.0) / interval) + 1 if interval > 0 else sampled
            detections = min(sampled, searches)
            scored = min(sampled, options.faces_per_track)  # one person's budget (shared.faces.budget)
            keys = source.video.keyframe_indices
            runs = keyframe_runs(keys, wanted, options.every or 1, frame_count) if options.keyframe_runs else None
            if runs is not None:  # the frames decoded, not the frames in the file (shared.media.video)
                frame_count = frames_decoded(keys, runs)
    elif facts.kind == "image":
        sampled = 1
    audio_seconds = 0.0
    if "audio" in roles and facts.kind in ("video", "audio") and facts.audio_codec:
        from shared.audio_scoring import budget_seconds

        # a long recording's voice is scored on a budget: as many seconds as that budget, were it all speech
        audio_seconds = budget_seconds(min(facts.duration_s or 0.0, options.max_audio_seconds), options.voice_budget_s)
    return expected_work(
        facts.kind,
        frame_count=frame_count,
        megapixels=megapixels,
        sampled_frames=sampled,
        detections=detections,
        audio_seconds=audio_seconds,
        score_faces="video" in roles,
        scored_faces=scored,
    )
