"""Face verification: a second opinion from MediaPipe's face mesh on every face a detector finds.

BlazeFace sees each frame through 128-pixel tiles and "finds" faces in water, distant crowds and smooth
gradients (docs/faces.md: 3 of 30 sampled frames of ``provenance/video1.mp4``, and the test suite's moving
gradient clip, whose one false face was then scored). One false face is enough to turn a faceless video
into a scored one. The face mesh (``shared.faces.landmarks``) was trained to fit 468 points to a face and
also says how sure it is that its input holds one (its face-presence output); a detection whose crop the
mesh does not see as a face is dropped before the face stage tracks, interpolates or crops anything.

:class:`VerifiedDetector` wraps any :class:`~shared.faces.base.FaceDetectorLike`, so the face stage
(``shared.faces.stage``) does not know it is there. It cuts each detection with the reference crop
(``shared.faces.crop.crop_face_scale_policy``) at the face model's margin and size, the very crop the face
stage keeps and the ``face_landmarks`` product gives the mesh: one crop rule, one landmark model.

The threshold :data:`MIN_PRESENCE` is measured (``benchmarks/bench_faces.py --dump``, docs/faces.md): on the
sampled frames of ``../shared/media`` every false face looked at (water, torsos, a head's shadow on a wall)
scored at most 0.042, and true faces in plain view above 0.6; the true faces below 0.05 were half hidden by
hands, blurred by motion or very dark. The two overlap a little, so a threshold trades one for the other:
0.05 keeps every false face seen out, at the cost of 3 of 151 and 5 of 150 frames of the DFDC clips.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shared.faces.base import Detection, FaceDetectorLike
from shared.faces.crop import crop_face_scale_policy
from shared.faces.landmarks import FaceMesh

#: a detection is kept when the face mesh's face-presence probability on its crop is at least this
#: (measured on ../shared/media: docs/faces.md, "Face verification"; log-odds -2.9)
MIN_PRESENCE = 0.05


@dataclass
class VerificationCount:
    """What the verification saw in one analysis: detections checked, and those dropped as not faces."""

    checked: int = 0
    dropped: int = 0

    def note(self) -> str | None:
        """The report's plain-language note, or None when no face was found to check."""
        if not self.checked:
            return None
        if not self.dropped:
            return f"every face found ({self.checked}) was confirmed by a second model that fits face landmarks"
        return (
            f"{self.dropped} of {self.checked} faces found were left out: a second model that fits face "
            "landmarks did not see a face there (for example water, a pattern or a blur)"
        )


class VerifiedDetector:
    """A face detector whose detections the face mesh confirms; the others are dropped.

    Args:
        inner: the detector that finds candidate faces (BlazeFace, MTCNN).
        mesh: the face mesh (``shared.faces.landmarks.get_face_mesh()``).
        margin, size: the face stage's crop (the face model's card), so the mesh sees the crop the stage keeps.
        min_presence: the face-presence probability below which a detection is dropped.

    One per analysis: :attr:`count` adds up what this analysis's detections were (not thread-shared).
    """

    def __init__(
        self,
        inner: FaceDetectorLike,
        mesh: FaceMesh,
        *,
        margin: float = 0.2,
        size: int = 224,
        min_presence: float = MIN_PRESENCE,
    ) -> None:
        self.inner = inner
        self.mesh = mesh
        self.margin = margin
        self.size = size
        self.min_presence = min_presence
        self.count = VerificationCount()

    def presence(self, frame: np.ndarray, detections: list[Detection]) -> np.ndarray:
        """The face mesh's face-presence probability for each detection of one frame, float32 ``(n,)``."""
        if not detections:
            return np.zeros(0, np.float32)
        crops = np.stack(
            [crop_face_scale_policy(frame, d.box, margin=self.margin, size=self.size) for d in detections]
        )
        return self.mesh.landmarks(crops).presence

    def detect(self, frames: list[np.ndarray]) -> list[list[Detection]]:
        """The inner detector's detections that the face mesh sees as faces (order kept: best first)."""
        found = self.inner.detect(frames)
        kept: list[list[Detection]] = []
        for frame, detections in zip(frames, found, strict=True):
            presence = self.presence(frame, detections)
            keep = [d for d, p in zip(detections, presence, strict=True) if p >= self.min_presence]
            self.count.checked += len(detections)
            self.count.dropped += len(detections) - len(keep)
            kept.append(keep)
        return kept
