"""BlazeFace: our torch module and its OpenVINO IR against the reference's golden outputs, and the runtime.

Golden data (``../shared/reference/blazeface/golden.npz``, made with the reference code): 17 tiles, the
network's raw outputs, each tile's decoded detections before NMS and after weighted NMS. The README
expects agreement to about 1e-4 (float32 on CPU); that is the tolerance here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from shared.errors import CheckpointMismatch
from shared.faces.blazeface import (
    BlazeFaceDetector,
    decode_detections,
    make_tiles,
    tile_grid,
    to_frame_pixels,
    weighted_nms,
)
from shared.modelcard import FaceDetectorPreprocessing

ATOL = 1e-4
#: the first frames whose tiles are golden tiles 0-14, in order
TILE_SOURCES = (
    ("dfdc_trainsample_abofeumbvv.mp4", 9),
    ("dfdc_part10_yhffcuhhjy.mp4", 3),
    ("ffpp_original_youtube_004.mp4", 3),
)


def _spread_guard(golden) -> None:  # type: ignore[no-untyped-def]
    # Outputs that barely vary would let a broken network pass: the golden ones spread over units (std ≈ 3),
    # four orders of magnitude above the tolerance.
    assert golden["raw_scores"].std() > 1 and golden["raw_boxes"].std() > 1


def test_torch_module_loads_strictly_and_matches_the_golden_raw_outputs(blazeface_weights, blazeface_golden) -> None:
    import torch

    from shared.models import create_model
    from shared.models.blazeface import load_blazeface

    _spread_guard(blazeface_golden)
    assert type(create_model("blazeface")).__name__ == "BlazeFace"
    model = load_blazeface(blazeface_weights / "blazeface.pth")
    x = torch.from_numpy(blazeface_golden["tiles"]).permute(0, 3, 1, 2).float() / 127.5 - 1.0
    with torch.no_grad():
        boxes, scores = model(x)
    np.testing.assert_allclose(boxes.numpy(), blazeface_golden["raw_boxes"], atol=ATOL, rtol=0)
    np.testing.assert_allclose(scores.numpy(), blazeface_golden["raw_scores"], atol=ATOL, rtol=0)


def test_checkpoint_and_anchors_of_the_wrong_layout_are_refused(blazeface_weights, tmp_path) -> None:
    import torch

    from shared.models.blazeface import import_checkpoint, load_anchors, load_blazeface

    state = torch.load(blazeface_weights / "blazeface.pth", map_location="cpu", weights_only=True)
    del state["classifier_8.bias"]
    with pytest.raises(CheckpointMismatch, match="1 missing keys.*classifier_8.bias"):
        load_blazeface(state)
    bad = tmp_path / "anchors.npy"
    np.save(bad, np.zeros((512, 4)))
    with pytest.raises(CheckpointMismatch, match=r"\(896, 4\)"):
        load_anchors(bad)
    # The importer refuses a wrong anchors file too, and writes nothing.
    with pytest.raises(CheckpointMismatch):
        import_checkpoint(
            "blazeface", blazeface_weights / "blazeface.pth", tmp_path / "out", companions={"anchors.npy": bad}
        )
    assert not (tmp_path / "out").exists()


def test_model_folder_carries_its_card_and_anchors(blazeface_ir: Path, blazeface_weights: Path) -> None:
    from shared.fsutil import sha256_file
    from shared.registry import get_published

    assert {p.name for p in blazeface_ir.iterdir()} == {"model.xml", "model.bin", "model.json", "anchors.npy"}
    card = json.loads((blazeface_ir / "model.json").read_text())
    pre = card["preprocessing"]
    assert card["kind"] == "face_detector" and card["architecture"] == "blazeface"
    assert (pre["input_size"], pre["input_divisor"], pre["input_offset"]) == (128, 127.5, -1.0)
    assert (pre["score_threshold"], pre["nms_iou"], pre["tile_max_side"]) == (0.75, 0.3, 720)
    entry = get_published("blazeface")
    assert card["source"]["sha256"] == entry.sha256 == sha256_file(blazeface_weights / "blazeface.pth")
    assert pre["anchors_sha256"] == entry.companions[0].sha256 == sha256_file(blazeface_ir / "anchors.npy")
    assert "Apache-2.0" in card["notes"]


def test_ir_raw_outputs_match_the_golden_ones(blazeface_ir: Path, blazeface_golden) -> None:
    _spread_guard(blazeface_golden)
    boxes, scores = BlazeFaceDetector(blazeface_ir).infer_tiles(blazeface_golden["tiles"])
    np.testing.assert_allclose(boxes, blazeface_golden["raw_boxes"], atol=ATOL, rtol=0)
    np.testing.assert_allclose(scores, blazeface_golden["raw_scores"], atol=ATOL, rtol=0)


def test_decoded_and_nms_detections_per_tile_match_the_golden_ones(blazeface_ir: Path, blazeface_golden) -> None:
    detector = BlazeFaceDetector(blazeface_ir)
    boxes, scores = detector.infer_tiles(blazeface_golden["tiles"])
    decoded = decode_detections(boxes, scores, detector.anchors, detector.prep)
    assert len(decoded) == len(blazeface_golden["tiles"])
    blended = 0
    for i, rows in enumerate(decoded):
        want = blazeface_golden[f"detections_{i}"]
        assert rows.shape == want.shape, f"tile {i}: {rows.shape} detections, reference {want.shape}"
        np.testing.assert_allclose(rows, want, atol=ATOL, rtol=0, err_msg=f"tile {i} decoded")
        kept = weighted_nms(rows, detector.prep.nms_iou)
        want_nms = blazeface_golden[f"nms_{i}"]
        assert kept.shape == want_nms.shape, f"tile {i}: {kept.shape} after NMS, reference {want_nms.shape}"
        np.testing.assert_allclose(kept, want_nms, atol=ATOL, rtol=0, err_msg=f"tile {i} after NMS")
        blended += len(rows) > len(kept)
    # The golden set exercises the blending (groups of several detections), not only single boxes.
    assert blended >= 3


def test_weighted_nms_blends_groups_by_score_and_keeps_separate_faces() -> None:
    def row(ymin: float, xmin: float, ymax: float, xmax: float, score: float) -> np.ndarray:
        r = np.zeros(17, np.float32)
        r[:4] = (ymin, xmin, ymax, xmax)
        r[4:16] = np.tile([xmin, ymin], 6)
        r[16] = score
        return r

    a, b = row(0.1, 0.1, 0.5, 0.5, 0.9), row(0.12, 0.1, 0.52, 0.5, 0.6)  # IoU ≈ 0.9
    far = row(0.6, 0.6, 0.9, 0.9, 0.95)
    zero_area = row(0.3, 0.3, 0.3, 0.3, 0.8)  # NaN IoU against itself: must still leave the loop
    out = weighted_nms(np.stack([a, far, b, zero_area]), 0.3)
    assert len(out) == 3
    np.testing.assert_allclose(out[0], far)  # best first, alone: unchanged
    np.testing.assert_allclose(out[1, :4], (0.9 * a[:4] + 0.6 * b[:4]) / 1.5, atol=1e-6)
    assert out[1, 16] == pytest.approx(0.75)  # the group's mean score
    assert weighted_nms(np.zeros((0, 17), np.float32)).shape == (0, 17)


def test_tiles_follow_the_reference(shared_media: Path, blazeface_golden) -> None:
    from shared.media.probe import open_media
    from shared.media.video import iter_frames

    grid = tile_grid(1080, 1920)
    assert grid.side == 720 and grid.offsets == tuple((x, y) for y in (0, 180, 360) for x in (0, 600, 1200))
    assert tile_grid(720, 1280).offsets == ((0, 0), (280, 0), (560, 0))
    assert tile_grid(1280, 720).offsets == ((0, 0), (0, 280), (0, 560))
    assert tile_grid(256, 256).offsets == ((0, 0),) and tile_grid(2000, 3000, 720).side == 720
    small = tile_grid(135, 98)  # a face-crop image: 98-pixel tiles, 18-pixel vertical steps
    assert small.side == 98 and small.offsets == ((0, 0), (0, 18), (0, 36))
    start = 0
    for name, count in TILE_SOURCES:
        source = open_media(shared_media / "video" / name)
        frame = next(iter(iter_frames(source, [0]))).rgb
        tiles = make_tiles(frame, tile_grid(*frame.shape[:2]))
        assert len(tiles) == count
        # Same decoder output and INTER_AREA: the golden tiles are reproduced to the pixel.
        assert np.abs(tiles.astype(int) - blazeface_golden["tiles"][start : start + count]).max() <= 1, name
        start += count


def test_detector_maps_faces_to_frame_pixels_best_first(blazeface_ir: Path, blazeface_golden) -> None:
    detector = BlazeFaceDetector(blazeface_ir)
    # Golden tile 1 (a face) as the middle of three non-overlapping 128-pixel tiles of a black frame: the
    # face must come back at its tile coordinates × 128 + the tile's offset (128, 0).
    tile = blazeface_golden["tiles"][1]
    frame = np.zeros((128, 384, 3), np.uint8)
    frame[:, 128:256] = tile
    assert tile_grid(*frame.shape[:2]).offsets == ((0, 0), (128, 0), (256, 0))
    (dets,) = detector.detect([frame])
    assert dets, "the golden face was not found"
    assert all(d.confidence >= 0.75 for d in dets)
    assert [d.confidence for d in dets] == sorted((d.confidence for d in dets), reverse=True)
    ref = weighted_nms(blazeface_golden["detections_1"])[0]
    want = to_frame_pixels(ref[None], 128, (128, 0))[0]
    best = dets[0]
    np.testing.assert_allclose(best.box, [want[1], want[0], want[3], want[2]], atol=0.05)
    assert best.keypoints is not None and best.keypoints.shape == (6, 2)
    np.testing.assert_allclose(best.keypoints[:, 0], want[4:16:2], atol=0.05)  # x, shifted by 128
    assert detector.detect([]) == []


def test_a_folder_that_is_not_a_face_detector_or_lacks_its_anchors_is_refused(
    blazeface_ir: Path, tmp_path: Path
) -> None:
    import shutil

    from shared.errors import ModelUnavailable
    from shared.modelcard import ModelCard, VideoPreprocessing

    video = tmp_path / "video"
    shutil.copytree(blazeface_ir, video)
    card = ModelCard.load(video)
    ModelCard(name="x", architecture="x", kind="video", preprocessing=VideoPreprocessing(), source=card.source).save(video)
    with pytest.raises(ModelUnavailable, match="not a face detector"):
        BlazeFaceDetector(video)
    bare = tmp_path / "bare"
    shutil.copytree(blazeface_ir, bare)
    (bare / "anchors.npy").unlink()
    with pytest.raises(ModelUnavailable, match="anchors.npy"):
        BlazeFaceDetector(bare)
    assert isinstance(card.preprocessing, FaceDetectorPreprocessing)


def test_detection_at_run_time_imports_no_torch(blazeface_ir: Path, tmp_path: Path) -> None:
    """Once the IR exists, detecting faces needs numpy, OpenCV and OpenVINO only."""
    code = f"""
