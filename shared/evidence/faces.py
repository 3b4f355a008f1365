"""Face evidence: every face of the sampled frames, followed as tracks, scored by the video model.

The section is made in three steps: :func:`build_frames` (every analysed frame with its faces and their
scores), :func:`aggregate_tracks` (one score per person: sigmoid of the track's mean logit, calibrated
when the card says so; the video score is the most suspicious counted track's) and :func:`explain`
(the plain-language reasons).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from shared import scoring
from shared.analysis import RunContext
from shared.evidence.base import Evidence, model_info
from shared.evidence.registry import register_evidence
from shared.faces import budget as budget_rule
from shared.faces.stage import PreparedFaces
from shared.findings import FindingWords
from shared.media.probe import MediaSource
from shared.modelcard import ModelCard
from shared.report import (
    Artifact,
    FaceObservation,
    FrameResult,
    Thresholds,
    Track,
    VideoSection,
)
from shared.stages import SCORING_VIDEO


class FaceScorerLike(Protocol):
    """What the face detector needs from a video scorer (``shared.video_scoring.FaceScorer`` or a remote one)."""

    card: ModelCard

    def score(self, faces: np.ndarray) -> Any: ...  # -> FaceScores(logits (N,), attention (N,h,w)|None)


@dataclass
class ScoredFaces:
    """The video model's outputs for the faces it scored (``shared.faces.budget`` chooses them).

    ``indices`` are positions in :attr:`PreparedFaces.faces` (and its ``crops``), ascending; ``logits``
    and ``attention`` follow them."""

    indices: np.ndarray  # (M,) int
    logits: np.ndarray  # (M,) float64
    attention: np.ndarray | None  # (M, h, w) in [0, 1], AutoAtt models only

    def logit_of(self) -> dict[int, float]:
        return dict(zip(self.indices.tolist(), self.logits.tolist(), strict=True))


def logit_to_probability(logit: float, card: ModelCard | None) -> float:
    """Fake probability of a (mean) logit, with the card's Platt calibration (``shared.scoring``)."""
    return float(scoring.fake_probability(logit, card))


#: face crops per call of the face model: a multiple of its batch size, small enough for a smooth bar
#: (the budget scores about 32 faces a person: 4 steps of the bar)
SCORE_CHUNK_FACES = 8

#: faces a track needs to count towards the verdict (one rule, in ``shared.scoring``)
min_track_faces = scoring.min_track_faces


def build_frames(prepared: PreparedFaces, scored: ScoredFaces | None, card: ModelCard | None) -> list[FrameResult]:
    """Every analysed frame with its faces, their boxes and (when scored) logits and scores."""
    out = []
    logit_of = scored.logit_of() if scored is not None else {}
    n = 0
    for frame in prepared.frames:
        faces = []
        for face in frame.faces:
            logit = logit_of.get(n)  # None: seen, not scored (the budget per person)
            n += 1
            faces.append(
                FaceObservation(
                    track_id=face.track_id,
                    box=tuple(round(float(v), 1) for v in face.box),  # type: ignore[arg-type]
                    confidence=round(face.confidence, 4),
                    interpolated=face.interpolated,
                    logit=None if logit is None else round(logit, 4),
                    score=None if logit is None else round(logit_to_probability(logit, card), 4),
                )
            )
        out.append(FrameResult(index=frame.index, time_s=round(frame.time_s, 4), faces=faces))
    return out


def aggregate_tracks(
    prepared: PreparedFaces, scored: ScoredFaces, card: ModelCard | None, band: Thresholds
) -> list[Track]:
    """One :class:`Track` per person, as ``shared.scoring.aggregate_tracks`` scores them (the rule
    ``deepfake evaluate video`` scores with too): sigmoid(calibrated mean logit of its scored faces);
    tracks seen in too few frames not counted."""
    seen = prepared.by_track()
    video = scoring.aggregate_tracks(
        scored.logits,
        [prepared.faces[n].track_id for n in scored.indices],
        card,
        frames_analyzed=len(prepared.frames),
        frames_with_faces=sum(1 for f in prepared.frames if f.faces),
        seen={tid: len(members) for tid, members in seen.items()},
    )
    return [
        Track(
            id=t.track_id,
            faces=len(seen[t.track_id]),
            faces_scored=len(t.members),
            first_time_s=round(prepared.faces[seen[t.track_id][0]].time_s, 4),
            last_time_s=round(prepared.faces[seen[t.track_id][-1]].time_s, 4),
            mean_logit=round(t.mean_logit, 4),
            score=round(t.score, 4),
            verdict=scoring.verdict_for(t.score, band),
            counted=t.counted,
        )
        for t in video.tracks
    ]


