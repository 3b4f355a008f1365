"""MTCNN face detection with facenet-pytorch (torch): the detector used until the OpenVINO ports landed.

Detection runs in batches on a downscaled copy of each frame (``max_side``) and maps the boxes back to
full resolution, because MTCNN's cost grows with the pixel count while faces that matter stay large
enough at 640 pixels.

The detector's weights ship inside the facenet-pytorch package (no download). One detector is built per
process and per setting (``get_detector``).
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from functools import lru_cache

import numpy as np

from shared.faces.base import Detection


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

    def can_see(self, height: int, width: int) -> bool:
        """Whether a (downscaled) frame is large enough to hold a face of ``min_face_size``.

        facenet-pytorch builds its image pyramid from ``min(h, w) * 12 / min_face_size`` down to 12 px;
        a frame whose shorter side is below ``min_face_size`` gets no pyramid level at all and MTCNN
        fails (``torch.cat`` on an empty list). Such a frame simply has no face the detector could find.
        The expression is facenet-pytorch's own, so the two agree at the boundary.
        """
        return min(height, width) * (12.0 / self.min_face_size) >= 12

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
            if not self.can_see(size[1], size[0]):
                continue  # too small (or too thin once downscaled) for any face: no detections
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
