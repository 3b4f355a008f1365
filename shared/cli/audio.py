"""``deepfake audio ...``: audio models by themselves (import, score one file, evaluate on labelled media).

    deepfake audio import AASIST ../shared/weights/aasist/AASIST.pth --out models/AASIST
    deepfake audio score speech.flac --model AASIST
    deepfake audio evaluate-media --model AASIST --manifest ../shared/media/manifest-audio.csv

``--model`` is a registry name (fetched and converted on first use by ``shared.weights``) or a model
folder. ``evaluate-media`` scores every file as ``deepfake analyze`` does (``shared.audio_scoring``), then
(``shared.evaluation.audio_media``) compares every file score of ``shared.scoring.AUDIO_AGGREGATIONS`` by
equal error rate (EER, from scikit-learn's ``roc_curve``) per source, pooled and pooled with each source
left out, chooses one by leave-one-source-out, and chooses and measures an operating point for it
(``--operating-point-out`` writes it; ``shared/operating_points/`` holds the shipped ones).
``--windows-out`` keeps every scored window so ``--from-windows`` can redo the analysis without scoring.
"""

from __future__ import annotations

import argparse
import csv
import math
from pathlib import Path
from typing import Any

from shared.errors import InvalidArgument


def register(subparsers: Any) -> None:
    from shared.scoring import AUDIO_AGGREGATIONS

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
    score.add_argument(
        "--aggregation", choices=AUDIO_AGGREGATIONS, default=None,
        help="how the windows become the file score (default: the card's operating point's, else "
        "the shipped default)",
    )
    score.add_argument("--json", action="store_true", help="print the result as JSON")
    score.set_defaults(func=run_score)

    ev = sub.add_parser(
        "evaluate-media",
        help="compare file scores by EER (per source, pooled, leave-one-source-out) and choose an operating point",
    )
    ev.add_argument("--model", default=None, help="registry name or model folder")
    ev.add_argument("--manifest", type=Path, default=None, help="CSV with path,label (e.g. manifest-audio.csv)")
    ev.add_argument("--limit", type=int, default=None, help="score only the first N rows (quick look)")
    ev.add_argument(
        "--max-seconds",
        type=float,
        default=None,
        help="score only the first S seconds of each file (default: all of it)",
    )
    ev.add_argument("--out", type=Path, default=None, help="write per-file scores (every method) to this CSV")
    ev.add_argument("--windows-out", type=Path, default=None, help="keep every scored window in this JSON file")
    ev.add_argument(
        "--from-windows", type=Path, default=None, help="re-analyse a --windows-out file instead of scoring"
    )
    ev.add_argument(
        "--aggregation", choices=AUDIO_AGGREGATIONS, default=None,
        help="the file score to choose the operating point for (default: the one the comparison chooses)",
    )
    ev.add_argument("--target-rate", type=float, default=0.05, help="most real recordings called fake (0.05)")
    ev.add_argument("--chosen-on", default=None, help="how to describe the data in the operating point")
    ev.add_argument("--operating-point-out", type=Path, default=None, help="write the operating point as JSON")
    ev.add_argument(
        "--write-card",
        action="store_true",
        help="write the measured operating point into the model folder's card (--model must be a folder you "
        "imported, e.g. with deepfake models import-voice-ssl): the voice check then gives verdicts at it",
    )
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
    from shared.roles import get_role
    from shared.settings import get_analyze_settings, get_model_settings

    folder = resolve_audio_model(args.model or get_role("audio").model_spec(get_model_settings()))
    scorer = AudioScorer.from_folder(folder)
    wave = load_audio(args.file, scorer.prep.sample_rate)
    # the same windows `deepfake analyze` scores (its budget for long recordings)
    budget = get_analyze_settings().voice_budget_s
    result = score_audio(scorer, wave, aggregation=args.aggregation, budget_s=budget)
    if args.json:
        print(result.model_dump_json(indent=2))
        return 0
    print(f"model: {scorer.card.version}")
    if result.status != "analyzed":
        print(f"not applicable: {result.reason}")
        return 0
    for seg in result.segments:
        mark = "*" if seg.counted else " "
        print(f" {mark}{seg.start_s:7.2f}-{seg.end_s:7.2f} s  fake probability {seg.score:.3f}  speech {seg.speech_fraction:.2f}")
    print(
        f"file: {result.score:.3f} ({result.aggregation} of {len(result.segments)} windows, * = used; "
        f"{result.windows_total} with sound; {result.non_speech_windows} scored mostly non-speech, "
        f"{result.silent_windows} silent; "
        f"most suspicious {result.max_score:.3f})"
    )
    return 0


def _fmt(value: float) -> str:
    return "   n/a" if math.isnan(value) else f"{value:6.2f}"


