"""The page in a real headless Chromium against a real gateway process (no job queue needed).

Covers what happens before a job exists: the page loads with its strict CSP and no errors, is keyboard
operable and fits a phone, and rejected uploads (415 wrong type, 413 too large, 503 queue down) show a
clear message. The full upload → report path is in ``test_report_flow.py`` (needs the running stack).
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def _upload(page: object, path: Path) -> None:
    page.set_input_files("#file-input", str(path))


def _alert_text(page: object) -> str:
    alert = page.locator("#message")
    alert.wait_for(state="visible")
    return alert.inner_text()


def test_page_loads_cleanly_and_is_keyboard_operable(gateway_without_queue, new_page, screenshot_dir):
    page, problems = new_page(DESKTOP)
    response = page.goto(gateway_without_queue + "/")
    assert response.status == 200
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_load_state("load")
    assert page.title() == "Deepfake check"
    # The file picker has an accessible name and is reachable by keyboard, with a visible focus ring.
    file_input = page.get_by_label("Choose a file…")
    assert file_input.get_attribute("type") == "file"
    page.keyboard.press("Tab")  # skip link
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "file-input"
    ring = page.evaluate("getComputedStyle(document.querySelector('label[for=file-input]')).outlineStyle")
    assert ring == "solid", "the visible button must show focus when the hidden input has it"
    page.screenshot(path=str(screenshot_dir / "empty-desktop.png"), full_page=True)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.tagName") == "SUMMARY"  # Settings (API key)
    page.keyboard.press("Enter")
    assert page.locator("#api-key").is_visible()
    assert page.get_by_label("API key").count() == 1
    # Live region for progress, alert role for errors.
    assert page.locator("#status-line").get_attribute("aria-live") == "polite"
    assert page.locator("#message").get_attribute("role") == "alert"
    assert problems.errors == []


def test_page_fits_a_phone_screen(gateway_without_queue, new_page, screenshot_dir):
    page, problems = new_page(PHONE, is_mobile=True, has_touch=True)
    page.goto(gateway_without_queue + "/")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px on a 390px-wide screen"
    box = page.locator("label[for=file-input]").bounding_box()
    assert box["height"] >= 44 and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    page.screenshot(path=str(screenshot_dir / "empty-phone.png"), full_page=True)
    assert problems.errors == []


def test_wrong_file_type_is_refused_with_a_clear_message(gateway_without_queue, new_page, screenshot_dir, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("This is a text file, not a video.\n" * 20)
    page, problems = new_page(DESKTOP)
    page.goto(gateway_without_queue + "/")
    _upload(page, notes)
    text = _alert_text(page)
    assert "The file was not accepted" in text
    assert "cannot be analysed" in text  # the gateway's own message
    assert "unsupported_media" in text
    assert page.locator("#report").is_hidden()
    assert page.locator("#stages .stage.failed").count() == 1
    assert page.locator("#status-line").inner_text() == "Upload rejected."
    page.screenshot(path=str(screenshot_dir / "rejected-415-desktop.png"), full_page=True)
    # Only the browser's own record of the refused request, nothing from the page itself.
    assert all("415" in e for e in problems.errors), problems.errors


def test_too_large_file_is_refused_with_a_clear_message(gateway_without_queue, new_page, screenshot_dir, tmp_path):
    big = tmp_path / "long-interview.mp4"
    big.write_bytes(b"\0" * (300 * 1024))  # the test gateway's limit is 64 KB; size is checked first
    page, problems = new_page(PHONE, is_mobile=True, has_touch=True)
    page.goto(gateway_without_queue + "/")
    _upload(page, big)
    text = _alert_text(page)
    assert "larger than the limit" in text
    assert "file_too_large" in text
    assert "shorter clip" in text  # what the reader can do about it
    assert page.locator("#upload-bar").get_attribute("value") is not None
    page.screenshot(path=str(screenshot_dir / "rejected-413-phone.png"), full_page=True)
    assert all("413" in e for e in problems.errors), problems.errors


def test_queue_down_is_explained(gateway_without_queue, new_page, tmp_path):
    import cv2
    import numpy as np

    # A real JPEG under the test gateway's 64 KB limit, so it passes the type and size checks.
    small = tmp_path / "photo.jpg"
    small.write_bytes(cv2.imencode(".jpg", np.full((64, 64, 3), 128, np.uint8))[1].tobytes())
    page, problems = new_page(DESKTOP)
    page.goto(gateway_without_queue + "/")
    _upload(page, small)
    text = _alert_text(page)
    assert "queue_unavailable" in text
    assert "try again" in text.lower()
    assert all("503" in e for e in problems.errors), problems.errors


def test_a_file_dropped_on_the_drop_zone_is_uploaded(gateway_without_queue, new_page):
    page, _ = new_page(DESKTOP)
    page.goto(gateway_without_queue + "/")
    # A real drag-and-drop payload: a DataTransfer holding a File, as the browser builds it for a drop.
    transfer = page.evaluate_handle(
        "(() => { const t = new DataTransfer();"
        " t.items.add(new File(['plain text, not media'], 'dropped.txt', {type: 'text/plain'})); return t; })()"
    )
    page.dispatch_event("#dropzone", "dragenter", {"dataTransfer": transfer})
    assert "over" in page.get_attribute("#dropzone", "class")  # the zone shows it will take the file
    page.dispatch_event("#dropzone", "drop", {"dataTransfer": transfer})
    assert "unsupported_media" in _alert_text(page)
    assert "dropped.txt" in page.locator("#progress-file").inner_text()
    assert "over" not in page.get_attribute("#dropzone", "class")


def test_api_key_from_settings_is_sent(gateway_with_api_key, new_page, tmp_path):
    base, key = gateway_with_api_key
    notes = tmp_path / "notes.txt"
    notes.write_text("not media\n")
    page, _ = new_page(DESKTOP)
    page.goto(base + "/")
    _upload(page, notes)
    text = _alert_text(page)
    assert "unauthorized" in text and "Settings" in text  # tells the reader where the key goes
    page.locator("summary", has_text="Settings").click()
    page.get_by_label("API key").fill(key)
    page.get_by_label("API key").press("Tab")  # commit the field (change event)
    _upload(page, notes)
    # With the key the gateway gets past auth and judges the file itself.
    page.locator("#message", has_text="unsupported_media").wait_for()
    page.reload()
    assert page.get_by_label("API key").input_value() == key  # kept in this browser
