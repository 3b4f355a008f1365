"""A report to forward: the page of a real report of a video, a picture, a voice recording and a signed file,
printed to PDF by headless Chromium (what "Save as PDF" makes), read back with poppler's pdftotext and
pdftoppm (page images kept in ``artifacts/web/`` to look at).

The reports are made by the real pipeline on ../shared/media (in-process, as ``deepfake analyze``) and
served by intercepting ``GET /v1/jobs/{id}`` of a real gateway, as a shared link opens them.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}
FILES = {
    "video": "video/dfdc_part10_yhffcuhhjy.mp4",
    "image": "image/dfdc_facecrop_aagfhgtpmv-009-00.png",
    "audio": "audio/AudioDeepFakeDetecti__samples__LJ002-0176_gen.wav",
    "signed": "provenance/CA.jpg",
}
#: what the page shows around a result, never on paper
NOT_ON_PAPER = ["Choose a file", "Drop a file here", "Recent checks in this browser", "Download JSON report",
                "Check another file", "Print or save as PDF", "API documentation"]  # fmt: skip
VERDICT_WORDS = {"fake": "Likely manipulated", "real": "No manipulation detected", "uncertain": "Uncertain",
                 "not_applicable": "Could not be assessed"}  # fmt: skip


def _need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"needs {tool} (apt-get install poppler-utils)")
    return path


@pytest.fixture(scope="module")
def reports(shared_media: Path, video_model_dir: Path, aasist_model_dir: Path) -> dict[str, dict[str, Any]]:
    from shared.analysis import AnalyzeOptions
    from shared.pipeline import analyze
    from shared.roles import get_role

    scorers = {"video": get_role("video").load_local(video_model_dir), "audio": get_role("audio").load_local(aasist_model_dir)}
    options = AnalyzeOptions.from_settings(frames=6)
    return {
        name: json.loads(analyze(shared_media / pick, scorers=scorers, options=options).model_dump_json())
        for name, pick in FILES.items()
    }


def _open(new_page: Any, base: str, job_id: str, report: dict[str, Any]) -> Any:
    job = {"id": job_id, "status": "done", "stage": None, "progress": 1.0, "filename": report["media"]["filename"],
           "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:01Z", "report": report, "error": None}  # fmt: skip
    page, problems = new_page(DESKTOP)
    page.route(f"**/v1/jobs/{job_id}", lambda route: route.fulfill(
        status=200, content_type="application/json", body=json.dumps(job)))  # fmt: skip
    page.route(f"**/v1/jobs/{job_id}/artifacts/**", lambda route: route.fulfill(status=404, body=""))
    page.goto(f"{base}/#job={job_id}")
    page.locator("#report:not([hidden])").wait_for(state="visible")
    return page, problems


@pytest.mark.parametrize("name", list(FILES))
def test_the_printed_report_is_one_readable_document(
    gateway_without_queue: str, new_page: Any, reports: dict[str, dict[str, Any]], screenshot_dir: Path, name: str
) -> None:
    pdftotext, pdftoppm = _need("pdftotext"), _need("pdftoppm")
    report = reports[name]
    page, problems = _open(new_page, gateway_without_queue, f"print-{name}", report)
    page.screenshot(path=str(screenshot_dir / f"report-{name}.png"), full_page=True)
    # the page itself: the findings in words, no bare "% likely fake" beside a verdict
    shown = page.locator("#report").inner_text()
    for finding in report["findings"]:
        assert finding["headline"][:1].upper() + finding["headline"][1:] in shown, finding
    assert "likely fake" not in shown
    assert report["summary"] in shown

    page.emulate_media(media="print")
    pdf = screenshot_dir / f"report-{name}.pdf"
    page.pdf(path=str(pdf), format="A4", print_background=True)
    text = subprocess.run([pdftotext, "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    flat = " ".join(text.split())
    # the verdict and its summary come first, then the findings; the file is named with its fingerprint
    verdict = VERDICT_WORDS[report["verdict"]]
    assert flat.index(verdict) < flat.index(report["findings"][0]["label"]), flat[:400]
    assert report["media"]["sha256"][:16] in flat.replace(" ", "")
    assert " ".join(report["summary"].split()[:8]) in flat
    for finding in report["findings"]:
        assert " ".join(finding["headline"].split()[:4]).lower() in flat.lower(), finding
    for words in NOT_ON_PAPER:
        assert words not in flat, words
    pages = int(subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout.split("Pages:")[1].split()[0])
    assert 1 <= pages <= 6, pages
    subprocess.run([pdftoppm, "-png", "-r", "60", "-f", "1", "-l", "2", str(pdf), str(screenshot_dir / f"report-{name}-page")],
                   check=True)  # fmt: skip
    assert not problems.errors, problems.errors
