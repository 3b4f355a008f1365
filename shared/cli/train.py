"""``deepfake train video|audio|faces``: train or fine-tune detectors on datasets on disk.

Examples::

    deepfake train video --arch EfficientNetAutoAttB4 --init EfficientNetAutoAttB4_DFDC \\
        --data /data/dfdc --out runs/effatt-dfdc
    deepfake train audio --arch aasist-l --init AASIST-L --data /data/LA --out runs/aasist-l
    deepfake train faces --data /data/dfdc          # extract faces only (resumable), e.g. overnight
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from shared.errors import InvalidArgument


def _add_data_args(p: argparse.ArgumentParser) -> None:
    from shared.datasets import FORMATS

    p.add_argument("--data", type=Path, action="append", required=True,
                   help="dataset folder or manifest CSV (repeat to mix datasets)")
    p.add_argument("--format", default="auto", choices=FORMATS, help="dataset layout (default: detect)")
    p.add_argument("--split-by", default="dataset", choices=["dataset", "group"],
                   help="the dataset's own split (DFDC folders 0-34/35-39/40-49, ASVspoof train/dev/eval, "
                        "FF++ split files) or a split by identity group (default: dataset, when it has one)")
    p.add_argument("--fractions", default="80/10/10", help="train/val/test shares for --split-by group")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--limit", type=int, default=None,
                   help="use at most N samples (training: of the train split; evaluate: of the evaluated part), "
                        "class shares kept, chosen by --seed")
    p.add_argument("--only-source", action="append", default=[], metavar="NAME",
                   help="keep only samples of this source (dataset, method or corpus; repeatable)")
    p.add_argument("--exclude-source", action="append", default=[], metavar="NAME",
                   help="drop samples of this source (repeatable), e.g. to hold a source out for testing")


def _add_face_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--frames", type=int, default=32, help="frames per video, evenly spaced (reference: 32)")
    p.add_argument("--faces-per-frame", type=int, default=1, help="most confident faces kept per frame")
    p.add_argument("--face-cache", type=Path, default=None,
                   help="where extracted faces are stored (default: $DEEPFAKE_CACHE_DIR/faces)")


def _add_train_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, required=True, help="run folder: checkpoints, history, model folder")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--patience", type=int, default=5, help="early stop after N epochs without improvement")
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--lr", type=float, default=None, help="learning rate (default: the architecture's recipe)")
    p.add_argument("--max-steps", type=int, default=None, help="at most N batches per epoch")
    p.add_argument("--device", default="auto", help="auto (GPU when present), cpu, cuda, cuda:1 ...")
    p.add_argument("--threads", type=int, default=0, help="CPU threads for torch (0 = one per core)")
    p.add_argument("--workers", type=int, default=0, help="data-loading worker processes")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last epoch")
    p.add_argument("--no-export", action="store_true", help="do not convert the best checkpoint to a model folder")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("train", help="train or fine-tune a video or audio detector")
    sub = parser.add_subparsers(dest="train_kind", metavar="KIND")

    video = sub.add_parser("video", help="train an ICPR2020 face model on cached face crops")
    video.add_argument("--arch", required=True, help="EfficientNetB4, EfficientNetB4ST, EfficientNetAutoAttB4, "
                                                      "EfficientNetAutoAttB4ST or Xception")
    video.add_argument("--init", default=None,
                       help="start from a published model (name, e.g. EfficientNetAutoAttB4_DFDC; fetched first) "
                            "or a checkpoint file in the published layout; default: random weights")
    video.add_argument("--faces-per-epoch", type=int, default=None, help="faces drawn per epoch (balanced)")
    _add_data_args(video)
    _add_face_args(video)
    _add_train_args(video)
    video.set_defaults(func=run_video)

    audio = sub.add_parser("audio", help="train the mel CNN or fine-tune AASIST / AASIST-L")
    audio.add_argument("--arch", required=True, choices=["melcnn", "aasist", "aasist-l"])
    audio.add_argument("--init", default=None,
                       help="AASIST / AASIST-L: a published name (AASIST, AASIST-L; from the model cache or "
                            "../shared/weights) or a checkpoint file; default: random weights")
    audio.add_argument("--no-augment", action="store_true",
                       help="no random re-encoding/filtering/resampling of training clips")
    audio.add_argument("--head-only", action="store_true",
                       help="AASIST: keep the --init network frozen and re-fit only its output layer (CPU-cheap)")
    audio.add_argument("--feature-passes", type=int, default=2,
                       help="--head-only: windows per training clip (the first clean, the others augmented)")
    _add_data_args(audio)
    _add_train_args(audio)
    audio.set_defaults(func=run_audio)

    faces = sub.add_parser("faces", help="only extract faces of a dataset into the face cache (resumable)")
    _add_data_args(faces)
    _add_face_args(faces)
    faces.add_argument("--quiet", action="store_true")
    faces.set_defaults(func=run_faces)
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])


def _splits(args: argparse.Namespace) -> tuple[Any, dict[str, list[Any]]]:
    from shared.datasets.splits import parse_fractions
    from shared.training.data import filter_sources, limit_samples, load_many, make_splits

    dataset = filter_sources(load_many(args.data, args.format), args.only_source, args.exclude_source)
    splits = make_splits(dataset, split_by=args.split_by, fractions=parse_fractions(args.fractions), seed=args.seed)
    splits["train"] = limit_samples(splits["train"], args.limit, args.seed)
    if not splits["train"] or not splits.get("val"):
        raise InvalidArgument(f"{dataset.name}: the split has {len(splits['train'])} training and "
                              f"{len(splits.get('val', []))} validation samples; both are needed")
    return dataset, splits


def face_cache_from_args(args: argparse.Namespace) -> Any:
    from shared.datasets.facecache import ExtractionSettings, FaceCache
    from shared.settings import get_model_settings

    root = args.face_cache or get_model_settings().cache_dir / "faces"
    return FaceCache(root, ExtractionSettings(frames=args.frames, faces_per_frame=args.faces_per_frame))


def _print_summary(summary: dict[str, Any]) -> None:
    print(json.dumps(summary, indent=2, default=str))


def _train_options(args: argparse.Namespace, dataset: Any, train: list[Any]) -> dict[str, Any]:
    """The ``TrainOptions`` fields (shared by every recipe) from the flags of ``_add_train_args``."""
    from shared.training.data import describe_split

    counts = describe_split({"train": train})["train"]
    return {
        "arch": args.arch, "init": args.init, "out_dir": args.out, "epochs": args.epochs, "patience": args.patience,
        "batch_size": args.batch_size, "lr": args.lr, "max_steps_per_epoch": args.max_steps,
        "device": args.device, "threads": args.threads, "workers": args.workers, "seed": args.seed,
        "resume": args.resume, "progress": not args.quiet, "export": not args.no_export,
        "training_data": f"{dataset.name} ({dataset.reader}) train split: "
                         + ", ".join(f"{k} {v}" for k, v in counts.items()),
    }


def run_video(args: argparse.Namespace) -> int:
    """Train a face model."""
    from shared.training.data import describe_split
    from shared.training.video import VideoTrainOptions, train_video

    dataset, splits = _splits(args)
    cache = face_cache_from_args(args)
    splits = {k: [s for s in v if s.kind in ("video", "image")] for k, v in splits.items()}
    options = VideoTrainOptions(**_train_options(args, dataset, splits["train"]),
                                faces_per_epoch=args.faces_per_epoch)
    summary = train_video(splits["train"], splits["val"], cache, options)
    summary["split"] = describe_split(splits)
    _print_summary(summary)
    return 0


def run_audio(args: argparse.Namespace) -> int:
    """Train an audio model."""
    from shared.training.audio import AudioTrainOptions, train_audio
    from shared.training.data import describe_split

    dataset, splits = _splits(args)
    splits = {k: [s for s in v if s.kind == "audio" or s.kind == "video"] for k, v in splits.items()}
    options = AudioTrainOptions(**_train_options(args, dataset, splits["train"]), augment=not args.no_augment,
                                head_only=args.head_only, feature_passes=args.feature_passes)
    summary = train_audio(splits["train"], splits["val"], options)
    summary["split"] = describe_split(splits)
    _print_summary(summary)
    return 0


def run_faces(args: argparse.Namespace) -> int:
    """Extract faces into the cache."""
    from shared.training.data import filter_sources, load_many

    dataset = filter_sources(load_many(args.data, args.format), args.only_source, args.exclude_source)
    cache = face_cache_from_args(args)
    paths = [s.path for s in dataset.samples if s.kind in ("video", "image")]
    entries = cache.extract_all(paths, progress=not args.quiet)
    failed = [e for e in entries.values() if e.error]
    no_face = [e for e in entries.values() if not e.error and len(e) == 0]
    print(json.dumps({"files": len(entries), "faces": sum(len(e) for e in entries.values()),
                      "files_without_faces": len(no_face), "files_failed": len(failed),
                      "cache": str(cache.root)}, indent=2))
    for e in failed[:10]:
        print(f"failed: {e.path}: {e.error}")
    return 0
