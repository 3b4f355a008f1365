"""The analysis stages, named once: what the pipeline reports, the CLI's bar shows and the job record says.

A detector reports its stages through the pipeline's ``progress(stage, fraction)`` callback; the CLI
progress bar, the worker's overall job progress and the page read their labels and spans from here.
"""

from __future__ import annotations

from dataclasses import dataclass


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
