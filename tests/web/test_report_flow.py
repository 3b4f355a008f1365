"""Upload → progress → report, in a real headless Chromium against the real running stack.

A real labelled clip from ``../shared/media`` is uploaded through the page's file picker (a generated
one when that folder is absent); the test waits for the report and checks what the page shows against
the job JSON the API returns for the same job: verdict, score, one chart point per scored face, one bar
per audio window, every thumbnail and the spectrogram actually decoded by the browser, and the
downloaded JSON equal to the report. Screenshots at desktop and phone size go to ``artifacts/web/``.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from urllib.parse import unquote

import httpx
import pytest

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
REPORT_TIMEOUT_MS = 180_000
VERDICT_LABELS = {
    "fake": "Likely manipulated",
    "real": "No manipulation detected",
    "uncertain": "Uncertain",
    "not_applicable": "Could not be assessed",
}
# A 10 s DFDC clip with one face and an AAC voice track: exercises both halves of the report in one job.
SHARED_VIDEO = "video/dfdc_part10_yhffcuhhjy.mp4"
SHARED_AUDIO = "audio/AudioDeepFakeDetecti__samples__LJ002-0176_gen.wav"


def _pick_media(request: pytest.FixtureRequest, relative: str, generated: str) -> Path:
    """The real file from ../shared/media when it is there, else the generated fixture of the same kind."""
    try:
        path = request.getfixturevalue("shared_media") / relative
    except pytest.skip.Exception:  # ../shared is absent on this machine
        return request.getfixturevalue(generated)
    return path if path.exists() else request.getfixturevalue(generated)


def _job_id(page) -> str:
    match = re.search(r"job=([^&]+)", page.url)
    assert match, f"the page did not record the job in its address: {page.url}"
    return unquote(match.group(1))


def _wait_for_report(page) -> None:
    # Locator waits, not wait_for_function: the page's CSP forbids the eval that the latter relies on.
    page.locator("#report:not([hidden]), #message:not([hidden])").first.wait_for(
        state="visible", timeout=REPORT_TIMEOUT_MS
    )
    if page.locator("#report").is_hidden():
        pytest.fail("the page showed an error instead of a report: " + page.locator("#message").inner_text())


def _images_decoded(page, selector: str) -> list[int]:
    """naturalWidth of every image matching ``selector`` once all have loaded (0 = broken)."""
    script = f"[...document.querySelectorAll({selector!r})].map(i => i.complete && i.src ? i.naturalWidth : -1)"
    deadline = time.monotonic() + 15
    while True:
        widths = page.evaluate(script)
        if all(w >= 0 for w in widths) or time.monotonic() > deadline:
            return widths
        page.wait_for_timeout(100)


def _check_common(page, job: dict) -> None:
    report = job["report"]
    assert page.locator("#verdict-label").inner_text() == VERDICT_LABELS[report["verdict"]]
    if report["score"] is not None:
        assert f"{round(report['score'] * 100)}%" in page.locator("#verdict-sub").inner_text()
    for reason in report["reasons"]:
        assert reason in page.locator("#reasons").inner_text()
    facts = page.locator("#media-facts").inner_text()
    assert report["media"]["sha256"] in facts
    models = page.locator("#models").inner_text()
    for section in ("video", "audio"):
        model = report[section]["model"]
        if model and report[section]["status"] == "analyzed":
            assert model["name"] in models
            if model.get("training_data"):
                assert model["training_data"] in models
    assert page.locator("#job-bar").get_attribute("value") == "1"


def test_video_upload_shows_progress_and_the_full_report(request, stack_url, new_page, screenshot_dir):
    video = _pick_media(request, SHARED_VIDEO, "face_video")
    page, problems = new_page(DESKTOP)
    polled: list[dict] = []
    page.on("response", lambda r: polled.append(r.json()) if "/v1/jobs/" in r.url and "/artifacts/" not in r.url
            and r.status == 200 else None)
    page.goto(stack_url + "/")
    page.set_input_files("#file-input", str(video))
    # Progress is visible while the job runs: the stage list and the live status line.
    page.locator("#progress-card").wait_for(state="visible")
    assert video.name in page.locator("#progress-file").inner_text()
    _wait_for_report(page)
    job_id = _job_id(page)
    job = httpx.get(f"{stack_url}/v1/jobs/{job_id}", timeout=10).json()
    report = job["report"]
    assert job["status"] == "done"
    assert any(p["status"] in ("queued", "running") for p in polled), "the page never showed the job in progress"
    assert page.locator("#status-line").inner_text() == "Analysis finished."
    _check_common(page, job)

    video_section = report["video"]
    scored = [f for fr in video_section["frames"] for f in fr["faces"] if f["score"] is not None]
    if scored:
        # The timeline: one point per scored face, one legend entry per person.
        assert page.locator("#timeline-chart svg circle").count() == len(scored)
        persons = {f["track_id"] for f in scored}
        assert page.locator("#timeline-legend li").count() == len(persons)
        assert page.locator("#tracks .track").count() == len({t["id"] for t in video_section["tracks"]} | persons)
    thumbs = [a for a in report["artifacts"] if a["kind"] in ("face_thumbnail", "heatmap_overlay")]
    if video_section["tracks"]:
        assert thumbs, "the report lists face tracks but no thumbnails for the page"
    widths = _images_decoded(page, "#tracks img")
    assert len(widths) == len(thumbs) and all(w > 0 for w in widths), widths

    audio = report["audio"]
    if audio["status"] == "analyzed":
        assert page.locator("#audio-section").is_visible()
        assert page.locator("#segment-chart svg line.seg").count() == len(audio["segments"])
        if any(a["kind"] == "mel_spectrogram" for a in report["artifacts"]):
            assert all(w > 0 for w in _images_decoded(page, "#mel-img"))

    with page.expect_download() as download:
        page.get_by_role("button", name="Download JSON report").click()
    assert json.loads(Path(download.value.path()).read_text()) == report
    assert download.value.suggested_filename.endswith(".deepfake-report.json")

    assert page.locator("#recent li").count() >= 1
    assert video.name in page.locator("#recent").inner_text()
    page.screenshot(path=str(screenshot_dir / "report-video-desktop.png"), full_page=True)
    assert problems.errors == []

    # The same job reopened from its address on a phone-sized screen (how a shared link or reload works).
    phone, phone_problems = new_page(PHONE, is_mobile=True, has_touch=True)
    phone.goto(f"{stack_url}/#job={job_id}")
    _wait_for_report(phone)
    _check_common(phone, job)
    _images_decoded(phone, "#tracks img")
    overflow = phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the report scrolls sideways by {overflow}px on a phone"
    phone.screenshot(path=str(screenshot_dir / "report-video-phone.png"), full_page=True)
    assert phone_problems.errors == []


def test_audio_upload_shows_the_segment_timeline_and_spectrogram(request, stack_url, new_page, screenshot_dir):
    audio_file = _pick_media(request, SHARED_AUDIO, "speech_audio")
    page, problems = new_page(DESKTOP)
    page.goto(stack_url + "/")
    page.set_input_files("#file-input", str(audio_file))
    _wait_for_report(page)
    job = httpx.get(f"{stack_url}/v1/jobs/{_job_id(page)}", timeout=10).json()
    report = job["report"]
    _check_common(page, job)
    assert page.locator("#video-section").is_hidden()  # no faces section for a voice recording
    assert page.locator("#audio-section").is_visible()
    audio = report["audio"]
    assert page.locator("#segment-chart svg line.seg").count() == len(audio["segments"])
    table = page.locator("#segments-table tbody tr")
    assert table.count() == len(audio["segments"])
    mel = [a for a in report["artifacts"] if a["kind"] == "mel_spectrogram"]
    if mel:
        assert all(w > 0 for w in _images_decoded(page, "#mel-img"))
    page.screenshot(path=str(screenshot_dir / "report-audio-desktop.png"), full_page=True)
    assert problems.errors == []


def test_failed_and_not_applicable_jobs_are_explained(stack_url, new_page, screenshot_dir, bad_inputs, tmp_path):
    import cv2
    import numpy as np

    page, _ = new_page(DESKTOP)
    page.goto(stack_url + "/")
    # An mp4 cut short: it passes the gateway's type check, then the worker cannot decode it.
    page.set_input_files("#file-input", str(bad_inputs["truncated"]))
    page.locator("#message").wait_for(state="visible", timeout=REPORT_TIMEOUT_MS)
    job = httpx.get(f"{stack_url}/v1/jobs/{_job_id(page)}", timeout=10).json()
    assert job["status"] == "failed"
    text = page.locator("#message").inner_text()
    assert "The analysis failed" in text
    assert job["error"]["code"] in text
    assert page.locator("#report").is_hidden()
    assert page.locator("#stages .stage.failed").count() == 1
    page.screenshot(path=str(screenshot_dir / "failed-desktop.png"), full_page=True)

    # A picture with no face and no sound: nothing to assess, and the page says so (not a verdict).
    yy, xx = np.mgrid[0:240, 0:320]
    landscape = np.dstack([xx * 255 // 320, yy * 255 // 240, np.full_like(xx, 90)]).astype(np.uint8)
    picture = tmp_path / "landscape.png"
    cv2.imwrite(str(picture), landscape)
    page.set_input_files("#file-input", str(picture))
    page.locator("#message").wait_for(state="hidden")
    _wait_for_report(page)
    job = httpx.get(f"{stack_url}/v1/jobs/{_job_id(page)}", timeout=10).json()
    assert job["report"]["verdict"] == "not_applicable"
    _check_common(page, job)
    assert page.locator("#meter-wrap").is_hidden()  # no score, so no probability bar
    assert page.locator("#tracks .track").count() == 0
    assert page.locator("#reasons li").count() == len(job["report"]["reasons"]) > 0
    page.screenshot(path=str(screenshot_dir / "not-applicable-desktop.png"), full_page=True)
