"""Faces: detection, the reference crop policy, and tracks across frames.

- ``base``: the :class:`Detection` every detector returns.
- ``mtcnn_torch``: MTCNN through facenet-pytorch.
- ``crop``: the ICPR2020 reference margin and ``scale`` crop.
- ``tracks``: linking faces into tracks, interpolating boxes between detections.
"""

from shared.faces.base import Detection, FaceDetectorLike
from shared.faces.crop import crop_face_scale_policy, enlarge_box
from shared.faces.tracks import FaceTracker, box_iou, interpolate_box, link_tracks


def get_detector(max_side: int = 640, min_face_size: int = 40, min_confidence: float = 0.9):  # type: ignore[no-untyped-def]
    """One MTCNN detector per process and setting (see ``shared.faces.mtcnn_torch``)."""
    from shared.faces.mtcnn_torch import get_detector as _get

    return _get(max_side, min_face_size, min_confidence)


__all__ = [
    "Detection",
    "FaceDetectorLike",
    "FaceTracker",
    "box_iou",
    "crop_face_scale_policy",
    "enlarge_box",
    "get_detector",
    "interpolate_box",
    "link_tracks",
]
