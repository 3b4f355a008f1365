"""Upload → progress → report, in a real headless Chromium against the real running stack.

A real labelled clip from ``../shared/media`` is uploaded through the page's file picker (a generated
one when that folder is absent); the test waits for the report and checks what the page shows against
the job JSON the API returns for the same job: each check's verdict, score and the band it used (and no
band where a check judged nothing), then the overall verdict; one chart point per scored face, one bar
per audio window, every thumbnail and the spectrogram actually decoded by the browser, the Content
credentials panel, and the downloaded JSON equal to the report. What each file must show is asserted
unconditionally: the clip has a scored face and scored speech, the voice recording a spectrogram. Then
C2PA: a picture signed in the test (markup in the signer and generator names, AI declared) and the
labelled valid / invalid files of ``../shared/media/provenance``. Screenshots go to ``artifacts/web/``.
"""

from __future__ import annotations

import json
import math
import re
import time
from pathlib import Path
from urllib.parse import unquote

import httpx
import pytest
from page_words import HOSTILE, STATE_LABELS, provenance_panel_text

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




def _pct(p: float) -> str:
    """A probability as the page writes it (JavaScript's Math.round: halves go up)."""
    return f"{math.floor(p * 100 + 0.5)}%"


def _pct_bound(p: float) -> str:
    """A band's bound as the page writes it: never rounded onto 0 % or 100 % when it is not."""
    if 0 < p < 0.01:
        return f"{float(f'{p * 100:.2g}'):g}%"
    digits = 0
    while digits < 6 and p < 1 and math.floor(p * 100 * 10**digits + 0.5) / 10**digits >= 100:
        digits += 1
    return f"{p * 100:.{digits}f}%" if digits else _pct(p)


def _check_evidence(page, report: dict) -> None:
    """Each check's line: its verdict, its score, and the band its verdict used (only when it used one)."""
    kind = report["media"]["kind"]
    expected = []
    for section in ("video", "audio", "provenance", "lips", "generated"):
        sec = report.get(section)
        if sec is None or (section == "video" and kind == "audio" and sec["status"] != "analyzed") or (
            section == "audio" and kind == "image"
        ) or (section == "lips" and kind != "video") or (section == "generated" and kind != "image"):
            continue
        expected.append(section)
    items = page.locator("#evidence-list > li")
    assert [items.nth(i).get_attribute("data-section") for i in range(items.count())] == expected
    for section in expected:
        sec = report[section]
        item = page.locator(f'#evidence-list > li[data-section="{section}"]')
        judged = sec["status"] == "analyzed" and sec["verdict"] != "not_applicable"
        verdict = item.locator(".evidence-verdict").inner_text()
        if judged:
            assert verdict == VERDICT_LABELS[sec["verdict"]], (section, verdict)
        else:
            assert verdict not in VERDICT_LABELS.values(), (section, verdict)
        band = sec.get("band")
        if judged and band is not None:
            text = item.locator(".evidence-band").inner_text()
            assert f"real below {_pct_bound(band['uncertain_low'])}" in text
            assert f"fake above {_pct_bound(band['uncertain_high'])}" in text
            description = item.locator(".evidence-band-description").inner_text()
            assert description.lower() == band["description"].lower()
        else:  # no band is shown that no verdict used
            assert item.locator(".evidence-band, .meter").count() == 0, section
        finding = next((f for f in report.get("findings", []) if f["section"] == section), None)
        if finding is not None:  # report 2.1: the finding's words, and where the score falls in its band
            assert item.locator("h4").inner_text() == finding["label"]
            assert item.locator(".evidence-finding").inner_text().lower() == finding["headline"].lower()
            if finding.get("score_position"):
                assert item.locator(".evidence-score").inner_text().lower() == finding["score_position"].lower()
            assert "likely fake" not in item.inner_text()
        elif judged and sec.get("score") is not None:
            assert f"{_pct(sec['score'])} likely fake" in item.locator(".evidence-score").inner_text()
    # The overall verdict comes after the checks.
    assert page.evaluate(
        "document.querySelector('#evidence').compareDocumentPosition(document.querySelector('#verdict'))"
        " & Node.DOCUMENT_POSITION_FOLLOWING"
    )


