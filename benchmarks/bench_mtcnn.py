"""Time MTCNN on batches of 16 640x360 frames: stock facenet-pytorch against ours on OpenVINO.

The two run on the very same batch (16 frames of a 1080p DFDC clip from ``../shared/media``, shrunk to
640x360 with INTER_AREA as the detectors do; a generated scene when the clip is absent), in one process,
after one warm-up call each; the median of ``--repeat`` calls is printed with its ratio to the stock
detector. It also prints how far the OpenVINO detector's faces are from the stock ones on that batch.

- ``stock``: ``facenet_pytorch.MTCNN.detect`` as shipped (torch's ``area`` resize).
- ``openvino``: ``shared.faces.mtcnn.MTCNNDetector.run`` (no torch).

    .venv/bin/python benchmarks/bench_mtcnn.py [--repeat 5] [--model FOLDER_OR_NAME]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
from timing import median_seconds

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CLIP = REPO.parent / "shared" / "media" / "video" / "dfdc_trainsample_abofeumbvv.mp4"


def frames_640x360(count: int = 16) -> tuple[np.ndarray, str]:
    import cv2

    if CLIP.is_file():
        from shared.media.video import decode_frames

        frames = [f.rgb for f in decode_frames(CLIP, list(range(0, 300, 300 // count))[:count])]
        source = CLIP.name
    else:
        from skimage import data

        frames = [np.roll(cv2.resize(data.astronaut(), (1080, 1080)), 40 * i, axis=1) for i in range(count)]
        frames = [np.pad(f, ((0, 0), (420, 420), (0, 0))) for f in frames]
        source = "generated astronaut scenes"
    return np.stack([cv2.resize(f, (640, 360), interpolation=cv2.INTER_AREA) for f in frames]), source


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--model", default="mtcnn", help="MTCNN model folder or registry name")
    args = parser.parse_args()

    import torch
    from facenet_pytorch import MTCNN

    from shared.faces.mtcnn import MTCNNDetector

    batch, source = frames_640x360()
    stock = MTCNN(keep_all=True, select_largest=False, min_face_size=40, device="cpu")
    ours = MTCNNDetector(model=args.model, min_face_size=40)

    def run_stock() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        with torch.inference_mode():
            return stock.detect(batch, landmarks=True)

    print(
        f"batch: 16 x 640x360 from {source}; torch threads {torch.get_num_threads()}, cpus {os.cpu_count()}"
    )
    print(f"load before: {os.getloadavg()}")
    results = {
        "stock": median_seconds(run_stock, args.repeat),
        "openvino": median_seconds(lambda: ours.run(batch), args.repeat),
    }
    for name, seconds in results.items():
        print(f"  {name:9s} {seconds:6.3f} s per batch  {results['stock'] / seconds:5.2f}x stock")
    print(f"load after: {os.getloadavg()}")

    boxes, probs, points = run_stock()
    faces = worst_box = worst_prob = 0.0
    for mine, b, p in zip(ours.run(batch), boxes, probs, strict=True):
        ref_boxes = np.zeros((0, 4)) if b is None else np.asarray(b)
        if len(ref_boxes) != len(mine.boxes):
            print(f"  face count differs: {len(mine.boxes)} vs {len(ref_boxes)}")
            continue
        faces += len(ref_boxes)
        if len(ref_boxes):
            worst_box = max(worst_box, float(np.abs(mine.boxes - ref_boxes).max()))
            worst_prob = max(worst_prob, float(np.abs(mine.probs - np.asarray(p, np.float32)).max()))
    print(
        f"parity on this batch: {int(faces)} faces, boxes within {worst_box:.2g} px, probs within {worst_prob:.2g}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
