"""The ICPR2020 reference crop: the margin around the detector box, then the ``scale`` policy, with Pillow.

The published classifiers were validated on exactly these pixels (``../shared/reference/icpr2020/PIPELINE.md``
step 3), so every detector's box goes through the same two steps:

1. **Margin** (:func:`enlarge_box`): ``m = round(0.2 × box height)``; ``2m`` added on top, ``m`` left, right
   and below, clamped to the frame. Computed in float32 like the reference's tensors: the crop truncates
   these coordinates to integers, so a float64 result could move a crop edge by one pixel.
2. **Scale crop** (:func:`scale_crop_region`, :func:`crop_face_scale_policy`): a square of side
   ``max(h, w)`` of the integer-truncated margin box, centred by floor division, clamped to the frame, cut
   with Pillow's ``Image.crop`` (which rounds each float coordinate) and resized to 224×224 with Pillow's
   bilinear filter. Pillow's bilinear widens its support when shrinking (it antialiases); OpenCV's
   INTER_LINEAR does not and gives visibly different pixels (mean absolute difference of several grey
   levels on downscaled faces), so OpenCV is not a substitute here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def enlarge_box(box: np.ndarray, margin: float, frame_shape: tuple[int, ...] | None = None) -> np.ndarray:
    """The reference's margin: ``round(margin × height)`` added left, right and below, twice that on top.

    Args:
        box: the detector's box ``(x1, y1, x2, y2)`` in frame pixels.
        margin: fraction of the box height (0.2 for the ICPR2020 models).
        frame_shape: ``(H, W, ...)`` of the frame; the enlarged box is clamped to it when given.

    Returns:
        The margin box ``(x1, y1, x2, y2)``, float64 holding the float32 values the reference computes.
    """
    x1, y1, x2, y2 = np.asarray(box, dtype=np.float32)[:4]
    m = np.round(np.float32(margin) * (y2 - y1))  # round half to even, like torch.round
    x1, y1, x2, y2 = x1 - m, y1 - np.float32(2) * m, x2 + m, y2 + m
    if frame_shape is not None:
        height, width = np.float32(frame_shape[0]), np.float32(frame_shape[1])
        x1, y1 = max(x1, np.float32(0)), max(y1, np.float32(0))
        x2, y2 = min(x2, width), min(y2, height)
    return np.array([x1, y1, x2, y2], dtype=np.float32).astype(np.float64)


@dataclass(frozen=True)
class CropRegion:
    """The float ``(left, top, right, bottom)`` handed to Pillow's ``Image.crop`` (which rounds each)."""

    left: float
    top: float
    right: float
    bottom: float


def scale_crop_region(margin_box: np.ndarray, frame_width: int, frame_height: int, size: int = 224) -> CropRegion:
    """The ``scale`` policy's square around a margin box, clamped to the frame (PIPELINE.md step 3)."""
    x1, y1, x2, y2 = (float(v) for v in margin_box[:4])
    w, h = int(x2) - int(x1), int(y2) - int(y1)
    # side = max(h, w) up to float rounding, written as the reference computes it
    ratio = min(size / h, size / w) if (w > 0 and h > 0) else 1.0
    side = int(size / ratio)
    cx, cy = (x1 + x2) // 2, (y1 + y2) // 2
    top = max(cy - side // 2, 0)
    bottom = min(top + side, frame_height)
    left = max(cx - side // 2, 0)
    right = min(left + side, frame_width)
    return CropRegion(left=left, top=top, right=right, bottom=bottom)


def crop_face_scale_policy(
    frame: np.ndarray, box: np.ndarray, *, margin: float = 0.2, size: int = 224
) -> np.ndarray:
    """Cut one face as the ICPR2020 models expect it: reference margin, ``scale`` crop, Pillow bilinear.

    Args:
        frame: the RGB ``uint8`` frame ``(H, W, 3)``.
        box: the detector's own box ``(x1, y1, x2, y2)`` in frame pixels (before margin).
        margin: the model card's margin (fraction of the box height).
        size: the model's input side.

    Returns:
        ``(size, size, 3)`` RGB ``uint8``.
    """
    from PIL import Image

    height, width = frame.shape[:2]
    region = scale_crop_region(enlarge_box(box, margin, frame.shape), width, height, size)
    # Pillow's crop rounds each side (``Image._crop``) and copies those pixels: cutting the same rounded
    # rectangle from the array first gives the same pixels without copying the whole frame into Pillow
    # for every face (a 1080p frame is 6 MB; the copy was most of the crop's cost).
    x0, y0, x1, y1 = (round(v) for v in (region.left, region.top, region.right, region.bottom))
    if 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height:
        face = Image.fromarray(np.ascontiguousarray(frame[y0:y1, x0:x1]))
        return np.asarray(face.resize((size, size), Image.Resampling.BILINEAR), dtype=np.uint8)
    image = Image.fromarray(np.ascontiguousarray(frame))
    face = image.crop((region.left, region.top, region.right, region.bottom))
    if face.width < 1 or face.height < 1:
        # A box reduced to nothing (all outside the frame): one pixel rather than an empty image, so a
        # damaged detection costs a useless crop, not a crash of the whole analysis.
        left, top = min(max(int(region.left), 0), width - 1), min(max(int(region.top), 0), height - 1)
        face = image.crop((left, top, left + 1, top + 1))
    return np.asarray(face.resize((size, size), Image.Resampling.BILINEAR), dtype=np.uint8)