def person(track_id: int) -> str:
    """How people read a face track: "person 1" for track 0 (the CLI, the reasons and the page alike)."""
    return f"person {track_id + 1}"


def sampling_words(sampling: Any) -> str:
    if sampling is None:
        return ""
    if sampling.mode == "every" and sampling.every:
        return ", every frame" if sampling.every == 1 else f", one frame in {sampling.every}"
    if sampling.mode == "frames" and sampling.frames:
        return ", evenly spaced"
    return ""


def explain(section: VideoSection, kind: str, card: ModelCard | None, band: Thresholds) -> list[str]:
    """The reasons a person reads for a scored video section."""
    reasons = []
    counted = [tr for tr in section.tracks if tr.counted]
    worst = max(counted, key=lambda tr: tr.score)
    if kind == "video":
        reasons.append(f"faces found in {section.frames_with_faces} of {section.frames_analyzed} sampled frames")
    if len(counted) > 1:
        reasons.append(
            f"{len(counted)} people (face tracks) found; the video score is that of the most "
            f"suspicious one ({person(worst.id)})"
        )
    ignored = len(section.tracks) - len(counted)
    if ignored:
        min_faces = min_track_faces(section.frames_analyzed, section.frames_with_faces)
        reasons.append(
            f"{ignored} face track(s) seen in fewer than {min_faces} frames were not counted "
            "(likely detector mistakes)"
        )
    if card is not None and card.training_data:
        reasons.append(
            f"the face model {card.name} was trained on {card.training_data}; scores on other kinds "
            "of video are less reliable"
        )
    if section.verdict == "uncertain":
        reasons.append(
            f"the face score {worst.score:.2f} lies in the uncertainty band "
            f"[{band.uncertain_low:.2f}, {band.uncertain_high:.2f}]"
        )
    return reasons


