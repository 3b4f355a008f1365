"""The face model's budget per person (``shared.faces.budget``): which faces get scored, and that analysis
scores exactly those (a counting scorer around the real compiled test model)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shared.faces.budget import choose_and_score, spread, where_it_moves


def test_spread_keeps_the_ends_and_spaces_the_rest_evenly() -> None:
    members = list(range(100, 200))  # one track's faces, in time order
    picked = spread(members, 5)
    assert picked == [100, 125, 150, 174, 199]  # round(linspace(0, 99, 5)) = 0, 25, 50, 74, 99
    assert spread(members[:3], 5) == members[:3]  # a short track is scored whole


def test_a_budget_per_track_and_more_where_the_score_moves() -> None:
    # Two people, interleaved as the face stage emits them (frame order): track 0 on 40 frames whose
    # faces 20..29 are "fake" (logit +4) and the rest real (-4); track 1 on 10 frames, all real.
    track_ids = [0] * 40 + [1] * 10
    times = list(range(40)) + list(range(10))
    truth = np.array([4.0 if 20 <= n < 30 else -4.0 for n in range(40)] + [-4.0] * 10)
    calls: list[list[int]] = []

    def score(indices: list[int]) -> np.ndarray:
        calls.append(list(indices))
        return truth[indices]

    logits = choose_and_score(track_ids, times, 4, score, None)
    # Round 1: 4 faces of track 0 at round(linspace(0, 39, 4)) = 0, 13, 26, 39; track 1's 4 of 10
    # (its face indices 40..49): 40, 43, 46, 49.
    assert calls[0] == [0, 13, 26, 39, 40, 43, 46, 49]
    # Round 2: track 0's scores jump between 13 (real) and 26 (fake) and between 26 and 39: half the
    # budget (2) buys the faces half-way, 19 and 32; track 1 is flat and gets nothing.
    assert calls[1] == [19, 32]
    assert len(calls) == 2 and sorted(logits) == sorted(calls[0] + calls[1])
    assert all(logits[n] == truth[n] for n in logits)


def test_no_budget_scores_everything_once() -> None:
    calls: list[list[int]] = []
    out = choose_and_score([0, 0, 1], [0.0, 1.0, 0.0], None, lambda i: calls.append(i) or np.zeros(len(i)), None)
    assert calls == [[0, 1, 2]] and sorted(out) == [0, 1, 2]


def test_where_it_moves_needs_a_face_in_between_and_a_real_step() -> None:
    members = [0, 1, 2, 3, 4]
    assert where_it_moves(members, {0: -4.0, 1: 4.0}, None, 5) == []  # neighbours: nothing between
    assert where_it_moves(members, {0: -4.0, 4: -3.5}, None, 5) == []  # 0.018 -> 0.029: no step
    assert where_it_moves(members, {0: -4.0, 4: 4.0}, None, 5) == [2]


def test_analysis_scores_the_budget_and_counts_tracks_on_what_was_seen(face_video: Path, video_model_dir: Path) -> None:
    from shared.pipeline import AnalyzeOptions, analyze
    from shared.video_scoring import FaceScorer

    inner = FaceScorer.from_folder(video_model_dir)
    scored_crops: list[np.ndarray] = []

    class Counting:
        card = inner.card

        def score(self, faces: np.ndarray):  # type: ignore[no-untyped-def]
            scored_crops.append(faces.copy())
            return inner.score(faces)

    options = AnalyzeOptions.from_settings(every=1, faces_per_track=6)
    report = analyze(face_video, face_scorer=Counting(), options=options)
    v = report.video
    assert v is not None and v.frames_analyzed == 75 and len(v.tracks) == 1
    track = v.tracks[0]
    with_logit = [face for f in v.frames for face in f.faces if face.logit is not None]
    crops = np.concatenate(scored_crops)
    # Seen on every frame, scored on the budget (6, plus at most 3 where the score moves)
    assert track.faces == 75 and track.counted
    assert 6 <= track.faces_scored <= 9 and len(with_logit) == track.faces_scored == len(crops)
    # The score is sigmoid(mean) of exactly the scored faces' logits, as the face model gives them
    direct = np.asarray(inner.score(crops).logits, np.float64)
    assert sorted(face.logit for face in with_logit) == pytest.approx(sorted(direct), abs=1e-3)
    assert track.score == pytest.approx(1 / (1 + np.exp(-direct.mean())), abs=1e-3)
    # spread over the person's time on screen: the first and the last frames are among them
    times = [f.time_s for f in v.frames for face in f.faces if face.logit is not None]
    assert min(times) == v.frames[0].time_s and max(times) == v.frames[-1].time_s
