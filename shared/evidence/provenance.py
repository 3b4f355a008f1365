"""Provenance evidence: what the file says about its own origin (C2PA Content Credentials, generator
metadata, known AI watermarks), and whether those statements hold. No model: it runs inside the worker.

All the work is :func:`shared.provenance.inspect_provenance`; this module puts it on the interface of a kind of evidence (``shared.evidence``).
"""

from __future__ import annotations

import time
from typing import Any

from shared.analysis import RunContext
from shared.evidence import register_evidence
from shared.evidence.base import Evidence
from shared.media.probe import MediaSource
from shared.provenance import inspect_probed
from shared.provenance.section import ProvenanceSection
from shared.stages import CHECKING_PROVENANCE


@register_evidence
class ProvenanceEvidence(Evidence):
    """C2PA manifests, generator metadata and watermarks in videos, images and audio files."""

    name = "provenance"
    section = "provenance"
    media_kinds = frozenset({"video", "image", "audio"})
    needs = ("media", "image", "container_tags")
    model_role = None
    page_panel = "provenance"

    def prepare(self, products: dict[str, Any], run: RunContext) -> ProvenanceSection:
        run.progress(CHECKING_PROVENANCE.name, 0.0)
        t = time.perf_counter()
        section = inspect_probed(products["media"], products["image"], products["container_tags"])
        run.clock.add("provenance", t)
        run.progress(CHECKING_PROVENANCE.name, 1.0)
        return section

    def score(self, prepared: ProvenanceSection, run: RunContext) -> None:
        return None  # the statements are the evidence: nothing to score

    def skipped_section(self, source: MediaSource) -> ProvenanceSection | None:
        return None

    def build_section(
        self, source: MediaSource, prepared: ProvenanceSection, scored: Any, run: RunContext, reasons: list[str]
    ) -> ProvenanceSection:
        reasons.extend(f"provenance: {r}" for r in prepared.reasons)
        return prepared
