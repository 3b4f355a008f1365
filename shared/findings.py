"""Findings: each kind of evidence's result in plain words, what the overall verdict rests on, and a summary.

A report's sections keep the numbers at full precision; this module is the one place that turns them into
words a journalist reads and forwards (the CLI summary, the page and the printed page all show these):

* :class:`FindingWords` - how one kind of evidence speaks ("Face: likely swapped", "Voice: likely
  synthetic"). Every ``Evidence`` class has one (``Evidence.words``); a kind without its own gets the
  generic words, so a new kind of evidence has findings from the start and better ones by setting
  ``words`` or overriding ``Evidence.finding``.
* :func:`section_finding` - the default finding of a section from its status, verdict, score and band.
  A score is never shown as "% likely fake": :func:`score_position` says where it falls against the band
  the verdict used, so the words cannot contradict the verdict.
* :func:`compose` - the overall verdict's basis (the findings with the same verdict) and one paragraph.

The overall verdict itself is ``shared.pipeline.fuse`` (the most severe section wins); this module only
words it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from shared.report import Finding
from shared.schema_base import Verdict

#: the overall verdict in words (the page uses the same labels)
VERDICT_WORDS: dict[str, str] = {
    "fake": "Likely manipulated",
    "real": "No manipulation detected",
    "uncertain": "Uncertain",
    "not_applicable": "Could not be assessed",
}

#: said once in every summary: what an automated check is and is not
CAVEAT = (
    "This is an automated check by statistical models: a lead for a person to verify, not proof either way."
)


@dataclass(frozen=True)
class FindingWords:
    """How one kind of evidence says its result.

    Attributes:
        label: what was checked ("Face", "Voice", "Picture").
        fake: the headline of a ``fake`` verdict ("likely swapped", "voice likely synthetic").
        uncertain: the headline of an ``uncertain`` verdict.
        real: the headline of a ``real`` verdict.
        unit: what the model judges, plural, for rates ("faces", "recordings").
        means_fake: what a ``fake`` verdict indicates.
        not_proof_fake: what a ``fake`` verdict does not prove.
        not_proof_real: what a ``real`` verdict does not prove.
        not_proof_uncertain: what an ``uncertain`` verdict does not prove.
        nothing: the headline when there was nothing to judge (no face, no speech).
    """

    label: str
    fake: str = "signs of manipulation"
    uncertain: str = "no conclusion"
    real: str = "no sign of manipulation found"
    unit: str = "files"
    means_fake: str = "the model's score is past the point where it calls a file manipulated"
    not_proof_fake: str = "a model's judgement, not proof: have a person check the file before publishing"
    not_proof_real: str = (
        "finding no sign is not proof the file is authentic: models miss manipulations unlike their training data"
    )
    not_proof_uncertain: str = "the score lies between the model's points for real and for manipulated"
    nothing: str = "nothing to assess"

    def headline(self, verdict: str) -> str:
        return {"fake": self.fake, "uncertain": self.uncertain, "real": self.real}.get(verdict, self.nothing)

    def not_proof(self, verdict: str) -> str | None:
        return {"fake": self.not_proof_fake, "real": self.not_proof_real, "uncertain": self.not_proof_uncertain}.get(
            verdict
        )


def generic_words(name: str) -> FindingWords:
    """The words of a kind of evidence that brought none of its own."""
    return FindingWords(label=name.replace("_", " ").capitalize())


# --- numbers for people --------------------------------------------------------------------------------
def number(x: float, near: float | None = None) -> str:
    """A score for people: two decimals; more near 0 and 1 (0.0054, 0.999906) and where needed to tell it
    apart from ``near`` (the bound it is compared with)."""
    digits = 2
    if 0 < x < 0.01:
        digits = 1 - math.floor(math.log10(x))
    elif 0.99 < x < 1:
        digits = 1 - math.floor(math.log10(1 - x))
    while digits < 8 and near is not None and round(x, digits) == round(near, digits) and x != near:
        digits += 1
    text = f"{x:.{min(digits, 8)}f}"
    if digits > 2:  # the extra digits are for telling values apart; trailing zeros tell nothing
        head, _, tail = text.partition(".")
        text = f"{head}.{tail.rstrip('0').ljust(2, '0')}"
    return text


def percent(rate: float) -> str:
    """A measured rate for people: "3 %", "0.4 %", "21 %"."""
    value = 100 * rate
    return f"{value:.1f} %" if value < 10 and value != 0 else f"{value:.0f} %"


def score_position(score: float | None, band: Any, verdict: str) -> str | None:
    """Where ``score`` falls against the band its verdict used, in words (``None`` without either)."""
    if score is None or band is None:
        return None
    low, high = float(band.uncertain_low), float(band.uncertain_high)
    fake_from = "at or above" if getattr(band, "source", None) == "model_card" else "above"
    if verdict == "fake":
        return f"score {number(score, high)}, {'at or past' if fake_from == 'at or above' else 'past'} the fake point {number(high, score)}"
    if verdict == "real":
        return f"score {number(score, low)}, below the real point {number(low, score)}"
    if verdict == "uncertain":
        return (
            f"score {number(score)}, between the real point {number(low, score)} and the fake point "
            f"{number(high, score)}"
        )
    return None


def rate_phrase(band: Any, unit: str) -> str | None:
    """How often the band's fake point is wrong on real media, when that was measured."""
    if band is None:
        return None
    rate = getattr(band, "false_alarm_rate", None)
    if rate is not None:
        return f"at this point the model calls {percent(rate)} of real {unit} fake"
    return "how often the model is wrong at this point was not measured"


