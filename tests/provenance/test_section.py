"""The evidence rule and the section's schema: which combinations become which verdict."""

from __future__ import annotations

import json

import pytest

from shared.provenance import section as ps
from shared.provenance.evidence import NO_EVIDENCE, SIGNED_NO_AI, summarize

NOT_FOUND = ps.WatermarkSection(status="not_found")
SD2 = ps.WatermarkMatch(
    name="stable-diffusion-v2", generator="Stable Diffusion 2.x", message="SDV2", bits=32, bit_errors=0,
    channel_order="bgr",
)  # fmt: skip
HINT = ps.MetadataFinding(
    source="png_text", key="parameters", value="Steps: 20", kind="generator", generator="AUTOMATIC1111",
    means="saved by AUTOMATIC1111", does_not_mean="metadata is unsigned",
)  # fmt: skip
EDITOR = HINT.model_copy(update={"kind": "editor", "generator": "GIMP"})


def _c2pa(state: str, ai: bool = False) -> ps.C2paSection:
    return ps.C2paSection(
        state=state, ai_declared=ai, ai_source_types=["trainedAlgorithmicMedia"] if ai else [], reason="r"
    )  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("c2pa", "findings", "watermarks", "evidence", "verdict"),
    [
        (_c2pa("valid", ai=True), [], NOT_FOUND, "synthetic_declared", "fake"),
        (_c2pa("trusted", ai=True), [], NOT_FOUND, "synthetic_declared", "fake"),
        (_c2pa("none"), [], ps.WatermarkSection(status="found", found=[SD2]), "synthetic_declared", "fake"),
        (_c2pa("invalid", ai=True), [], NOT_FOUND, "tampered", "uncertain"),
        (_c2pa("invalid"), [HINT], NOT_FOUND, "tampered", "uncertain"),
        (_c2pa("invalid"), [], ps.WatermarkSection(status="found", found=[SD2]), "synthetic_declared", "fake"),
        (_c2pa("none"), [HINT], NOT_FOUND, "generator_metadata", "uncertain"),
        (_c2pa("valid"), [HINT], NOT_FOUND, "generator_metadata", "uncertain"),
        (_c2pa("trusted"), [EDITOR], NOT_FOUND, "none", "not_applicable"),
        (_c2pa("remote"), [], NOT_FOUND, "none", "not_applicable"),
        (_c2pa("unreadable", ai=True), [], NOT_FOUND, "none", "not_applicable"),
        (_c2pa("none"), [], ps.WatermarkSection(status="not_checked"), "none", "not_applicable"),
    ],
)
def test_evidence_rule(c2pa, findings, watermarks, evidence: str, verdict: str) -> None:
    section = summarize(c2pa, ps.MetadataSection(findings=findings), watermarks)
    assert (section.evidence, section.verdict) == (evidence, verdict)
    # intact credentials without an AI declaration are not "no provenance evidence": they say what they lack
    signed = c2pa.state in ("valid", "trusted")
    assert (NO_EVIDENCE in section.reasons) is (evidence == "none" and not signed)
    assert (SIGNED_NO_AI in section.reasons) is (evidence == "none" and signed)


def test_section_round_trips_and_has_a_schema() -> None:
    section = summarize(_c2pa("valid", ai=True), ps.MetadataSection(findings=[HINT]), NOT_FOUND)
    again = ps.ProvenanceSection.model_validate_json(section.model_dump_json())
    assert again == section
    schema = ps.ProvenanceSection.model_json_schema()
    assert set(schema["properties"]) == {"status", "verdict", "evidence", "c2pa", "metadata", "watermarks", "reasons"}
    states = schema["$defs"]["C2paSection"]["properties"]["state"]["enum"]
    assert states == ["none", "valid", "trusted", "invalid", "remote", "unreadable"]
    json.dumps(schema)
    with pytest.raises(ValueError):
        ps.ProvenanceSection.model_validate({**section.model_dump(), "unexpected": 1})


def test_summary_lines() -> None:
    from shared.provenance import summary_lines

    c2pa = ps.C2paSection(
        state="invalid", signer="C2PA Test Signing Cert", claim_generator="ImageGen/1",
        codes=["signingCredential.untrusted", "assertion.dataHash.mismatch"], reason="r",
    )  # fmt: skip
    lines = summary_lines(summarize(c2pa, ps.MetadataSection(findings=[HINT]), NOT_FOUND))
    assert lines[0] == (
        "Content credentials: invalid, signed by C2PA Test Signing Cert (not verified), made with ImageGen/1; "
        "fails validation: assertion.dataHash.mismatch"
    )
    assert lines[1].startswith("Metadata: png_text:parameters -> AUTOMATIC1111")
    assert lines[-1] == "Provenance verdict: uncertain (evidence: tampered)"
    none = summary_lines(summarize(_c2pa("none"), ps.MetadataSection(), ps.WatermarkSection(status="found", found=[SD2])))
    assert none == [
        "Content credentials: none",
        "Watermark: stable-diffusion-v2 (Stable Diffusion 2.x), 0/32 bit errors",
        "Provenance verdict: fake (evidence: synthetic_declared)",
    ]


def test_missing_file_is_media_not_found(tmp_path) -> None:
    from shared.errors import MediaNotFound
    from shared.provenance import inspect_provenance

    with pytest.raises(MediaNotFound, match="missing.jpg"):
        inspect_provenance(tmp_path / "missing.jpg")
