"""``deepfake models``: list, import, quantize, score and fetch face/speech models.

deepfake models list
deepfake models import-icpr --arch EfficientNetAutoAttB4 --checkpoint X.pth --out DIR [--int8 --calibration FACES.npy]
deepfake models quantize --model DIR --calibration FACES.npy --out DIR_INT8 [--labels LABELS.npy]
deepfake models score --model DIR|NAME --faces FACES.npy --out LOGITS.npy [--attention MAPS.npy]
deepfake models fetch EfficientNetAutoAttB4_DFDC
deepfake models import-voice-ssl model.safetensors --accept-licence CC-BY-NC-SA-4.0 [--variant NAME] [--out DIR]

A kind of evidence that converts a model of its own adds its ``import-...`` subcommand here from its package
(``register_models`` in its command module, ``shared.evidence.command_modules``).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from shared.errors import InvalidArgument
from shared.evidence import command_modules


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("models", help="list, fetch, import, quantize and run models")
    sub = parser.add_subparsers(dest="models_command", metavar="SUBCOMMAND")
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])

    p = sub.add_parser(
        "list", help="published models, their training data and reported scores; architectures"
    )
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("import-icpr", help="convert an ICPR2020 checkpoint to an OpenVINO model folder")
    p.add_argument(
        "--arch", required=True, help="EfficientNetB4, EfficientNetB4ST, EfficientNetAutoAttB4, ..."
    )
    p.add_argument("--checkpoint", required=True, type=Path, help="the .pth file (torch.load(f)['net'])")
    p.add_argument("--out", required=True, type=Path, help="model folder to write")
    p.add_argument("--published", help="registry name the file is (default: recognised by its file name)")
    p.add_argument("--int8", action="store_true", help="write an INT8 IR (NNCF, needs --calibration)")
    p.add_argument("--calibration", type=Path, help="uint8 (N,224,224,3) RGB face crops (.npy) for INT8")
    p.add_argument("--labels", type=Path, help="0/1 labels (.npy) of the calibration faces: prints AUCs")
    p.set_defaults(func=cmd_import_icpr)

    p = sub.add_parser("quantize", help="INT8 copy of an FP32 face model folder (NNCF post-training)")
    p.add_argument("--model", required=True, type=Path, help="FP32 model folder")
    p.add_argument(
        "--calibration", required=True, type=Path, help="uint8 (N,224,224,3) RGB face crops (.npy)"
    )
    p.add_argument("--out", required=True, type=Path, help="INT8 model folder to write")
    p.add_argument(
        "--faces", type=Path, help="faces to compare FP32 and INT8 on (default: calibration faces)"
    )
    p.add_argument(
        "--labels", type=Path, help="0/1 labels (.npy) of the compared faces: prints the AUC of each"
    )
    p.set_defaults(func=cmd_quantize)

    p = sub.add_parser(
        "score", help="score face crops: FACES.npy uint8 (N,224,224,3) RGB → float32 logits (N,)"
    )
    p.add_argument("--model", required=True, help="model folder or published name")
    p.add_argument("--faces", required=True, type=Path)
    p.add_argument("--out", required=True, type=Path, help="where to write the float32 (N,) logits (.npy)")
    p.add_argument("--attention", type=Path, help="also write the attention maps (N,h,w) (AutoAtt models)")
    p.set_defaults(func=cmd_score)

    p = sub.add_parser(
        "import-voice-ssl",
        help="convert your copy of an AntiDeepfake voice model (model.safetensors, CC BY-NC-SA 4.0) to a model folder",
    )
    p.add_argument("file", type=Path, help="the model.safetensors from the authors' Hugging Face page")
    p.add_argument(
        "--variant",
        default="mms-300m-anti-deepfake",
        help="which published file it is: mms-300m-anti-deepfake (default) or mms-300m-anti-deepfake-nda",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="model folder to write (default: the model cache, so --audio-model VARIANT finds it by name)",
    )
    p.add_argument(
        "--accept-licence",
        metavar="LICENCE",
        help="the weights are CC BY-NC-SA 4.0 (non-commercial, share-alike): name it to accept it",
    )
    p.set_defaults(func=cmd_import_voice_ssl)

    p = sub.add_parser("fetch", help="download published models, verify their sha256, convert them to IR")
    p.add_argument("names", metavar="NAME", nargs="+", help="e.g. EfficientNetAutoAttB4_DFDC (see `deepfake models list`)")
    p.set_defaults(func=cmd_fetch)

    for module in command_modules():
        commands = importlib.import_module(module)
        if hasattr(commands, "register_models"):
            commands.register_models(sub)


def cmd_list(args: argparse.Namespace) -> int:
    from shared.models import list_models
    from shared.registry import PUBLISHED, USER_SUPPLIED
    from shared.weights import models_dir

    print("Published models (deepfake models fetch NAME):")
    for entry in PUBLISHED.values():
        cached = "cached" if (models_dir() / entry.name / "model.json").is_file() else ""
        metrics = ", ".join(f"{k} {v}" for k, v in entry.reported_metrics.items() if k != "source")
        print(f"  {entry.name:30s} {entry.kind:5s} {entry.architecture:24s} {cached}")
        print(f"      trained on: {entry.training_data}")
        if metrics:
            print(f"      reported:   {metrics}")
    print("Models you supply the file of (not downloaded: their licence is accepted at import):")
    for entry in USER_SUPPLIED.values():
        imported = "imported" if (models_dir() / entry.name / "model.json").is_file() else ""
        print(f"  {entry.name:30s} {entry.kind:5s} {entry.architecture:24s} {imported}")
        print(f"      licence:    {entry.licence}")
        print(f"      get it:     {entry.download_page} ({entry.file}), then deepfake models import-voice-ssl")
    print("Architectures (create_model NAME; ICPR2020 ones convert with deepfake models import-icpr --arch NAME):")
    print("  " + ", ".join(list_models()))
    return 0


def _published_for(checkpoint: Path, name: str | None):  # -> PublishedModel | None
    from shared.registry import PUBLISHED, get_published

    if name:
        return get_published(name)
    return next((e for e in PUBLISHED.values() if e.file == checkpoint.name), None)


def _load_labels(path: Path | None):  # -> np.ndarray | None
    import numpy as np

    if path is None:
        return None
    try:
        return np.load(path, allow_pickle=False).astype(int).ravel()
    except (OSError, ValueError) as exc:
        raise InvalidArgument(f"cannot read labels {path}: {exc}") from None


def cmd_import_icpr(args: argparse.Namespace) -> int:
    import tempfile

    from shared.models.icpr import import_checkpoint
    from shared.quantize import quantize_model_folder

    published = _published_for(args.checkpoint, args.published)
    if not args.int8:
        card = import_checkpoint(args.arch, args.checkpoint, args.out, published=published)
        sha = card.source.sha256[:12] if card.source else "?"
        print(f"wrote {args.out} ({card.architecture}, {card.precision}, source sha256 {sha}...)")
        return 0
    if args.calibration is None:
        raise InvalidArgument("--int8 needs --calibration FACES.npy (real face crops)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="fp32-", dir=args.out.parent) as tmp:
        fp32 = Path(tmp) / "fp32"
        import_checkpoint(args.arch, args.checkpoint, fp32, published=published)
        report = quantize_model_folder(fp32, args.out, args.calibration, labels=_load_labels(args.labels))
    print("\n".join(report.lines()))
    print(f"wrote {args.out}")
    return 0


def cmd_quantize(args: argparse.Namespace) -> int:
    from shared.quantize import quantize_model_folder

    report = quantize_model_folder(
        args.model, args.out, args.calibration, labels=_load_labels(args.labels), compare_faces=args.faces
    )
    print("\n".join(report.lines()))
    print(f"wrote {args.out}")
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    import numpy as np

    from shared.quantize import load_faces
    from shared.video_scoring import FaceScorer
    from shared.weights import resolve_model

    scorer = FaceScorer.from_folder(resolve_model(args.model))
    faces = load_faces(args.faces, scorer.input_size, allow_empty=True)
    scores = scorer.score(faces)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.save(args.out, scores.logits.astype(np.float32))
    if args.attention is not None:
        if scores.attention is None:
            raise InvalidArgument(f"{scorer.card.architecture} has no attention map")
        np.save(args.attention, scores.attention.astype(np.float32))
    print(f"scored {len(faces)} faces with {scorer.card.name} → {args.out}", file=sys.stderr)
    return 0


def cmd_fetch(args: argparse.Namespace) -> int:
    from shared.weights import fetch

    for name in args.names:
        print(fetch(name))
    return 0


def cmd_import_voice_ssl(args: argparse.Namespace) -> int:
    from shared.registry import USER_SUPPLIED, check_licence_accepted

    entry = USER_SUPPLIED.get(args.variant)
    if entry is None:
        raise InvalidArgument(f"unknown variant {args.variant!r}; known: {', '.join(sorted(USER_SUPPLIED))}")
    # the licence is checked before torch is imported or the file read: a refusal costs nothing
    check_licence_accepted(entry, args.accept_licence)
    from shared.models.voice_ssl import import_checkpoint
    from shared.weights import models_dir

    out = args.out if args.out is not None else models_dir() / entry.name
    card = import_checkpoint(args.file, out, variant=entry.name, accept_licence=args.accept_licence)
    sha = card.source.sha256 if card.source else "?"
    print(f"wrote {out} ({card.architecture}, {card.precision}, file sha256 {sha})")
    print(f"licence of the weights: {card.licence}")
    print(
        "no operating point yet: the voice check shows its score but gives no verdict until one is measured "
        f"(deepfake audio evaluate-media --model {out} --manifest LABELLED.csv --write-card)"
    )
    return 0
