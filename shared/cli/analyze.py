"""``deepfake analyze PATH...``: video, image or audio files -> one report each, in-process (no Redis, no services).

Without ``--json`` it prints a short human summary per file on stdout and a progress bar on stderr (when
stderr is a terminal); with ``--json`` stdout carries only the reports, one JSON object per line (JSON
Lines; a file that could not be analysed gets an ``{"file": ..., "error": {...}}`` line). Folders are
expanded to the files inside them (recursively, sorted, hidden files skipped). Models are compiled once
per process, so many files in one call pay start-up once.

Exit status 0 when every file got a report (``not_applicable`` included) or a clean refusal (unusable
input: one line on stderr per file, the others still analysed) and at least one file got a report; 2 when
no file could be analysed because the input was unusable; 1 when anything else failed (a missing model,
our bug). With several files a summary ends the output: one line of text, or with ``--json`` one JSON
object ``{"summary": {...}}`` listing every input path as given with its outcome (reports name the
file only, never a path of this machine).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from shared.errors import DeepfakeError, ModelUnavailable


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "analyze",
        help="analyse video, image or audio files in-process",
        description="Analyse video, image or audio files (or folders of them) and print one report per file "
        "(in-process; no services).",
    )
    p.add_argument("paths", metavar="PATH", nargs="+", type=Path, help="video, image or audio file, or a folder")
    p.add_argument("--json", action="store_true", help="print only the reports, one JSON object per line")
    p.add_argument("--out", metavar="FILE", type=Path, help="also write the JSON report(s) to FILE (JSON Lines)")
    p.add_argument(
        "--record", metavar="FILE", type=Path,
        help="also write a record of exactly what produced each report (file sha256, models and their "
        "checkpoints' sha256, bands, options, tool version) to FILE (JSON Lines), to forward with it",
    )
    add_face_stage_args(p)
    add_model_args(p)
    p.add_argument(
        "--heatmaps", metavar="DIR", type=Path, help="save attention heatmap overlays of every face"
    )
    p.set_defaults(func=run)


def add_model_args(p: argparse.ArgumentParser) -> None:
    """One ``--<role>-model`` flag per model role (``shared.roles``): ``--video-model``, ``--audio-model``."""
    from shared.roles import roles

    for role in roles():
        p.add_argument(
            role.cli_flag, metavar="M", dest=role.model_field,
            help=f"the {role.label} model: registry name or model folder (default: {role.model_env}, "
            f"else {role.default_model})",
        )


def add_face_stage_args(p: argparse.ArgumentParser) -> None:
    """The face stage's flags (``deepfake analyze``, and ``deepfake evaluate video``, which scores the same faces)."""
    sampling = p.add_mutually_exclusive_group()
    sampling.add_argument(
        "--every", metavar="K", type=int, help="analyse every K-th frame (default: DEEPFAKE_EVERY, 2)"
    )
    sampling.add_argument(
        "--frames", metavar="N", type=int, help="analyse N evenly spaced frames (32 = the ICPR2020 reference)"
    )
    p.add_argument(
        "--top-face",
        action="store_true",
        help="only the most confident face per frame (the reference's choice)",
    )
    p.add_argument(
        "--faces-per-track",
        metavar="N",
        type=int,
        help="faces the face model scores per person, spread over their time on screen (default: "
        "DEEPFAKE_FACES_PER_TRACK, 32); --frames N scores every face of its N frames",
    )
    p.add_argument(
        "--face-detector",
        dest="face_detector",
        choices=("blazeface", "mtcnn"),
        help="the face detector that finds faces in frames (default: DEEPFAKE_DETECTOR); blazeface is the "
        "ICPR2020 reference",
    )
    # "detector" alone was ambiguous (a kind of evidence, or the model that finds faces): the old flag
    # still works for one release, with a warning.
    p.add_argument("--detector", dest="old_detector", choices=("blazeface", "mtcnn"), help=argparse.SUPPRESS)
    p.add_argument(
        "--no-face-verification",
        dest="face_verification",
        action="store_false",
        default=None,
        help="keep every face the face detector finds, without the second check by a face-landmark model "
        "(default: DEEPFAKE_FACE_VERIFICATION, on)",
    )


def face_detector_flag(args: argparse.Namespace) -> str | None:
    """``--face-detector``, or the deprecated ``--detector`` (with a warning on stderr)."""
    old = getattr(args, "old_detector", None)
    if old is not None:
        print("deepfake: warning: --detector is deprecated; use --face-detector", file=sys.stderr)
    return args.face_detector or old


