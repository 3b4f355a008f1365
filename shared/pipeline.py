"""The one analysis pipeline: media in, :class:`shared.report.Report` out.

``deepfake analyze`` and the preprocess worker both run this module; they differ only in the scorers
they pass in (local OpenVINO scorers in-process, HTTP clients with the same methods in the service).
The pipeline knows no kind of evidence by name: it runs every registered detector
(:mod:`shared.detectors`) through three steps, split at the tensor boundary:

1. :func:`prepare` - probe, then each detector's CPU work (frames -> faces -> crops, audio -> waveform).
2. :func:`score` - each detector's model.
3. :func:`build_report` - each detector's report section, the overall verdict, artifacts.

:func:`analyze` chains the three. A ``progress(stage, fraction)`` callback reports the stages of
:mod:`shared.stages`.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shared import __version__
from shared.analysis import AnalyzeOptions, Prepared, ProgressFn, RunContext, Scores, StageClock, no_progress
from shared.detectors import Detector, build_detectors
from shared.media.probe import MediaSource, open_media
from shared.report import Report, Verdict
from shared.stages import MERGING

__all__ = ["AnalyzeOptions", "Prepared", "Scores", "analyze", "build_report", "fuse", "prepare", "score"]

#: the order in which a verdict is "more suspicious" when detectors disagree
_SEVERITY = {"not_applicable": 0, "real": 1, "uncertain": 2, "fake": 3}


def _begin(path: str | Path, options: AnalyzeOptions, detectors: list[Detector], source: MediaSource | None) -> Prepared:
    """Check the options, probe the file (unless already probed) and start the record every detector fills."""
    options.validate()
    t = time.perf_counter()
    if source is None:
        source = open_media(path)
    prepared = Prepared(source=source, options=options, detectors=detectors, reasons=list(source.notes))
    StageClock(prepared.timings).add("probe", t)
    return prepared


def prepare(
    path: str | Path,
    options: AnalyzeOptions | None = None,
    *,
    scorers: dict[str, Any] | None = None,
    detectors: list[Detector] | None = None,
    unavailable: dict[str, str] | None = None,
    progress: ProgressFn | None = None,
    source: MediaSource | None = None,
) -> Prepared:
    """Media -> every detector's prepared evidence. Raises ``shared.errors.BadInput`` for unusable input.

    Args:
        path: video, image or audio file.
        options: sampling and detection options.
        scorers: model role ("video", "audio") -> scorer; the detectors read their preprocessing
            (crop size, sample rate) from the scorers' cards. Ignored when ``detectors`` is given.
        detectors: the detectors to run (default: every registered one, with ``scorers``).
        unavailable: model role -> why its model is missing (shown in the report).
        progress: ``(stage, fraction)`` callback.
        source: an already probed file (skips probing again).
    """
    detectors = detectors if detectors is not None else build_detectors(scorers, unavailable)
    prepared = _begin(path, options or AnalyzeOptions(), detectors, source)
    source = prepared.source
    for detector in detectors:
        if detector.applies_to(source):
            run = _detector_run(prepared, progress)
            prepared.evidence[detector.name] = detector.prepare(source, run)
            _merge_run(prepared, run)
    return prepared


def _detector_run(prepared: Prepared, progress: ProgressFn | None) -> RunContext:
    """A detector's own clock and notes (merged into ``prepared`` in detector order, so the report does
    not depend on which of two concurrent detectors finished first)."""
    return RunContext(options=prepared.options, progress=progress or no_progress)


def _merge_run(prepared: Prepared, run: RunContext) -> None:
    for step, seconds in run.clock.timings.items():
        prepared.timings[step] = prepared.timings.get(step, 0.0) + seconds
    prepared.reasons.extend(run.notes)


def score(prepared: Prepared, *, progress: ProgressFn | None = None) -> Scores:
    """Run each detector's model on what it prepared."""
    out = Scores()
    for detector in prepared.detectors:
        if detector.name in prepared.evidence:
            run = RunContext(options=prepared.options, progress=progress or no_progress, clock=StageClock(out.timings))
            out.evidence[detector.name] = detector.score(prepared.evidence[detector.name], run)
            prepared.reasons.extend(run.notes)
    return out


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


