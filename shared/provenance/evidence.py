"""From the three checks to one section: the evidence summary, the verdict and the reasons.

The rule (also in ``docs/provenance.md``):

1. ``synthetic_declared`` → ``fake``: a valid or trusted manifest declares generative AI, or a known
   generator watermark was decoded. The generator said so itself; an untrusted signer is named as such.
2. ``tampered`` → ``uncertain``: a manifest fails validation. The file was changed after signing (or the
   manifest altered); what it claimed can no longer be relied on, which is not proof of a fake.
3. ``generator_metadata`` → ``uncertain``: unsigned metadata names a generator or declares AI.
4. ``none`` → ``not_applicable``: no provenance evidence. Never read as "real".
"""

from __future__ import annotations

from shared.provenance.section import C2paSection, MetadataSection, ProvenanceSection, WatermarkSection
from shared.schema_base import Verdict

NO_EVIDENCE = (
    "No provenance evidence: no AI declaration, tampering, generator metadata or known watermark was found. "
    "Absence of provenance says nothing about whether the file is real."
)

SIGNED_NO_AI = (
    "The Content Credentials declare no AI, and no tampering, generator metadata or known watermark was found. "
    "They show how the file was made and that it is unchanged since signing, not whether what it shows is true."
)


def summarize(c2pa: C2paSection, metadata: MetadataSection, watermarks: WatermarkSection) -> ProvenanceSection:
    """The section for one file, with the evidence, verdict and reasons the rule above gives."""
    reasons: list[str] = []
    declared = c2pa.state in ("valid", "trusted") and c2pa.ai_declared
    if c2pa.state != "none":
        reasons.append(f"C2PA state {c2pa.state}: {c2pa.reason}.")
    if declared:
        by = c2pa.claim_generator or "an unnamed tool"
        trust = "a trusted signer" if c2pa.state == "trusted" else "a signer that is not verified"
        reasons.append(
            f"The Content Credentials, intact and signed by {trust} ({c2pa.signer or 'unnamed'}), declare "
            f"generative AI ({', '.join(c2pa.ai_source_types)}; claim generator {by}): the tool that made "
            "the file says it is synthetic or AI-edited."
        )
    elif c2pa.state == "invalid" and c2pa.ai_declared:
        reasons.append(
            "The failing manifest also declares generative AI; since it fails validation, that declaration "
            "cannot be relied on either."
        )
    for match in watermarks.found:
        reasons.append(
            f"Invisible watermark of {match.generator} decoded (DWT-DCT, message {match.message!r}, "
            f"{match.bit_errors}/{match.bits} bit errors): the image came out of that code or a tool reusing its "
            "watermark."
        )
    hints = [f for f in metadata.findings if f.kind in ("generator", "ai_declared")]
    for finding in hints:
        reasons.append(f"Metadata {finding.source}:{finding.key}: {finding.means} ({finding.does_not_mean}).")

    verdict: Verdict
    if declared or watermarks.found:
        evidence, verdict = "synthetic_declared", "fake"
    elif c2pa.state == "invalid":
        evidence, verdict = "tampered", "uncertain"
    elif hints:
        evidence, verdict = "generator_metadata", "uncertain"
    else:
        evidence, verdict = "none", "not_applicable"
        # intact credentials are provenance: say what they lack rather than "no provenance evidence"
        reasons.append(SIGNED_NO_AI if c2pa.state in ("valid", "trusted") else NO_EVIDENCE)
    return ProvenanceSection(
        verdict=verdict,
        evidence=evidence,
        c2pa=c2pa,
        metadata=metadata,
        watermarks=watermarks,
        reasons=reasons,
    )


def summary_lines(section: ProvenanceSection) -> list[str]:
    """A few short lines for a human summary (the CLI): C2PA state and signer, findings, watermark."""
    c2pa = section.c2pa
    if c2pa.state in ("valid", "trusted", "invalid"):
        signer = c2pa.signer or "an unnamed signer"
        trust = "trusted" if c2pa.signer_verified else "not verified"
        line = f"Content credentials: {c2pa.state}, signed by {signer} ({trust})"
        if c2pa.claim_generator:
            line += f", made with {c2pa.claim_generator}"
        if c2pa.ai_declared:
            line += f"; declares generative AI ({', '.join(c2pa.ai_source_types)})"
        if c2pa.state == "invalid":
            line += f"; fails validation: {', '.join(c for c in c2pa.codes if c not in ('signingCredential.untrusted',))}"
    elif c2pa.state == "none":
        line = "Content credentials: none"
    else:
        line = f"Content credentials: {c2pa.state} ({c2pa.reason})"
    lines = [line]
    named = [f for f in section.metadata.findings if f.kind in ("generator", "ai_declared", "editor")]
    if named:
        lines.append(
            "Metadata: " + "; ".join(f"{f.source}:{f.key} -> {f.generator or f.kind}" for f in named[:5])
            + " (unsigned, easy to forge or strip)"
        )
    for match in section.watermarks.found:
        lines.append(f"Watermark: {match.name} ({match.generator}), {match.bit_errors}/{match.bits} bit errors")
    lines.append(f"Provenance verdict: {section.verdict} (evidence: {section.evidence})")
    return lines