@register_evidence
class FaceEvidence(Evidence):
    """Faces in videos and images, scored by the video model (``model_role`` "video")."""

    name = "faces"
    section = "video"
    media_kinds = frozenset({"video", "image"})
    needs = ("face_tracks",)
    model_role = "video"
    page_panel = "faces"
    required_for = frozenset({"video", "image"})
    words = FindingWords(
        label="Face",
        fake="likely swapped or altered",
        real="no sign of a swapped or altered face",
        unit="faces",
        nothing="no face found",
        means_fake="the face model scores this person's face past the point where it calls a face swapped or altered",
    )

    def based_on(self, result: Any) -> str | None:
        """The person the verdict rests on, and the frames their face was scored in."""
        if not isinstance(result, VideoSection) or not result.tracks:
            return None
        counted = [t for t in result.tracks if t.counted]
        worst = max(counted, key=lambda t: t.score)
        if result.sampling is not None and result.sampling.mode == "image":
            return "the face in the picture" if len(counted) == 1 else f"{person(worst.id)}'s face, the most suspicious of {len(counted)}"
        who = person(worst.id) + (f", the most suspicious of {len(counted)} people" if len(counted) > 1 else "")
        return (
            f"{who}: {worst.faces} face(s) in sampled frames from {worst.first_time_s:.1f} s to "
            f"{worst.last_time_s:.1f} s ({result.frames_analyzed} frames sampled{sampling_words(result.sampling)})"
        )

    def prepare(self, products: dict[str, Any], run: RunContext) -> PreparedFaces:
        """The face stage's tracks and crops (``face_tracks``, cut for this model's card)."""
        faces: PreparedFaces = products["face_tracks"]
        return faces

    def score(self, prepared: PreparedFaces, run: RunContext) -> ScoredFaces | None:
        if self.scorer is None or not len(prepared.crops):
            return None
        scorer = self.scorer
        run.progress(SCORING_VIDEO.name, 0.0)
        t = time.perf_counter()
        # --frames N is the reference recipe (every face of N frames scored); otherwise a budget per person
        options = run.options
        budget = None if options.frames is not None else options.faces_per_track
        expected = min(len(prepared.crops), self._expected_faces(prepared, budget))
        maps: dict[int, np.ndarray] = {}
        done = 0

        def score(indices: list[int]) -> np.ndarray:
            # In chunks, so the progress bar follows the face model (often the longest step) instead of
            # jumping once at its end; the model batches within each chunk as before.
            nonlocal done
            logits = []
            for start in range(0, len(indices), SCORE_CHUNK_FACES):
                chunk = indices[start : start + SCORE_CHUNK_FACES]
                result = scorer.score(prepared.crops[chunk])
                logits.append(np.asarray(result.logits, dtype=np.float64).reshape(-1))
                if result.attention is not None:
                    maps.update(zip(chunk, np.asarray(result.attention), strict=True))
                done += len(chunk)
                run.progress(SCORING_VIDEO.name, min(done / max(expected, 1), 1.0))
            return np.concatenate(logits) if logits else np.zeros(0)

        track_ids = [f.track_id for f in prepared.faces]
        logit_of = budget_rule.choose_and_score(track_ids, [f.time_s for f in prepared.faces], budget, score, self.card)
        indices = np.array(sorted(logit_of), dtype=np.int64)
        scored = ScoredFaces(
            indices=indices,
            logits=np.array([logit_of[i] for i in indices.tolist()], np.float64),
            attention=np.stack([maps[i] for i in indices.tolist()]) if maps else None,
        )
        run.clock.add("score_video", t)
        run.progress(SCORING_VIDEO.name, 1.0)
        return scored

    @staticmethod
    def _expected_faces(prepared: PreparedFaces, budget: int | None) -> int:
        """Faces the first round will score (for the progress bar; the second round adds a few)."""
        if budget is None:
            return len(prepared.faces)
        return sum(min(len(members), budget) for members in prepared.by_track().values())

    def skipped_section(self, source: MediaSource) -> VideoSection:
        return VideoSection(status="not_applicable", verdict="not_applicable")

    def build_section(
        self,
        source: MediaSource,
        prepared: PreparedFaces,
        scored: ScoredFaces | None,
        run: RunContext,
        reasons: list[str],
    ) -> VideoSection:
        kind = source.facts.kind
        card = self.card
        band = scoring.report_band_for(card, run.options.thresholds)
        section = VideoSection(
            status="analyzed",
            model=model_info(card) if card is not None else None,
            verdict="not_applicable",
            band=band,
            sampling=prepared.sampling,
            frames_analyzed=len(prepared.frames),
            frames_with_faces=sum(1 for f in prepared.frames if f.faces),
            frames=build_frames(prepared, scored, card),
        )
        if not prepared.faces:
            section.status = "not_applicable"
            reasons.append(
                "no face found in the image"
                if kind == "image"
                else f"no face found in any of the {len(prepared.frames)} sampled frames"
            )
            return section
        if scored is None:
            section.status = "not_available"
            reasons.append("faces were found but no video model scored them")
            return section
        section.tracks = aggregate_tracks(prepared, scored, card, band)
        worst = max((tr for tr in section.tracks if tr.counted), key=lambda tr: tr.score)
        section.score = worst.score
        section.verdict = scoring.verdict_for(worst.score, band)
        reasons.extend(explain(section, kind, card, band))
        return section

    def write_artifacts(
        self,
        folder: Path | None,
        prepared: PreparedFaces,
        scored: ScoredFaces | None,
        section: VideoSection,
        *,
        heatmaps: Path | None = None,
    ) -> list[Artifact]:
        from shared.media.render import face_artifacts, write_heatmaps

        # The faces the model scored (all of them when nothing was scored: the face strip still shows them)
        picked = scored.indices if scored is not None else np.arange(len(prepared.faces))
        faces = [prepared.faces[i] for i in picked.tolist()]
        crops = prepared.crops[picked]
        logits = scored.logits if scored is not None else None
        attention = scored.attention if scored is not None else None
        if heatmaps is not None:
            write_heatmaps(heatmaps, faces, crops, attention)
        if folder is None:
            return []
        return face_artifacts(folder, faces, crops, logits, attention, section.tracks)