def face_stage_options(args: argparse.Namespace, settings: Any | None = None) -> Any:
    """``AnalyzeOptions`` from the settings and the flags of :func:`add_face_stage_args` (unset flags: settings)."""
    from shared.analysis import AnalyzeOptions

    return AnalyzeOptions.from_settings(
        settings,
        every=args.every,
        frames=args.frames,
        top_face=args.top_face or None,
        detector=face_detector_flag(args),
        faces_per_track=getattr(args, "faces_per_track", None),
        face_verification=getattr(args, "face_verification", None),
    )


# --- models: resolved and compiled once per process ------------------------------------------------
_scorers: dict[tuple[str, str], Any] = {}


def load_scorer(role: Any, spec: str) -> Any:
    """The compiled model of a ``shared.roles.ModelRole`` for a registry name or model folder (cached per
    process)."""
    from shared.weights import resolve_model

    key = (role.name, spec)
    if key not in _scorers:
        _scorers[key] = role.load_local(Path(resolve_model(spec)))
    return _scorers[key]


class _Progress:
    """A tqdm bar over the whole analysis, labelled by stage; silent when stderr is not a terminal."""

    def __init__(self, enabled: bool, work: dict[str, float] | None = None) -> None:
        from shared.stages import WorkProgress

        self.share = WorkProgress(work)  # the file's expected work per stage: the bar is the share done
        self.bar = None
        if enabled:
            from tqdm import tqdm

            self.bar = tqdm(
                total=100, file=sys.stderr, leave=False, bar_format="{desc:<16} {bar} {percentage:3.0f}%"
            )
        self._done = 0.0

    def __call__(self, stage: str, fraction: float) -> None:
        from shared.stages import STAGES

        if self.bar is None:
            return
        self._done = self.share.update(stage, fraction)  # never moves backwards
        self.bar.set_description_str(STAGES[stage].label if stage in STAGES else stage)
        self.bar.n = int(100 * self._done)
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def expand_paths(paths: list[Path]) -> list[Path]:
    """Files as given; folders replaced by the files inside them (recursively, sorted, no hidden ones)."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out.extend(
                p
                for p in sorted(path.rglob("*"))
                if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        else:
            out.append(path)  # a missing file is reported by the analysis, with the others still done
    return out


def run(args: argparse.Namespace) -> int:
    from shared.settings import get_analyze_settings

    paths = expand_paths(args.paths)
    if not paths:
        print(f"deepfake: error: no files to analyse in {', '.join(map(str, args.paths))}", file=sys.stderr)
        return 2
    settings = get_analyze_settings()
    lines: list[str] = []
    status = 0
    results: list[dict[str, Any]] = []  # one per input path, in order: the folder run's summary
    records: list[str] = []
    for path in paths:
        used: dict[str, Any] = {}
        try:
            report = analyze_one(path, args, settings, used=used)
        except KeyboardInterrupt:
            raise
        except DeepfakeError as exc:
            # one line on stderr: exit 2 for the user's input, 1 for ours (a model, a service)
            print(f"deepfake: error: {exc.message}", file=sys.stderr)
            status = 1 if 1 in (status, exc.exit_code) else max(status, exc.exit_code)
            outcome = "refused" if exc.exit_code == 2 else "failed"
            results.append({"file": str(path), "outcome": outcome, "code": exc.code})
            if args.json or args.out:
                lines.append(json.dumps({"file": str(path), "error": {"code": exc.code, "message": exc.message}}))
            if args.json and len(paths) > 1:
                print(lines[-1], flush=True)
            continue
        except Exception as exc:  # our bug, not the user's: still one line, the traceback only on request
            if os.environ.get("DEEPFAKE_DEBUG"):
                raise
            print(
                f"deepfake: error: internal error while analysing {path}: {type(exc).__name__}: {exc} "
                "(set DEEPFAKE_DEBUG=1 for the traceback)",
                file=sys.stderr,
            )
            status = 1
            results.append({"file": str(path), "outcome": "failed", "code": "internal_error"})
            continue
        results.append({"file": str(path), "outcome": "report", "verdict": report.verdict})
        if args.record:
            from shared.record import analysis_record

            records.append(json.dumps(analysis_record(report, used["options"], used["scorers"]), sort_keys=True))
        line = report.model_dump_json()
        lines.append(line)
        if args.json:
            print(line, flush=True)
        else:
            print(summarize(report) + ("\n" if len(paths) > 1 else ""), flush=True)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("".join(x + "\n" for x in lines))
    if args.record:
        args.record.parent.mkdir(parents=True, exist_ok=True)
        args.record.write_text("".join(x + "\n" for x in records))
    if len(paths) > 1:
        summary = run_summary(results)
        print(json.dumps({"summary": summary}) if args.json else summary_line(summary), flush=True)
    return exit_status(status, results)


def exit_status(status: int, results: list[dict[str, Any]]) -> int:
    """0 when every file got a report or a clean refusal and some file got a report; 2 when nothing could
    be analysed because the input was unusable; 1 when anything of ours failed (a model, a bug)."""
    if status == 1 or any(r["outcome"] == "failed" for r in results):
        return 1
    if results and not any(r["outcome"] == "report" for r in results):
        return 2
    return 0


def run_summary(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The folder run in numbers: files, reports, refusals, failures, verdict counts, each file's outcome."""
    verdicts: dict[str, int] = {}
    for r in results:
        if r["outcome"] == "report":
            verdicts[r["verdict"]] = verdicts.get(r["verdict"], 0) + 1
    return {
        "files": len(results),
        "reports": sum(r["outcome"] == "report" for r in results),
        "refused": sum(r["outcome"] == "refused" for r in results),
        "failed": sum(r["outcome"] == "failed" for r in results),
        "verdicts": verdicts,
        "results": results,
    }


