"""What every face detector gives the pipeline: boxes in full-resolution frame pixels, with a score."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass
class Detection:
    """A face box in full-resolution display pixels ``(x1, y1, x2, y2)`` and the detector's probability.

    ``box`` is the detector's own box, before any margin: the crop policy adds the margin.
    """

    box: np.ndarray
    confidence: float
    keypoints: np.ndarray | None = None


class FaceDetectorLike(Protocol):
    """A detector: RGB ``uint8`` frames in, one list of detections per frame out (best first)."""

    def detect(self, frames: list[np.ndarray]) -> list[list[Detection]]: ...
