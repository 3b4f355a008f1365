"""Faces in successive analysed frames linked into tracks (one track per person), and boxes between detections."""

from __future__ import annotations

import numpy as np


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU between boxes ``a`` (N, 4) and ``b`` (M, 4) -> (N, M)."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod((rb - lt).clip(0), axis=-1)
    area_a = np.prod(a[:, 2:] - a[:, :2], axis=-1)
    area_b = np.prod(b[:, 2:] - b[:, :2], axis=-1)
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)


class FaceTracker:
    """Links faces in successive analysed frames into tracks (one track per person), incrementally.

    Greedy matching, best pairs first: a face continues the track whose last box overlaps it most
    (IoU >= ``min_iou``) or, failing that, whose last box centre is within ``max_centre_shift`` box
    sizes of its own plus ``shift_per_second`` box sizes per second since the track was last seen
    (sparse sampling: frames a second apart let a walking person move more than a face width). A track
    unseen for ``max_gap_s`` seconds ends. Two faces of one frame never share a track.
    """

    def __init__(
        self,
        *,
        min_iou: float = 0.3,
        max_centre_shift: float = 0.6,
        shift_per_second: float = 1.5,
        max_gap_s: float = 2.0,
    ) -> None:
        self.min_iou = min_iou
        self.max_centre_shift = max_centre_shift
        self.shift_per_second = shift_per_second
        self.max_gap_s = max_gap_s
        self._tracks: list[tuple[np.ndarray, float]] = []  # last box and last time per track id

    def update(self, boxes: list[np.ndarray], t: float) -> list[int]:
        """Track ids for the boxes of the frame at time ``t`` (same order); new faces get new ids."""
        tracks = self._tracks
        frame_ids = [-1] * len(boxes)
        live = [k for k, (_, last_t) in enumerate(tracks) if t - last_t <= self.max_gap_s]
        if boxes and live:
            allowed = np.array(
                [self.max_centre_shift + self.shift_per_second * (t - tracks[k][1]) for k in live]
            )
            cur = np.stack([np.asarray(b, dtype=np.float64) for b in boxes])
            prev = np.stack([tracks[k][0] for k in live])
            iou = box_iou(cur, prev)
            cur_c = (cur[:, :2] + cur[:, 2:]) / 2
            prev_c = (prev[:, :2] + prev[:, 2:]) / 2
            prev_size = np.maximum(prev[:, 2] - prev[:, 0], prev[:, 3] - prev[:, 1])
            shift = np.linalg.norm(cur_c[:, None] - prev_c[None], axis=-1) / np.maximum(prev_size[None], 1e-9)
            # One affinity: overlap first (>= 1); centre closeness (in (0, 1]) second; -1 = no link.
            near = shift <= allowed[None, :]
            affinity = np.where(iou >= self.min_iou, 1.0 + iou, np.where(near, 1.0 / (1.0 + shift), -1.0))
            taken_cur: set[int] = set()
            taken_prev: set[int] = set()
            for flat in np.argsort(-affinity, axis=None):
                ci, pj = np.unravel_index(flat, affinity.shape)
                if affinity[ci, pj] <= 0:
                    break
                if ci in taken_cur or pj in taken_prev:
                    continue
                taken_cur.add(int(ci))
                taken_prev.add(int(pj))
                frame_ids[int(ci)] = live[int(pj)]
        for ci, box in enumerate(boxes):
            if frame_ids[ci] < 0:
                frame_ids[ci] = len(tracks)
                tracks.append((np.asarray(box, dtype=np.float64), t))
            else:
                tracks[frame_ids[ci]] = (np.asarray(box, dtype=np.float64), t)
        return frame_ids


def link_tracks(
    boxes_per_frame: list[list[np.ndarray]], times: list[float], **tracker_options: float
) -> list[list[int]]:
    """Track ids for every face of every frame (see :class:`FaceTracker` for the rules)."""
    tracker = FaceTracker(**tracker_options)
    return [tracker.update(boxes, t) for boxes, t in zip(boxes_per_frame, times, strict=True)]


def interpolate_box(before: np.ndarray, after: np.ndarray, t0: float, t1: float, t: float) -> np.ndarray:
    """The box of a face at time ``t`` between two detections of it (linear in time)."""
    w = 0.0 if t1 <= t0 else (t - t0) / (t1 - t0)
    return (1.0 - w) * np.asarray(before, dtype=np.float64) + w * np.asarray(after, dtype=np.float64)
