"""Time ``deepfake analyze`` (warm models) on a 10 s 1080p clip: ``--frames 32`` and the default sampling.

Prints each stage's seconds (median of ``--repeat`` warm runs, wall clock and this process's CPU time)
and, as the baseline measured in the same run, the naive way of doing the same work for ``--frames 32``:
OpenCV decoding every frame to keep 32, MTCNN on full-resolution frames, the same crops and model.
Speed-ups are printed as ratios against that baseline, never as absolute promises: the machine may be
shared (compare the CPU-time column, which suffers less from other processes).

Clip: ``../shared/media/video/dfdc_trainsample_abofeumbvv.mp4`` (DFDC, 1920x1080, 10 s) when present,
else a generated 10 s 1080p clip. Model: ``--video-model`` (a folder or registry name); by default the
published EfficientNetAutoAttB4_DFDC if it can be resolved, else the same architecture with random
weights (speed does not depend on the weights) exported here, FP32 and NNCF INT8.

    .venv/bin/python benchmarks/bench_analyze.py [--video-model M] [--repeat 2] [--no-baseline]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SHARED_CLIP = REPO.parent / "shared" / "media" / "video" / "dfdc_trainsample_abofeumbvv.mp4"


def clip_path(work: Path) -> Path:
    if SHARED_CLIP.is_file():
        return SHARED_CLIP
    sys.path.insert(0, str(REPO / "tests"))
    from fixtures_media import _compose, write_video

    out = work / "generated_1080p_10s.mp4"
    if not out.exists():
        write_video(out, lambda i: _compose(1080, 1920, i / 30, [(800 + i, 300)], side=360), 300, fps=30)
    return out


def bench_models(work: Path, spec: str | None) -> list[Path]:
    """Model folders to time: the given/published one, or a random-weight EfficientNetAutoAttB4 FP32 + INT8."""
    from shared.errors import DeepfakeError
    from shared.settings import get_model_settings

    if spec:
        from shared.weights import resolve_model

        return [resolve_model(spec)]
    try:
        from shared.weights import resolve_model

        return [resolve_model(get_model_settings().video_model, progress=False)]
    except DeepfakeError as exc:
        print(f"# default video model unavailable ({exc.code}); using random EfficientNetAutoAttB4 weights")
    import torch

    from shared.models import create_model
    from shared.models.icpr import export_model_ir, make_card

    fp32 = work / "EfficientNetAutoAttB4_random_FP32"
    if not (fp32 / "model.json").exists():
        torch.manual_seed(0)
        model = create_model("EfficientNetAutoAttB4").eval()
        card = make_card(
            "EfficientNetAutoAttB4",
            name="EfficientNetAutoAttB4_random",
            source_file="random",
            source_sha256="0" * 64,
        )
        export_model_ir(model, fp32, card)
    folders = [fp32]
    int8 = work / "EfficientNetAutoAttB4_random_INT8"
    if not (int8 / "model.json").exists():
        try:
            from shared.pipeline import AnalyzeOptions, prepare
            from shared.quantize import quantize_model_folder

            faces = prepare(clip_path(work), AnalyzeOptions.from_settings(frames=32)).crops
            quantize_model_folder(fp32, int8, faces)
        except Exception as exc:  # noqa: BLE001 - the INT8 row is optional
            print(f"# INT8 model not built ({type(exc).__name__}: {exc})")
    if (int8 / "model.json").exists():
        folders.append(int8)
    return folders


def run_analyze(path: Path, scorer, **options) -> dict[str, float]:  # type: ignore[no-untyped-def]
    from shared.pipeline import AnalyzeOptions, analyze

    opts = AnalyzeOptions.from_settings(**options)
    cpu = time.process_time()
    report = analyze(path, face_scorer=scorer, audio_scorer=None, options=opts)
    timings = dict(report.timings)
    timings["cpu_total"] = time.process_time() - cpu
    timings["frames"] = report.video.frames_analyzed
    timings["faces"] = sum(len(f.faces) for f in report.video.frames)
    return timings


def run_baseline(path: Path, scorer) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """The naive pipeline: OpenCV reads every frame, stock MTCNN at full resolution, same crops and model."""
    import cv2
    import numpy as np
    import torch

    from shared.faces import crop_face_scale_policy
    from shared.media.video import sample_frame_indices

    cpu = time.process_time()
    t = time.perf_counter()
    cap = cv2.VideoCapture(str(path))
    frames = []
    count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    wanted = set(sample_frame_indices(count, frames=32))
    i = 0
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        if i in wanted:
            frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        i += 1
    cap.release()
    decode = time.perf_counter() - t
    t = time.perf_counter()
    # facenet-pytorch as shipped (its own pyramid resizing), on full-resolution frames.
    from facenet_pytorch import MTCNN

    with torch.inference_mode():
        boxes, probs = MTCNN(keep_all=True, select_largest=False, min_face_size=40).detect(np.stack(frames))
    detect = time.perf_counter() - t
    t = time.perf_counter()
    crops = []
    for rgb, fboxes, fprobs in zip(frames, boxes, probs, strict=True):
        if fboxes is None:
            continue
        best = int(np.argmax([p if p is not None else -1 for p in fprobs]))
        if fprobs[best] is not None and fprobs[best] >= 0.8:
            crops.append(crop_face_scale_policy(rgb, np.asarray(fboxes[best], dtype=np.float64)))
    if crops:
        scorer.score(np.stack(crops))
    score = time.perf_counter() - t
    return {
        "decode": decode,
        "detect_faces": detect,
        "score_video": score,
        "total": decode + detect + score,
        "cpu_total": time.process_time() - cpu,
        "frames": len(frames),
        "faces": len(crops),
    }


def median_of(runs: list[dict[str, float]]) -> dict[str, float]:
    keys = sorted({k for r in runs for k in r})
    return {k: statistics.median(r.get(k, 0.0) for r in runs) for k in keys}


STAGES = ["probe", "decode", "detect_faces", "crop_faces", "score_video", "report", "total", "cpu_total"]


def print_table(rows: list[tuple[str, dict[str, float]]], baseline: dict[str, float] | None) -> None:
    head = f"{'run':<44}" + "".join(f"{s:>13}" for s in STAGES) + f"{'frames':>8}{'faces':>7}{'vs base':>9}"
    print(head)
    print("-" * len(head))
    for name, t in rows:
        ratio = f"{baseline['total'] / t['total']:.1f}x" if baseline and t.get("total") else ""
        cells = "".join(f"{t[s]:>13.3f}" if s in t else f"{'-':>13}" for s in STAGES)
        print(f"{name:<44}{cells}{int(t['frames']):>8}{int(t['faces']):>7}{ratio:>9}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--video-model", help="model folder or registry name (default: see module doc)")
    parser.add_argument("--repeat", type=int, default=2, help="warm runs per configuration (median)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the naive baseline (slow)")
    parser.add_argument(
        "--work",
        type=Path,
        default=Path(os.environ.get("DEEPFAKE_CACHE_DIR", Path.home() / ".cache/deepfake")) / "bench",
    )
    args = parser.parse_args()
    import torch

    torch.set_num_threads(os.cpu_count() or 1)
    args.work.mkdir(parents=True, exist_ok=True)
    from shared.media.probe import open_media
    from shared.video_scoring import FaceScorer

    clip = clip_path(args.work)
    facts = open_media(clip).facts
    print(f"# clip: {clip.name} {facts.width}x{facts.height} {facts.duration_s} s {facts.frame_count} frames")
    print(
        f"# cpu cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f} (others' work slows wall times)"
    )
    rows: list[tuple[str, dict[str, float]]] = []
    baseline = None
    for folder in bench_models(args.work, args.video_model):
        scorer = FaceScorer.from_folder(folder)
        label = f"{scorer.card.name} {scorer.card.precision}"
        print(f"# model: {folder} ({label})")
        run_analyze(clip, scorer, frames=32)  # warm-up: compile, MTCNN weights, page cache
        if baseline is None and not args.no_baseline:
            baseline = median_of([run_baseline(clip, scorer) for _ in range(max(1, args.repeat - 1))])
            rows.append((f"baseline naive --frames 32 ({scorer.card.precision})", baseline))
        rows.append(
            (
                f"--frames 32, {label}",
                median_of([run_analyze(clip, scorer, frames=32) for _ in range(args.repeat)]),
            )
        )
        rows.append(
            (
                f"default (every 2), {label}",
                median_of([run_analyze(clip, scorer) for _ in range(args.repeat)]),
            )
        )
        rows.append(
            (
                f"default, detect every frame, {label}",
                median_of(
                    [run_analyze(clip, scorer, detect_interval_s=0.0) for _ in range(max(1, args.repeat - 1))]
                ),
            )
        )
    print()
    print_table(rows, baseline)
    print(
        f"\n# real time of the clip: {facts.duration_s} s; seconds are medians; cpu_total = process CPU seconds"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