def summary_line(summary: dict[str, Any]) -> str:
    """The folder run's last line for people, with the refused and failed files named."""
    from shared.findings import VERDICT_WORDS

    counts = ", ".join(f"{n} {VERDICT_WORDS.get(v, v).lower()}" for v, n in sorted(summary["verdicts"].items()))
    line = f"summary: {summary['files']} files, {summary['reports']} reports" + (f" ({counts})" if counts else "")
    problems = [r for r in summary["results"] if r["outcome"] != "report"]
    if problems:
        line += "; not analysed: " + ", ".join(f"{r['file']} ({r['outcome']}: {r['code']})" for r in problems)
    return line


def analyze_one(path: Path, args: argparse.Namespace, settings: Any, *, used: dict[str, Any] | None = None) -> Any:
    """One file: probe, load the models its detectors need (once per process), run the pipeline.

    ``used`` (when given) receives the ``options`` and the ``scorers`` the analysis ran with (``--record``).
    """
    from shared.media.probe import open_media
    from shared.pipeline import analyze
    from shared.role_scorers import scorers_for

    options = face_stage_options(args, settings)
    # Probe first: unusable input fails fast, before any model is compiled.
    source = open_media(path)
    # only the models this file needs (a video without sound does not compile the audio model), compiled
    # while the analysis decodes and searches for faces (the first inference waits for its model)
    from shared.runtime import compiling_in_background

    with compiling_in_background():
        needed = scorers_for(
            source,
            lambda role: load_scorer(role, getattr(args, role.model_field, None) or role.model_spec(settings)),
            missing=(ModelUnavailable,),
        )

    from shared.stages import work_for

    if used is not None:
        used.update(options=options, scorers=dict(needed.scorers))

    progress = _Progress(enabled=not args.json and sys.stderr.isatty(), work=work_for(source, options, needed.scorers))
    try:
        return analyze(
            source.path,
            scorers=needed.scorers,
            options=options,
            progress=progress,
            heatmaps_dir=args.heatmaps,
            source=source,
            unavailable=needed.unavailable,
        )
    finally:
        progress.close()
        source.close()  # the analysis' one open of the file (shared.media.session)


def _fmt_score(score: float | None) -> str:
    return "n/a" if score is None else f"{score:.2f}"


def _fmt_band(band: Any) -> str:
    """The band a section's verdict used, in the words of the findings (``shared.findings``)."""
    from shared.findings import number

    if band is None:
        return ""
    if band.source == "model_card":
        return f"fake at {number(band.uncertain_high)} or more, real below {number(band.uncertain_low)} (measured for this model)"
    return f"fake above {number(band.uncertain_high)}, real below {number(band.uncertain_low)} (configured; not measured)"


def _wrap(text: str, indent: str = "  ") -> list[str]:
    import textwrap

    return textwrap.wrap(text, width=100, initial_indent=indent, subsequent_indent=indent) or [indent]