import sys, numpy as np
sys.modules['torch'] = None  # any import of torch now raises ImportError
from shared.faces.blazeface import BlazeFaceDetector
from shared.faces import crop_face_scale_policy
det = BlazeFaceDetector({str(blazeface_ir)!r})
frame = np.random.default_rng(0).integers(0, 255, (360, 640, 3), dtype=np.uint8)
det.detect([frame])
crop_face_scale_policy(frame, np.array([100.0, 100.0, 200.0, 220.0]))
print("ok", [m for m in ("torch", "torchvision", "facenet_pytorch") if sys.modules.get(m) is not None])
"""
    import os

    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]), DEEPFAKE_CACHE_DIR=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "ok []"


@pytest.mark.parametrize("shape", [(1080, 1920), (1920, 1080), (1440, 2560), (1080, 1440), (720, 1280), (2160, 3840), (135, 98)])
def test_tiles_cut_from_one_resized_column_are_the_tiles_resized_one_by_one(shape: tuple[int, int]) -> None:
    # make_tiles resizes overlapping tiles of a column (or row) once, where their offsets fall on whole
    # output pixels; the oracle is OpenCV resizing each tile on its own, as the reference does.
    import cv2

    rng = np.random.default_rng(sum(shape))
    frame = cv2.GaussianBlur(rng.integers(0, 256, (*shape, 3), dtype=np.uint8), (0, 0), 2)
    grid = tile_grid(*shape)
    one_by_one = np.stack(
        [cv2.resize(frame[y : y + grid.side, x : x + grid.side], (128, 128), interpolation=cv2.INTER_AREA) for x, y in grid.offsets]
    )
    np.testing.assert_array_equal(make_tiles(frame, grid), one_by_one)
