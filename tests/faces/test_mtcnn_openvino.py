"""MTCNN on OpenVINO (``shared.faces.mtcnn``) against the stock facenet-pytorch MTCNN, and without torch.

The reference is facenet-pytorch 2.5.3's ``MTCNN.detect`` as shipped (no monkeypatching), on exactly the
images our detector sees. Our resize reproduces torch's ``area`` interpolation bit for bit, so the two
differ only by OpenVINO's arithmetic inside the networks: measured here, boxes and landmarks within
6e-5 px and probabilities within 1e-6 on the real frames of ``../shared/media`` and on the astronaut.
The tolerances below (0.05 px, 1e-4) leave room for other CPUs and OpenVINO versions while still
catching any step done differently (a different resize alone moves boxes by pixels).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from shared.faces.mtcnn import MTCNNDetector, MTCNNFaces, area_crops, area_resize, integral_images

REPO = Path(__file__).resolve().parents[2]
BOX_TOL_PX = 0.05
PROB_TOL = 1e-4
MIN_FACE = 40

TORCH_FAMILY = ("torch", "torchvision", "torchaudio")


def blocker(names: tuple[str, ...]) -> str:
    """Code run first in a child process: importing any of ``names`` fails as if it were not installed."""
    return f"""
import sys
class _Block:
    BLOCKED = {names!r}
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in self.BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}} (blocked by the test)", name=name)
        return None
sys.meta_path.insert(0, _Block())
"""


@pytest.fixture(scope="module")
def mtcnn_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The MTCNN model folder, converted from the facenet-pytorch package's own weight files."""
    pytest.importorskip("facenet_pytorch", reason="converting MTCNN needs facenet-pytorch (the ml extra)")
    from shared.models.mtcnn import import_checkpoint
    from shared.registry import get_published
    from shared.weights import package_checkpoint

    folder = tmp_path_factory.mktemp("mtcnn") / "mtcnn"
    import_checkpoint("MTCNN", package_checkpoint(get_published("mtcnn")), folder)
    return folder


@pytest.fixture()
def detector(mtcnn_folder: Path) -> MTCNNDetector:
    return MTCNNDetector(model=mtcnn_folder, min_face_size=MIN_FACE)


@pytest.fixture(scope="module")
def stock_mtcnn():  # type: ignore[no-untyped-def]
    """facenet-pytorch's MTCNN exactly as shipped, with the options today's detector uses."""
    facenet = pytest.importorskip("facenet_pytorch")
    return facenet.MTCNN(keep_all=True, select_largest=False, min_face_size=MIN_FACE, device="cpu")


def stock_detect(stock, images: np.ndarray) -> list[MTCNNFaces]:  # type: ignore[no-untyped-def]
    import torch

    with torch.inference_mode():
        boxes, probs, points = stock.detect(images, landmarks=True)
    out = []
    for b, p, lm in zip(boxes, probs, points, strict=True):
        if b is None:
            out.append(MTCNNFaces.empty())
        else:
            out.append(
                MTCNNFaces(np.asarray(b, np.float32), np.asarray(p, np.float32), np.asarray(lm, np.float32))
            )
    return out


def shrink(frame: np.ndarray, max_side: int = 640) -> np.ndarray:
    """What MTCNNDetector.detect does to a frame before MTCNN sees it."""
    import cv2

    scale = min(1.0, max_side / max(frame.shape[:2]))
    if scale >= 1:
        return frame
    size = (max(1, round(frame.shape[1] * scale)), max(1, round(frame.shape[0] * scale)))
    return cv2.resize(frame, size, interpolation=cv2.INTER_AREA)


