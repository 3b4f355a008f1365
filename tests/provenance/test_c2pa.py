"""C2PA: the labelled files of ../shared/media/provenance, and files signed here with the SDK's Builder.

Every state of the issue is produced by a real file read by the real SDK: valid (test certificate,
untrusted), trusted (test CA bundle configured), AI-declared, tampered after signing (image, video and
audio), remote (not fetched; fetched from a loopback server only when allowed).
"""

from __future__ import annotations

import csv
import http.server
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from provenance_helpers import SdkSigner, created, wav_tone, write_video

from shared.errors import ConfigurationError
from shared.provenance import ProvenanceSettings, inspect_provenance
from shared.provenance.c2pa import read_c2pa

REPO = Path(__file__).resolve().parents[2]
# The same folder tests/conftest.py's shared_media fixture uses (read here at collection, to parametrize).
SHARED_MEDIA = Path(os.environ.get("DEEPFAKE_SHARED_MATERIAL", REPO.parent / "shared")).resolve() / "media"


def _manifest_rows() -> list[dict[str, str]]:
    manifest = SHARED_MEDIA / "manifest-provenance.csv"
    if not manifest.exists():
        return []
    with manifest.open(newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("row", _manifest_rows() or [None], ids=lambda r: r["path"] if r else "absent")
def test_labelled_provenance_files(row: dict[str, str] | None, shared_media: Path) -> None:
    if row is None:
        pytest.skip("manifest-provenance.csv is absent")
    section = inspect_provenance(shared_media / row["path"], ProvenanceSettings())
    c2pa = section.c2pa
    assert c2pa.state == row["c2pa_state"], c2pa.reason
    assert c2pa.ai_declared is (row["ai_declared"] == "yes")
    assert c2pa.signer == (row["signer"] or None)
    if row["c2pa_state"] == "valid":
        assert "signingCredential.untrusted" in c2pa.codes
        assert "not verified" in c2pa.reason
        assert c2pa.manifests >= 1 and c2pa.claim_generator
        assert section.verdict == "not_applicable" and section.evidence == "none"
    if row["c2pa_state"] == "invalid":
        assert "claimSignature.mismatch" in c2pa.codes
        assert section.evidence == "tampered" and section.verdict == "uncertain"
    if row["c2pa_state"] == "none":
        assert c2pa.manifests == 0 and section.verdict == "not_applicable"
        assert any("says nothing about whether the file is real" in r for r in section.reasons)
    # What the manifest CSV says in its notes, checked where it is specific.
    if row["path"].endswith("CA.jpg") and row["c2pa_state"] == "valid":
        assert [a.action for a in c2pa.actions] == ["c2pa.opened", "c2pa.color_adjustments"]
        assert len(c2pa.ingredients) == 1
    if row["path"].endswith("video1.mp4"):
        assert c2pa.manifests == 2 and c2pa.ingredients[0].has_manifest


def test_every_labelled_file_is_listed(shared_media: Path) -> None:
    listed = {row["path"] for row in _manifest_rows()}
    present = {f"provenance/{p.name}" for p in (shared_media / "provenance").iterdir() if p.is_file()}
    assert present and present == listed


def test_signed_capture_is_valid_and_signer_not_verified(
    sdk_signer: SdkSigner, jpeg_bytes: bytes, write, tmp_path: Path
) -> None:
    signed, _ = sdk_signer.sign(jpeg_bytes, "image/jpeg", [created("digitalCapture", "TestCam")])
    section = inspect_provenance(write("capture.jpg", signed), ProvenanceSettings())
    assert section.c2pa.state == "valid"
    assert section.c2pa.signer == "C2PA Test Signing Cert" and not section.c2pa.signer_verified
    assert section.c2pa.claim_generator == "deepfake-detect tests/1.0"
    assert section.c2pa.actions[0].digital_source_type == "digitalCapture" and not section.c2pa.ai_declared
    assert "no trust bundle configured" in section.c2pa.reason
    # A camera declaration is not evidence of authenticity: the verdict stays not_applicable.
    assert section.verdict == "not_applicable"


def test_trusted_only_with_the_trust_bundle_configured(
    sdk_signer: SdkSigner, jpeg_bytes: bytes, trust_bundle: Path, write
) -> None:
    path = write("capture.jpg", sdk_signer.sign(jpeg_bytes, "image/jpeg", [created("digitalCapture")])[0])
    trusted = read_c2pa(path, ProvenanceSettings(trust_bundle=trust_bundle))
    assert trusted.state == "trusted" and trusted.signer_verified
    assert "chains to the configured trust bundle" in trusted.reason
    assert read_c2pa(path, ProvenanceSettings()).state == "valid"


def test_a_bundle_that_does_not_hold_the_signer_leaves_it_valid(
    sdk_signer: SdkSigner, jpeg_bytes: bytes, c2pa_reference: Path, write, tmp_path: Path
) -> None:
    # The signing chain's own leaf certificate is not a root: chaining to it is not chaining to an anchor.
    other = tmp_path / "other.pem"
    pem = (c2pa_reference / "es256.pub").read_text()
    other.write_text(pem[: pem.index("-----END CERTIFICATE-----") + len("-----END CERTIFICATE-----")] + "\n")
    path = write("capture.jpg", sdk_signer.sign(jpeg_bytes, "image/jpeg", [created("digitalCapture")])[0])
    section = read_c2pa(path, ProvenanceSettings(trust_bundle=other))
    assert section.state == "valid" and "does not chain to the configured trust bundle" in section.reason


@pytest.mark.parametrize(
    "source_type", ["trainedAlgorithmicMedia", "compositeWithTrainedAlgorithmicMedia", "algorithmicMedia"]
)
def test_ai_declared_manifest_is_fake(sdk_signer: SdkSigner, jpeg_bytes: bytes, write, source_type: str) -> None:
    signed, _ = sdk_signer.sign(jpeg_bytes, "image/jpeg", [created(source_type, "ImageGen 3")])
    section = inspect_provenance(write("gen.jpg", signed), ProvenanceSettings())
    assert section.c2pa.state == "valid" and section.c2pa.ai_declared
    assert section.c2pa.ai_source_types == [source_type]
    assert section.c2pa.actions[0].software_agent == "ImageGen 3" and section.c2pa.actions[0].ai
    assert section.evidence == "synthetic_declared" and section.verdict == "fake"
    assert any("declare generative AI" in r and "not verified" in r for r in section.reasons)


def test_ai_declared_and_trusted(sdk_signer: SdkSigner, jpeg_bytes: bytes, trust_bundle: Path, write) -> None:
    path = write("gen.jpg", sdk_signer.sign(jpeg_bytes, "image/jpeg", [created("trainedAlgorithmicMedia")])[0])
    section = inspect_provenance(path, ProvenanceSettings(trust_bundle=trust_bundle))
    assert section.c2pa.state == "trusted" and section.verdict == "fake"
    assert any("a trusted signer" in r for r in section.reasons)


def test_ai_declared_in_an_ingredient(sdk_signer: SdkSigner, jpeg_bytes: bytes, write) -> None:
    generated, _ = sdk_signer.sign(jpeg_bytes, "image/jpeg", [created("trainedAlgorithmicMedia", "ImageGen")])
    edit: list[dict[str, Any]] = [
        {"action": "c2pa.opened", "parameters": {"ingredientIds": ["parent"]}},
        {"action": "c2pa.color_adjustments"},
    ]
    edited, _ = sdk_signer.sign(jpeg_bytes, "image/jpeg", edit, ingredient=(generated, "image/jpeg"))
    section = read_c2pa(write("edited.jpg", edited), ProvenanceSettings())
    assert section.state == "valid" and section.manifests == 2
    assert section.ingredients[0].has_manifest
    assert not any(a.ai for a in section.actions if not a.in_ingredient)
    assert section.ai_declared and any(a.ai and a.in_ingredient for a in section.actions)


def test_image_tampered_after_signing(sdk_signer: SdkSigner, jpeg_bytes: bytes, write) -> None:
    signed = bytearray(sdk_signer.sign(jpeg_bytes, "image/jpeg", [created("trainedAlgorithmicMedia")])[0])
    # Change entropy-coded pixel data near the end (before EOI): the manifest is untouched.
    for offset in (300, 301, 302, 900):
        signed[-offset] ^= 0x5A
    section = inspect_provenance(write("tampered.jpg", bytes(signed)), ProvenanceSettings())
    assert section.c2pa.state == "invalid"
    assert "assertion.dataHash.mismatch" in section.c2pa.codes
    assert "changed after signing" in section.c2pa.reason
    # The AI declaration of a failing manifest is not relied on.
    assert section.evidence == "tampered" and section.verdict == "uncertain"
    assert any("cannot be relied on" in r for r in section.reasons)


def test_ai_declared_video(sdk_signer: SdkSigner, tmp_path: Path, write) -> None:
    clip = tmp_path / "clip.mp4"
    write_video(clip)
    signed, _ = sdk_signer.sign(clip.read_bytes(), "video/mp4", [created("trainedAlgorithmicMedia", "VideoGen")])
    section = inspect_provenance(write("generated.mp4", signed), ProvenanceSettings())
    assert section.c2pa.state == "valid" and section.c2pa.ai_declared
    assert section.verdict == "fake" and section.watermarks.status == "not_checked"


def test_video_tampered_after_signing(shared_media: Path, write) -> None:
    data = bytearray((shared_media / "provenance" / "video1.mp4").read_bytes())
    mdat = data.index(b"mdat")
    for offset in range(mdat + 5000, mdat + 5040):
        data[offset] ^= 0xFF
    section = read_c2pa(write("video1-tampered.mp4", bytes(data)), ProvenanceSettings())
    assert section.state == "invalid" and "changed after signing" in section.reason
    assert any(code.startswith("assertion.bmffHash") for code in section.codes)


def test_signed_audio_valid_then_tampered(sdk_signer: SdkSigner, write) -> None:
    signed, _ = sdk_signer.sign(wav_tone(), "audio/wav", [created("trainedAlgorithmicMedia", "VoiceGen")])
    section = inspect_provenance(write("tts.wav", signed), ProvenanceSettings())
    assert section.c2pa.state == "valid" and section.c2pa.ai_declared and section.verdict == "fake"
    assert section.watermarks.status == "not_checked"
    tampered = bytearray(signed)
    tampered[len(tampered) // 3] ^= 0x7F  # inside the samples
    result = read_c2pa(write("tts-tampered.wav", bytes(tampered)), ProvenanceSettings())
    assert result.state == "invalid" and "changed after signing" in result.reason


class _ManifestServer(http.server.BaseHTTPRequestHandler):
    store = b""
    requests: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        type(self).requests.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "application/c2pa")
        self.send_header("Content-Length", str(len(self.store)))
        self.end_headers()
        self.wfile.write(self.store)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def manifest_server() -> Iterator[tuple[str, type[_ManifestServer]]]:
    handler = type("Handler", (_ManifestServer,), {"requests": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()


def test_remote_manifest_is_never_fetched_by_default(
    sdk_signer: SdkSigner, jpeg_bytes: bytes, write, manifest_server
) -> None:
    host, handler = manifest_server
    url = f"http://{host}/manifest.c2pa"
    asset, handler.store = sdk_signer.sign(jpeg_bytes, "image/jpeg", [created("digitalCapture")], remote_url=url)
    section = inspect_provenance(write("remote.jpg", asset), ProvenanceSettings())
    assert section.c2pa.state == "remote" and section.c2pa.remote_url == url
    assert "not fetched" in section.c2pa.reason and section.verdict == "not_applicable"
    assert handler.requests == []

    # Allowed, but for another host: still not fetched.
    elsewhere = ProvenanceSettings(allow_remote_fetch=True, remote_allowed_hosts=["c2pa.example.org"])
    refused = read_c2pa(write("remote.jpg", asset), elsewhere)
    assert refused.state == "remote" and "not permitted" in refused.reason
    assert handler.requests == []

    # Allowed for this host: fetched once and validated like an embedded one.
    allowed = ProvenanceSettings(allow_remote_fetch=True, remote_allowed_hosts=[host])
    fetched = read_c2pa(write("remote.jpg", asset), allowed)
    assert fetched.state == "valid" and fetched.remote_url == url
    assert handler.requests == ["/manifest.c2pa"]


def test_remote_fetch_needs_named_hosts() -> None:
    with pytest.raises(ValueError, match="REMOTE_ALLOWED_HOSTS"):
        ProvenanceSettings(allow_remote_fetch=True)


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch, trust_bundle: Path) -> None:
    monkeypatch.setenv("DEEPFAKE_PROVENANCE_TRUST_BUNDLE", str(trust_bundle))
    monkeypatch.setenv("DEEPFAKE_PROVENANCE_MAX_MANIFEST_BYTES", "4096")
    settings = ProvenanceSettings()
    assert settings.trust_bundle == trust_bundle and settings.max_manifest_bytes == 4096
    assert settings.allow_remote_fetch is False


def test_unusable_trust_bundle_is_a_configuration_error(jpeg_bytes: bytes, write, tmp_path: Path) -> None:
    path = write("plain.jpg", jpeg_bytes)
    with pytest.raises(ConfigurationError, match="no such file|cannot read"):
        read_c2pa(path, ProvenanceSettings(trust_bundle=tmp_path / "missing.pem"))
    not_pem = write("bundle.pem", b"not a certificate")
    with pytest.raises(ConfigurationError, match="no PEM certificate"):
        read_c2pa(path, ProvenanceSettings(trust_bundle=not_pem))
