"""Whole-process ``deepfake analyze`` on a 10 s 1080p clip, against the reference's classification step.

The targets of issue 11, printed as ratios measured in one run (never asserted anywhere):

1. ``--frames 32``: the whole ``deepfake analyze`` process (start-up, probe, decode, BlazeFace, crops,
   the FP32 video model, the audio model, the report) against the reference's PyTorch eager
   classification of 32 faces alone (``efficientnet_pytorch`` EfficientNetAutoAttB4, batch of 32 crops,
   torch using every core). Target: at most 1.0x.
2. the default sampling (every 2nd frame): the whole process against the clip's duration. Target: at most
   0.40x (issue 20; issue 11 asked for 0.60x).

Each command runs ``--repeat`` times after one warm-up run (which fills OpenVINO's compiled-model cache,
as a user's first run does); the median wall time is used, with the children's CPU seconds beside it.
The machine's load average is printed before and after: benchmark only on an idle machine.

Models: the published EfficientNetAutoAttB4_DFDC and AASIST when the cache has them; otherwise the same
architectures with random video weights (speed does not depend on weights) and AASIST from
``../shared/weights``. The face detector is BlazeFace (seeded from ``../shared/weights``).

    .venv/bin/python benchmarks/bench_analyze.py [--repeat 3] [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from timing import median_seconds

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests"), str(REPO / "tests" / "models")]
SHARED = Path(os.environ.get("DEEPFAKE_SHARED_MATERIAL", REPO.parent / "shared"))
CLIP = SHARED / "media" / "video" / "dfdc_trainsample_abofeumbvv.mp4"


def prepare_models(work: Path) -> tuple[Path, Path]:
    """FP32 video and audio model folders, and BlazeFace in the work cache."""
    import torch

    from shared.models import create_model
    from shared.models.aasist import import_checkpoint as import_aasist
    from shared.models.icpr import export_model_ir, make_card
    from shared.weights import downloads_dir, resolve_model

    downloads_dir().mkdir(parents=True, exist_ok=True)
    for name in ("blazeface.pth", "anchors.npy"):
        shutil.copy(SHARED / "weights" / "blazeface" / name, downloads_dir() / name)
    resolve_model("blazeface")
    video = work / "EfficientNetAutoAttB4_random_FP32"
    if not (video / "model.json").exists():
        torch.manual_seed(0)
        model = create_model("EfficientNetAutoAttB4").eval()
        card = make_card("EfficientNetAutoAttB4", name="EfficientNetAutoAttB4_random", source_file="random",
                         source_sha256="0" * 64)  # fmt: skip
        export_model_ir(model, video, card)
    audio = work / "AASIST"
    if not (audio / "model.json").exists():
        import_aasist("AASIST", SHARED / "weights" / "aasist" / "AASIST.pth", audio)
    return video, audio


def reference_classification_seconds(repeat: int) -> float:
    """The reference's eager PyTorch EfficientNetAutoAttB4 on a batch of 32 face crops (median of runs)."""
    import torch
    from reference_icpr import build_reference

    torch.set_num_threads(os.cpu_count() or 1)
    net = build_reference("EfficientNetAutoAttB4").eval()
    x = torch.randn(32, 3, 224, 224)
    with torch.inference_mode():
        return median_seconds(lambda: net(x), repeat)


def run_analyze(args: list[str], env: dict[str, str], repeat: int) -> tuple[float, float, dict]:
    """Median wall seconds and CPU seconds of the whole ``deepfake analyze`` process; the last report."""
    cmd = [sys.executable, "-m", "shared.cli", "analyze", *args, "--json"]
    walls, cpus = [], []
    report: dict = {}
    for i in range(repeat + 1):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        out = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, check=True)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        report = json.loads(out.stdout)
        if i:  # the first run fills the compiled-model cache (a user's first run)
            walls.append(wall)
            cpus.append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
    return statistics.median(walls), statistics.median(cpus), report


def setup(description: str) -> tuple[argparse.Namespace, dict[str, str], list[str]] | None:
    """The options, environment and model flags every benchmark of ``deepfake analyze`` on :data:`CLIP`
    shares (``--repeat``, ``--work``; the load average printed); ``None`` when the clip is missing."""
    parser = argparse.ArgumentParser(description=description)
    add_options(parser)
    return prepare(parser.parse_args())


def add_options(parser: argparse.ArgumentParser) -> None:
    """:func:`setup`'s options, for a script whose own parser has more (``bench_lips.py``'s subcommands)."""
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--work", type=Path, default=REPO / "run" / "bench_analyze")


def prepare(args: argparse.Namespace) -> tuple[argparse.Namespace, dict[str, str], list[str]] | None:
    """:func:`setup` after its options were parsed (by a parser given :func:`add_options`)."""
    if not CLIP.is_file():
        print(f"needs {CLIP} (../shared/media)", file=sys.stderr)
        return None
    args.work.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "DEEPFAKE_CACHE_DIR": str(args.work / "cache"), "DEEPFAKE_DETECTOR": "blazeface"}
    os.environ.update(env)
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    video, audio = prepare_models(args.work)
    return args, env, ["--video-model", str(video), "--audio-model", str(audio)]


def main() -> int:
    ready = setup(__doc__.splitlines()[0])
    if ready is None:
        return 2
    args, env, common = ready
    baseline = reference_classification_seconds(args.repeat)
    f32_wall, f32_cpu, f32 = run_analyze([str(CLIP), "--frames", "32", *common], env, args.repeat)
    def_wall, def_cpu, default = run_analyze([str(CLIP), *common], env, args.repeat)
    duration = float(default["media"]["duration_s"])
    print(f"clip: {CLIP.name}, {default['media']['width']}x{default['media']['height']}, {duration:.1f} s")
    print(f"baseline: reference eager PyTorch classification of 32 faces: {baseline:.2f} s")
    print("| run | wall s | CPU s | faces scored | ratio | target |")
    print("|---|---:|---:|---:|---:|---:|")
    # faces the face model scored (the budget per person; every face of the N frames with --frames N)
    faces = lambda r: sum(t.get("faces_scored") or t["faces"] for t in r["video"]["tracks"])  # noqa: E731
    print(f"| --frames 32, whole process | {f32_wall:.2f} | {f32_cpu:.2f} | {faces(f32)} | "
          f"{f32_wall / baseline:.2f}x baseline | <= 1.0x |")  # fmt: skip
    print(f"| default (every 2nd frame), whole process | {def_wall:.2f} | {def_cpu:.2f} | {faces(default)} | "
          f"{def_wall / duration:.2f}x clip duration | <= 0.40x |")  # fmt: skip
    stages = {k: v for k, v in f32["timings"].items() if k != "total"}
    print("--frames 32 stages (s): " + ", ".join(f"{k} {v:.2f}" for k, v in stages.items()))
    stages = {k: v for k, v in default["timings"].items() if k != "total"}
    print("default stages (s): " + ", ".join(f"{k} {v:.2f}" for k, v in stages.items()))
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