def assert_same_faces(ours: MTCNNFaces, ref: MTCNNFaces, what: str) -> dict[str, float]:
    """Same number of faces; each reference face has ours within the tolerances (matched by box)."""
    assert len(ours.boxes) == len(ref.boxes), (
        f"{what}: {len(ours.boxes)} faces, the reference {len(ref.boxes)}"
    )
    worst = {"box_px": 0.0, "prob": 0.0, "landmark_px": 0.0}
    free = list(range(len(ours.boxes)))
    for k in range(len(ref.boxes)):
        j = min(free, key=lambda i: float(np.abs(ours.boxes[i] - ref.boxes[k]).max()))
        free.remove(j)
        worst["box_px"] = max(worst["box_px"], float(np.abs(ours.boxes[j] - ref.boxes[k]).max()))
        worst["prob"] = max(worst["prob"], float(abs(ours.probs[j] - ref.probs[k])))
        worst["landmark_px"] = max(
            worst["landmark_px"], float(np.abs(ours.landmarks[j] - ref.landmarks[k]).max())
        )
    assert worst["box_px"] <= BOX_TOL_PX and worst["landmark_px"] <= BOX_TOL_PX, (what, worst)
    assert worst["prob"] <= PROB_TOL, (what, worst)
    return worst


def compare_batches(detector: MTCNNDetector, stock, batches: dict[str, np.ndarray]) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """Run both detectors on every batch; returns (images with a confident face, faces in all)."""
    with_face = faces = 0
    for name, batch in batches.items():
        ours, ref = detector.run(batch), stock_detect(stock, batch)
        for i, (o, r) in enumerate(zip(ours, ref, strict=True)):
            assert_same_faces(o, r, f"{name}[{i}]")
            with_face += int((r.probs >= 0.9).any())
            faces += len(r.boxes)
    return with_face, faces


def astronaut_scenes() -> dict[str, np.ndarray]:
    """Generated frames from scikit-image's public-domain astronaut: sizes, scales, several faces."""
    import cv2
    from skimage import data

    astro = data.astronaut()
    canvas = np.full((360, 640, 3), 90, np.uint8)  # two smaller astronauts, one mirrored, on a flat wall
    small = cv2.resize(astro, (256, 256), interpolation=cv2.INTER_AREA)
    canvas[52:308, 30:286] = small
    canvas[52:308, 354:610] = small[:, ::-1]
    odd = cv2.resize(astro, (517, 333), interpolation=cv2.INTER_AREA)  # aspect changed, odd sizes
    return {"astronaut": astro[None], "two_astronauts": canvas[None], "odd_size": odd[None]}


# --- the resize ------------------------------------------------------------------------------------


def test_area_resize_is_torch_area_interpolation_bit_for_bit() -> None:
    torch = pytest.importorskip("torch")
    from torch.nn.functional import interpolate

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (2, 97, 131, 3), dtype=np.uint8)
    integrals = integral_images(images)
    as_torch = torch.as_tensor(images).permute(0, 3, 1, 2).float()
    for size in [(29, 40), (13, 1), (97, 131), (200, 301)]:  # shrink, extreme, same, enlarge
        ref = interpolate(as_torch, size=size, mode="area").permute(0, 2, 3, 1).numpy()
        assert np.array_equal(area_resize(integrals, 97, 131, *size), ref), size
    # Crops of several shapes, enlarged and shrunk like RNet's and ONet's inputs.
    windows = [(0, 5, 7, 9, 30), (1, 0, 0, 97, 131), (0, 40, 60, 41, 61), (1, 10, 3, 80, 100)]
    image, y0, x0, y1, x1 = (np.array(v) for v in zip(*windows, strict=True))
    for side in (24, 48):
        got = area_crops(integrals, image, y0, x0, y1, x1, side)
        for k, (i, a, b, c, d) in enumerate(windows):
            crop = interpolate(as_torch[i : i + 1, :, a:c, b:d], size=(side, side), mode="area")
            assert np.array_equal(got[k], crop[0].permute(1, 2, 0).numpy()), (side, windows[k])


# --- conversion and the registry -------------------------------------------------------------------


def test_registry_name_converts_once_into_the_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("facenet_pytorch", reason="converting MTCNN needs facenet-pytorch (the ml extra)")
    from shared import weights
    from shared.modelcard import ModelCard, MTCNNPreprocessing
    from shared.registry import get_published, manifest_sha256

    entry = get_published("mtcnn")
    assert entry.kind == "face_detector" and entry.licence.startswith("MIT")
    assert entry.sha256 == manifest_sha256(entry.package_files) and len(entry.package_files) == 3
    folder = weights.resolve_model("mtcnn")
    assert folder == weights.models_dir() / "mtcnn"
    card = ModelCard.load(folder)
    assert card.kind == "face_detector" and card.networks == ["pnet", "rnet", "onet"]
    assert isinstance(card.preprocessing, MTCNNPreprocessing)
    assert card.preprocessing.thresholds == (0.6, 0.7, 0.7) and card.preprocessing.pyramid_factor == 0.709
    assert card.source is not None and card.source.sha256 == entry.sha256
    assert card.source.files == entry.package_files
    assert sorted(p.name for p in folder.iterdir()) == sorted(["model.json", *card.ir_files()])

    def no_second_conversion(*args: object, **kwargs: object) -> None:
        raise AssertionError("the cached folder should have been used")

    monkeypatch.setattr("shared.models.mtcnn.import_checkpoint", no_second_conversion)
    assert weights.resolve_model("mtcnn") == folder