def explain_verdict(verdict: Verdict, detectors: list[Detector], sections: dict[str, Any]) -> str:
    """One line: which kinds of evidence gave the overall verdict, and how often each is wrong on real media."""
    why = []
    for detector in detectors:
        section = sections.get(detector.section)
        if section is None or section.status != "analyzed" or section.verdict != verdict:
            continue
        band = getattr(section, "band", None)
        if band is not None and band.false_alarm_rate is not None:
            why.append(f"{detector.name} (its fake point calls {100 * band.false_alarm_rate:.1f} % of real media fake)")
        elif band is not None:
            why.append(f"{detector.name} (configured band; false-alarm rate not measured)")
        else:
            why.append(detector.name)
    rule = {
        "fake": "a kind of evidence is past its own fake point",
        "uncertain": "no evidence is past its fake point, some lies in its uncertainty band",
        "real": "every kind of evidence that judged is below its uncertainty band",
    }[verdict]
    return f"overall {verdict}: {rule} ({', '.join(why)})"


def build_report(
    prepared: Prepared,
    scores: Scores,
    *,
    options: AnalyzeOptions | None = None,
    artifacts_dir: str | Path | None = None,
    heatmaps_dir: str | Path | None = None,
    progress: ProgressFn | None = None,
) -> Report:
    """Each detector's section, the fused verdict; optionally artifacts (thumbnails, heatmaps, spectrogram)."""
    options = options or prepared.options
    progress = progress or no_progress
    progress(MERGING.name, 0.0)
    t = time.perf_counter()
    run = RunContext(options=options, progress=progress)
    reasons = list(prepared.reasons)
    source = prepared.source
    sections: dict[str, Any] = {}
    for detector in prepared.detectors:
        if detector.name in prepared.evidence:
            sections[detector.section] = detector.build_section(
                source, prepared.evidence[detector.name], scores.evidence.get(detector.name), run, reasons
            )
        else:
            sections[detector.section] = detector.skipped_section(source)
    verdict, overall = fuse(list(sections.values()))
    if verdict == "not_applicable":
        reasons.append("nothing in the file could be analysed: no face and no usable speech")
    else:
        reasons.insert(len(prepared.reasons), explain_verdict(verdict, prepared.detectors, sections))
    models = {}  # the models that actually scored something
    for detector in prepared.detectors:
        version = detector.model_version
        if detector.model_role and version and sections[detector.section].status == "analyzed":
            models[detector.model_role] = version
    report = Report(
        tool_version=__version__,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        verdict=verdict,
        score=overall,
        media=source.facts,
        reasons=reasons,
        models=models,
        **sections,
    )
    if artifacts_dir is not None or heatmaps_dir is not None:
        folder = Path(artifacts_dir) if artifacts_dir is not None else None
        heatmaps = Path(heatmaps_dir) if heatmaps_dir is not None else None
        for detector in prepared.detectors:
            if detector.name in prepared.evidence:
                report.artifacts.extend(
                    detector.write_artifacts(
                        folder,
                        prepared.evidence[detector.name],
                        scores.evidence.get(detector.name),
                        sections[detector.section],
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
    options: AnalyzeOptions | None = None,
    progress: ProgressFn | None = None,
    artifacts_dir: str | Path | None = None,
    heatmaps_dir: str | Path | None = None,
    source: MediaSource | None = None,
    unavailable: dict[str, str] | None = None,
) -> Report:
    """The whole pipeline: :func:`prepare`, :func:`score`, :func:`build_report`.

    Scorers are given by model role (``scorers={"video": ..., "audio": ...}``); ``face_scorer`` and
    ``audio_scorer`` are shorthands for the two built-in roles.
    """
    started = time.perf_counter()
    options = options or AnalyzeOptions.from_settings()
    by_role = dict(scorers or {})
    if face_scorer is not None:
        by_role["video"] = face_scorer
    if audio_scorer is not None:
        by_role["audio"] = audio_scorer
    detectors = build_detectors(by_role, unavailable)
    prepared = _begin(path, options, detectors, source)
    source = prepared.source
    scores = Scores()
    # Each detector's prepare -> score chain runs in its own thread: the audio model scores speech while
    # frames decode and faces are found (decoding, OpenVINO and file reading release the GIL).
    applicable = [d for d in detectors if d.applies_to(source)]
    runs = {d.name: _detector_run(prepared, progress) for d in applicable}

    def chain(detector: Detector) -> tuple[Any, Any]:
        run = runs[detector.name]
        evidence = detector.prepare(source, run)
        return evidence, detector.score(evidence, run)

    with ThreadPoolExecutor(max_workers=max(1, len(applicable)), thread_name_prefix="detector") as pool:
        futures = [(d, pool.submit(chain, d)) for d in applicable]
        for detector, future in futures:  # in detector order: the first error is the one raised
            prepared.evidence[detector.name], scores.evidence[detector.name] = future.result()
    for detector in applicable:
        _merge_run(prepared, runs[detector.name])
    report = build_report(
        prepared, scores, options=options, artifacts_dir=artifacts_dir, heatmaps_dir=heatmaps_dir, progress=progress
    )
    report.timings["total"] = round(time.perf_counter() - started, 4)
    return report
