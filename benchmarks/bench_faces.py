"""Faces found by BlazeFace and by MTCNN on every video and image of ``../shared/media``; BlazeFace speed.

For each file and each detector, the pipeline's own face stage (``shared.pipeline.prepare``) runs with

- the default sampling (every 2nd frame, at most 300) with the detector on *every* sampled frame
  (``detect_interval_s=0``: no interpolation, so the count is the detector's own), and
- ``--frames 32`` (the reference recipe),

and prints the frames with at least one face out of the sampled frames: BlazeFace, BlazeFace with face
verification (``shared.faces.verify``, the default; a run of its own through the pipeline), MTCNN, and
MTCNN with verification (from the face-presence of MTCNN's faces). It then prints the face mesh's
face-presence of every face found, on the labelled files against the faceless ones (what the
verification threshold was chosen from). ``--talking``: the same on ``../shared/media/talking``
(``--frames 32``). ``--verify-cost``: the verification's time per face. ``--sizes``: a real face photo
pasted at sizes from 24 to 512 pixels into a grey 1080p frame, and the box each detector finds (the
smallest face each can find). Then BlazeFace's detection time
per 1920x1080 frame (tiling + inference + decoding + NMS), median of ``--repeat`` batches of 16 frames of
the DFDC clip, warm; and MTCNN's on the same frames for comparison. The load average is printed with it:
the development machine is shared.

BlazeFace needs ``blazeface.pth`` and ``anchors.npy`` in the cache's ``downloads/`` (copied from
``../shared/weights/blazeface`` when present) or internet access.

    .venv/bin/python benchmarks/bench_faces.py [--repeat 3] [--skip-counts] [--sizes] [--talking] [--verify-cost]
        [--only-counts]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SHARED = Path(os.environ.get("DEEPFAKE_SHARED_MATERIAL", REPO.parent / "shared"))  # ../shared, or where it is
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


#: files of ../shared/media without a visible face: every detection on them is a false face
FACELESS = {"provenance/video1.mp4", "provenance/CA.jpg", "provenance/E-sig-CA.jpg", "provenance/no_manifest.jpg"}


def talking_files() -> list[Path]:
    return sorted((SHARED / "media" / "talking").glob("*.mp4"))


def media_files() -> list[Path]:
    return [
        p
        for kind in MEDIA_KINDS
        if (SHARED / "media" / kind).is_dir()
        for p in sorted((SHARED / "media" / kind).iterdir())
        if p.suffix.lower() in SUFFIXES
    ]


@dataclass
class Counted:
    """One face-stage run: frames with a face out of the sampled frames, and every face's presence."""

    found: int
    sampled: int
    #: the face mesh's face-presence probability of each face (crop) the stage kept, with its frame
    presence: list[tuple[int, float]]
    crops: Any = None

    def cell(self) -> str:
        return f"{self.found}/{self.sampled}"


def count_faces(path: Path, detector: str, frames: int | None, *, verification: bool = False) -> Counted:
    """The pipeline's own face stage, the detector on every sampled frame (no interpolated faces)."""
    from shared.faces.landmarks import get_face_mesh
    from shared.pipeline import AnalyzeOptions, make_products

    options = AnalyzeOptions.from_settings(
        detector=detector, frames=frames, detect_interval_s=0.0, face_verification=verification
    )
    prepared = make_products(path, ["face_tracks"], options)["face_tracks"]
    # the crops the stage kept are the crops the verification checks (same crop rule, margin and size)
    presence = get_face_mesh().landmarks(prepared.crops).presence if len(prepared.crops) else []
    pairs = [(f.frame_index, float(p)) for f, p in zip(prepared.faces, presence, strict=True)]
    return Counted(len({f.frame_index for f in prepared.faces}), len(prepared.frames), pairs, prepared.crops)


def frames_kept(counted: Counted, min_presence: float) -> int:
    """Frames left with a face if faces below ``min_presence`` were dropped (what verification would keep)."""
    return len({i for i, p in counted.presence if p >= min_presence})