def _print_comparison(table: Any, chosen: str) -> None:
    from shared.scoring import AUDIO_AGGREGATION_HELP

    print(f"EER in % of each file score, on the {table.files} files every method scored")
    if table.dropped:
        print(f"  ({len(table.dropped)} files left out: some method had no window to use, e.g. no speech)")
    two_class = [s for s in table.sources if not math.isnan(table.rows[0].per_source[s])]
    head = f"{'method':<14} {'pooled':>7} " + " ".join(f"{s[:18]:>18}" for s in two_class)
    print(head)
    for row in table.rows:
        cells = " ".join(f"{_fmt(row.per_source[s]):>18}" for s in two_class)
        print(f"{row.method:<14} {_fmt(row.pooled):>7} {cells}")
    print("pooled EER in % with one source left out (the winner of each fold marked *)")
    print(f"{'method':<14} " + " ".join(f"{'w/o ' + s[:14]:>18}" for s in table.sources))
    for row in table.rows:
        cells = " ".join(
            f"{_fmt(row.without_source[s]) + ('*' if table.fold_winners[s] == row.method else ' '):>18}"
            for s in table.sources
        )
        print(f"{row.method:<14} {cells}")
    print(f"chosen: {chosen} ({AUDIO_AGGREGATION_HELP[chosen]}): wins the most leave-one-source-out folds")


def _print_operating_point(point: Any, study: Any) -> None:
    print(f"operating point for {point.aggregation} (target: at most {100 * point.target_false_fake_rate:g} % "
          "of real recordings called fake)")
    print(f"  fake_at {point.fake_at:.6g}, real_below {point.real_below:.6g}  (chosen on every source)")
    print(f"{'source':<22} {'real called fake':>17} {'spoof caught':>13} {'spoof called real':>18}")
    names = sorted(set(point.false_fake) | set(point.catch), key=lambda n: (n == "pooled", n))
    for name in names:
        cells = []
        for rates in (point.false_fake, point.catch, point.missed_as_real):
            r = rates.get(name)
            cells.append("" if r is None else f"{r.called}/{r.files} {100 * r.rate:5.1f}%")
        print(f"{name:<22} {cells[0]:>17} {cells[1]:>13} {cells[2]:>18}")
    print("leave-one-source-out: fake point chosen on the other sources, measured on the held-out one")
    print(f"{'held out':<22} {'fake_at':>10} {'real called fake':>17} {'spoof caught':>13}")
    for name, (t, real, caught) in study.held_out.items():
        c = "" if caught is None else f"{caught.called}/{caught.files} {100 * caught.rate:5.1f}%"
        print(f"{name:<22} {t.fake_at:>10.6g} {f'{real.called}/{real.files} {100 * real.rate:5.1f}%':>17} {c:>13}")


