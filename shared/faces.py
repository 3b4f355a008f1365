"""Faces: detection (facenet-pytorch MTCNN), the reference crop policy, and tracks across frames.

Detection runs in batches on a downscaled copy of each frame (``max_side``) and maps the boxes back to
full resolution, because MTCNN's cost grows with the pixel count while faces that matter stay large
enough at 640 pixels. Crops are cut from the full-resolution frame with the ICPR2020 reference's
``scale`` policy. Every face is kept; faces in successive analysed frames are linked into tracks (one
track per person) by box overlap, falling back to centre distance when a face moved fast.

The detector's weights ship inside the facenet-pytorch package (no download). One detector is built per
process and per setting (``get_detector``).
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache

import numpy as np


def _area_downscale(img, size):  # type: ignore[no-untyped-def]
    """MTCNN's image-pyramid resize, done by OpenCV (INTER_AREA) instead of torch's ``area`` mode.

    Both average exactly the source pixels each output pixel covers, but torch's adaptive average pool
    took ~40% of MTCNN's time here (measured with cProfile on 16 frames of 640x360) and OpenCV's takes
    a few milliseconds. Only downscaling goes through OpenCV; anything else (the 24/48 px crops of the
    later stages, often enlarged) keeps facenet-pytorch's own path.
    """
    import cv2
    import torch
    from torch.nn.functional import interpolate

    height, width = int(size[0]), int(size[1])
    if img.ndim != 4 or height > img.shape[2] or width > img.shape[3] or img.dtype != torch.float32:
        return interpolate(img, size=size, mode="area")
    frames = img.permute(0, 2, 3, 1).contiguous().numpy()
    out = np.stack([cv2.resize(f, (width, height), interpolation=cv2.INTER_AREA) for f in frames])
    if out.ndim == 3:  # a single-channel image loses its channel axis in OpenCV
        out = out[..., None]
    return torch.from_numpy(out).permute(0, 3, 1, 2)


@contextmanager
def _fast_pyramid():  # type: ignore[no-untyped-def]
    """Swap facenet-pytorch's module-level ``imresample`` for :func:`_area_downscale` during one call."""
    from facenet_pytorch.models.utils import detect_face as module

    original = module.imresample
    module.imresample = _area_downscale
    try:
        yield
    finally:
        module.imresample = original


@dataclass
class Detection:
    """A face box in full-resolution display pixels ``(x1, y1, x2, y2)`` and the detector's probability."""

    box: np.ndarray
    confidence: float


class FaceDetector:
    """MTCNN on downscaled frames, batched.

    Args:
        max_side: frames are shrunk so their longer side is at most this before detection.
        min_face_size: smallest face MTCNN looks for, in detector (downscaled) pixels.
        min_confidence: faces below this probability are dropped (MTCNN's last stage output).
        batch_size: frames per MTCNN call.
    """

    def __init__(
        self,
        *,
        max_side: int = 640,
        min_face_size: int = 40,
        min_confidence: float = 0.9,
        batch_size: int = 16,
    ) -> None:
        from facenet_pytorch import MTCNN

        self.max_side = max_side
        self.min_face_size = min_face_size
        self.min_confidence = min_confidence
        self.batch_size = batch_size
        self._mtcnn = MTCNN(keep_all=True, select_largest=False, min_face_size=min_face_size, device="cpu")
        self._lock = threading.Lock()  # one MTCNN call at a time: its torch ops already use every core

    def scale_for(self, height: int, width: int) -> float:
        return min(1.0, self.max_side / float(max(height, width)))

    def detect(self, frames: list[np.ndarray]) -> list[list[Detection]]:
        """Detect faces in RGB ``uint8`` frames; boxes are returned in each frame's own pixels."""
        import cv2
        import torch

        out: list[list[Detection]] = [[] for _ in frames]
        # Batch frames of equal size (one video) together; MTCNN needs a uniform batch.
        groups: dict[tuple[int, int], list[int]] = {}
        for i, frame in enumerate(frames):
            groups.setdefault(frame.shape[:2], []).append(i)
        for (height, width), members in groups.items():
            scale = self.scale_for(height, width)
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            for start in range(0, len(members), self.batch_size):
                chunk = members[start : start + self.batch_size]
                small = np.stack(
                    [
                        cv2.resize(frames[i], size, interpolation=cv2.INTER_AREA) if scale < 1 else frames[i]
                        for i in chunk
                    ]
                )
                with self._lock, torch.inference_mode(), _fast_pyramid():
                    boxes, probs = self._mtcnn.detect(small)
                for i, fboxes, fprobs in zip(chunk, boxes, probs, strict=True):
                    if fboxes is None:
                        continue
                    sx, sy = width / size[0], height / size[1]
                    for box, prob in zip(np.asarray(fboxes, dtype=np.float64), fprobs, strict=True):
                        if prob is None or prob < self.min_confidence:
                            continue
                        full = np.array([box[0] * sx, box[1] * sy, box[2] * sx, box[3] * sy])
                        full[[0, 2]] = full[[0, 2]].clip(0, width)
                        full[[1, 3]] = full[[1, 3]].clip(0, height)
                        if full[2] - full[0] < 2 or full[3] - full[1] < 2:
                            continue
                        out[i].append(Detection(full, float(prob)))
        return out


@lru_cache(maxsize=4)
def get_detector(max_side: int = 640, min_face_size: int = 40, min_confidence: float = 0.9) -> FaceDetector:
    """One detector per process and setting (building MTCNN loads its three networks)."""
    return FaceDetector(max_side=max_side, min_face_size=min_face_size, min_confidence=min_confidence)


def enlarge_box(box: np.ndarray, margin: float) -> np.ndarray:
    """The reference's margin: ``margin`` x box height added left, right and below, twice that on top."""
    x1, y1, x2, y2 = (float(v) for v in box)
    pad = margin * (y2 - y1)
    return np.array([x1 - pad, y1 - 2 * pad, x2 + pad, y2 + pad])


def crop_face_scale_policy(
    frame: np.ndarray, box: np.ndarray, *, margin: float = 0.2, size: int = 224
) -> np.ndarray:
    """Cut one face as the ICPR2020 models expect it (policy ``scale``).

    The box is enlarged by ``margin`` (see :func:`enlarge_box`); a square of side max(height, width)
    centred on it is clamped to the frame and resized to ``size`` x ``size`` with bilinear interpolation.

    Returns:
        ``(size, size, 3)`` RGB ``uint8``.
    """
    import cv2

    height, width = frame.shape[:2]
    x1, y1, x2, y2 = enlarge_box(box, margin)
    side = max(x2 - x1, y2 - y1)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    left = int(round(max(0.0, cx - side / 2)))
    top = int(round(max(0.0, cy - side / 2)))
    right = int(round(min(float(width), cx + side / 2)))
    bottom = int(round(min(float(height), cy + side / 2)))
    if right - left < 1 or bottom - top < 1:
        right, bottom = min(width, left + 1), min(height, top + 1)
    patch = frame[top:bottom, left:right]
    return cv2.resize(patch, (size, size), interpolation=cv2.INTER_LINEAR)


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
