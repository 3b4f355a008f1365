"""The self-supervised voice model's cost: seconds per 64,600-sample window (4.04 s) in OpenVINO FP32, against
AASIST's in the same run.

Both networks are built with random weights (their cost does not depend on the values): AntiDeepfake's
full-size MMS-300M wav2vec 2.0 (24 layers, 1024 wide, ``shared.models.voice_ssl``) exported exactly as the
import exports it (per-window layer norm inside the IR), and AASIST (``shared.models.aasist``). Each is
compiled through ``shared.runtime.compile_model`` at f32 with the given threads, one window per call (the
in-process case). The machine may be shared: the load average is printed beside the figures.

``--int8`` also times a copy with INT8 weights (NNCF ``compress_weights``, no calibration data): speed only.
Whether its scores agree with FP32 needs the real weights and labelled speech, so it is not measured here.

Run: ``.venv/bin/python benchmarks/bench_voice_ssl.py [--threads 2] [--repeats 5] [--int8]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from timing import median_seconds

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--int8", action="store_true", help="also time INT8 weights (NNCF compress_weights)")
    args = parser.parse_args()

    import torch

    os.environ.setdefault("DEEPFAKE_CACHE_DIR", tempfile.mkdtemp(prefix="bench-voice-ssl-"))
    from shared.modelcard import ModelCard
    from shared.models import create_model
    from shared.models.aasist import WINDOW_SAMPLES, WaveformExport, waveform_windows
    from shared.models.voice_ssl import MMS_300M, random_model
    from shared.runtime import compile_model, export_ir

    def load() -> str:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])

    tmp = Path(tempfile.mkdtemp(prefix="bench-voice-ssl-ir-"))
    example = torch.zeros(1, WINDOW_SAMPLES)
    folders = {}
    for name, module, prep in (
        ("AASIST", WaveformExport(create_model("AASIST").eval()), waveform_windows(output="logits2", bonafide_index=1)),
        ("AntiDeepfake MMS-300M", random_model(MMS_300M), waveform_windows(output="logits2", bonafide_index=1,
                                                                           window_norm="layer_norm")),
    ):
        start = time.perf_counter()
        card = ModelCard(name=name, architecture=name, kind="audio", preprocessing=prep)
        with torch.no_grad():
            traced = torch.jit.trace(module.eval(), example, check_trace=False)
        folders[name] = export_ir(traced, example, tmp / name.split()[0], card, output_names=["logits"],
                                  input_shapes=[[-1, WINDOW_SAMPLES]])
        params = sum(p.numel() for p in module.parameters())
        print(f"{name}: {params / 1e6:.1f} M parameters, exported in {time.perf_counter() - start:.0f} s")
        del traced, module

    if args.int8:
        import nncf
        import openvino as ov

        from shared.runtime import read_ir

        start = time.perf_counter()
        src = folders["AntiDeepfake MMS-300M"]
        dst = tmp / "AntiDeepfake-int8"
        dst.mkdir()
        ov.save_model(nncf.compress_weights(read_ir(src)), dst / "model.xml", compress_to_fp16=False)
        card = ModelCard.load(src)
        card.model_copy(update={"name": "AntiDeepfake MMS-300M INT8 weights", "precision": "INT8"}).save(dst)
        folders["AntiDeepfake MMS-300M INT8 weights"] = dst
        print(f"INT8 weights written in {time.perf_counter() - start:.0f} s")

    window = np.random.default_rng(0).standard_normal((1, WINDOW_SAMPLES)).astype(np.float32) * 0.1
    print(f"OpenVINO f32, {args.threads} threads, one window per call, median of {args.repeats}; "
          f"cpu count {os.cpu_count()}, load average before: {load()}")
    seconds = {}
    for name, folder in folders.items():
        compiled = compile_model(folder, threads=args.threads)
        seconds[name] = median_seconds(lambda c=compiled: c.infer(window), args.repeats, warmups=2)
        print(f"{name:<24} {seconds[name] * 1000:9.1f} ms per window")
    for name, value in seconds.items():
        if name != "AASIST":
            print(f"{name} / AASIST: {value / seconds['AASIST']:.1f}x per window")
    print(f"load average after: {load()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