def test_irs_keep_dynamic_shapes(mtcnn_folder: Path) -> None:
    from shared.runtime import compile_model

    pnet = compile_model(mtcnn_folder, network="pnet")

    def cells(side: int) -> int:  # 3x3 conv, 2x2 max-pool rounding up, two 3x3 convs
        return -(-(side - 2) // 2) - 4

    for shape in [(1, 3, 12, 12), (3, 3, 109, 193)]:
        out = pnet.infer(np.zeros(shape, np.float32))
        assert out["prob"].shape == (shape[0], 2, cells(shape[2]), cells(shape[3]))
        assert out["reg"].shape == (shape[0], 4, *out["prob"].shape[2:])
    onet = compile_model(mtcnn_folder, network="onet").infer(np.zeros((5, 3, 48, 48), np.float32))
    assert {k: v.shape for k, v in onet.items()} == {"reg": (5, 4), "landmarks": (5, 10), "prob": (5, 2)}


# --- parity with the stock detector ----------------------------------------------------------------


def test_parity_with_stock_facenet_pytorch_on_generated_images(detector, stock_mtcnn) -> None:
    with_face, faces = compare_batches(detector, stock_mtcnn, astronaut_scenes())
    # Guard: the comparison is not of empty lists (three pictures, four astronauts).
    assert with_face == 3 and faces >= 4


def test_crops_cut_in_small_chunks_change_nothing(detector, monkeypatch: pytest.MonkeyPatch) -> None:
    scenes = astronaut_scenes()
    whole = {name: detector.run(batch) for name, batch in scenes.items()}
    monkeypatch.setattr("shared.faces.mtcnn.CROP_BATCH", 5)
    for name, batch in scenes.items():
        for a, b in zip(detector.run(batch), whole[name], strict=True):
            assert np.array_equal(a.boxes, b.boxes) and np.array_equal(a.probs, b.probs), name


def test_candidate_windows_outside_the_image_are_dropped_not_misaligned() -> None:
    from shared.faces.mtcnn import crop_windows

    boxes = np.array(
        [[10, 10, 50, 50], [-80, 5, -20, 60], [700, 5, 760, 60], [-5.5, -5.5, 30.9, 30.9]], np.float32
    )
    win = crop_windows(boxes, 100, 640)
    assert win.valid.tolist() == [True, False, False, True]
    # facenet-pytorch's pad: truncate, clip to [1, size], rows y-1..ey and columns x-1..ex
    assert (win.y0[0], win.x0[0], win.y1[0], win.x1[0]) == (9, 9, 50, 50)
    assert (win.y0[3], win.x0[3], win.y1[3], win.x1[3]) == (0, 0, 30, 30)


@pytest.mark.slow
def test_parity_with_stock_facenet_pytorch_on_real_media(detector, stock_mtcnn, shared_media: Path) -> None:
    from shared.media.image import load_image
    from shared.media.probe import open_media
    from shared.media.video import iter_frames

    batches: dict[str, np.ndarray] = {}
    for path in sorted((shared_media / "video").glob("*.mp4")):
        source = open_media(path)
        assert source.video is not None
        count = source.video.frame_count
        frames = [f.rgb for f in iter_frames(source, [0, count // 3, 2 * count // 3])]
        batches[path.name] = np.stack([shrink(f) for f in frames])
    for path in sorted((shared_media / "image").iterdir()):
        batches[path.name] = shrink(load_image(path))[None]
    with_face, faces = compare_batches(detector, stock_mtcnn, batches)
    images = sum(len(b) for b in batches.values())
    # Guard: these really are pictures of faces (the reference finds a confident one in most of them).
    assert images >= 12 and with_face >= 0.75 * images and faces >= with_face, (images, with_face, faces)


def test_detect_maps_faces_back_to_full_resolution(detector, stock_mtcnn) -> None:
    import cv2
    from skimage import data

    frame = cv2.resize(data.astronaut(), (1280, 1280), interpolation=cv2.INTER_CUBIC)  # shrunk 2x to 640
    (found,) = detector.detect([frame])
    (ref,) = stock_detect(stock_mtcnn, shrink(frame)[None])
    keep = ref.probs >= detector.min_confidence
    assert len(found) == int(keep.sum()) >= 1
    for det, box, points in zip(found, ref.boxes[keep] * 2, ref.landmarks[keep] * 2, strict=True):
        assert np.abs(det.box - box.clip(0, 1280)).max() <= 2 * BOX_TOL_PX
        assert det.keypoints is not None and np.abs(det.keypoints - points).max() <= 2 * BOX_TOL_PX
    assert [d.confidence for d in found] == sorted((d.confidence for d in found), reverse=True)


# --- frames MTCNN cannot see -----------------------------------------------------------------------


def test_tiny_and_odd_sized_frames_give_no_detections(detector) -> None:
    from skimage import data

    rng = np.random.default_rng(1)
    shapes = [(1, 1), (16, 16), (32, 32), (5, 500), (500, 5), (MIN_FACE - 1, 300), (0, 0), (0, 64)]
    tiny = [rng.integers(0, 256, (*s, 3), dtype=np.uint8) for s in shapes]
    assert detector.detect(tiny) == [[] for _ in shapes]
    assert [len(f.boxes) for f in detector.run(np.zeros((2, 16, 16, 3), np.uint8))] == [0, 0]
    # Mixed with a real face, the tiny ones stay empty and the face is still found.
    mixed = detector.detect([tiny[1], data.astronaut(), tiny[3]])
    assert mixed[0] == [] and mixed[2] == [] and len(mixed[1]) >= 1


def test_frames_that_are_not_rgb_uint8_are_refused(detector) -> None:
    from shared.errors import InvalidArgument

    for bad in [
        np.zeros((64, 64), np.uint8),
        np.zeros((64, 64, 4), np.uint8),
        np.zeros((64, 64, 3), np.float32),
    ]:
        with pytest.raises(InvalidArgument, match="RGB uint8"):
            detector.detect([bad])


# --- no torch at inference -------------------------------------------------------------------------


def _run_without(blocked: tuple[str, ...], code: str, cache: Path) -> dict:  # type: ignore[type-arg]
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "DEEPFAKE_CACHE_DIR": str(cache)}
    proc = subprocess.run(
        [sys.executable, "-c", blocker(blocked) + code],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_detection_runs_with_torch_unimportable(mtcnn_folder: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    shutil.copytree(mtcnn_folder, cache / "models" / "mtcnn")  # what `deepfake models fetch mtcnn` left
    code = """
import json
from skimage import data
from shared.faces.mtcnn import get_mtcnn_detector
faces = get_mtcnn_detector().detect([data.astronaut()])
loaded = sorted(m for m in sys.modules if m.split(".")[0] in _Block.BLOCKED)
print(json.dumps({"faces": len(faces[0]), "confidence": faces[0][0].confidence, "loaded": loaded}))
"""
    out = _run_without((*TORCH_FAMILY, "facenet_pytorch"), code, cache)
    assert out["loaded"] == [] and out["faces"] >= 1 and out["confidence"] > 0.99


def test_without_torch_and_without_the_folder_one_clear_error(tmp_path: Path) -> None:
    code = """
import json
from shared.errors import ModelUnavailable
from shared.faces.mtcnn import MTCNNDetector
try:
    MTCNNDetector()
except ModelUnavailable as exc:
    print(json.dumps({"message": exc.message}))
"""
    # facenet-pytorch stays installed (its weight files are found) but torch is not: conversion is impossible.
    message = _run_without(TORCH_FAMILY, code, tmp_path / "empty-cache")["message"]
    assert "torch is not installed" in message and "pip install" in message
    assert "deepfake models fetch mtcnn" in message
