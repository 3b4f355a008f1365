"""The whole reference face stage (the ``face_tracks`` product) against the reference's own output.

``../shared/reference/icpr2020/golden_face_stage.npz`` was made by running the ICPR2020 reference code on
every video and image of ``../shared/media``: frame indices, the kept margin box and score per frame, and the
224×224 crop exactly as the network received it. Ours runs ``make_products(path, ["face_tracks"],
AnalyzeOptions(frames=32, top_face=True, detector="blazeface", face_verification=False))``: the reference
has no face verification (with it, a verified face can replace a more confident torso as the top face).

Tolerances (PIPELINE.md asks for exact indices, boxes within about 1 px, crops' mean absolute difference
well under 1): frame indices exact; margin boxes within ``BOX_PX`` = 1.0 px; detector scores within
``SCORE_ATOL`` = 1e-3; each crop's mean absolute pixel difference at most ``CROP_MAD_FACE`` = 0.5 and a
file's mean at most ``CROP_MAD_FILE`` = 0.1. Measured here (OpenVINO 2026.4, PyAV 18.1, Pillow 13.0): every
crop identical to the reference (difference 0), boxes within 3.1e-4 px, scores within 1.8e-7.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shared.faces import enlarge_box
from shared.faces.stage import PreparedFaces
from shared.pipeline import AnalyzeOptions, make_products

VIDEOS = (
    "dfdc_part10_yhffcuhhjy.mp4",
    "dfdc_trainsample_abofeumbvv.mp4",
    "ffpp_Deepfakes_519_515.mp4",
    "ffpp_original_youtube_004.mp4",
)
IMAGES = ("dfdc_facecrop_aagfhgtpmv-009-00.png", "mesonet_df00204.jpg", "mesonet_real00240.jpg")
BOX_PX = 1.0
SCORE_ATOL = 1e-3
CROP_MAD_FACE = 0.5
CROP_MAD_FILE = 0.1
#: the reference's video score from the same weights: most files within SCORE_CLOSE, none beyond SCORE_WORST
SCORE_CLOSE = 0.005
SCORE_WORST = 0.02

_STAGE: dict[str, PreparedFaces] = {}  # one face stage per file per session, shared by the tests below


@pytest.fixture(scope="session")
def golden(reference_npz):  # -> np.lib.npyio.NpzFile
    return reference_npz("icpr2020/golden_face_stage.npz")


def _path(media: Path, name: str) -> Path:
    return media / ("video" if name in VIDEOS else "image") / name


def _face_stage(media: Path, name: str) -> PreparedFaces:
    if name not in _STAGE:
        options = AnalyzeOptions(frames=32, top_face=True, detector="blazeface", face_verification=False)
        _STAGE[name] = make_products(_path(media, name), ["face_tracks"], options)["face_tracks"]
    return _STAGE[name]


def test_the_golden_set_covers_every_video_and_image(shared_media: Path, golden) -> None:
    on_disk = {p.name for kind in ("video", "image") for p in (shared_media / kind).iterdir() if p.is_file()}
    in_golden = {key.split("/")[0] for key in golden.files}
    assert on_disk == in_golden == set(VIDEOS) | set(IMAGES)


@pytest.mark.parametrize("name", VIDEOS)
def test_frames_are_the_reference_linspace_over_the_container_frame_count(shared_media: Path, golden, name: str) -> None:
    import cv2

    from shared.media.probe import open_media
    from shared.media.video import sample_frame_indices

    capture = cv2.VideoCapture(str(_path(shared_media, name)))
    reported = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    capture.release()
    source = open_media(_path(shared_media, name))
    assert source.video is not None and source.video.frame_count == reported
    reference = np.linspace(0, reported - 1, 32, endpoint=True, dtype=int)
    assert sample_frame_indices(source.video.frame_count, frames=32) == reference.tolist()
    assert (reference == golden[f"{name}/frame_idx"]).all()  # every sampled frame has a face here


@pytest.mark.parametrize(
    "name", [pytest.param(v, marks=pytest.mark.slow) for v in VIDEOS] + list(IMAGES)
)
def test_face_stage_equals_the_reference(shared_media: Path, golden, blazeface_in_cache: Path, name: str) -> None:
    prepared = _face_stage(shared_media, name)
    frame_idx = np.array([f.frame_index for f in prepared.faces])
    assert frame_idx.tolist() == golden[f"{name}/frame_idx"].tolist()
    assert len(prepared.frames) == int(golden[f"{name}/frames_read"])
    from shared.media.probe import open_media

    with open_media(_path(shared_media, name)) as source:
        height, width = source.facts.height, source.facts.width
    assert height and width
    # PreparedFace.box is the detector's own box; the crop (and the reference's stored box) is the margin box.
    boxes = np.array([enlarge_box(f.box, 0.2, (height, width)) for f in prepared.faces])
    box_err = np.abs(boxes - golden[f"{name}/boxes"]).max()
    assert box_err <= BOX_PX, f"margin boxes differ by up to {box_err:.3f} px"
    scores = np.array([f.confidence for f in prepared.faces])
    np.testing.assert_allclose(scores, golden[f"{name}/det_scores"], atol=SCORE_ATOL, rtol=0)
    mad = np.abs(prepared.crops.astype(np.int16) - golden[f"{name}/faces"].astype(np.int16)).mean(axis=(1, 2, 3))
    assert mad.max() <= CROP_MAD_FACE and mad.mean() <= CROP_MAD_FILE, f"crop MAD max {mad.max():.3f}, mean {mad.mean():.3f}"


@pytest.mark.slow
def test_video_score_with_our_crops_equals_the_reference_score(
    shared_media: Path, golden, blazeface_in_cache: Path, video_model_dir: Path
) -> None:
    """With one (test-made) ICPR model, sigmoid(mean logit) of our crops vs of the reference's crops."""
    from shared.video_scoring import FaceScorer

    scorer = FaceScorer.from_folder(video_model_dir)
    ours: list[float] = []
    theirs: list[float] = []
    for name in VIDEOS + IMAGES:
        prepared = _face_stage(shared_media, name)
        for crops, out in ((prepared.crops, ours), (golden[f"{name}/faces"], theirs)):
            out.append(1.0 / (1.0 + np.exp(-float(np.mean(scorer.score(crops).logits)))))
    ours_a, theirs_a = np.array(ours), np.array(theirs)
    # Spread guard: the test-made model scores these files differently, so equal scores mean something.
    assert theirs_a.max() - theirs_a.min() > 0.1, theirs_a
    diff = np.abs(ours_a - theirs_a)
    assert diff.max() <= SCORE_WORST and np.mean(diff <= SCORE_CLOSE) >= 0.75, dict(
        zip(VIDEOS + IMAGES, diff.round(4).tolist(), strict=True)
    )
