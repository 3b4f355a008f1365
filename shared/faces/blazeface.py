"""BlazeFace on OpenVINO: the face stage of the ICPR2020 reference, without torch (numpy, OpenCV, OpenVINO).

The published ICPR2020 classifiers were validated on faces found exactly this way, so this module follows the
reference step by step (facts in ``../shared/reference/blazeface/README.md``):

1. **Tiles.** A frame is cut into squares of side ``s = min(H, W, 720)`` at steps ``(W - s) // 2`` and
   ``(H - s) // 2`` (9 tiles for 1920×1080, 3 for 1280×720), each shrunk to 128×128 with OpenCV INTER_AREA.
   BlazeFace front sees 128 pixels: tiling keeps faces of a large frame big enough to be found.
2. **Network.** All tiles of all frames of a call go through the IR in batches (``x / 127.5 - 1``, as the
   card says).
3. **Decoding** (per tile, no NMS): score = sigmoid(clip(raw, ±100)) kept if ≥ 0.75; box and 6 keypoints
   from the anchors (``anchors.npy`` beside the IR). Rows are the reference's 17 numbers: ``(ymin, xmin,
   ymax, xmax)``, 12 keypoint coordinates ``(x, y)`` pairs, score, normalized to the tile.
4. **Frame.** Each tile's rows are scaled by ``s`` and shifted by the tile's offset, pooled for the frame,
   and one weighted NMS (IoU > 0.3 blends a group by score) runs over the frame; faces are sorted by score.

Arithmetic is float32 throughout, like the reference's torch tensors, so boxes agree to float rounding and
not merely to a pixel (the crop that follows truncates box coordinates to integers).

The margin and the ``scale`` crop are not detector business: ``shared.faces.crop`` applies them to any
detector's box. :class:`BlazeFaceDetector` returns the detector's own box (before margin).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from shared.errors import ModelUnavailable
from shared.faces.base import Detection
from shared.modelcard import FaceDetectorPreprocessing

#: tiles per inference call: bounds memory (a 1080p frame is 9 tiles; 64 tiles are 12 MB of float32 input)
#: tiles per inference call: 16 held 112 MB of OpenVINO's intermediate tensors after 16 frames of 1080p
#: (144 tiles), 64 held 210 MB, at the same speed on 2 cores (0.66 s and 0.68 s); each tile is computed
#: on its own, so the batch does not change the detections
TILE_BATCH = 16
#: 4 box coordinates + 2 per keypoint + the score
_BOX, _SCORE = slice(0, 4), 16


@dataclass(frozen=True)
class TileGrid:
    """How the reference cuts one frame into square tiles.

    Attributes:
        side: the tiles' side in frame pixels, ``min(H, W, tile_max_side)``.
        offsets: each tile's top-left corner ``(x, y)`` in frame pixels, row by row.
    """

    side: int
    offsets: tuple[tuple[int, int], ...]


def tile_grid(height: int, width: int, max_side: int = 720) -> TileGrid:
    """The reference's tiles: side ``min(H, W, max_side)``, steps of half the slack, one tile per step."""
    side = min(height, width, max_side)
    x_step, y_step = (width - side) // 2, (height - side) // 2
    columns = (width - side) // x_step + 1 if x_step > 0 else 1
    rows = (height - side) // y_step + 1 if y_step > 0 else 1
    offsets = tuple((h * x_step, v * y_step) for v in range(rows) for h in range(columns))
    return TileGrid(side=side, offsets=offsets)