def run_evaluate_media(args: argparse.Namespace) -> int:
    """Score every file of a manifest; compare the file scores by EER; choose an operating point."""
    from shared.evaluation.audio_media import (
        choose_aggregation,
        choose_operating_point,
        compare_aggregations,
        eer_percent,
        first_window_only,
        load_windows,
        save_windows,
        score_files,
    )
    from shared.scoring import AUDIO_AGGREGATIONS

    if args.limit is not None and args.limit < 1:
        raise InvalidArgument("--limit must be at least 1")
    if args.max_seconds is not None and args.max_seconds < 1.5:
        raise InvalidArgument("--max-seconds must be at least 1.5")
    if not 0 < args.target_rate < 1:
        raise InvalidArgument("--target-rate must be between 0 and 1")
    if args.write_card and (args.model is None or not Path(args.model).expanduser().is_dir()):
        raise InvalidArgument("--write-card needs --model FOLDER: the model folder whose card gets the point")
    if args.from_windows is not None:
        files, skipped, meta = load_windows(args.from_windows)
        total, max_seconds, model = meta.get("files", len(files) + len(skipped)), meta.get("max_seconds"), meta["model"]
        where = f"windows scored earlier, read from {args.from_windows}"
        if args.max_seconds is not None and args.max_seconds != max_seconds:
            # Only a cut at one window's length can be redone without scoring again (exactly, see first_window_only).
            if args.max_seconds != meta.get("window_s"):
                raise InvalidArgument(
                    f"--max-seconds with --from-windows can only be the window length ({meta.get('window_s')} s); "
                    "score again for another length"
                )
            files, cut = first_window_only(files)
            skipped = [*skipped, *cut]
            max_seconds = args.max_seconds
            where += f", cut to the first window ({max_seconds:g} s)"
    else:
        if args.model is None or args.manifest is None:
            raise InvalidArgument("give --model and --manifest (or --from-windows FILE)")
        from shared.audio_scoring import AudioScorer
        from shared.datasets.manifest import read_manifest

        folder = resolve_audio_model(args.model)
        scorer = AudioScorer.from_folder(folder)
        samples = read_manifest(args.manifest).samples[: args.limit]
        files, skipped = score_files(scorer, samples, max_seconds=args.max_seconds, progress=not args.quiet)
        total, max_seconds, model = len(samples), args.max_seconds, scorer.card.version
        where = str(folder)
        if args.windows_out:
            meta = {"model": model, "manifest": str(args.manifest), "files": total, "max_seconds": max_seconds,
                    "window_s": scorer.prep.window_samples / scorer.prep.sample_rate}
            save_windows(args.windows_out, files, skipped, meta)
    if not files:
        raise InvalidArgument("no file of the manifest could be scored")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        with open(args.out, "w", newline="") as handle:
            writer = csv.writer(handle)
            methods = ["mean", "first"] + [m for m in AUDIO_AGGREGATIONS if m not in ("mean", "first")]
            writer.writerow(["path", "source", "label", "score_mean", "score_first", "duration_s", "windows",
                             "non_speech_windows", *[f"score_{m}" for m in methods[2:]]])
            for f in files:
                values = [f.score(m) for m in methods]
                writer.writerow([f.path, f.source, f.label, *values[:2], f.duration_s, len(f.log_odds),
                                 int((f.speech < 0.5).sum()), *["" if v is None else v for v in values[2:]]])

    print(f"model: {model} ({where})")
    print(f"manifest: {args.manifest or meta.get('manifest')} ({total} files, {len(files)} scored, {len(skipped)} skipped)")
    if max_seconds is not None:
        print(f"only the first {max_seconds:g} s of each file were scored")
    labels = [f.label for f in files]
    sources = sorted({f.source for f in files})
    print(f"{'source':<22} {'bona fide':>9} {'spoof':>6} {'windows':>8} {'non-speech':>11} {'EER first':>10}")
    for group in [*sources, "pooled"]:
        chosen = files if group == "pooled" else [f for f in files if f.source == group]
        ys = [f.label for f in chosen]
        firsts = [f.score("first") or 0.0 for f in chosen]
        windows = sum(len(f.log_odds) for f in chosen)
        quiet = sum(int((f.speech < 0.5).sum()) for f in chosen)
        print(f"{group:<22} {ys.count(0):>9} {ys.count(1):>6} {windows:>8} {quiet:>11} {_fmt(eer_percent(ys, firsts)):>10}")
    for path, reason in ((s.path, s.reason) for s in skipped):
        print(f"skipped {Path(path).name}: {reason}")
    table = compare_aggregations(files)
    if table.files == 0 or len(set(labels)) < 2:
        print("no comparison: the files every method scored do not hold both real and spoofed recordings")
        return _no_point(args)
    chosen_method = args.aggregation or choose_aggregation(table)
    _print_comparison(table, choose_aggregation(table))
    if args.aggregation and args.aggregation != choose_aggregation(table):
        print(f"operating point for --aggregation {args.aggregation} (not the winner above)")
    first, best = table.row("first").pooled, table.row(chosen_method).pooled
    print(f"{chosen_method}: pooled EER {best:.2f} % vs {first:.2f} % for the first window, on the same files")
    if not any(f.label == 0 for f in files):
        return _no_point(args)
    source_args = (
        [f"--from-windows {args.from_windows}"] if args.from_windows
        else [f"--model {args.model}", f"--manifest {args.manifest}"]
    )
    command = " ".join(
        ["deepfake audio evaluate-media", *source_args]
        + ([f"--max-seconds {max_seconds:g}"] if max_seconds is not None else [])
        + ([f"--aggregation {args.aggregation}"] if args.aggregation else [])
        + ([f"--target-rate {args.target_rate:g}"] if args.target_rate != 0.05 else [])
    )
    point, study = choose_operating_point(
        files,
        chosen_method,
        rate=args.target_rate,
        max_seconds=max_seconds,
        chosen_on=args.chosen_on or f"{args.manifest or meta.get('manifest')}: {len(files)} files of {', '.join(sources)}",
        measured_with=command,
    )
    _print_operating_point(point, study)
    if args.operating_point_out:
        args.operating_point_out.parent.mkdir(parents=True, exist_ok=True)
        args.operating_point_out.write_text(point.model_dump_json(indent=2) + "\n")
        print(f"wrote {args.operating_point_out}")
    if args.write_card:
        write_point_into_card(Path(args.model).expanduser(), point, scored_by=model)
    return 0


def _no_point(args: argparse.Namespace) -> int:
    """The end of an evaluation that chose no operating point: an error when ``--write-card`` asked for one."""
    if args.write_card:
        raise InvalidArgument("no operating point could be chosen on these files (see above): the card is unchanged")
    return 0


def write_point_into_card(folder: Path, point: Any, *, scored_by: str) -> None:
    """Put a measured operating point into ``folder``'s ``model.json`` (and drop this process's compiled copy).

    Raises:
        InvalidArgument: the windows were scored by another model than the folder's (``scored_by``: its version).
    """
    import os

    from shared.modelcard import CARD_FILE, ModelCard
    from shared.runtime import forget_compiled

    card = ModelCard.load(folder)
    if card.version != scored_by:
        raise InvalidArgument(f"the files were scored by {scored_by}, not by {card.version} ({folder}): card unchanged")
    tmp = folder / f".{CARD_FILE}.tmp"
    tmp.write_text(card.model_copy(update={"operating_point": point}).model_dump_json(indent=2) + "\n")
    os.replace(tmp, folder / CARD_FILE)  # never a half-written card
    forget_compiled(folder)
    print(f"wrote the operating point into {folder / CARD_FILE}")
