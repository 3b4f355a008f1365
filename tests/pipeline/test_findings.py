"""Findings (``shared.findings``) on hand-made sections: the words a journalist reads, written out by hand here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from shared.evidence.base import Evidence
from shared.findings import compose, number, report_findings, score_position
from shared.report import Band


@dataclass
class _Section:
    """A section of a kind of evidence added later (a picture check, a lips check)."""

    status: str
    verdict: str
    score: float | None = None
    band: Band | None = None
    reason: str | None = None


class _PictureEvidence(Evidence):
    """A new kind with no words of its own: it must still get a finding from its verdict and band."""

    name = "generated"
    section = "generated"
    media_kinds: ClassVar[frozenset[str]] = frozenset({"image"})
    page_panel = "generated"

    def prepare(self, products: dict[str, Any], run: Any) -> None: ...
    def score(self, prepared: Any, run: Any) -> None: ...
    def build_section(self, source: Any, prepared: Any, scored: Any, run: Any, reasons: list[str]) -> None: ...
    def skipped_section(self, source: Any) -> None: ...


MEASURED = Band(uncertain_low=0.005371786, uncertain_high=0.9999064, source="model_card", description="measured",
                false_alarm_rate=0.0044, catch_rate=0.0)  # fmt: skip
CONFIGURED = Band(uncertain_low=0.35, uncertain_high=0.65, source="settings", description="configured")


def test_numbers_keep_the_digits_that_matter() -> None:
    assert number(0.56) == "0.56"
    assert number(0.9999064) == "0.999906"  # not "1.00": a fake point of 1 would mean nothing is fake
    assert number(0.005371786) == "0.0054"
    assert number(0.651, 0.65) == "0.651" and number(0.65, 0.651) == "0.65"


def test_the_score_is_placed_in_its_band_not_called_likely_fake() -> None:
    assert score_position(0.94, MEASURED, "uncertain") == (
        "score 0.94, between the real point 0.0054 and the fake point 0.999906")
    assert score_position(0.79, CONFIGURED, "fake") == "score 0.79, past the fake point 0.65"
    assert score_position(0.99995, MEASURED, "fake") == "score 0.99995, at or past the fake point 0.999906"
    assert score_position(0.1, CONFIGURED, "real") == "score 0.10, below the real point 0.35"
    assert score_position(None, CONFIGURED, "real") is None


def test_a_new_kind_of_evidence_gets_findings_without_writing_any_words() -> None:
    kind = _PictureEvidence()
    fake = kind.finding(_Section("analyzed", "fake", 0.9, CONFIGURED))
    assert fake is not None and fake.label == "Generated" and fake.verdict == "fake"
    assert fake.text == (
        "Generated: signs of manipulation (score 0.90, past the fake point 0.65; how often the model is wrong "
        "at this point was not measured)")
    missing = kind.finding(_Section("not_available", "not_applicable", reason="its model is not installed"))
    assert missing is not None and missing.text == "Generated: not checked on this server (its model is not installed)"
    assert kind.finding(None) is None


def test_the_verdict_rests_on_the_findings_that_share_it_and_others_are_listed() -> None:
    kind = _PictureEvidence()
    sections = {"generated": _Section("analyzed", "uncertain", 0.5, CONFIGURED)}
    composed = report_findings([kind], sections, "uncertain", "image")
    assert composed.rests_on == ["generated"]
    assert composed.summary.startswith("Uncertain, because of: Generated: no conclusion (score 0.50, between")
    # a kind that does not examine this kind of file has no finding at all
    assert report_findings([kind], sections, "uncertain", "audio").findings == []
    nothing = compose("not_applicable", composed.findings)
    assert nothing.rests_on == [] and nothing.summary.startswith("Could not be assessed: nothing in the file")
    assert "Other checks: Generated: no conclusion" in nothing.summary
