"""What a newsroom reads in a report of ../shared/media: plain findings that agree with the verdicts, and no
development detail (paths of this machine, data files, model folders, stack traces).

The checks are independent of ``shared.findings``: section verdicts come from ``shared.scoring``, the
overall one from ``shared.pipeline.fuse``; the paths are found with regular expressions over the whole
JSON report and the CLI's text summary.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from report_words import development_details

from shared.report import Report

#: one file of each kind a newsroom sends: videos (with and without sound), pictures, signed pictures
#: and a signed video, AI pictures, voice recordings real and synthetic, a lip-synced talking head
PICKS = [
    "video/dfdc_part10_yhffcuhhjy.mp4",
    "video/ffpp_Deepfakes_519_515.mp4",
    "image/dfdc_facecrop_aagfhgtpmv-009-00.png",
    "image/mesonet_real00240.jpg",
    "provenance/CA.jpg",
    "provenance/E-sig-CA.jpg",
    "provenance/no_manifest.jpg",
    "provenance/video1.mp4",
    "aiimage/ai_gpt-image_001.png",
    "aiimage/ai_flux_001.jpg",
    "audio/AudioDeepFakeDetecti__samples__LJ002-0176.wav",
    "audio/AudioDeepFakeDetecti__samples__LJ002-0176_gen.wav",
    "audio/Resemblyzer__audio_data__librispeech_test-other__1998__1998-15444-0000.flac",
    "talking/lipsync_fake_hyperlips_result_01.mp4",
]

#: headlines that call something manipulated: never beside a verdict that does not
_ALARMING = re.compile(r"likely (?:swapped|synthetic|manipulated)|declared AI|signs of manipulation", re.IGNORECASE)


def test_the_development_patterns_catch_what_the_issue_saw() -> None:
    # the strings of issue 21, and a few more a leak would look like: the check must be able to fail
    for leak in [
        "chosen on real and spoofed speech unlike ASVspoof: ../shared/media/manifest-audio.csv (LJSpeech)",
        "model folder /root/.cache/deepfake/models/AASIST",
        "/work/main/.venv/lib/python3.12/site-packages/openvino/runtime.py",
        'Traceback (most recent call last): File "x", line 3',
        "see shared/operating_points/AASIST.json",
    ]:
        assert development_details(leak), leak
    for fine in ["Face: likely swapped or altered (score 0.79, past the fake point 0.65)", "made with c2pa-rs/0.33.1",
                 "0.0-4.0 s", "signed by C2PA Test Signing Cert", "h264 High 4:4:4 Predictive"]:  # fmt: skip
        assert not development_details(fine), fine


def _check_words(report: Report, text: str, name: str) -> None:
    from shared.pipeline import fuse
    from shared.scoring import verdict_for

    leaks = development_details(report.model_dump_json()) + development_details(text)
    assert not leaks, (name, leaks)
    from shared.evidence.registry import evidence_classes

    sections = {kind.section: getattr(report, kind.section) for kind in evidence_classes()}
    assert (report.verdict, report.score) == fuse(list(sections.values()))
    assert report.findings, name
    for finding in report.findings:
        section = sections[finding.section]
        assert section is not None, (name, finding)
        judged = section.status == "analyzed" and section.verdict != "not_applicable"
        # a finding carries its section's verdict, and that verdict is the section's score against its band
        assert finding.verdict == (section.verdict if judged else "not_applicable"), (name, finding)
        band = getattr(section, "band", None)
        if judged and band is not None and getattr(section, "score", None) is not None:
            assert section.verdict == verdict_for(section.score, band), name
        if finding.verdict != "fake":
            assert not _ALARMING.search(finding.headline), (name, finding.headline)
        assert "likely fake" not in finding.text, (name, finding.text)
    # the overall verdict names exactly the findings that share it
    sharing = [f.evidence for f in report.findings if f.verdict == report.verdict and report.verdict != "not_applicable"]
    assert report.verdict_rests_on == sharing, name
    assert report.summary, name
    words = {"fake": "Likely manipulated", "real": "No manipulation detected", "uncertain": "Uncertain",
             "not_applicable": "Could not be assessed"}  # fmt: skip
    assert report.summary.startswith(words[report.verdict]), (name, report.summary)
    for other, label in words.items():
        if other != report.verdict:
            assert not report.summary.startswith(label), name
    # a picture is not a video, and people are counted from 1 for people
    if report.media.kind == "image":
        assert "sampled frames" not in text and "video:" not in text, name
    assert "person 0" not in text and "track 0" not in text, name


def test_no_report_of_shared_media_contains_a_development_path(
    shared_media: Path, video_model_dir: Path, aasist_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every picked file's JSON report and CLI summary: plain words, no path of this machine."""
    from shared.cli import main
    from shared.cli.analyze import summarize

    models = ["--video-model", str(video_model_dir), "--audio-model", str(aasist_model_dir)]
    for pick in PICKS:
        path = shared_media / pick
        if not path.is_file():
            pytest.fail(f"{pick} is missing from ../shared/media")
        code = main(["analyze", str(path), "--frames", "4", *models, "--json"])
        captured = capsys.readouterr()
        assert code == 0, (pick, captured.err)
        report = Report.model_validate_json(captured.out)
        assert not development_details(captured.err), (pick, captured.err)
        _check_words(report, summarize(report), pick)
