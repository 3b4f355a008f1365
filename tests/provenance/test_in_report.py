"""Provenance as the third detector: its section in the report and its part in the overall verdict."""

from __future__ import annotations

from pathlib import Path

import pytest
from provenance_helpers import SdkSigner, created

from shared.pipeline import AnalyzeOptions, analyze
from shared.report import Report


@pytest.fixture(scope="module")
def face_scorer(video_model_dir: Path):  # type: ignore[no-untyped-def]
    from shared.video_scoring import FaceScorer

    return FaceScorer.from_folder(video_model_dir)


def test_ai_declared_manifest_makes_the_report_fake_whatever_the_faces_say(
    sdk_signer: SdkSigner, jpeg_bytes: bytes, write, face_scorer
) -> None:  # type: ignore[no-untyped-def]
    signed, _ = sdk_signer.sign(jpeg_bytes, "image/jpeg", [created("trainedAlgorithmicMedia", "ImageGen 3")])
    report = analyze(write("gen.jpg", signed), face_scorer=face_scorer, options=AnalyzeOptions())
    Report.model_validate_json(report.model_dump_json())  # the section round-trips through the schema
    assert report.provenance is not None and report.provenance.verdict == "fake"
    assert report.provenance.c2pa.state == "valid" and report.provenance.c2pa.ai_declared
    assert report.video.status == "analyzed"  # the astronaut's face is still scored
    assert report.verdict == "fake"
    assert any(r.startswith("provenance: ") and "generative AI" in r for r in report.reasons)


def test_no_provenance_is_no_evidence(shared_media: Path, face_scorer) -> None:  # type: ignore[no-untyped-def]
    report = analyze(shared_media / "provenance" / "no_manifest.jpg", face_scorer=face_scorer)
    assert report.provenance is not None
    assert report.provenance.c2pa.state == "none" and report.provenance.verdict == "not_applicable"
    # the overall verdict is that of the other evidence alone (faces, the generated-picture check)
    from shared.pipeline import fuse

    others = [report.video, report.generated]
    assert report.verdict == fuse([s for s in others if s is not None])[0]