def _sentence(text: str) -> str:
    text = text.strip()
    return (text[:1].upper() + text[1:]) if text else text


def section_finding(name: str, field: str, section: Any, words: FindingWords, *, based_on: str | None = None) -> Finding | None:
    """The default finding of a section: its verdict in words, where its score falls, its caveats.

    Args:
        name: the kind of evidence's registry name.
        field: the report field of the section.
        section: the section (``None``: the kind wrote nothing for this file, so no finding).
        words: how the kind speaks.
        based_on: what the result rests on, when the kind can say it.
    """
    if section is None:
        return None
    status = getattr(section, "status", "analyzed")
    verdict: Verdict = getattr(section, "verdict", "not_applicable")
    reason = getattr(section, "reason", None)
    if status != "analyzed" or verdict == "not_applicable":
        headline = "not checked on this server" if status == "not_available" else words.nothing
        text = f"{words.label}: {headline}" + (f" ({reason})" if reason else "")
        return Finding(
            evidence=name, section=field, label=words.label, verdict="not_applicable", headline=headline, text=text,
            based_on=based_on,
        )
    band = getattr(section, "band", None)
    position = score_position(getattr(section, "score", None), band, verdict)
    rate = rate_phrase(band, words.unit) if verdict == "fake" else None
    headline = words.headline(verdict)
    detail = "; ".join(x for x in (position, rate) if x)
    return Finding(
        evidence=name,
        section=field,
        label=words.label,
        verdict=verdict,
        headline=headline,
        text=f"{words.label}: {headline}" + (f" ({detail})" if detail else ""),
        score_position=position,
        based_on=based_on,
        means=words.means_fake if verdict == "fake" else None,
        does_not_prove=words.not_proof(verdict),
    )


# --- the report's findings --------------------------------------------------------------------------------
@dataclass(frozen=True)
class ComposedFindings:
    """What :func:`compose` gives the report: the findings, the verdict's basis, one paragraph."""

    findings: list[Finding]
    rests_on: list[str]
    summary: str


def rests_on(verdict: str, findings: list[Finding]) -> list[Finding]:
    """The findings that gave the overall verdict: those that judged and share its verdict."""
    if verdict == "not_applicable":
        return []
    return [f for f in findings if f.verdict == verdict]


def verdict_line(verdict: str, findings: list[Finding]) -> str:
    """One line: the overall verdict and the findings it rests on (the report's first reason)."""
    basis = rests_on(verdict, findings)
    words = VERDICT_WORDS.get(verdict, verdict)
    if not basis:
        return f"{words}: nothing in the file could be judged"
    return f"{words}, because of: " + "; ".join(f.text for f in basis)


def compose(verdict: str, findings: list[Finding]) -> ComposedFindings:
    """The verdict's basis and a one-paragraph summary (what a newsroom reads first and forwards)."""
    basis = rests_on(verdict, findings)
    others = [f for f in findings if f not in basis]
    parts = [verdict_line(verdict, findings) + "."]
    if basis:
        based = [f.based_on for f in basis if f.based_on]
        if based:
            parts.append("Based on " + "; ".join(based) + ".")
        proof = [f.does_not_prove for f in basis if f.does_not_prove and f.does_not_prove not in f.text]
        if proof:
            parts.append(_sentence(proof[0]) + ".")
    if others:
        parts.append("Other checks: " + "; ".join(f.text for f in others) + ".")
    parts.append(CAVEAT)
    return ComposedFindings(findings=findings, rests_on=[f.evidence for f in basis], summary=" ".join(parts))


def report_findings(
    kinds: list[Any], sections: dict[str, Any], verdict: str, media_kind: str | None = None
) -> ComposedFindings:
    """Each kind of evidence's finding (``Evidence.finding``) for its section, composed for the report.

    A kind that does not examine this kind of file (faces in a recording, a voice in a picture) has no
    finding: saying "no face found" about an audio file would only confuse.
    """
    findings = []
    for kind in kinds:
        if media_kind is not None and media_kind not in kind.media_kinds:
            continue
        finding = kind.finding(sections.get(kind.section))
        if finding is not None:
            findings.append(finding)
    return compose(verdict, findings)
