"""The ICPR2020 reference crop: margin around the detector box, then the ``scale`` policy."""

from __future__ import annotations

import numpy as np


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
