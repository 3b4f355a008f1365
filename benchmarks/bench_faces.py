"""Faces found by BlazeFace and by MTCNN on every video and image of ``../shared/media``; BlazeFace speed.

For each file and each detector, the pipeline's own face stage (``shared.pipeline.prepare``) runs with

- the default sampling (every 2nd frame, at most 300) with the detector on *every* sampled frame
  (``detect_interval_s=0``: no interpolation, so the count is the detector's own), and
- ``--frames 32`` (the reference recipe),

and prints the frames with at least one face out of the sampled frames. ``--sizes``: a real face photo
pasted at sizes from 24 to 512 pixels into a grey 1080p frame, and the box each detector finds (the
smallest face each can find). Then BlazeFace's detection time
per 1920x1080 frame (tiling + inference + decoding + NMS), median of ``--repeat`` batches of 16 frames of
the DFDC clip, warm; and MTCNN's on the same frames for comparison. The load average is printed with it:
the development machine is shared.

BlazeFace needs ``blazeface.pth`` and ``anchors.npy`` in the cache's ``downloads/`` (copied from
``../shared/weights/blazeface`` when present) or internet access.

    .venv/bin/python benchmarks/bench_faces.py [--repeat 3] [--skip-counts] [--sizes]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SHARED = REPO.parent / "shared"
MEDIA_KINDS = ("video", "image", "provenance")
SUFFIXES = {".mp4", ".jpg", ".jpeg", ".png"}
CLIP = SHARED / "media" / "video" / "dfdc_trainsample_abofeumbvv.mp4"


def seed_blazeface() -> None:
    from shared.weights import downloads_dir

    source = SHARED / "weights" / "blazeface"
    downloads_dir().mkdir(parents=True, exist_ok=True)
    for name in ("blazeface.pth", "anchors.npy"):
        if (source / name).is_file() and not (downloads_dir() / name).is_file():
            shutil.copy(source / name, downloads_dir() / name)


def media_files() -> list[Path]:
    return [
        p
        for kind in MEDIA_KINDS
        if (SHARED / "media" / kind).is_dir()
        for p in sorted((SHARED / "media" / kind).iterdir())
        if p.suffix.lower() in SUFFIXES
    ]


def count_faces(path: Path, detector: str, frames: int | None) -> tuple[int, int]:
    from shared.pipeline import AnalyzeOptions, make_products

    options = AnalyzeOptions.from_settings(detector=detector, frames=frames, detect_interval_s=0.0)
    prepared = make_products(path, ["face_tracks"], options)["face_tracks"]
    return len({f.frame_index for f in prepared.faces}), len(prepared.frames)


def time_detection(repeat: int) -> None:
    from shared.faces import get_detector
    from shared.faces.blazeface import get_blazeface_detector, make_tiles, tile_grid
    from shared.media.probe import open_media
    from shared.media.video import iter_frames

    source = open_media(CLIP)
    frames = [f.rgb for f in iter_frames(source, list(range(0, 160, 10)))]
    assert frames[0].shape[:2] == (1080, 1920), frames[0].shape
    blaze = get_blazeface_detector()
    mtcnn = get_detector(640, 40, 0.8)
    blaze.detect(frames[:2])  # warm: compiled, first-shape allocations
    mtcnn.detect(frames[:2])
    for name, fn in (
        ("blazeface: tiles only (9 per frame, INTER_AREA)", lambda: [make_tiles(f, tile_grid(1080, 1920)) for f in frames]),
        ("blazeface: whole detect()", lambda: blaze.detect(frames)),
        ("mtcnn (640-pixel copies): whole detect()", lambda: mtcnn.detect(frames)),
    ):
        times, cpu = [], []
        for _ in range(repeat):
            t, c = time.perf_counter(), time.process_time()
            fn()
            times.append((time.perf_counter() - t) / len(frames))
            cpu.append((time.process_time() - c) / len(frames))
        print(
            f"{name:50s} {1000 * statistics.median(times):7.1f} ms wall per 1080p frame "
            f"(min {1000 * min(times):.1f}), {1000 * statistics.median(cpu):7.1f} ms CPU (all threads)"
        )


def smallest_faces() -> None:
    """Face size sweep: a real face photo pasted at several sizes into a grey 1920x1080 frame."""
    import cv2
    import numpy as np

    from shared.faces import get_detector
    from shared.faces.blazeface import get_blazeface_detector
    from shared.media.image import load_image

    face = load_image(SHARED / "media" / "image" / "mesonet_real00240.jpg")  # a 256x256 face photo
    detectors = {"blazeface": get_blazeface_detector(), "mtcnn": get_detector(640, 40, 0.8)}
    print("| photo side in a 1080p frame (px) | BlazeFace: face box width (px) | MTCNN: face box width (px) |")
    print("|---:|---:|---:|")
    for side in (24, 32, 40, 48, 64, 80, 96, 128, 192, 256, 384, 512):
        frame = np.full((1080, 1920, 3), 128, np.uint8)
        small = cv2.resize(face, (side, side), interpolation=cv2.INTER_AREA)
        top, left = 400, 860  # inside the middle tile column, away from tile edges
        frame[top : top + side, left : left + side] = small
        cells = []
        for detector in detectors.values():
            found = [d for d in detector.detect([frame])[0] if d.box[0] < left + side and d.box[2] > left]
            cells.append(f"{found[0].box[2] - found[0].box[0]:.0f}" if found else "not found")
        print(f"| {side} | {cells[0]} | {cells[1]} |", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-counts", action="store_true", help="skip the per-file counts")
    parser.add_argument("--sizes", action="store_true", help="also sweep face sizes in a 1080p frame")
    args = parser.parse_args()
    seed_blazeface()
    print(f"# load average at start: {os.getloadavg()[0]:.1f} ({os.cpu_count()} CPUs)")
    if not args.skip_counts:
        print("| file | mode | BlazeFace | MTCNN |")
        print("|---|---|---:|---:|")
        for path in media_files():
            for mode, frames in (("default (every 2nd)", None), ("--frames 32", 32)):
                if frames is not None and path.suffix.lower() != ".mp4":
                    continue  # an image is one frame whatever the sampling
                cells = []
                for detector in ("blazeface", "mtcnn"):
                    found, sampled = count_faces(path, detector, frames)
                    cells.append(f"{found}/{sampled}")
                label = "image" if path.suffix.lower() != ".mp4" else mode
                print(f"| {path.parent.name}/{path.name} | {label} | {cells[0]} | {cells[1]} |", flush=True)
    if args.sizes:
        smallest_faces()
    print(f"# load average before timing: {os.getloadavg()[0]:.1f}")
    time_detection(args.repeat)
    print(f"# load average at end: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
