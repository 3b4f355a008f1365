"""The lips panel (``renderLips`` in ``gateway/static/app.js``) in a real headless Chromium: a measured
speaker, and a check that abstained. Reports are built from ``shared.report`` models like the other
page tests (``test_report_render.py``)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from test_report_render import _open, _provenance, _report

from shared.report import Band, LipsSection, LipsTrack

pytestmark = pytest.mark.browser


def _with_lips(section: LipsSection) -> dict:
    report = _report(_provenance("none"))
    report["lips"] = json.loads(section.model_dump_json())
    return report


def test_a_measured_speaker_in_plain_words(gateway_without_queue, new_page):
    band = Band(uncertain_low=0.04, uncertain_high=0.99, source="model_card", description="lips point")
    section = LipsSection(
        status="analyzed", verdict="fake", score=0.995, band=band, speaker_track=1, offset_ms=-120, sync=-1.3,
        speech_s=52.0, min_speech_s=40.0,
        tracks=[LipsTrack(track_id=1, speech_s=52.0, face_px=180.0, offset_ms=-120, sync=-1.3, score=0.995),
                LipsTrack(track_id=2, speech_s=0.0, face_px=40.0, reason="the face is too small (40 pixels tall)")],
    )
    page, problems = _open(new_page, gateway_without_queue, _with_lips(section))
    panel = page.locator('#lips-section[data-panel="lips"]')
    text = panel.inner_text()
    assert "do not follow the voice" in text
    assert "face 1" in text and "120 ms before the picture" in text and "52.0 s (a verdict needs 40 s)" in text
    assert "Face 2: the face is too small" in text
    assert page.locator('#evidence-list > li[data-section="lips"]').count() == 1
    assert problems.errors == []


def test_an_abstaining_check_says_why(gateway_without_queue, new_page):
    section = LipsSection(status="not_applicable", verdict="not_applicable", reason="the file has no audio track")
    page, problems = _open(new_page, gateway_without_queue, _with_lips(section))
    assert "No verdict: the file has no audio track" in page.locator("#lips-section").inner_text()
    assert problems.errors == []


def test_syncnet_shows_its_offset_and_confidence_and_no_verdict(gateway_without_queue, new_page):
    """SyncNet (``shared.evidence.lips.syncnet``): analysed, but its card has no measured point, so no verdict."""
    reason = "the syncnet model (SyncNet) has no operating point measured on labelled clips: it judges nothing"
    section = LipsSection(
        status="analyzed", verdict="not_applicable", reason=reason, speaker_track=0, offset_ms=80, confidence=2.5,
        speech_s=9.0, tracks=[LipsTrack(track_id=0, speech_s=9.0, face_px=180.0, offset_ms=80, confidence=2.5)],
    )
    page, problems = _open(new_page, gateway_without_queue, _with_lips(section))
    text = page.locator("#lips-section").inner_text()
    assert f"No verdict: {reason}" in text
    assert "80 ms after the picture" in text and "SyncNet confidence" in text and "2.50" in text
    assert "not_applicable" not in text
    assert problems.errors == []


def test_the_speakers_mouth_is_plotted_against_the_voice(gateway_without_queue, new_page):
    from shared.report import LipsCurve

    times = [round(0.04 * i, 3) for i in range(50)]
    mouth = [round(0.5 + 0.5 * math.sin(t * 6.0), 3) for t in times]
    voice = [round(0.5 + 0.5 * math.sin(t * 6.0 + 0.3), 3) for t in times]
    section = LipsSection(
        status="not_applicable", verdict="not_applicable", reason="only 2.0 s of speech with a visible face",
        speaker_track=0, offset_ms=-120, sync=3.1, speech_s=2.0, min_speech_s=51.3,
        curve=LipsCurve(times_s=times, mouth=mouth, voice=voice, offset_ms=-120),
    )
    page, problems = _open(new_page, gateway_without_queue, _with_lips(section))
    chart = page.locator("#lips-section #lips-chart svg")
    assert chart.count() == 1 and "mouth opening and the voice" in chart.get_attribute("aria-label")
    for key in ("mouth", "voice"):
        d = chart.locator(f"path.lips-{key}").get_attribute("d")
        assert d.count("L") == len(times) - 1  # one point per moment
    # the mouth line's highest point is the plot's top (the values are 0..1 over the plot)
    ys = [float(p.split(",")[1]) for p in chart.locator("path.lips-mouth").get_attribute("d")[1:].split("L")]
    top = ys[int(np.argmax(mouth))]
    assert top == pytest.approx(min(ys)) and max(ys) > top + 50
    assert "moved by -120 ms" in page.locator("#lips-section .lips-legend").inner_text()
    assert problems.errors == []
