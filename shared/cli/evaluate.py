"""``deepfake evaluate video|audio``: score a labelled dataset with a model folder and write a report.

OUTDIR gets ``metrics.json`` (AUC, log-loss, accuracy, F1, precision, recall, EER, the threshold and how
it was chosen; per video and per frame, or per file, source and attack), ``scores.csv``, PNG plots
(confusion matrix, ROC, precision-recall, calibration curve, score histograms, mel spectrograms for
audio) and ``report.html``, one self-contained page with all of them.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from shared.errors import InvalidArgument


def register(subparsers: Any) -> None:
    from shared.cli.analyze import add_face_stage_args
    from shared.cli.train import _add_data_args

    parser = subparsers.add_parser("evaluate", help="evaluate a model on a labelled dataset (metrics, plots, HTML)")
    sub = parser.add_subparsers(dest="evaluate_kind", metavar="KIND")
    for kind in ("video", "audio"):
        p = sub.add_parser(kind, help=f"evaluate a {kind} model folder")
        p.add_argument("--model", required=True, help="a model folder (model.xml + model.json) or a registry name")
        _add_data_args(p)
        p.add_argument("--split", default="auto", choices=["auto", "test", "val", "train", "all"],
                       help="which part to evaluate: auto = test when the data defines a split, else all")
        p.add_argument("--out", type=Path, required=True, help="output folder for metrics.json, plots, report.html")
        p.add_argument("--threshold", default="card",
                       help="card (the model's own), a number, or eer/youden/f1 chosen on the validation split")
        p.add_argument("--calibrate", action="store_true",
                       help="fit Platt calibration on the validation split and report calibrated probabilities")
        p.add_argument("--save-calibration", action="store_true",
                       help="write the fitted calibration (and a threshold chosen on validation) into model.json")
        p.add_argument("--threads", type=int, default=0, help="CPU threads for torch (0 = one per core)")
        p.add_argument("--quiet", action="store_true", help="no progress bars")
        if kind == "video":
            # the faces analyze would score: its face stage, its defaults (DEEPFAKE_*), its flags
            add_face_stage_args(p)
            p.add_argument("--face-cache", type=Path, default=None,
                           help="where the faces found are stored (default: $DEEPFAKE_CACHE_DIR/faces)")
        p.set_defaults(func=run_evaluate, kind=kind)
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])


def resolve_model_dir(spec: str) -> Path:
    """A model folder as given, or a registry name resolved (fetched and converted) by ``shared.weights``."""
    path = Path(spec)
    if path.is_dir():
        return path
    from shared.weights import resolve_model

    return Path(resolve_model(spec))


def choose_parts(args: argparse.Namespace) -> tuple[Any, list[Any], list[Any]]:
    """The dataset, the samples to evaluate and the validation samples (for threshold/calibration)."""
    from shared.datasets.splits import parse_fractions
    from shared.training.data import filter_sources, limit_samples, load_many, make_splits

    dataset = filter_sources(load_many(args.data, args.format), args.only_source, args.exclude_source)
    if args.split == "all":
        return dataset, limit_samples(dataset.samples, args.limit, args.seed), []
    has_own = all(s.split for s in dataset.samples)
    if args.split == "auto" and not has_own and args.split_by == "dataset":
        return dataset, limit_samples(dataset.samples, args.limit, args.seed), []
    part = "test" if args.split == "auto" else args.split
    splits = make_splits(dataset, split_by=args.split_by, fractions=parse_fractions(args.fractions), seed=args.seed)
    test = limit_samples(splits.get(part, []), args.limit, args.seed)
    val = splits.get("val", []) if part != "val" else []
    if not test:
        raise InvalidArgument(f"{dataset.name}: the {part} split is empty; choose another --split")
    return dataset, test, limit_samples(val, args.limit, args.seed)


def analysis_face_cache(args: argparse.Namespace, model_dir: Path) -> Any:
    """A face cache of analyze's own face stage (its options from the settings and the flags), cropping as
    the model's card says: the faces and tracks ``deepfake analyze`` would score with this model."""
    from shared.cli.analyze import face_stage_options
    from shared.datasets.facecache import AnalysisSettings, FaceCache
    from shared.modelcard import ModelCard, VideoPreprocessing
    from shared.settings import get_model_settings

    prep = ModelCard.load(model_dir).preprocessing
    if not isinstance(prep, VideoPreprocessing):
        raise InvalidArgument(f"{model_dir} is not a video model (its card's preprocessing is {prep.kind!r})")
    root = args.face_cache or get_model_settings().cache_dir / "faces"
    return FaceCache(root, AnalysisSettings.from_options(face_stage_options(args), prep))


def run_evaluate(args: argparse.Namespace) -> int:
    """Evaluate a model and write the report folder."""
    from shared.evaluation.run import EvalOptions, evaluate_audio, evaluate_video
    from shared.training.data import describe_split
    from shared.training.loop import set_cpu_threads

    set_cpu_threads(args.threads)
    if args.save_calibration and not (args.calibrate or args.threshold not in ("card",)):
        raise InvalidArgument("--save-calibration needs --calibrate or a --threshold method to save")
    model_dir = resolve_model_dir(args.model)
    dataset, test, val = choose_parts(args)
    info = {"name": dataset.name, "reader": dataset.reader, "paths": [str(p) for p in args.data],
            "split": args.split, "split_by": args.split_by, "seed": args.seed,
            "only_source": args.only_source, "exclude_source": args.exclude_source,
            "evaluated": describe_split({"x": test})["x"], "validation": describe_split({"x": val})["x"],
            "notes": dataset.notes}
    options = EvalOptions(out_dir=args.out, threshold=args.threshold, calibrate=args.calibrate,
                          save_calibration=args.save_calibration, progress=not args.quiet, data_info=info)
    if args.kind == "video":
        result = evaluate_video(model_dir, test, val, analysis_face_cache(args, model_dir), options)
    else:
        result = evaluate_audio(model_dir, [s for s in test if s.kind in ("audio", "video")],
                                [s for s in val if s.kind in ("audio", "video")], options)
    headline = next(iter(result["levels"]))
    m = result["levels"][headline]
    summary = {k: m[k] for k in ("n", "auc", "eer", "log_loss", "accuracy", "f1", "precision", "recall")}
    print(json.dumps({"level": headline, **summary, "threshold": result["threshold"],
                      "skipped": len(result.get("skipped", [])), "out": str(args.out),
                      "report": str(Path(args.out) / "report.html")}, indent=2))
    return 0