def summarize(report: Any) -> str:
    """A short human summary of a report (what ``deepfake analyze`` prints without ``--json``).

    The verdict and its one-paragraph summary first, then one finding per kind of evidence (the same
    words as the page, ``shared.findings``), then the details a reader may check, the notes and timings.
    """
    from shared.evidence.faces import person
    from shared.findings import VERDICT_WORDS
    from shared.provenance import summary_lines

    m = report.media
    lines = []
    facts = [m.kind]
    if m.width and m.height:
        facts.append(f"{m.width}x{m.height}")
    if m.duration_s:
        facts.append(f"{m.duration_s:.1f} s")
    if m.fps:
        facts.append(f"{m.fps:g} fps")
    lines.append(f"{m.filename} ({', '.join(facts)})")
    lines.append(f"verdict: {report.verdict.upper().replace('_', ' ')} - {VERDICT_WORDS.get(report.verdict, report.verdict)}")
    if report.summary:
        lines.extend(_wrap(report.summary))
    if report.findings:
        lines.append("findings:")
        for f in report.findings:
            lines.extend(_wrap(f.text, "  - ")[:1] + _wrap(f.text, "    ")[1:] if len(f.text) > 96 else [f"  - {f.text}"])
            if f.based_on:
                lines.extend(_wrap(f"based on: {f.based_on}", "      "))
            if f.does_not_prove and f.does_not_prove not in f.text:
                lines.extend(_wrap(f"does not prove: {f.does_not_prove}", "      "))
    lines.append("details:")
    v = report.video
    if v.status == "analyzed" or (m.kind != "audio" and v.status != "not_applicable") or (m.kind != "audio" and v.frames_analyzed):
        model = f" [{v.model.name}]" if v.model else ""
        unit = "picture" if m.kind == "image" else f"{v.frames_analyzed} sampled frames"
        found = (
            ("a face found" if v.frames_with_faces else "no face found") if m.kind == "image"
            else f"faces in {v.frames_with_faces} of {unit}"
        )
        lines.append(f"  faces{model}: {found}")
        if v.band is not None and v.status == "analyzed" and v.verdict != "not_applicable":
            lines.append(f"    band: {_fmt_band(v.band)}")
        for t in v.tracks:
            note = "" if t.counted else "  (not counted: seen too briefly)"
            span = f", {t.first_time_s:.1f}-{t.last_time_s:.1f} s" if m.kind == "video" else ""
            lines.append(f"    {person(t.id)}: {t.verdict}, score {t.score:.2f}, {t.faces} face(s){span}{note}")
    a = report.audio
    if m.kind != "image":
        model = f" [{a.model.name}]" if a.model else ""
        if a.status == "analyzed":
            lines.append(f"  voice{model}: {a.duration_s or 0:.1f} s of audio")
            if a.band is not None:
                lines.append(f"    band: {_fmt_band(a.band)}")
            for seg in a.segments[:12]:
                counted = "" if seg.counted else "  (not counted)"
                lines.append(f"    {seg.start_s:6.1f}-{seg.end_s:6.1f} s: score {seg.score:.2f}{counted}")
            if len(a.segments) > 12:
                lines.append(f"    ... {len(a.segments) - 12} more stretch(es) in the JSON report")
        else:
            lines.append(f"  voice: {a.status.replace('_', ' ')} ({a.reason})")
    if report.provenance is not None:
        lines.extend(f"  origin: {line}" for line in summary_lines(report.provenance)[:-1])
    # Every other kind of evidence, by its finding (no kind is named here: a new kind needs no CLI code).
    for f in report.findings:
        sec = getattr(report, f.section, None)
        if f.section in ("video", "audio", "provenance") or sec is None:
            continue
        model = f" [{sec.model.name}]" if getattr(sec, "model", None) else ""
        lines.append(f"  {f.label.lower()}{model}: {f.headline}" + (f", score {_fmt_score(sec.score)}" if getattr(sec, "score", None) is not None else ""))
        band = getattr(sec, "band", None)
        if band is not None and f.verdict != "not_applicable":
            lines.append(f"    band: {_fmt_band(band)}")
            if band.description:
                lines.extend(_wrap(band.description, "      "))
    # the licence of every model that scored this file (a non-commercial one must be visible to whoever reads)
    used = {sec.model.name: sec.model.licence for f in report.findings
            if (sec := getattr(report, f.section, None)) is not None and getattr(sec, "model", None) is not None}
    if used:
        lines.append("licences of the models used:")
        lines.extend(f"  {name}: {licence or 'not recorded'}" for name, licence in used.items())
    lines.append("notes:")
    for reason in report.reasons:
        lines.append(f"- {reason}")
    timing_keys = [k for k in report.timings if k != "total"]
    parts = ", ".join(f"{k} {report.timings[k]:.2f}" for k in timing_keys)
    lines.append(f"time: {report.timings.get('total', 0.0):.2f} s ({parts})")
    return "\n".join(lines)
