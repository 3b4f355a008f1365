"""The report's ``provenance`` section: Content Credentials, generator metadata, invisible watermarks.

These models follow ``shared/report.py`` (``extra="forbid"``, field descriptions that end up in the JSON
Schema); the lead adds ``provenance: ProvenanceSection | None`` to ``Report``. Every string copied from
the file is bounded (``ProvenanceSettings.max_metadata_value_chars``) and every list is capped, so a
hostile file cannot make the report large.

How evidence becomes a verdict (``shared/provenance/evidence.py``):

- ``fake``: a valid or trusted C2PA manifest whose actions declare generative AI, or a decoded watermark
  of a known generator. Both are statements the generator itself made.
- ``uncertain``: a manifest that fails validation (tampering: the file changed after signing, or the
  manifest was altered), or metadata that names a generator (easy to copy or strip, so an indication,
  not proof).
- ``not_applicable``: nothing found. Absence of provenance is never evidence: most real and most fake
  files carry none.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from shared.schema_base import SectionStatus, Verdict
from shared.schema_base import StrictModel as _Model

#: none: no C2PA data in the file. valid: a manifest whose signature and hashes check out, signer not
#: verified against a trust list. trusted: valid and the signer chains to the configured trust bundle.
#: invalid: validation reported a failure (content changed after signing, signature mismatch, ...).
#: remote: the file only points to a manifest at a URL, which was not fetched. unreadable: C2PA data is
#: present but could not be read (truncated, malformed, too large, reader failure).
C2paState = Literal["none", "valid", "trusted", "invalid", "remote", "unreadable"]

#: synthetic_declared: a valid/trusted manifest declares generative AI, or a generator watermark was
#: decoded. tampered: a manifest fails validation. generator_metadata: unsigned metadata names a
#: generator or declares AI. none: nothing of the above.
Evidence = Literal["synthetic_declared", "tampered", "generator_metadata", "none"]

MetadataSource = Literal["png_text", "exif", "xmp", "iptc", "container"]

#: generator: names an image/video/voice generator or its front end. ai_declared: declares AI-made
#: content (IPTC DigitalSourceType, AIGC label) without a signature. editor: an editing program saved
#: the file. encoder: a muxer/encoder (re-encode, re-mux). software: some other program wrote it.
#: capture_device: names a camera or phone. declared_source: a non-AI IPTC digital source type.
FindingKind = Literal[
    "generator", "ai_declared", "editor", "encoder", "software", "capture_device", "declared_source"
]


class C2paAction(_Model):
    """One ``c2pa.actions`` entry, from the active manifest or one of its ingredients' manifests."""

    action: str = Field(description="e.g. c2pa.created, c2pa.opened, c2pa.edited, c2pa.placed")
    digital_source_type: str | None = Field(
        default=None, description="IPTC digital source type, short name (e.g. trainedAlgorithmicMedia)"
    )
    software_agent: str | None = Field(default=None, description="the tool that did it, as the manifest says")
    ai: bool = Field(default=False, description="the digital source type is one of generated or AI-edited media")
    in_ingredient: bool = Field(
        default=False, description="from an ingredient's manifest rather than the active manifest"
    )


class C2paIngredient(_Model):
    """A file the active manifest says this file was made from."""

    title: str | None = None
    relationship: str | None = Field(default=None, description="parentOf, componentOf or inputTo")
    has_manifest: bool = Field(default=False, description="the ingredient carried Content Credentials of its own")


class C2paSection(_Model):
    """Content Credentials (C2PA) found in the file, as validated offline by the C2PA reader."""

    state: C2paState
    ai_declared: bool = Field(
        default=False,
        description="an action of the active manifest or of an ingredient declares generated or AI-edited "
        "media (trainedAlgorithmicMedia, compositeWithTrainedAlgorithmicMedia, algorithmicMedia, "
        "compositeSynthetic)",
    )
    ai_source_types: list[str] = Field(default_factory=list, description="the AI digital source types declared")
    signer: str | None = Field(default=None, description="organisation of the signing certificate (issuer)")
    signer_name: str | None = Field(default=None, description="common name of the signing certificate")
    signer_verified: bool = Field(
        default=False, description="the signer chains to the configured trust bundle (state 'trusted')"
    )
    signed_at: str | None = Field(default=None, description="signing time, from a timestamp when there is one")
    claim_generator: str | None = Field(default=None, description="the tool that wrote the manifest")
    actions: list[C2paAction] = Field(default_factory=list)
    ingredients: list[C2paIngredient] = Field(default_factory=list)
    codes: list[str] = Field(
        default_factory=list, description="validation failure codes, e.g. assertion.dataHash.mismatch"
    )
    manifests: int = Field(default=0, description="manifests in the file's manifest store")
    remote_url: str | None = Field(default=None, description="where a remote manifest is (never fetched by default)")
    reason: str = Field(description="what this state means for this file, in one sentence")


class MetadataFinding(_Model):
    """One piece of unsigned metadata that says something about where the file came from."""

    source: MetadataSource
    key: str = Field(description="chunk, tag or field name, e.g. 'parameters', 'Software', 'encoder'")
    value: str = Field(description="the value as found (cut to a bounded length)")
    kind: FindingKind
    generator: str | None = Field(default=None, description="the generator or program it names, when known")
    means: str = Field(description="what this finding indicates")
    does_not_mean: str = Field(description="what it does not prove (metadata is easy to strip or forge)")


class MetadataSection(_Model):
    findings: list[MetadataFinding] = Field(default_factory=list)
    errors: list[str] = Field(
        default_factory=list, description="metadata blocks that were present but could not be read"
    )


class WatermarkMatch(_Model):
    """A known generator watermark decoded from the pixels."""

    name: str = Field(description="e.g. stable-diffusion-v2")
    generator: str = Field(description="who embeds this watermark")
    method: Literal["dwtDct"] = "dwtDct"
    message: str = Field(description="the embedded message (text, or hex for a bit string)")
    bits: int = Field(description="message length in bits")
    bit_errors: int = Field(description="decoded bits that differ from the message")
    channel_order: Literal["bgr", "rgb"] = Field(
        description="bgr: embedded as the reference scripts do; rgb: embedded on RGB arrays (diffusers)"
    )


class WatermarkSection(_Model):
    status: Literal["found", "not_found", "not_checked"]
    checked: list[str] = Field(default_factory=list, description="names of the watermarks looked for")
    found: list[WatermarkMatch] = Field(default_factory=list)
    reason: str | None = Field(default=None, description="why not checked, or what 'not found' means")


class ProvenanceSection(_Model):
    """Provenance evidence: statements the file makes about its own origin, and whether they hold."""

    status: SectionStatus = "analyzed"
    verdict: Verdict = Field(
        description="fake: signed AI declaration or generator watermark; uncertain: tampering or "
        "generator metadata; not_applicable: no provenance evidence (absence proves nothing)"
    )
    evidence: Evidence
    c2pa: C2paSection
    metadata: MetadataSection
    watermarks: WatermarkSection
    reasons: list[str] = Field(default_factory=list, description="plain-language explanations and caveats")
