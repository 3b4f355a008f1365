"""Frames smaller than the face detector can see have no faces: not an error (facenet-pytorch's MTCNN
called ``torch.cat`` on an empty image pyramid below ``min_face_size`` and the analysis ended as an
internal error)."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="module")
def detector():  # type: ignore[no-untyped-def]
    from shared.faces.mtcnn_torch import FaceDetector

    return FaceDetector(min_face_size=40, min_confidence=0.8)


@pytest.mark.parametrize(
    "height, width",
    [(1, 1), (2, 2), (16, 16), (32, 32), (39, 39), (39, 5000), (5000, 39), (1, 640), (40, 2000), (13, 13)],
)
def test_frames_below_the_smallest_face_have_no_faces(detector, height: int, width: int) -> None:  # type: ignore[no-untyped-def]
    # 40x2000 is 13x640 once downscaled for detection: too thin, like 13x13.
    frame = np.random.default_rng(height * width).integers(0, 256, (height, width, 3), dtype=np.uint8)
    assert detector.detect([frame, frame]) == [[], []]


@pytest.mark.parametrize("side", [40, 41, 64])
def test_frames_at_the_smallest_face_still_run_the_detector(detector, side: int) -> None:  # type: ignore[no-untyped-def]
    assert detector.can_see(side, side)
    frame = np.full((side, side, 3), 127, np.uint8)
    assert detector.detect([frame]) == [[]]  # flat grey: MTCNN ran and found nothing


@pytest.mark.parametrize("min_face", [20, 33, 40, 57])
def test_the_boundary_is_where_facenet_stops_failing(min_face: int) -> None:
    """Around ``min_face_size``, ``can_see`` is False exactly where facenet-pytorch itself fails."""
    import torch

    from shared.faces.mtcnn_torch import FaceDetector

    detector = FaceDetector(min_face_size=min_face)
    for side in range(min_face - 2, min_face + 3):
        frame = np.full((1, side, side, 3), 127, np.uint8)
        try:
            with torch.inference_mode():
                detector._mtcnn.detect(frame)  # facenet's own call, without our guard
            facenet_ok = True
        except (RuntimeError, ValueError):  # torch.cat on an empty list
            facenet_ok = False
        assert detector.can_see(side, side) == facenet_ok, (min_face, side)


def test_a_mixed_batch_keeps_faces_where_they_can_be(detector) -> None:  # type: ignore[no-untyped-def]
    from fixtures_media import _compose

    face = _compose(360, 480, 0.0, [(140, 60)])
    tiny = np.zeros((16, 16, 3), np.uint8)
    found = detector.detect([face, tiny, face])
    assert len(found[0]) == 1 and found[1] == [] and len(found[2]) == 1
