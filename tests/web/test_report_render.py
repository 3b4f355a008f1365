"""How the page shows a report 2.0, in a real headless Chromium, for reports the stack cannot make here.

The stack test (``test_report_flow.py``) uploads real files; this one covers what those files cannot
reach on this machine: every C2PA state (trusted needs a trust bundle in the worker, remote and unreadable
need crafted files), a band measured for the model with its rates, generator metadata and a decoded
watermark, and hostile strings in every field a file controls. Each report is built from the
``shared.report`` models (so it is a valid 2.0 report), served by intercepting ``GET /v1/jobs/{id}``
of a real gateway, and opened from its address as a shared link is.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from page_words import HOSTILE, STATE_LABELS, provenance_panel_text

from shared.provenance import section as ps
from shared.report import (
    AudioSection,
    AudioSegment,
    Band,
    FaceObservation,
    FrameResult,
    MediaFacts,
    ModelInfo,
    Report,
    Track,
    VideoSection,
)

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}
#: A phrase of each state's plain-words meaning that must be on the page.
STATE_MEANS = {
    "none": "proves nothing either way",
    "valid": "does not show who signed it",
    "trusted": "chains to the trust list",
    "invalid": "the content changed after it was signed",
    "remote": "does not fetch them",
    "unreadable": "could not be read",
}


def _band(low: float, high: float, source: str, description: str, **rates: float) -> Band:
    return Band(uncertain_low=low, uncertain_high=high, source=source, description=description, **rates)


def _model(name: str) -> ModelInfo:
    return ModelInfo(name=name, version=f"{name}:f32:0123456789ab", architecture="test", precision="f32",
                     training_data="test data")


def _provenance(state: str, text: str = "ordinary") -> ps.ProvenanceSection:
    signed = state not in ("none", "remote", "unreadable")
    c2pa = ps.C2paSection(
        state=state,
        ai_declared=signed,
        ai_source_types=["trainedAlgorithmicMedia"] if signed else [],
        signer=text if signed else None,
        signer_name=f"{text} signer" if signed else None,
        signer_verified=state == "trusted",
        claim_generator=f"{text} generator/1.0" if signed else None,
        actions=[
            ps.C2paAction(action="c2pa.created", digital_source_type="trainedAlgorithmicMedia",
                       software_agent=text, ai=True),
            ps.C2paAction(action="c2pa.color_adjustments", in_ingredient=True),
        ] if signed else [],
        ingredients=[ps.C2paIngredient(title=text, relationship="parentOf", has_manifest=False)] if signed else [],
        codes=["signingCredential.untrusted", "assertion.dataHash.mismatch"] if state == "invalid" else [],
        manifests=1 if signed else 0,
        remote_url=f"https://example.invalid/{text}" if state == "remote" else None,
        reason=f"what the reader said about {text}",
    )
    metadata = ps.MetadataSection(
        findings=[ps.MetadataFinding(source="png_text", key=text, value=text, kind="generator", generator=text,
                                  means=f"means {text}", does_not_mean=f"does not mean {text}")],
        errors=[f"unreadable {text}"],
    )
    watermarks = ps.WatermarkSection(
        status="found", checked=["stable-diffusion-v1"],
        found=[ps.WatermarkMatch(name="stable-diffusion-v1", generator=text, message=text, bits=48, bit_errors=1,
                              channel_order="bgr")],
    )
    return ps.ProvenanceSection(verdict="fake", evidence="synthetic_declared", c2pa=c2pa, metadata=metadata,
                             watermarks=watermarks, reasons=[f"provenance reason {text}"])


def _report(provenance: ps.ProvenanceSection, *, video_judged: bool = True) -> dict[str, Any]:
    video_band = _band(0.4, 0.6, "settings", "the configured band: real below 0.40, fake above 0.60; "
                       "no false-alarm rate measured for it")
    audio_band = _band(0.3, 0.9, "model_card", "operating point measured on real speech unlike the "
                       "training data", false_alarm_rate=0.05, catch_rate=0.62)
    if video_judged:
        video = VideoSection(
            status="analyzed", model=_model("FaceNet"), score=0.83, verdict="fake", band=video_band,
            frames_analyzed=4, frames_with_faces=4,
            tracks=[Track(id=0, faces=4, first_time_s=0.0, last_time_s=3.0, mean_logit=1.6, score=0.83,
                          verdict="fake", counted=True)],
            frames=[FrameResult(index=i * 25, time_s=float(i), faces=[FaceObservation(
                track_id=0, box=(10, 10, 60, 60), confidence=0.99, logit=1.6, score=0.83)]) for i in range(4)],
        )
    else:  # faces looked for, none found: the band is in the section but no verdict used it
        video = VideoSection(status="not_applicable", model=_model("FaceNet"), verdict="not_applicable",
                             band=video_band, frames_analyzed=4)
    audio = AudioSection(
        status="analyzed", model=_model("VoiceNet"), score=0.5, verdict="uncertain", band=audio_band,
        duration_s=4.0, segments=[AudioSegment(start_s=0.0, end_s=4.0, score=0.5)],
    )
    report = Report(
        tool_version="test", created_at="2026-01-01T00:00:00+00:00",
        verdict="fake", score=0.83 if video_judged else 0.5,
        media=MediaFacts(filename="clip.mp4", kind="video", size_bytes=1000, sha256="ab" * 32,
                         container="mov,mp4", duration_s=4.0, audio_codec="aac"),
        video=video, audio=audio, provenance=provenance,
        reasons=["overall reason"],
    )
    return json.loads(report.model_dump_json())


def _open(new_page: Any, base: str, report: dict[str, Any], artifacts: dict[str, bytes] | None = None) -> Any:
    """The page showing ``report`` as job ``render-test`` (and its ``artifacts``), opened from its address."""
    job = {"id": "render-test", "status": "done", "stage": None, "progress": 1.0, "filename": "clip.mp4",
           "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:01Z",
           "report": report, "error": None}
    page, problems = new_page(DESKTOP)
    page.route("**/v1/jobs/render-test", lambda route: route.fulfill(
        status=200, content_type="application/json", body=json.dumps(job)))
    def serve(data: bytes) -> Any:  # Playwright passes (route, request) to a handler that takes two arguments
        return lambda route: route.fulfill(status=200, content_type="image/png", body=data)

    for name, data in (artifacts or {}).items():
        page.route(f"**/v1/jobs/render-test/artifacts/{name}", serve(data))
    page.goto(f"{base}/#job=render-test")
    page.locator("#report:not([hidden])").wait_for(state="visible")
    shown = page.locator("#report").inner_text()
    assert "null" not in shown and "undefined" not in shown and "[object" not in shown
    return page, problems


def test_each_check_shows_its_verdict_score_and_the_band_it_used_before_the_overall_verdict(
    gateway_without_queue, new_page, screenshot_dir
):
    report = _report(_provenance("valid"))
    page, problems = _open(new_page, gateway_without_queue, report)
    items = page.locator("#evidence-list > li")
    assert [items.nth(i).get_attribute("data-section") for i in range(items.count())] == [
        "video", "audio", "provenance"]
    faces, voice, prov = (page.locator(f'#evidence-list > li[data-section="{s}"]') for s in
                          ("video", "audio", "provenance"))
    assert faces.locator(".evidence-verdict").inner_text() == "Likely manipulated"
    assert "83% likely fake" in faces.inner_text()
    assert faces.locator(".evidence-band").inner_text() == (
        "Band used: real below 40%, uncertain 40%–60%, fake above 60% (configured band).")
    assert "The configured band: real below 0.40, fake above 0.60" in faces.inner_text()
    assert voice.locator(".evidence-verdict").inner_text() == "Uncertain"
    assert voice.locator(".evidence-band").inner_text() == (
        "Band used: real below 30%, uncertain 30%–90%, fake above 90% (operating point measured for this model).")
    assert "Operating point measured on real speech unlike the training data" in voice.inner_text()
    assert "calls 5% of real recordings fake, catches 62% of fakes" in voice.inner_text()
    # Provenance states facts: a verdict and what the evidence is, no score and no band.
    assert prov.locator(".evidence-verdict").inner_text() == "Likely manipulated"
    assert prov.locator(".evidence-band, .meter").count() == 0
    assert "declares that it was made with generative AI" in prov.inner_text()
    # One probability bar per scored check, each with that check's own band.
    assert faces.locator(".meter-band").get_attribute("style") == "left: 40%; width: 20%;"
    assert voice.locator(".meter-band").get_attribute("style") == "left: 30%; width: 60%;"
    # The overall verdict comes after the checks, and says which checks gave it.
    after = page.evaluate(
        "document.querySelector('#evidence').compareDocumentPosition(document.querySelector('#verdict'))"
        " & Node.DOCUMENT_POSITION_FOLLOWING")
    assert after, "the per-check verdicts must come before the overall verdict"
    assert page.locator("#verdict-label").inner_text() == "Likely manipulated"
    assert page.locator("#verdict-sub").inner_text() == (
        "Highest fake probability among the checks: 83%. Given by: faces, content credentials (see above).")
    assert page.locator("#reasons").inner_text() == "overall reason"
    # The charts use the band of their own section.
    assert page.locator("#timeline-band").inner_text() == (
        "Dashed line: above 60% counts as fake. Shaded band: 40%–60% is uncertain.")
    assert page.locator("#timeline-chart svg circle").count() == 4
    assert page.locator("#tracks .track-score.high").count() == 1  # the track's own verdict: fake
    assert page.locator("#segment-band").inner_text() == (
        "Dashed line: above 90% counts as fake. Shaded band: 30%–90% is uncertain.")
    page.screenshot(path=str(screenshot_dir / "report-bands-desktop.png"), full_page=True)
    assert problems.errors == []


def test_a_check_that_judged_nothing_shows_no_band(gateway_without_queue, new_page):
    page, problems = _open(new_page, gateway_without_queue, _report(_provenance("none"), video_judged=False))
    faces = page.locator('#evidence-list > li[data-section="video"]')
    assert faces.locator(".evidence-verdict").inner_text() == "No face found"
    assert faces.locator(".evidence-band, .meter").count() == 0
    assert "Band used" not in faces.inner_text()
    assert page.locator("#evidence-list .evidence-band").count() == 1  # the voice's only
    assert problems.errors == []


@pytest.mark.parametrize("state", sorted(STATE_LABELS))
def test_content_credentials_state_in_plain_words(gateway_without_queue, new_page, state):
    page, problems = _open(new_page, gateway_without_queue, _report(_provenance(state)))
    panel = page.locator("#provenance-section")
    assert panel.get_attribute("data-panel") == "provenance"
    assert page.locator("#c2pa-state .c2pa-state-label").text_content() == f"State: {STATE_LABELS[state]} ({state})"
    text = panel.inner_text()
    assert STATE_MEANS[state] in text
    assert "what the reader said about ordinary" in text
    if state == "invalid":
        assert "assertion.dataHash.mismatch: the content changed after signing" in text
    if state == "remote":
        assert "https://example.invalid/ordinary (not fetched)" in text
    if state in ("valid", "invalid"):
        assert "ordinary (ordinary signer) — not verified" in text
    if state == "trusted":
        assert "ordinary (ordinary signer) — verified against the trust list" in text
    assert problems.errors == []


def test_everything_a_file_controls_is_shown_as_text(gateway_without_queue, new_page, screenshot_dir):
    page, problems = _open(new_page, gateway_without_queue, _report(_provenance("valid", HOSTILE)))
    # Signer, claim generator, action agent, ingredient, metadata key/value/meaning, watermark: all text.
    text = provenance_panel_text(page, signer=HOSTILE, generator=f"{HOSTILE} generator/1.0", agent=HOSTILE)
    assert f"means {HOSTILE}" in text and f"does not mean {HOSTILE}" in text
    assert f"embedded by {HOSTILE}" in text
    assert page.locator("#reasons").inner_text() == "overall reason"
    # AI-declared actions are marked in words, not by colour alone.
    ai = page.locator("#c2pa-actions li.ai")
    assert ai.count() == 1 and ai.locator(".tag").inner_text() == "AI-declared"
    assert page.locator("#c2pa-actions li:not(.ai) .tag").count() == 0
    page.screenshot(path=str(screenshot_dir / "report-hostile-provenance-desktop.png"), full_page=True)
    assert problems.errors == []


def test_spectrogram_caption_says_what_the_picture_shows(gateway_without_queue, new_page):
    import cv2
    import numpy as np

    report = _report(_provenance("none"))
    # A 15-minute file of which the server analysed the first 10 minutes (its max_audio_seconds).
    report["media"]["duration_s"] = 900.0
    report["audio"]["duration_s"] = 600.0
    report["artifacts"] = [{"name": "audio_mel.png", "kind": "mel_spectrogram", "track_id": None,
                            "media_type": "image/png"}]
    Report.model_validate(report)
    ok, png = cv2.imencode(".png", np.zeros((240, 400, 3), np.uint8))
    assert ok
    page, problems = _open(new_page, gateway_without_queue, report, {"audio_mel.png": png.tobytes()})
    page.locator("#mel-figure").wait_for(state="visible")
    caption = page.locator("#mel-caption").inner_text()
    assert caption.startswith("Log-mel power spectrogram of the first 10:00.0 of the file's 15:00.0 of audio")
    assert "80 mel frequency bands (low frequencies at the bottom)" in caption
    assert "not a map of what the model found suspicious" in caption
    assert page.locator("#mel-img").get_attribute("alt") == "Log-mel spectrogram of the analysed audio"
    assert problems.errors == []
