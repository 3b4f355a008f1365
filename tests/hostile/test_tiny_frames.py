"""Frames smaller than a face detector can see have no faces: not an error (facenet-pytorch's MTCNN
called ``torch.cat`` on an empty image pyramid below ``min_face_size`` and the analysis ended as an
internal error). Both detectors, MTCNN and BlazeFace, on OpenVINO."""

from __future__ import annotations

import numpy as np
import pytest

from shared.analysis import AnalyzeOptions


@pytest.fixture(params=["mtcnn", "blazeface"])  # function scope: after the test cache is set up (the
def detector(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]  # detectors are cached per process)
    from shared.faces import get_detector_by_name

    if request.param == "blazeface":
        request.getfixturevalue("shared_weights")  # its published weights come from ../shared here
    return get_detector_by_name(request.param, AnalyzeOptions(detector=request.param, min_face_size=40))


@pytest.mark.parametrize(
    "height, width",
    [(1, 1), (2, 2), (16, 16), (32, 32), (39, 39), (39, 5000), (5000, 39), (1, 640), (40, 2000), (13, 13)],
)
def test_frames_below_the_smallest_face_have_no_faces(detector, height: int, width: int) -> None:  # type: ignore[no-untyped-def]
    frame = np.random.default_rng(height * width).integers(0, 256, (height, width, 3), dtype=np.uint8)
    assert detector.detect([frame, frame]) == [[], []]


def test_a_mixed_batch_keeps_faces_where_they_can_be(detector) -> None:  # type: ignore[no-untyped-def]
    from fixtures_media import _compose

    face = _compose(360, 480, 0.0, [(140, 60)])
    tiny = np.zeros((16, 16, 3), np.uint8)
    found = detector.detect([face, tiny, face])
    assert len(found[0]) == 1 and found[1] == [] and len(found[2]) == 1
