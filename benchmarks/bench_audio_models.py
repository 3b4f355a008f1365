"""Audio models: windows per second in PyTorch (our implementation) and OpenVINO (FP32 IR), in one run.

For AASIST and AASIST-L, one 64,600-sample window per call (batch 1, the service's latency case) and a
batch of 8, on the same threads (default 2, like the reference timing in
``../shared/reference/aasist/ARCHITECTURE.md`` §12). Three PyTorch variants are timed: our plain forward
(``set_fast_inference(False)``, the same graph the IR is made from), our eval fast path (folded BN,
channels-last encoder) and OpenVINO. Ratios are against our fast PyTorch path, measured in the same run.

Uses the published weights from ``../shared/weights/aasist`` when present, else random weights (the speed
does not depend on the values). Run: ``.venv/bin/python benchmarks/bench_audio_models.py [--threads 2]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
from timing import median_seconds

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
WEIGHTS = Path(os.environ.get("DEEPFAKE_SHARED_MATERIAL", REPO.parent / "shared")) / "weights" / "aasist"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--batch", type=int, default=8)
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    os.environ.setdefault("DEEPFAKE_CACHE_DIR", tempfile.mkdtemp(prefix="bench-audio-"))
    from shared.models import create_model
    from shared.models.aasist import WINDOW_SAMPLES, import_checkpoint, load_aasist
    from shared.registry import get_published
    from shared.runtime import compile_model

    rng = np.random.default_rng(0)
    print(f"threads {args.threads}, median of {args.repeats} runs, torch {torch.__version__}, "
          f"cpu count {os.cpu_count()}, load average {os.getloadavg()[0]:.2f}")  # fmt: skip
    header = f"{'model':<9} {'batch':>5} {'PyTorch plain':>14} {'PyTorch fast':>13} {'OpenVINO':>9} {'OV / fast':>10} {'OV / plain':>11}"
    print("windows per second")
    print(header)
    tmp = Path(tempfile.mkdtemp(prefix="bench-audio-ir-"))
    for name in ("AASIST", "AASIST-L"):
        checkpoint = WEIGHTS / f"{name}.pth"
        if checkpoint.is_file():
            model = load_aasist(name, checkpoint)
            source = checkpoint
        else:
            model = create_model(name).eval()
            source = tmp / f"{name}-random.pth"
            torch.save(model.state_dict(), source)
        import_checkpoint(
            name, source, tmp / name, published=get_published(name) if checkpoint.is_file() else None
        )
        compiled = compile_model(tmp / name, threads=args.threads)
        for batch in (1, args.batch):
            x = rng.normal(0, 0.1, (batch, WINDOW_SAMPLES)).astype(np.float32)
            xt = torch.from_numpy(x)
            rates = {}
            with torch.no_grad():
                for label, fast in (("plain", False), ("fast", True)):
                    model.set_fast_inference(fast)
                    rates[label] = batch / median_seconds(lambda m=model, v=xt: m(v), args.repeats, warmups=2)
            rates["ov"] = batch / median_seconds(lambda c=compiled, v=x: c.infer(v), args.repeats, warmups=2)
            print(
                f"{name:<9} {batch:>5} {rates['plain']:>14.2f} {rates['fast']:>13.2f} {rates['ov']:>9.2f} "
                f"{rates['ov'] / rates['fast']:>9.2f}x {rates['ov'] / rates['plain']:>10.2f}x"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
