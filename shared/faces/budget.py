"""Which faces the face model scores: a budget per person (face track), not per frame.

The face model is the most expensive step per face (a 224x224 EfficientNet-B4 per crop), and its published
AUCs are per video with 32 frames scored (the ICPR2020 recipe). Scoring every sampled frame makes the cost
grow with the duration and adds nothing the verdict uses: a person's score is the mean of their faces'
logits, and 32 faces spread over their time on screen estimate that mean as the reference does. So in the
default sampling each track gets at most ``budget`` faces, spread evenly over its life; then one more
round spends up to half as many again where the score *moves* (two neighbouring scored faces whose fake
probabilities differ by :data:`MOVING` or more get the face half-way between them), so a manipulated
stretch inside a long real track is looked at more closely instead of being averaged away unseen.

``deepfake analyze`` and ``deepfake evaluate video`` both choose faces here (one rule): the evaluation
scores what analysis would score.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from shared import scoring
from shared.modelcard import ModelCard

#: a difference in fake probability between neighbouring scored faces that earns a face between them:
#: a quarter of the scale, well above the frame-to-frame noise of one person's scores yet below the
#: width of the uncertainty band plus a side of it (0.35 -> 0.65 is 0.30)
MOVING = 0.25


def spread(members: Sequence[int], budget: int) -> list[int]:
    """``budget`` of ``members`` (one track's faces in time order), evenly spaced, first and last kept."""
    if len(members) <= budget:
        return list(members)
    picks = np.unique(np.linspace(0, len(members) - 1, budget).round().astype(int))
    return [members[i] for i in picks]


def tracks_in_time_order(track_ids: Sequence[int], times: Sequence[float]) -> dict[int, list[int]]:
    """Face indices by track, each list in time order (the stage emits faces in frame order already)."""
    by_track: dict[int, list[int]] = {}
    for n in sorted(range(len(track_ids)), key=lambda n: (times[n], n)):
        by_track.setdefault(int(track_ids[n]), []).append(n)
    return by_track


def where_it_moves(members: list[int], logits: dict[int, float], card: ModelCard | None, allowance: int) -> list[int]:
    """Unscored faces half-way between neighbouring scored faces whose probabilities differ by
    :data:`MOVING` or more, the largest differences first, at most ``allowance``."""
    position = {face: k for k, face in enumerate(members)}
    scored = sorted(position[f] for f in members if f in logits)
    gaps = []
    for a, b in zip(scored, scored[1:], strict=False):
        if b - a < 2:
            continue  # no unscored face between them
        step = abs(float(scoring.fake_probability(logits[members[a]], card)) - float(scoring.fake_probability(logits[members[b]], card)))
        if step >= MOVING:
            gaps.append((step, members[(a + b) // 2]))
    gaps.sort(key=lambda g: -g[0])
    return [face for _, face in gaps[:allowance]]


def choose_and_score(
    track_ids: Sequence[int],
    times: Sequence[float],
    budget: int | None,
    score: Callable[[list[int]], np.ndarray],
    card: ModelCard | None,
) -> dict[int, float]:
    """Score the faces the budget chooses; returns ``{face index: logit}``.

    Args:
        track_ids, times: per face (the face stage's order).
        budget: faces per track in the first round (``None``: every face, as ``--frames N`` scores).
        score: scores a list of face indices, returning their logits in that order (the face model, or a
            lookup of logits already computed).
        card: the face model's card (its calibration decides what "the score moves" means).
    """
    if not len(track_ids):
        return {}
    everyone = list(range(len(track_ids)))
    if budget is None:
        return dict(zip(everyone, np.asarray(score(everyone), np.float64).reshape(-1).tolist(), strict=True))
    tracks = tracks_in_time_order(track_ids, times)
    first = sorted(f for members in tracks.values() for f in spread(members, budget))
    logits = dict(zip(first, np.asarray(score(first), np.float64).reshape(-1).tolist(), strict=True))
    more = sorted(f for members in tracks.values() for f in where_it_moves(members, logits, card, budget // 2))
    if more:
        logits.update(zip(more, np.asarray(score(more), np.float64).reshape(-1).tolist(), strict=True))
    return logits
