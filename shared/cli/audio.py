"""``deepfake audio ...``: audio models by themselves (import, score one file, evaluate on labelled media).

    deepfake audio import AASIST ../shared/weights/aasist/AASIST.pth --out models/AASIST
    deepfake audio score speech.flac --model AASIST
    deepfake audio evaluate-media --model AASIST --manifest ../shared/media/manifest-audio.csv

``--model`` is a registry name (fetched and converted on first use by ``shared.weights``) or a model
folder. ``evaluate-media`` prints the equal error rate (EER, from scikit-learn's ``roc_curve``) per source
and pooled, for two file scores: the service's (mean fake probability over all windows) and the official
AASIST evaluation protocol's (the first 64,600 samples only, short clips tiled).
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from pathlib import Path
from typing import Any

from shared.errors import InvalidArgument


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("audio", help="audio models: import a checkpoint, score a file, evaluate")
    sub = parser.add_subparsers(dest="audio_command", metavar="ACTION", required=True)

    imp = sub.add_parser("import", help="convert an AASIST / AASIST-L / MelCNN checkpoint to a model folder")
    imp.add_argument("architecture", choices=["AASIST", "AASIST-L", "MelCNN"])
    imp.add_argument("checkpoint", type=Path)
    imp.add_argument("--out", type=Path, required=True, help="model folder to write")
    imp.set_defaults(func=run_import)

    score = sub.add_parser(
        "score", help="score one audio or video file: per-window segments and the file score"
    )
    score.add_argument("file", type=Path)
    score.add_argument(
        "--model", default=None, help="registry name or model folder (default: DEEPFAKE_AUDIO_MODEL)"
    )
    score.add_argument("--json", action="store_true", help="print the result as JSON")
    score.set_defaults(func=run_score)

    ev = sub.add_parser("evaluate-media", help="EER per source and pooled on a labelled manifest")
    ev.add_argument("--model", required=True, help="registry name or model folder")
    ev.add_argument(
        "--manifest", type=Path, required=True, help="CSV with path,label (e.g. manifest-audio.csv)"
    )
    ev.add_argument("--limit", type=int, default=None, help="score only the first N rows (quick look)")
    ev.add_argument(
        "--max-seconds",
        type=float,
        default=None,
        help="score only the first S seconds of each file (default: all of it)",
    )
    ev.add_argument("--out", type=Path, default=None, help="write per-file scores to this CSV")
    ev.add_argument("--quiet", action="store_true", help="no progress bar")
    ev.set_defaults(func=run_evaluate_media)


def resolve_audio_model(spec: str) -> Path:
    """A model folder for ``spec``: the folder itself, or a registry name through ``shared.weights``."""
    path = Path(spec).expanduser()
    if path.is_dir():
        return path
    from shared.weights import resolve_model

    return Path(resolve_model(spec))


def run_import(args: argparse.Namespace) -> int:
    """Convert a checkpoint to a model folder."""
    if args.architecture == "MelCNN":
        from shared.models.melcnn import import_checkpoint
    else:
        from shared.models.aasist import import_checkpoint
    from shared.registry import PUBLISHED

    published = None
    entry = PUBLISHED.get(args.architecture)
    if entry is not None and args.checkpoint.is_file():
        from shared.fsutil import sha256_file

        if sha256_file(args.checkpoint) == entry.sha256:
            published = entry  # the published file itself: the card gets its name, data and metrics
    card = import_checkpoint(args.architecture, args.checkpoint, args.out, published=published)
    print(f"{card.name}: wrote {args.out} ({card.version})")
    return 0


def run_score(args: argparse.Namespace) -> int:
    """Score one file."""
    from shared.audio_scoring import AudioScorer, score_audio
    from shared.media.audio import load_audio
    from shared.settings import get_model_settings

    folder = resolve_audio_model(args.model or get_model_settings().audio_model)
    scorer = AudioScorer.from_folder(folder)
    wave = load_audio(args.file, scorer.prep.sample_rate)
    result = score_audio(scorer, wave)
    if args.json:
        print(result.model_dump_json(indent=2))
        return 0
    print(f"model: {scorer.card.version}")
    if result.status != "analyzed":
        print(f"not applicable: {result.reason}")
        return 0
    for seg in result.segments:
        print(f"  {seg.start_s:7.2f}-{seg.end_s:7.2f} s  fake probability {seg.score:.3f}")
    print(
        f"file: {result.score:.3f} (mean of {len(result.segments)} windows; most suspicious {result.max_score:.3f})"
    )
    return 0


def _eer_percent(labels: list[int], scores: list[float]) -> float:
    from shared.evaluation.metrics import equal_error_rate

    if len(set(labels)) < 2:
        return math.nan
    return 100.0 * equal_error_rate(labels, scores)[0]


def _fmt(value: float) -> str:
    return "   n/a" if math.isnan(value) else f"{value:6.2f}"


def run_evaluate_media(args: argparse.Namespace) -> int:
    """Score every file of a manifest and print EER per source and pooled."""
    from tqdm import tqdm

    from shared.audio_scoring import AudioScorer, score_audio
    from shared.datasets.manifest import read_manifest
    from shared.errors import DeepfakeError
    from shared.media.audio import load_audio

    if args.limit is not None and args.limit < 1:
        raise InvalidArgument("--limit must be at least 1")
    if args.max_seconds is not None and args.max_seconds < 1.5:
        raise InvalidArgument("--max-seconds must be at least 1.5")
    folder = resolve_audio_model(args.model)
    scorer = AudioScorer.from_folder(folder)
    samples = read_manifest(args.manifest).samples[: args.limit]
    rows: list[dict[str, Any]] = []
    skipped: list[tuple[str, str]] = []
    for sample in tqdm(samples, desc="scoring", unit="file", disable=args.quiet, file=sys.stderr):
        try:
            wave = load_audio(sample.path, scorer.prep.sample_rate, max_seconds=args.max_seconds)
            result = score_audio(scorer, wave)
        except DeepfakeError as exc:
            skipped.append((str(sample.path), exc.message))
            continue
        if result.status != "analyzed":
            skipped.append((str(sample.path), result.reason or result.status))
            continue
        first = result.segments[0]
        rows.append(
            {
                "path": str(sample.path),
                "source": sample.source,
                "label": int(sample.label),
                "score_mean": result.score,
                # the first window is the official protocol's input only when it was not skipped as silence
                "score_first": first.score if first.start_s == 0.0 else math.nan,
                "duration_s": result.duration_s,
                "windows": len(result.segments),
            }
        )
    if not rows:
        raise InvalidArgument("no file of the manifest could be scored")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        with open(args.out, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)

    print(f"model: {scorer.card.version} ({folder})")
    print(f"manifest: {args.manifest} ({len(samples)} files, {len(rows)} scored, {len(skipped)} skipped)")
    if args.max_seconds is not None:
        print(f"only the first {args.max_seconds:g} s of each file were scored")
    print("EER in %; 'mean' = mean fake probability over all windows (the service's file score),")
    print("'first' = first 64,600 samples only (the official AASIST evaluation protocol)")
    print(
        f"{'source':<22} {'bona fide':>9} {'spoof':>6} {'EER mean':>9} {'EER first':>10} {'mean p(fake)':>13}"
    )
    groups = sorted({r["source"] for r in rows}) + ["pooled"]
    for group in groups:
        chosen = rows if group == "pooled" else [r for r in rows if r["source"] == group]
        labels = [r["label"] for r in chosen]
        firsts = [r for r in chosen if not math.isnan(r["score_first"])]
        print(
            f"{group:<22} {labels.count(0):>9} {labels.count(1):>6} "
            f"{_fmt(_eer_percent(labels, [r['score_mean'] for r in chosen])):>9} "
            f"{_fmt(_eer_percent([r['label'] for r in firsts], [r['score_first'] for r in firsts])):>10} "
            f"{sum(r['score_mean'] for r in chosen) / len(chosen):>13.3f}"
        )
    for path, reason in skipped:
        print(f"skipped {Path(path).name}: {reason}")
    return 0
