"""``deepfake analyze PATH``: one video, image or audio file -> one report, in-process (no Redis, no services).

Without ``--json`` it prints a short human summary on stdout and a progress bar on stderr (when stderr
is a terminal); with ``--json`` stdout carries only the report. Exit status 0 when a report was made
(``not_applicable`` included), 2 with one line on stderr for unusable input, 1 for anything else.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from shared.errors import BadInput, DeepfakeError, ModelUnavailable


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "analyze",
        help="analyse a video, image or audio file in-process",
        description="Analyse one video, image or audio file and print a report (in-process; no services).",
    )
    p.add_argument("path", metavar="PATH", help="video, image or audio file")
    p.add_argument("--json", action="store_true", help="print only the report as JSON on stdout")
    p.add_argument("--out", metavar="FILE", type=Path, help="also write the JSON report to FILE")
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
        "--video-model", metavar="M", help="registry name or model folder (default: DEEPFAKE_VIDEO_MODEL)"
    )
    p.add_argument(
        "--audio-model", metavar="M", help="registry name or model folder (default: DEEPFAKE_AUDIO_MODEL)"
    )
    p.add_argument(
        "--heatmaps", metavar="DIR", type=Path, help="save attention heatmap overlays of every face"
    )
    p.set_defaults(func=run)


# --- models: resolved and compiled once per process ------------------------------------------------
_scorers: dict[tuple[str, str], Any] = {}


def _resolve(spec: str) -> Path:
    from shared.weights import resolve_model

    return Path(resolve_model(spec))


def load_face_scorer(spec: str) -> Any:
    """A compiled ``FaceScorer`` for a registry name or model folder (cached per process)."""
    key = ("video", spec)
    if key not in _scorers:
        from shared.video_scoring import FaceScorer

        _scorers[key] = FaceScorer.from_folder(_resolve(spec))
    return _scorers[key]


def load_audio_scorer(spec: str) -> Any:
    """A compiled ``AudioScorer`` (cached per process); ``ImportError`` when audio is not installed."""
    key = ("audio", spec)
    if key not in _scorers:
        from shared.audio_scoring import AudioScorer

        _scorers[key] = AudioScorer.from_folder(_resolve(spec))
    return _scorers[key]


class _Progress:
    """A tqdm bar over the whole analysis, labelled by stage; silent when stderr is not a terminal."""

    def __init__(self, enabled: bool) -> None:
        self.bar = None
        if enabled:
            from tqdm import tqdm

            self.bar = tqdm(
                total=100, file=sys.stderr, leave=False, bar_format="{desc:<16} {bar} {percentage:3.0f}%"
            )
        self._done = 0.0

    def __call__(self, stage: str, fraction: float) -> None:
        from shared.stages import STAGES, overall_progress

        if self.bar is None:
            return
        self._done = max(self._done, overall_progress(stage, fraction))  # never moves backwards
        self.bar.set_description_str(STAGES[stage].label if stage in STAGES else stage)
        self.bar.n = int(100 * self._done)
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except (DeepfakeError, KeyboardInterrupt):
        raise  # one line on stderr, exit 2 (bad input) or 1, by shared.cli.main
    except Exception as exc:  # our bug, not the user's: still one line, the traceback only on request
        if os.environ.get("DEEPFAKE_DEBUG"):
            raise
        print(
            f"deepfake: error: internal error while analysing {args.path}: {type(exc).__name__}: {exc} "
            "(set DEEPFAKE_DEBUG=1 for the traceback)",
            file=sys.stderr,
        )
        return 1


def _run(args: argparse.Namespace) -> int:
    from shared.media.probe import open_media
    from shared.pipeline import AnalyzeOptions, analyze
    from shared.settings import get_analyze_settings

    settings = get_analyze_settings()
    options = AnalyzeOptions.from_settings(
        settings, every=args.every, frames=args.frames, top_face=args.top_face or None
    )
    # Probe first: unusable input fails fast, before any model is compiled.
    source = open_media(args.path)
    kind = source.facts.kind

    face_scorer = None
    if kind in ("video", "image"):
        face_scorer = load_face_scorer(args.video_model or settings.video_model)
    audio_scorer = None
    audio_unavailable: str | None = None
    if kind == "audio" or (kind == "video" and source.facts.audio_codec):
        try:
            audio_scorer = load_audio_scorer(args.audio_model or settings.audio_model)
        except ImportError:
            if kind == "audio":
                raise BadInput(
                    f"{source.path.name}: audio analysis is not available in this installation"
                ) from None
        except ModelUnavailable as exc:
            if kind == "audio":
                raise
            audio_unavailable = f"the audio model is not available: {exc.message}"

    progress = _Progress(enabled=not args.json and sys.stderr.isatty())
    try:
        report = analyze(
            source.path,
            face_scorer=face_scorer,
            audio_scorer=audio_scorer,
            options=options,
            progress=progress,
            heatmaps_dir=args.heatmaps,
            source=source,
            unavailable={"audio": audio_unavailable} if audio_unavailable else None,
        )
    finally:
        progress.close()
    text = report.model_dump_json(indent=2)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    if args.json:
        print(text)
    else:
        print(summarize(report))
    return 0


def _fmt_score(score: float | None) -> str:
    return "n/a" if score is None else f"{score:.2f}"


def summarize(report: Any) -> str:
    """A short human summary of a report (what ``deepfake analyze`` prints without ``--json``)."""
    m = report.media
    lines = []
    facts = [m.kind]
    if m.width and m.height:
        facts.append(f"{m.width}x{m.height}")
    if m.duration_s:
        facts.append(f"{m.duration_s:.1f} s")
    if m.fps:
        facts.append(f"{m.fps:g} fps")
    band = report.thresholds
    lines.append(f"{m.filename} ({', '.join(facts)})")
    lines.append(
        f"verdict: {report.verdict.upper().replace('_', ' ')}   score: {_fmt_score(report.score)}   "
        f"(fake probability; real < {band.uncertain_low:.2f} <= uncertain <= {band.uncertain_high:.2f} < fake)"
    )
    v = report.video
    if v.status != "not_applicable" or m.kind != "audio":
        model = f"{v.model.name}" if v.model else "no model"
        lines.append(
            f"video: {v.verdict} {_fmt_score(v.score)} [{model}] faces in {v.frames_with_faces} of "
            f"{v.frames_analyzed} analysed frame(s)"
        )
        for t in v.tracks:
            note = "" if t.counted else "  (not counted: seen too briefly)"
            span = f"{t.first_time_s:.1f}-{t.last_time_s:.1f} s" if m.kind == "video" else "image"
            lines.append(f"  person {t.id}: {t.verdict} {t.score:.2f}  {t.faces} face(s), {span}{note}")
    a = report.audio
    if m.kind != "image":
        model = f"{a.model.name}" if a.model else "no model"
        if a.status == "analyzed":
            lines.append(f"audio: {a.verdict} {_fmt_score(a.score)} [{model}] {a.duration_s or 0:.1f} s")
            for s in a.segments[:12]:
                lines.append(f"  {s.start_s:6.1f}-{s.end_s:6.1f} s: {s.score:.2f}")
            if len(a.segments) > 12:
                lines.append(f"  ... {len(a.segments) - 12} more segment(s) in the JSON report")
        else:
            lines.append(f"audio: {a.status.replace('_', ' ')} ({a.reason})")
    for reason in report.reasons:
        lines.append(f"- {reason}")
    timing_keys = [k for k in report.timings if k != "total"]
    parts = ", ".join(f"{k} {report.timings[k]:.2f}" for k in timing_keys)
    lines.append(f"time: {report.timings.get('total', 0.0):.2f} s ({parts})")
    return "\n".join(lines)