def count_table(
    files: list[Path], frames_modes: tuple[tuple[str, int | None], ...], faceless: set[str], dump: Path | None = None
) -> None:
    """Frames with a face per file: BlazeFace, BlazeFace + verification (the default), MTCNN, MTCNN +
    verification; then the face-presence scores of the faces each detector found, faces vs false faces."""
    from shared.faces.verify import MIN_PRESENCE

    print("| file | sampling | BlazeFace | BlazeFace + verification | MTCNN | MTCNN + verification |")
    print("|---|---|---:|---:|---:|---:|")
    true_scores: list[float] = []
    false_scores: list[tuple[str, int, float]] = []
    for path in files:
        for mode, frames in frames_modes:
            if frames is not None and path.suffix.lower() != ".mp4":
                continue  # an image is one frame whatever the sampling
            blaze = count_faces(path, "blazeface", frames)
            verified = count_faces(path, "blazeface", frames, verification=True)
            mtcnn = count_faces(path, "mtcnn", frames)
            # the verified run is the real wrapper in the pipeline; it must equal dropping by presence here
            agree = verified.found == frames_kept(blaze, MIN_PRESENCE)
            name = f"{path.parent.name}/{path.name}"
            label = "image" if path.suffix.lower() != ".mp4" else mode
            print(
                f"| {name} | {label} | {blaze.cell()} | {verified.cell()}{'' if agree else ' (MISMATCH)'} "
                f"| {mtcnn.cell()} | {frames_kept(mtcnn, MIN_PRESENCE)}/{mtcnn.sampled} |",
                flush=True,
            )
            if dump is not None:  # every face's crop and presence, to look at
                import numpy as np

                dump.mkdir(parents=True, exist_ok=True)
                for detector, counted in (("blazeface", blaze), ("mtcnn", mtcnn)):
                    np.savez_compressed(
                        dump / f"{path.stem}-{frames or 'every'}-{detector}.npz", crops=counted.crops,
                        frames=np.asarray([i for i, _ in counted.presence]),
                        presence=np.asarray([p for _, p in counted.presence]),
                    )
            for counted in (blaze, mtcnn):
                if name in faceless:
                    false_scores.extend((name, i, p) for i, p in counted.presence)
                else:
                    true_scores.extend(p for _, p in counted.presence)
    import numpy as np

    t = np.asarray(true_scores if true_scores else [np.nan])
    print(f"# faces on the labelled files (both detectors, all modes): {len(t)}; face-presence min {t.min():.4f}, "
          f"1st percentile {np.percentile(t, 1):.4f}, median {np.median(t):.4f}; "
          f"below {MIN_PRESENCE}: {(t < MIN_PRESENCE).sum()}")
    worst = sorted(true_scores)[:5]
    print(f"# the 5 lowest on labelled files: {', '.join(f'{p:.4f}' for p in worst)}")
    print(f"# detections on the faceless files: {len(false_scores)}; face-presence "
          + ", ".join(f"{n} frame {i}: {p:.4f}" for n, i, p in sorted(false_scores, key=lambda x: -x[2])))


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


def verification_cost(repeat: int) -> None:
    """The face verification's cost per face: the reference crop and the face mesh on the BlazeFace faces
    of 16 frames of the DFDC 1080p clip, median of ``repeat``, warm."""
    from shared.faces.blazeface import get_blazeface_detector
    from shared.faces.landmarks import get_face_mesh
    from shared.faces.verify import VerifiedDetector
    from shared.media.probe import open_media
    from shared.media.video import iter_frames

    source = open_media(CLIP)
    frames = [f.rgb for f in iter_frames(source, list(range(0, 160, 10)))]
    blaze = get_blazeface_detector()
    found = blaze.detect(frames)
    verifier = VerifiedDetector(blaze, get_face_mesh())
    faces = sum(len(d) for d in found)
    verifier.presence(frames[0], found[0])  # warm: compiled
    times, cpu = [], []
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        for frame, detections in zip(frames, found, strict=True):
            verifier.presence(frame, detections)
        times.append((time.perf_counter() - t) / faces)
        cpu.append((time.process_time() - c) / faces)
    print(
        f"face verification (crop + face mesh), {faces} faces of {len(frames)} 1080p frames: "
        f"{1000 * statistics.median(times):.2f} ms wall per face (min {1000 * min(times):.2f}), "
        f"{1000 * statistics.median(cpu):.2f} ms CPU; load average {os.getloadavg()[0]:.1f}",
        flush=True,
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
    parser.add_argument("--talking", action="store_true", help="also count faces on ../shared/media/talking (--frames 32)")
    parser.add_argument("--verify-cost", action="store_true", help="time the face verification per face")
    parser.add_argument("--only", nargs="+", help="count only files whose name contains one of these")
    parser.add_argument("--frames32-only", action="store_true", help="count --frames 32 only (quicker)")
    parser.add_argument("--dump", type=Path, help="save every face's crop and face-presence here (.npz per file)")
    parser.add_argument("--only-counts", action="store_true", help="stop after the counts (no detector timing)")
    args = parser.parse_args()
    seed_blazeface()
    print(f"# load average at start: {os.getloadavg()[0]:.1f} ({os.cpu_count()} CPUs)")
    if not args.skip_counts:
        modes: tuple[tuple[str, int | None], ...] = (("default (every 2nd)", None), ("--frames 32", 32))
        files = [p for p in media_files() if not args.only or any(o in p.name for o in args.only)]
        if args.frames32_only:  # the default sampling only where it is short (images, the faceless clip)
            short = [p for p in files if f"{p.parent.name}/{p.name}" in FACELESS or p.suffix.lower() != ".mp4"]
            count_table(short, modes[:1], FACELESS, args.dump)
            files, modes = [p for p in files if p not in short], modes[1:]
        count_table(files, modes, FACELESS, args.dump)
    if args.talking:
        count_table(talking_files(), (("--frames 32", 32),), FACELESS, args.dump)
    if args.verify_cost:
        verification_cost(args.repeat)
    if args.only_counts:
        return 0
    if args.sizes:
        smallest_faces()
    print(f"# load average before timing: {os.getloadavg()[0]:.1f}")
    time_detection(args.repeat)
    print(f"# load average at end: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