def make_tiles(frame: np.ndarray, grid: TileGrid, size: int = 128) -> np.ndarray:
    """Cut ``frame`` (RGB uint8) into ``grid``'s tiles, each resized to ``size`` with INTER_AREA.

    Returns:
        ``(len(grid.offsets), size, size, 3)`` uint8.
    """
    import cv2

    s = grid.side
    out = np.empty((len(grid.offsets), size, size, 3), np.uint8)
    xs, ys = sorted({x for x, _ in grid.offsets}), sorted({y for _, y in grid.offsets})
    # Tiles of one column overlap (a 1080p frame: three 720-pixel tiles 180 apart, 2.25x the frame's
    # pixels in all). Where a tile's offset is a whole number of output pixels (180 x 128 / 720 = 32),
    # INTER_AREA gives each output pixel the same input pixels and weights whether it resizes the tile or
    # the whole column: the column is resized once and each tile is a slice of it, the same bytes
    # (tests/faces/test_blazeface.py), at half the cost on 1080p. Rows of a portrait frame alike.
    if len(ys) > 1 and all(y * size % s == 0 for y in ys):
        for x in xs:
            strip = cv2.resize(frame[ys[0] : ys[-1] + s, x : x + s], (size, (ys[-1] + s - ys[0]) * size // s), interpolation=cv2.INTER_AREA)
            for i, (tx, ty) in enumerate(grid.offsets):
                if tx == x:
                    out[i] = strip[(ty - ys[0]) * size // s :][:size]
        return out
    if len(xs) > 1 and all(x * size % s == 0 for x in xs):
        for y in ys:
            band = cv2.resize(frame[y : y + s, xs[0] : xs[-1] + s], ((xs[-1] + s - xs[0]) * size // s, size), interpolation=cv2.INTER_AREA)
            for i, (tx, ty) in enumerate(grid.offsets):
                if ty == y:
                    out[i] = band[:, (tx - xs[0]) * size // s :][:, :size]
        return out
    for i, (x, y) in enumerate(grid.offsets):
        out[i] = cv2.resize(frame[y : y + s, x : x + s], (size, size), interpolation=cv2.INTER_AREA)
    return out


def decode_detections(
    raw_boxes: np.ndarray, raw_scores: np.ndarray, anchors: np.ndarray, prep: FaceDetectorPreprocessing
) -> list[np.ndarray]:
    """The network's outputs → each tile's detections above the score threshold, before NMS.

    Args:
        raw_boxes: ``(N, anchors, 16)`` float32.
        raw_scores: ``(N, anchors, 1)`` float32.
        anchors: ``(anchors, 4)`` (x_centre, y_centre, w, h), normalized.
        prep: the card's preprocessing (score clip and threshold, box scale, keypoints).

    Returns:
        Per tile, float32 ``(n, 17)`` rows: ``(ymin, xmin, ymax, xmax)``, keypoints ``(x, y)`` × 6, score,
        normalized to the tile, in anchor order.
    """
    a = anchors.astype(np.float32)
    ax, ay, aw, ah = a[:, 0], a[:, 1], a[:, 2], a[:, 3]
    scale = np.float32(prep.box_scale)
    raw = raw_boxes.astype(np.float32, copy=False)
    # The reference's operation order (divide by the scale, then multiply by the anchor size), in float32.
    x = raw[..., 0] / scale * aw + ax
    y = raw[..., 1] / scale * ah + ay
    w = raw[..., 2] / scale * aw
    h = raw[..., 3] / scale * ah
    half = np.float32(2.0)
    rows = np.empty(raw.shape[:2] + (17,), np.float32)
    rows[..., 0] = y - h / half
    rows[..., 1] = x - w / half
    rows[..., 2] = y + h / half
    rows[..., 3] = x + w / half
    for k in range(prep.keypoints):
        rows[..., 4 + 2 * k] = raw[..., 4 + 2 * k] / scale * aw + ax
        rows[..., 5 + 2 * k] = raw[..., 5 + 2 * k] / scale * ah + ay
    clip = np.float32(prep.score_clip)
    logits = np.clip(raw_scores[..., 0].astype(np.float32, copy=False), -clip, clip)
    scores = np.float32(1.0) / (np.float32(1.0) + np.exp(-logits))
    rows[..., _SCORE] = scores
    keep = scores >= np.float32(prep.score_threshold)
    return [tile_rows[tile_keep] for tile_rows, tile_keep in zip(rows, keep, strict=True)]


def _iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of one ``(ymin, xmin, ymax, xmax)`` box against many, in float32 (no +1: continuous coordinates)."""
    lo = np.maximum(box[:2], boxes[:, :2])
    hi = np.minimum(box[2:4], boxes[:, 2:4])
    inter = np.clip(hi - lo, 0, None).prod(axis=1)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    with np.errstate(divide="ignore", invalid="ignore"):
        return inter / (area + areas - inter)


def weighted_nms(detections: np.ndarray, iou_threshold: float = 0.3) -> np.ndarray:
    """BlazeFace's weighted (blending) NMS over ``(n, 17)`` rows.

    Take the best remaining row; every remaining row overlapping it by IoU > ``iou_threshold`` (itself
    included) forms a group; a group of several becomes one row whose 16 coordinates are the score-weighted
    mean of the group's and whose score is the group's mean score. Blending instead of discarding gives
    steadier boxes from the overlapping anchors (and tiles) that see the same face.

    Returns:
        float32 ``(m, 17)``, in the order the groups were formed (best first before blending).
    """
    if len(detections) == 0:
        return np.zeros((0, 17), np.float32)
    dets = detections.astype(np.float32, copy=False)
    remaining = np.argsort(-dets[:, _SCORE], kind="stable")
    out = []
    while len(remaining):
        first = dets[remaining[0]]
        overlap = _iou(first[_BOX], dets[remaining, _BOX]) > np.float32(iou_threshold)
        overlap[0] = True  # a degenerate (zero-area) best box must still leave, or this would never end
        group = remaining[overlap]
        remaining = remaining[~overlap]
        row = first.copy()
        if len(group) > 1:
            scores = dets[group, _SCORE : _SCORE + 1]
            total = scores.sum(dtype=np.float32)
            row[:16] = (dets[group, :16] * scores).sum(axis=0, dtype=np.float32) / total
            row[_SCORE] = total / np.float32(len(group))
        out.append(row)
    return np.stack(out)


def to_frame_pixels(rows: np.ndarray, side: int, offset: tuple[int, int]) -> np.ndarray:
    """Tile-normalized rows → frame pixels: scaled by the tile's side, shifted by its top-left ``(x, y)``."""
    out = rows.astype(np.float32, copy=True)
    s = np.float32(side)
    x0, y0 = np.float32(offset[0]), np.float32(offset[1])
    out[:, [0, 2]] = out[:, [0, 2]] * s + y0
    out[:, [1, 3]] = out[:, [1, 3]] * s + x0
    out[:, 4:16:2] = out[:, 4:16:2] * s + x0
    out[:, 5:16:2] = out[:, 5:16:2] * s + y0
    return out


def _to_detection(row: np.ndarray) -> Detection:
    ymin, xmin, ymax, xmax = (float(v) for v in row[_BOX])
    return Detection(
        box=np.array([xmin, ymin, xmax, ymax], dtype=np.float64),
        confidence=float(row[_SCORE]),
        keypoints=row[4:16].astype(np.float64).reshape(-1, 2),
    )


class BlazeFaceDetector:
    """A compiled BlazeFace model folder (IR, ``model.json``, ``anchors.npy``). Thread-safe.

    Args:
        folder: the model folder (``shared.weights.resolve_model("blazeface")``).
        tile_batch: tiles per inference call.
    """

    def __init__(self, folder: Path, *, tile_batch: int = TILE_BATCH) -> None:
        from shared.runtime import compile_model

        self.folder = Path(folder)
        self.compiled = compile_model(self.folder)
        card = self.compiled.card
        if not isinstance(card.preprocessing, FaceDetectorPreprocessing):
            raise ModelUnavailable(f"{folder} holds a {card.kind} model, not a face detector")
        self.card = card
        self.prep: FaceDetectorPreprocessing = card.preprocessing
        anchors_path = self.folder / self.prep.anchors_file
        if not anchors_path.is_file():
            raise ModelUnavailable(
                f"{folder} has no {self.prep.anchors_file}: the anchors travel with the IR; convert it again "
                "(`deepfake models fetch blazeface`)"
            )
        self.anchors = np.load(anchors_path, allow_pickle=False).astype(np.float32)
        self.tile_batch = tile_batch

    def infer_tiles(self, tiles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Raw network outputs for uint8 RGB tiles ``(N, 128, 128, 3)``.

        Returns:
            ``raw_boxes`` float32 ``(N, 896, 16)`` and ``raw_scores`` float32 ``(N, 896, 1)``.
        """
        size, n = self.prep.input_size, len(tiles)
        boxes = np.empty((n, len(self.anchors), 16), np.float32)
        scores = np.empty((n, len(self.anchors), 1), np.float32)
        divisor, offset = np.float32(self.prep.input_divisor), np.float32(self.prep.input_offset)
        for start in range(0, n, self.tile_batch):
            chunk = tiles[start : start + self.tile_batch]
            if chunk.shape[1:] != (size, size, 3):
                raise ValueError(f"tiles must be (N, {size}, {size}, 3), got {chunk.shape}")
            x = np.ascontiguousarray(chunk.transpose(0, 3, 1, 2)).astype(np.float32) / divisor + offset
            out = self.compiled.infer(x)
            boxes[start : start + len(chunk)] = out["raw_boxes"]
            scores[start : start + len(chunk)] = out["raw_scores"]
        return boxes, scores

    def detect_rows(self, frames: list[np.ndarray]) -> list[np.ndarray]:
        """Per frame, the reference's detection rows after NMS, in frame pixels, best first.

        Returns:
            Per frame, float32 ``(n, 17)``: ``(ymin, xmin, ymax, xmax)``, keypoints ``(x, y)`` × 6, score.
        """
        grids = [tile_grid(f.shape[0], f.shape[1], self.prep.tile_max_side) for f in frames]
        if not frames:
            return []
        tiles = np.concatenate([make_tiles(f, g, self.prep.input_size) for f, g in zip(frames, grids, strict=True)])
        raw_boxes, raw_scores = self.infer_tiles(tiles)
        per_tile = decode_detections(raw_boxes, raw_scores, self.anchors, self.prep)
        out, t = [], 0
        for grid in grids:
            pooled = [to_frame_pixels(per_tile[t + i], grid.side, off) for i, off in enumerate(grid.offsets)]
            t += len(grid.offsets)
            rows = weighted_nms(np.concatenate(pooled), self.prep.nms_iou)
            out.append(rows[np.argsort(-rows[:, _SCORE], kind="stable")])
        return out

    def detect(self, frames: list[np.ndarray]) -> list[list[Detection]]:
        """Detect faces in RGB ``uint8`` frames (any sizes, batched together).

        Returns:
            Per frame, detections sorted by score (best first): the detector's own box ``(x1, y1, x2, y2)``
            in frame pixels (before any margin, not clamped), its score, and 6 keypoints ``(x, y)``.
        """
        # A frame narrower than MIN_FRAME_SIDE holds no face the classifier could judge, but its one tile,
        # blown up to 128 px, makes BlazeFace "see" faces in noise (measured: 13x13 and 39x39 random pixels).
        seen = [i for i, f in enumerate(frames) if min(f.shape[:2]) >= MIN_FRAME_SIDE]
        rows = self.detect_rows([frames[i] for i in seen])
        out: list[list[Detection]] = [[] for _ in frames]
        for i, frame_rows in zip(seen, rows, strict=True):
            out[i] = [_to_detection(r) for r in frame_rows]
        return out


#: frames with a smaller side than this have no faces (see ``BlazeFaceDetector.detect``)
MIN_FRAME_SIDE = 64


@lru_cache(maxsize=4)
def get_blazeface_detector(model: str = "blazeface") -> BlazeFaceDetector:
    """One BlazeFace detector per process and model (a registry name, fetched on first use, or a folder)."""
    from shared.weights import resolve_model

    return BlazeFaceDetector(resolve_model(model))