def _check_provenance(page, report: dict) -> None:
    """The Content credentials panel against the report's provenance section."""
    prov = report["provenance"]
    assert prov is not None, "the worker did not run the provenance detector"
    panel = page.locator("#provenance-section")
    assert panel.is_visible()
    c2pa = prov["c2pa"]
    label = page.locator("#c2pa-state .c2pa-state-label").text_content()
    assert label == f"State: {STATE_LABELS[c2pa['state']]} ({c2pa['state']})"
    text = panel.inner_text()
    assert c2pa["reason"] in text
    for finding in prov["metadata"]["findings"]:
        assert finding["value"] in text and finding["means"] in text and finding["does_not_mean"] in text
    for action in c2pa["actions"]:
        assert action["action"] in text
    assert page.locator("#c2pa-actions li.ai").count() == sum(a["ai"] for a in c2pa["actions"])
    for code in c2pa["codes"]:
        assert code in page.locator("#c2pa-codes").inner_text()
    if c2pa["signer"]:
        verified = "verified against the trust list" if c2pa["signer_verified"] else "not verified"
        assert f"{c2pa['signer']}" in text and verified in text
    if c2pa["claim_generator"]:
        assert c2pa["claim_generator"] in text


def _check_spectrogram(page, report: dict) -> None:
    """The spectrogram is there, decoded, and its caption says what it shows."""
    mel = [a for a in report["artifacts"] if a["kind"] == "mel_spectrogram"]
    assert len(mel) == 1, report["artifacts"]
    assert page.locator("#mel-figure").is_visible()
    assert all(w > 0 for w in _images_decoded(page, "#mel-img"))
    caption = page.locator("#mel-caption").inner_text()
    assert caption.startswith("Log-mel power spectrogram of ")
    assert "80 mel frequency bands (low frequencies at the bottom)" in caption
    assert "25 ms windows every 10 ms" in caption and "loudest 80 dB" in caption


def _check_common(page, job: dict) -> None:
    report = job["report"]
    assert report["schema_version"].split(".")[0] == "2"
    _check_evidence(page, report)
    assert page.locator("#verdict-label").inner_text() == VERDICT_LABELS[report["verdict"]]
    if report.get("summary"):  # report 2.1: the summary and the findings the verdict rests on
        assert page.locator("#verdict-summary").inner_text() == report["summary"]
        for finding in report["findings"]:
            if finding["evidence"] in report["verdict_rests_on"]:
                assert finding["headline"] in page.locator("#verdict-sub").inner_text()
    elif report["score"] is not None:
        assert _pct(report["score"]) in page.locator("#verdict-sub").inner_text()
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
    _check_provenance(page, report)
    shown = page.locator("#report").inner_text()
    assert "null" not in shown and "undefined" not in shown
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

    # A real clip with one person talking: faces found and scored, the voice scored, a spectrogram.
    video_section = report["video"]
    assert video_section["status"] == "analyzed", report["reasons"]
    scored = [f for fr in video_section["frames"] for f in fr["faces"] if f["score"] is not None]
    assert scored, "no face of the clip was scored"
    # The timeline: one point per scored face, one legend entry per person, one card per person.
    assert page.locator("#timeline-chart svg circle").count() == len(scored)
    persons = {f["track_id"] for f in scored}
    assert page.locator("#timeline-legend li").count() == len(persons)
    assert page.locator("#tracks .track").count() == len({t["id"] for t in video_section["tracks"]} | persons)
    thumbs = [a for a in report["artifacts"] if a["kind"] in ("face_thumbnail", "heatmap_overlay")]
    assert thumbs, "the report lists face tracks but no thumbnails for the page"
    widths = _images_decoded(page, "#tracks img")
    assert len(widths) == len(thumbs) and all(w > 0 for w in widths), widths

    audio = report["audio"]
    assert audio["status"] == "analyzed", audio
    assert page.locator("#audio-section").is_visible()
    assert page.locator("#segment-chart svg line.seg").count() == len(audio["segments"]) > 0
    _check_spectrogram(page, report)
    # A clip nobody signed: no content credentials, which the page says proves nothing.
    assert report["provenance"]["c2pa"]["state"] == "none"
    assert "proves nothing either way" in page.locator("#c2pa-state").inner_text()

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
    assert audio["status"] == "analyzed" and len(audio["segments"]) > 0, audio
    assert page.locator('#evidence-list > li[data-section="video"]').count() == 0
    _check_spectrogram(page, report)
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
    # No face to judge; the one thing judged is the whole picture (a code-drawn gradient: the
    # generated-picture check may well call it generated), so the overall verdict is that check's.
    report = job["report"]
    assert report["video"]["verdict"] == "not_applicable"
    generated = report.get("generated") or {}
    assert report["verdict"] == generated.get("verdict", "not_applicable")
    _check_common(page, job)
    not_judged = '#evidence-list > li:not([data-section="generated"])'
    assert page.locator(f"{not_judged} .meter, {not_judged} .evidence-band").count() == 0  # nothing else judged
    assert page.locator('#evidence-list > li[data-section="video"] .evidence-verdict').inner_text() == "No face found"
    assert page.locator('#evidence-list > li[data-section="provenance"] .evidence-verdict').inner_text() == (
        "Nothing found")
    assert page.locator("#tracks .track").count() == 0
    assert page.locator("#reasons li").count() == len(job["report"]["reasons"]) > 0
    page.screenshot(path=str(screenshot_dir / "not-applicable-desktop.png"), full_page=True)


