"""The one analysis pipeline: media in, :class:`shared.report.Report` out.

``deepfake analyze`` and the preprocess worker both run :func:`analyze`; they differ only in the scorers
they pass in (local OpenVINO scorers in-process, HTTP clients with the same methods in the service). The
pipeline knows no kind of evidence by name:

1. the probe opens the file once (``shared.media.probe``; every later reader takes a view of that open);
2. every registered kind of evidence (:mod:`shared.evidence`) that examines this kind of file names the products
   it needs; ``shared.dataflow`` makes each of them once (``shared.products``: faces, waveform, speech...)
   and runs each kind of evidence's ``prepare`` -> ``score`` as soon as its products exist, side by side;
3. :func:`build_report` - each kind of evidence's report section, the overall verdict, artifacts.

A ``progress(stage, fraction)`` callback reports the stages of :mod:`shared.stages`.
:func:`make_products` runs step 2's providers alone, for tools that want a product without a report
(the training face cache, the face-stage golden test).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shared import __version__
from shared.analysis import AnalyzeOptions, Prepared, ProgressFn, RunContext, Scores, StageClock, no_progress
from shared.dataflow import Consumer, ProductContext, check_graph, run_steps
from shared.evidence.base import Evidence
from shared.evidence.registry import build_evidence
from shared.findings import report_findings, verdict_line
from shared.media.probe import MediaSource, open_media
from shared.modelcard import VideoPreprocessing
from shared.report import Report, Verdict
from shared.runtime import release_large_buffers
from shared.stages import MERGING

__all__ = ["AnalyzeOptions", "analyze", "build_report", "fuse", "make_products"]

#: the order in which a verdict is "more suspicious" when kinds disagree
_SEVERITY = {"not_applicable": 0, "real": 1, "uncertain": 2, "fake": 3}


def face_crop_of(kinds: list[Evidence]) -> VideoPreprocessing:
    """How the face model wants its faces cut (its card), or the default crop without one."""
    for kind in kinds:
        card = kind.card
        if "face_tracks" in kind.needs and card is not None and isinstance(card.preprocessing, VideoPreprocessing):
            return card.preprocessing
    return VideoPreprocessing()


def _merge_run(prepared: Prepared, run: RunContext) -> None:
    for step, seconds in run.clock.timings.items():
        prepared.timings[step] = prepared.timings.get(step, 0.0) + seconds
    prepared.reasons.extend(run.notes)


def make_products(
    source: MediaSource | str | Path,
    products: list[str],
    options: AnalyzeOptions | None = None,
    *,
    face_crop: VideoPreprocessing | None = None,
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Make the named products of one file (and what they need) without any kind of evidence or report."""
    release_large_buffers()
    options = options or AnalyzeOptions.from_settings()
    options.validate()
    check_graph([("make_products", products)])
    opened = not isinstance(source, MediaSource)
    media = open_media(source) if not isinstance(source, MediaSource) else source
    try:
        context = ProductContext(media, options, face_crop or VideoPreprocessing())
        return run_steps(context, [], progress=progress, extra_products=products).products
    finally:
        if opened:
            media.close()


def fuse(sections: list[Any]) -> tuple[Verdict, float | None]:
    """The overall verdict and score from the sections' own verdicts.

    The most severe verdict of the analysed sections wins (fake > uncertain > real), each section having
    judged against its own operating point; ``not_applicable`` when no section judged anything. The
    score is the winning section's fake probability, or the highest of the scored sections when the
    winner has none (provenance states facts, not probabilities).
    """
    judged = [s for s in sections if s is not None and s.status == "analyzed" and s.verdict != "not_applicable"]
    if not judged:
        return "not_applicable", None
    top = max(judged, key=lambda s: (_SEVERITY[s.verdict], getattr(s, "score", None) or 0.0))
    scores = [s.score for s in judged if getattr(s, "score", None) is not None]
    score = getattr(top, "score", None)
    return top.verdict, score if score is not None else (max(scores) if scores else None)


def explain_verdict(verdict: Verdict, kinds: list[Evidence], sections: dict[str, Any]) -> str:
    """One line for people: the overall verdict and the findings it rests on (``shared.findings``)."""
    return verdict_line(verdict, report_findings(kinds, sections, verdict).findings)


