"""Faces: detection, the reference crop policy, and tracks across frames.

- ``base``: the :class:`Detection` every detector returns.
- ``blazeface``: BlazeFace on OpenVINO, the ICPR2020 reference detector (tiles, weighted NMS).
- ``mtcnn``: MTCNN's three networks on OpenVINO, torch-free (converted once from facenet-pytorch).
- ``crop``: the ICPR2020 reference margin and ``scale`` crop.
- ``tracks``: linking faces into tracks, interpolating boxes between detections.
"""

from shared.faces.base import Detection, FaceDetectorLike
from shared.faces.crop import crop_face_scale_policy, enlarge_box
from shared.faces.tracks import FaceTracker, box_iou, interpolate_box, link_tracks


def get_detector(max_side: int = 640, min_face_size: int = 40, min_confidence: float = 0.9) -> FaceDetectorLike:
    """One MTCNN detector (OpenVINO) per process and setting (see ``shared.faces.mtcnn``); its model is
    the setting ``DEEPFAKE_MTCNN_MODEL`` (registry name or folder)."""
    from shared.faces.mtcnn import get_mtcnn_detector
    from shared.settings import get_analyze_settings

    return get_mtcnn_detector(max_side, min_face_size, min_confidence, model=get_analyze_settings().mtcnn_model)


#: the face detectors ``AnalyzeOptions.detector`` (``--detector``, ``DEEPFAKE_DETECTOR``) can name
DETECTORS = ("blazeface", "mtcnn")


def get_detector_by_name(name: str, options: object) -> FaceDetectorLike:
    """The face detector ``name`` with the sizes and thresholds of ``options`` (an ``AnalyzeOptions``).

    ``blazeface`` is the ICPR2020 reference stage (fixed tiling, its own thresholds); ``mtcnn`` takes the
    downscale size, minimum face size and confidence of the options.
    """
    if name == "blazeface":
        from shared.faces.blazeface import get_blazeface_detector
        from shared.settings import get_analyze_settings

        return get_blazeface_detector(get_analyze_settings().blazeface_model)
    if name == "mtcnn":
        return get_detector(
            options.detector_max_side,  # type: ignore[attr-defined]
            options.min_face_size,  # type: ignore[attr-defined]
            options.min_face_confidence,  # type: ignore[attr-defined]
        )
    from shared.errors import InvalidArgument

    raise InvalidArgument(f"unknown face detector {name!r}; choose one of {', '.join(DETECTORS)}")


__all__ = [
    "DETECTORS",
    "get_detector_by_name",
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
