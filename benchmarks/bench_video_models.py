"""Faces per second of the ICPR2020 EfficientNetAutoAttB4, four ways, in one run on this machine.

1. reference: ``efficientnet_pytorch`` eager PyTorch (the reference implementation's network)
2. ours: our timm-based PyTorch model (eager)
3. OV FP32: our FP32 OpenVINO IR, ``INFERENCE_PRECISION_HINT=f32``
4. OV INT8: the NNCF post-training INT8 IR (calibrated on real face crops when ../shared is present)

All four run the same weights on the same batch of 32 faces (224×224); ratios are against the reference
measured in this run. No timing is asserted anywhere; this prints.

    .venv/bin/python benchmarks/bench_video_models.py [--batch 32] [--repeats 3] [--threads 0]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests"), str(REPO / "tests" / "models")]


def _best_rate(fn, n_faces: int, repeats: int) -> float:
    fn()  # warm-up (first OpenVINO run, allocator)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return n_faces / best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="0 = all cores")
    args = parser.parse_args()

    import torch

    threads = args.threads or os.cpu_count() or 1
    torch.set_num_threads(threads)
    from fixtures_models import build_calibrated_model, collect_faces, faces_to_tensor
    from reference_icpr import build_reference

    from shared.models.icpr import import_checkpoint, load_published, save_published_checkpoint
    from shared.quantize import quantize_model_folder
    from shared.video_scoring import FaceScorer

    media = Path(os.environ.get("DEEPFAKE_SHARED_MATERIAL", REPO.parent / "shared")) / "media"
    faceset = collect_faces(
        media if (media / "manifest-visual.csv").is_file() else None, REPO / ".pytest_cache"
    )
    faces = np.resize(faceset.faces, (args.batch, 224, 224, 3))  # repeat crops up to one batch
    x = faces_to_tensor(faces)

    arch = "EfficientNetAutoAttB4"
    with tempfile.TemporaryDirectory() as tmp:
        model = build_calibrated_model(arch, faceset.faces)
        ckpt = save_published_checkpoint(model, Path(tmp) / "m.pth")
        reference = build_reference(arch)
        reference.load_state_dict(torch.load(ckpt, weights_only=True)["net"])
        ours = load_published(arch, ckpt)
        import_checkpoint(arch, ckpt, Path(tmp) / "fp32")
        quantize_model_folder(Path(tmp) / "fp32", Path(tmp) / "int8", faceset.faces)
        fp32 = FaceScorer.from_folder(Path(tmp) / "fp32", batch_size=args.batch, threads=args.threads)
        int8 = FaceScorer.from_folder(Path(tmp) / "int8", batch_size=args.batch, threads=args.threads)

        def run_torch(net):
            def go():
                with torch.inference_mode():
                    net(x)

            return go

        rows = [
            (
                "reference eager (efficientnet_pytorch)",
                _best_rate(run_torch(reference), len(x), args.repeats),
            ),
            ("ours, PyTorch eager (timm)", _best_rate(run_torch(ours), len(x), args.repeats)),
            ("ours, OpenVINO FP32 (f32 hint)", _best_rate(lambda: fp32.score(faces), len(x), args.repeats)),
            ("ours, OpenVINO INT8 (NNCF PTQ)", _best_rate(lambda: int8.score(faces), len(x), args.repeats)),
        ]
    base = rows[0][1]
    print(
        f"EfficientNetAutoAttB4, batch {args.batch} of 224x224 faces, {threads} threads, "
        f"best of {args.repeats}; faces: {faceset.source}"
    )
    print("| model | faces/s | × reference |")
    print("|---|---:|---:|")
    for name, rate in rows:
        print(f"| {name} | {rate:.1f} | {rate / base:.1f}× |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