def build_report(
    prepared: Prepared,
    scores: Scores,
    *,
    options: AnalyzeOptions | None = None,
    artifacts_dir: str | Path | None = None,
    heatmaps_dir: str | Path | None = None,
    progress: ProgressFn | None = None,
) -> Report:
    """Each kind's section, the fused verdict; optionally artifacts (thumbnails, heatmaps, spectrogram)."""
    options = options or prepared.options
    progress = progress or no_progress
    progress(MERGING.name, 0.0)
    t = time.perf_counter()
    run = RunContext(options=options, progress=progress)
    reasons = list(prepared.reasons)
    source = prepared.source
    sections: dict[str, Any] = {}
    for kind in prepared.kinds:
        if kind.name in prepared.evidence:
            sections[kind.section] = kind.build_section(
                source, prepared.evidence[kind.name], scores.evidence.get(kind.name), run, reasons
            )
        else:
            sections[kind.section] = kind.skipped_section(source)
    verdict, overall = fuse(list(sections.values()))
    found = report_findings(prepared.kinds, sections, verdict, source.facts.kind)
    if verdict == "not_applicable":
        reasons.append("nothing in the file could be judged: no face and no usable speech")
    # the verdict and what it rests on open ``summary`` (and ``findings`` word each section): not repeated here
    models = {}  # the models that actually scored something
    for kind in prepared.kinds:
        version = kind.model_version
        if kind.model_role and version and sections[kind.section].status == "analyzed":
            models[kind.model_role] = version
    report = Report(
        tool_version=__version__,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        verdict=verdict,
        score=overall,
        media=source.facts,
        reasons=reasons,
        models=models,
        findings=found.findings,
        verdict_rests_on=found.rests_on,
        summary=found.summary,
        **sections,
    )
    if artifacts_dir is not None or heatmaps_dir is not None:
        folder = Path(artifacts_dir) if artifacts_dir is not None else None
        heatmaps = Path(heatmaps_dir) if heatmaps_dir is not None else None
        for kind in prepared.kinds:
            if kind.name in prepared.evidence:
                report.artifacts.extend(
                    kind.write_artifacts(
                        folder,
                        prepared.evidence[kind.name],
                        scores.evidence.get(kind.name),
                        sections[kind.section],
                        heatmaps=heatmaps,
                    )
                )
    timings = dict(prepared.timings)
    timings.update(scores.timings)
    timings["report"] = time.perf_counter() - t
    report.timings = {k: round(v, 4) for k, v in timings.items()}
    progress(MERGING.name, 1.0)
    return report


def analyze(
    path: str | Path,
    *,
    face_scorer: Any | None = None,
    audio_scorer: Any | None = None,
    scorers: dict[str, Any] | None = None,
    kinds: list[Evidence] | None = None,
    options: AnalyzeOptions | None = None,
    progress: ProgressFn | None = None,
    artifacts_dir: str | Path | None = None,
    heatmaps_dir: str | Path | None = None,
    source: MediaSource | None = None,
    unavailable: dict[str, str] | None = None,
) -> Report:
    """The whole pipeline: probe, products, each kind's prepare and score, the report.

    Scorers are given by model role (``scorers={"video": ..., "audio": ...}``); ``face_scorer`` and
    ``audio_scorer`` are shorthands for the two built-in roles. ``kinds`` (default: every registered
    kind of evidence, with those scorers) limits the analysis to some kinds of evidence. ``unavailable`` maps a model
    role to why its model could not be had: that evidence is reported as not run, with the reason.
    """
    started = time.perf_counter()
    release_large_buffers()  # memory bounded by what is held, not by what was decoded (shared.runtime)
    options = options or AnalyzeOptions.from_settings()
    options.validate()
    by_role = dict(scorers or {})
    if face_scorer is not None:
        by_role["video"] = face_scorer
    if audio_scorer is not None:
        by_role["audio"] = audio_scorer
    if kinds is None:
        kinds = build_evidence(by_role, unavailable)
    check_graph([(d.name, d.needs) for d in kinds])
    t = time.perf_counter()
    opened = source is None
    source = open_media(path) if source is None else source
    try:
        prepared = Prepared(source=source, options=options, kinds=kinds, reasons=list(source.notes))
        StageClock(prepared.timings).add("probe", t)
        scores = Scores()
        applicable = [d for d in kinds if d.applies_to(source)]

        def chain(kind: Evidence) -> Any:
            def run(products: dict[str, Any], run: RunContext) -> tuple[Any, Any]:
                evidence = kind.prepare(products, run)
                return evidence, kind.score(evidence, run)

            return run

        consumers = [Consumer(d.name, d.needs_for(source), chain(d)) for d in applicable]
        context = ProductContext(source, options, face_crop_of(kinds))
        outcome = run_steps(context, consumers, progress=progress)
        prepared.products = outcome.products
        for kind in applicable:
            prepared.evidence[kind.name], scores.evidence[kind.name] = outcome.results[kind.name]
        for record in outcome.records:  # plan order: reports never depend on which thread finished first
            _merge_run(prepared, record.run)
        report = build_report(
            prepared, scores, options=options, artifacts_dir=artifacts_dir, heatmaps_dir=heatmaps_dir, progress=progress
        )
    finally:
        if opened:
            source.close()
    report.timings["total"] = round(time.perf_counter() - started, 4)
    return report
