"""Face verification (``shared.faces.verify``): the face mesh keeps real faces and drops BlazeFace's false
faces, on a generated faceless clip and on the faceless clip of ``../shared/media``; the setting and the
flag turn it off; the report says what was dropped."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytest
from fixtures_media import astronaut_face

from shared.analysis import AnalyzeOptions
from shared.faces.base import Detection
from shared.faces.landmarks import get_face_mesh
from shared.faces.verify import MIN_PRESENCE, VerifiedDetector


class _Boxes:
    """A detector that reports fixed boxes: the verification, not a detector, is under test here."""

    def __init__(self, boxes: list[list[float]]) -> None:
        self.boxes = boxes

    def detect(self, frames: list[np.ndarray]) -> list[list[Detection]]:
        return [[Detection(np.asarray(b, np.float64), 0.9) for b in self.boxes] for _ in frames]


def _faces(path: Path, **options: object) -> tuple[int, int]:
    """Frames with a face, and frames sampled, with the pipeline's own face stage."""
    from shared.pipeline import make_products

    faces = make_products(path, ["face_tracks"], AnalyzeOptions.from_settings(**options))["face_tracks"]
    return len({f.frame_index for f in faces.faces}), len(faces.frames)


@pytest.fixture(scope="module")
def face_scorer(video_model_dir: Path):  # type: ignore[no-untyped-def]  # a test-made ICPR model, compiled once
    from shared.video_scoring import FaceScorer

    return FaceScorer.from_folder(video_model_dir)


def test_a_real_face_is_kept_and_a_gradient_is_dropped() -> None:
    frame = np.full((360, 640, 3), 128, np.uint8)
    frame[:, :320] = np.linspace(40, 220, 320, dtype=np.uint8)[None, :, None]  # a smooth gradient, left
    frame[80:280, 400:600] = astronaut_face(200)  # a real face photo, right
    # the astronaut's face inside the pasted photo (BlazeFace's box there, rounded), and the same box on the gradient
    face, gradient = [468.0, 105.0, 512.0, 149.0], [168.0, 105.0, 212.0, 149.0]
    verifier = VerifiedDetector(_Boxes([gradient, face]), get_face_mesh())
    presence = verifier.presence(frame, _Boxes([gradient, face]).detect([frame])[0])
    assert presence[1] >= 0.9 and presence[0] < MIN_PRESENCE / 10, presence
    (kept,) = verifier.detect([frame])
    assert [list(d.box) for d in kept] == [face]
    assert (verifier.count.checked, verifier.count.dropped) == (2, 1)
    assert "1 of 2 faces found were left out" in (verifier.count.note() or "")


def test_nothing_checked_says_nothing() -> None:
    verifier = VerifiedDetector(_Boxes([]), get_face_mesh())
    assert verifier.detect([np.zeros((100, 100, 3), np.uint8)]) == [[]]
    assert verifier.count.note() is None


def test_no_face_survives_on_the_generated_faceless_clip(no_face_video: Path, face_scorer) -> None:  # type: ignore[no-untyped-def]
    # Without verification BlazeFace "finds" a face in the moving gradient (docs/faces.md): this is the
    # false face the verification is for; with it (the default), none is left and the report says why.
    from shared.pipeline import analyze

    unverified, sampled = _faces(no_face_video, detector="blazeface", face_verification=False, detect_interval_s=0)
    assert unverified >= 1, "BlazeFace no longer finds a false face here: this test would prove nothing"
    assert _faces(no_face_video, detect_interval_s=0) == (0, sampled)
    report = analyze(no_face_video, face_scorer=face_scorer, options=AnalyzeOptions.from_settings(detect_interval_s=0))
    assert report.video.status == "not_applicable" and report.video.frames_with_faces == 0
    assert any("were left out" in r for r in report.reasons), report.reasons


def test_no_face_survives_on_the_faceless_clip_of_shared_media(shared_media: Path) -> None:
    clip = shared_media / "provenance" / "video1.mp4"
    unverified, _ = _faces(clip, detector="blazeface", face_verification=False, detect_interval_s=0)
    assert unverified >= 1, "BlazeFace no longer finds a false face here: this test would prove nothing"
    assert _faces(clip, detect_interval_s=0) == (0, 30)


def test_real_faces_survive_the_verification(face_video: Path, face_image: Path) -> None:
    for path in (face_video, face_image):
        found, sampled = _faces(path, frames=5)
        assert found == sampled, path.name


def test_the_default_is_blazeface_with_verification_and_both_can_be_changed(monkeypatch: pytest.MonkeyPatch) -> None:
    from shared import settings
    from shared.cli.analyze import add_face_stage_args, face_stage_options

    monkeypatch.delenv("DEEPFAKE_DETECTOR", raising=False)  # the tests' fallback where BlazeFace is absent
    settings.get_analyze_settings.cache_clear()
    parser = argparse.ArgumentParser()
    add_face_stage_args(parser)
    default = face_stage_options(parser.parse_args([]))
    assert (default.detector, default.face_verification) == ("blazeface", True)
    assert AnalyzeOptions().detector == "blazeface" and AnalyzeOptions().face_verification
    off = face_stage_options(parser.parse_args(["--no-face-verification", "--face-detector", "mtcnn"]))
    assert (off.detector, off.face_verification) == ("mtcnn", False)
    monkeypatch.setenv("DEEPFAKE_FACE_VERIFICATION", "false")
    settings.get_analyze_settings.cache_clear()
    assert face_stage_options(parser.parse_args([])).face_verification is False
    settings.get_analyze_settings.cache_clear()