# ---------------------------------------------------------------- Content credentials (C2PA)
#: ``HOSTILE`` (page_words) for certificate names, which X.509 limits to 64 characters.
HOSTILE_NAME = "<img src=x onerror=\"document.title=1\"><b>Evil</b> & Co"
IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"


def _hostile_signing_identity() -> tuple[bytes, bytes]:
    """(certificate chain PEM, private key PEM): a test CA and a signing certificate whose names are markup.

    Shaped like the C2PA test certificate of ``../shared/reference/c2pa`` (ES256, e-mail protection EKU,
    digital signature + non-repudiation), so the SDK signs with it and validation says only "untrusted".
    """
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)

    def name(org: str, common: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
                          x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
                          x509.NameAttribute(NameOID.COMMON_NAME, common)])

    def usage(**on: bool) -> x509.KeyUsage:
        flags = dict.fromkeys(("digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
                               "key_agreement", "key_cert_sign", "crl_sign", "encipher_only", "decipher_only"), False)
        return x509.KeyUsage(**{**flags, **on})

    def certificate(subject: x509.Name, issuer: x509.Name, key: ec.EllipticCurvePrivateKey) -> x509.CertificateBuilder:
        return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False))

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = name("Web Test Root", "Web Test Root CA")
    ca = (certificate(ca_name, ca_name, ca_key)
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(usage(key_cert_sign=True, crl_sign=True), critical=True)
          .sign(ca_key, hashes.SHA256()))
    leaf = (certificate(name(HOSTILE_NAME, f"{HOSTILE_NAME} signer"), ca_name, key)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(usage(digital_signature=True, content_commitment=True), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=True)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    chain = leaf.public_bytes(pem) + ca.public_bytes(pem)
    private = key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return chain, private


def _sign_ai_generated_jpeg(path: Path) -> None:
    """A picture signed as a generator signs its output: one ``c2pa.created`` action declaring generative AI."""
    import io

    import c2pa
    import numpy as np
    from PIL import Image

    yy, xx = np.mgrid[0:240, 0:320]
    picture = np.dstack([xx * 255 // 320, np.full_like(xx, 120), yy * 255 // 240]).astype(np.uint8)
    plain = io.BytesIO()
    Image.fromarray(picture).save(plain, "JPEG", quality=90)
    chain, key = _hostile_signing_identity()
    manifest = {
        "claim_generator_info": [{"name": HOSTILE, "version": "1.0"}],
        "title": "generated.jpg",
        "assertions": [{"label": "c2pa.actions", "data": {"actions": [{
            "action": "c2pa.created", "digitalSourceType": IPTC + "trainedAlgorithmicMedia",
            "softwareAgent": {"name": HOSTILE},
        }]}}],
    }
    signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, chain, key, None))
    signed = io.BytesIO()
    c2pa.Builder(manifest).sign(signer, "image/jpeg", io.BytesIO(plain.getvalue()), signed)
    path.write_bytes(signed.getvalue())


def _upload_and_read(page, stack_url: str, path: Path) -> dict:
    page.set_input_files("#file-input", str(path))
    page.locator("#progress-file", has_text=path.name).wait_for()
    _wait_for_report(page)
    job = httpx.get(f"{stack_url}/v1/jobs/{_job_id(page)}", timeout=10).json()
    assert job["filename"] == path.name
    page.locator("#report:not([hidden])").wait_for()
    return job


def test_content_credentials_panel_for_signed_files(request, stack_url, new_page, screenshot_dir, tmp_path):
    page, problems = new_page(DESKTOP)
    page.goto(stack_url + "/")

    # A picture signed here as an AI generator would sign it, with markup in every name it carries.
    generated = tmp_path / "generated.jpg"
    _sign_ai_generated_jpeg(generated)
    job = _upload_and_read(page, stack_url, generated)
    report = job["report"]
    c2pa = report["provenance"]["c2pa"]
    assert (c2pa["state"], c2pa["ai_declared"], c2pa["signer"]) == ("valid", True, HOSTILE_NAME)
    assert report["provenance"]["verdict"] == "fake" and report["verdict"] == "fake"
    _check_common(page, job)
    panel = page.locator("#provenance-section")
    text = provenance_panel_text(page, signer=HOSTILE_NAME, generator=f"{HOSTILE}/1.0", agent=HOSTILE)
    assert "does not show who signed it" in text
    ai = page.locator("#c2pa-actions li.ai")
    assert ai.count() == 1 and ai.locator(".tag").inner_text() == "AI-declared"
    assert page.locator("#verdict-label").inner_text() == "Likely manipulated"
    assert "Rests on: origin, declared AI-generated" in page.locator("#verdict-sub").inner_text()
    panel.scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot_dir / "report-provenance-desktop.png"), full_page=True)
    assert problems.errors == []

    # The labelled C2PA test files of ../shared/media/provenance (manifest-provenance.csv).
    try:
        labelled = request.getfixturevalue("shared_media") / "provenance"
    except pytest.skip.Exception:
        pytest.skip("the labelled C2PA files need ../shared/media; the signed file above was checked")
    job = _upload_and_read(page, stack_url, labelled / "CA.jpg")
    c2pa = job["report"]["provenance"]["c2pa"]
    assert c2pa["state"] == "valid" and not c2pa["ai_declared"]
    _check_common(page, job)
    text = page.locator("#provenance-section").inner_text()
    assert "C2PA Test Signing Cert (C2PA Signer) — not verified" in text
    assert "c2pa.opened" in text and "c2pa.color_adjustments" in text
    assert "A.jpg · parentOf" in page.locator("#c2pa-ingredients").inner_text()
    assert page.locator("#c2pa-actions li.ai").count() == 0

    job = _upload_and_read(page, stack_url, labelled / "E-sig-CA.jpg")
    report = job["report"]
    assert report["provenance"]["c2pa"]["state"] == "invalid"
    assert report["provenance"]["evidence"] == "tampered"
    _check_common(page, job)
    codes = page.locator("#c2pa-codes").inner_text()
    assert "claimSignature.mismatch: the signature does not match the claim" in codes
    assert "tampering" in page.locator('#evidence-list > li[data-section="provenance"]').inner_text()
    page.screenshot(path=str(screenshot_dir / "report-provenance-invalid-desktop.png"), full_page=True)
    assert problems.errors == []
