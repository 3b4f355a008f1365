"""MTCNN face detection on OpenVINO, without torch: numpy, OpenCV and the three IRs of ``shared.models.mtcnn``.

Contract: :class:`MTCNNDetector` takes the options of the facenet-pytorch-based detector it replaced and gives
the same :class:`~shared.faces.base.Detection` lists (boxes in each frame's own pixels, best first, with
five landmarks). :meth:`MTCNNDetector.run` is facenet-pytorch 2.5.3's ``detect_face`` step for step: an
image pyramid (each level ``pyramid_factor`` = 0.709 of the previous, the first one making a
``min_face_size`` face 12 px), PNet on every level with NMS per level (IoU 0.5) and across levels (0.7),
box regression and squaring (``rerec``), RNet on 24x24 crops, NMS 0.7, regression, squaring, ONet on 48x48
crops with landmarks, regression, and the last stage's "Min" NMS (overlap over the smaller box, 0.7); the
thresholds [0.6, 0.7, 0.7] and the pixel normalization come from the model card. Frames are batched: one
PNet call per pyramid level for all frames of a size, one RNet and one ONet call for all their candidates.

Why our own resize: facenet-pytorch resizes with ``torch.nn.functional.interpolate(mode="area")``, which is
adaptive average pooling (output pixel ``i`` of ``O`` averages input pixels ``floor(i*L/O)`` to
``ceil((i+1)*L/O)``), for the pyramid and for the crops, which it mostly enlarges. OpenCV's INTER_AREA
weighs fractional pixels when shrinking and interpolates bilinearly when enlarging, so it feeds the
networks other pixels. :func:`area_resize` computes torch's windows from an integral image
(``cv2.integral``): bit-identical network inputs, at INTER_AREA's cost (the 7 pyramid levels of 16
640x360 frames: 0.08-0.12 s against 0.11-0.17 s for INTER_AREA on float32, 2 shared cores).

Why the NMS follows the reference's candidate order: ONet's probabilities often saturate at exactly 1.0,
and then the order of the candidates decides which box survives (on a real frame, a box 3.5 px away when
ours were taken per image). So candidates keep torchvision's ``batched_nms`` order between stages and the
last NMS is facenet-pytorch's own, over the whole batch. What remains different from the stock detector
is OpenVINO's arithmetic inside the networks (boxes within 1e-4 px, probabilities within 1e-6, measured on
``../shared/media``) and, among more than 1000 candidates of exactly equal score, their order.

Differences from facenet-pytorch, on purpose: a frame smaller than the first pyramid level (shorter side
below ``min_face_size``: 1x1, 16x16, 5x500 pictures) has no detection instead of raising (facenet-pytorch's
``torch.cat`` on nothing, issue 14); a candidate box lying wholly outside its image is dropped, where
facenet-pytorch skips its crop but keeps the box, misaligning every later box with its score.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from shared.errors import InvalidArgument, ModelUnavailable
from shared.faces.base import Detection
from shared.modelcard import MTCNNPreprocessing

NETWORKS = ("pnet", "rnet", "onet")
#: NMS thresholds of facenet-pytorch's detect_face: per pyramid level, across levels, after RNet, after
#: ONet (the last with the "Min" overlap)
NMS_LEVEL, NMS_ACROSS_LEVELS, NMS_RNET, NMS_ONET = 0.5, 0.7, 0.7, 0.7
#: candidates per RNet/ONet call: bounds the crops held in memory at once (48x48x3 float32 = 27 KB each,
#: and 4x that in int32 window sums while cutting them)
CROP_BATCH = 1024


@dataclass
class MTCNNFaces:
    """MTCNN's faces in one image, in that image's pixels, highest probability first."""

    boxes: np.ndarray  # (K, 4) float32 x1, y1, x2, y2 (not clipped to the image)
    probs: np.ndarray  # (K,) float32 ONet's face probability
    landmarks: np.ndarray  # (K, 5, 2) float32 (x, y): left eye, right eye, nose, mouth corners

    @classmethod
    def empty(cls) -> MTCNNFaces:
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros((0, 5, 2), np.float32))


@dataclass
class _Candidates:
    """Face boxes alive between two stages, for a whole batch of images."""

    boxes: np.ndarray  # (K, 4) float32
    scores: np.ndarray  # (K,) float32
    image: np.ndarray  # (K,) int64: which image of the batch
    reg: np.ndarray  # (K, 4) float32: the stage's box regression (fractions of the box size)

    def take(self, index: np.ndarray) -> _Candidates:
        return _Candidates(self.boxes[index], self.scores[index], self.image[index], self.reg[index])

    @staticmethod
    def concat(parts: list[_Candidates]) -> _Candidates:
        if not parts:
            z = np.zeros((0, 4), np.float32)
            return _Candidates(z, np.zeros(0, np.float32), np.zeros(0, np.int64), z)
        return _Candidates(
            np.concatenate([p.boxes for p in parts]),
            np.concatenate([p.scores for p in parts]),
            np.concatenate([p.image for p in parts]),
            np.concatenate([p.reg for p in parts]),
        )


def pyramid_scales(
    height: int, width: int, min_face_size: float, factor: float, cell: int = 12
) -> list[float]:
    """The pyramid's scales, exactly as facenet-pytorch computes them (Python floats, same order).

    The first scale makes a ``min_face_size`` face ``cell`` pixels (PNet's window); levels stop before
    the shorter side drops under ``cell``. Empty when the image's shorter side is below ``min_face_size``.
    """
    m = cell / min_face_size
    minl = min(height, width) * m
    scales = []
    scale = m
    while minl >= cell:
        scales.append(scale)
        scale *= factor
        minl *= factor
    return scales


def _area_bounds(length: np.ndarray | int, out: int) -> tuple[np.ndarray, np.ndarray]:
    """Torch's adaptive-pooling windows: output ``i`` averages inputs ``[floor(i*L/O), ceil((i+1)*L/O))``.

    ``length`` is one size (windows ``(out,)``) or one per crop (windows ``(K, out)``).
    """
    i = np.arange(out, dtype=np.int64)
    length = np.asarray(length, dtype=np.int64)[..., None]
    return (i * length) // out, -((-(i + 1) * length) // out)


def integral_images(images: np.ndarray) -> np.ndarray:
    """``(N, H+1, W+1, 3)`` integral images of uint8 ``(N, H, W, 3)`` images; int32 when that cannot overflow."""
    height, width = images.shape[1:3]
    import cv2

    small = height * width * 255 < 2**31  # int32 sums cannot overflow; float64 ones are exact up to 2**53
    out = np.empty((len(images), height + 1, width + 1, 3), np.int32 if small else np.float64)
    for img, integral in zip(images, out, strict=True):  # written in place: no stacking copy
        cv2.integral(np.ascontiguousarray(img), sum=integral, sdepth=cv2.CV_32S if small else cv2.CV_64F)
    return out


def _window_mean(total: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    # Divide by the row count, then the column count, in float32: torch's ``sum / kh / kw``, bit for bit
    # (the sums are integers, exact in float32 for any window MTCNN uses).
    return total.astype(np.float32) / rows.astype(np.float32) / cols.astype(np.float32)


def area_resize(
    integrals: np.ndarray, height: int, width: int, out_height: int, out_width: int
) -> np.ndarray:
    """Whole images resized like ``interpolate(mode="area")`` (up or down): float32 ``(N, oh, ow, 3)``.

    Args:
        integrals: ``integral_images`` of the ``(N, height, width, 3)`` images.
        height, width: the images' size.
        out_height, out_width: the output size.
    """
    sy, ey = _area_bounds(height, out_height)
    sx, ex = _area_bounds(width, out_width)
    rows = np.take(integrals, ey, axis=1) - np.take(integrals, sy, axis=1)  # (N, oh, W+1, 3) row-window sums
    total = np.take(rows, ex, axis=2) - np.take(rows, sx, axis=2)
    return _window_mean(total, (ey - sy)[:, None, None], (ex - sx)[None, :, None])


def area_crops(
    integrals: np.ndarray,
    image: np.ndarray,
    y0: np.ndarray,
    x0: np.ndarray,
    y1: np.ndarray,
    x1: np.ndarray,
    size: int,
) -> np.ndarray:
    """Crops ``[y0:y1, x0:x1]`` of images ``image`` resized like ``interpolate(mode="area")`` to ``size``.

    Returns:
        float32 ``(K, size, size, 3)``.
    """
    sy, ey = _area_bounds(y1 - y0, size)  # (K, size) offsets inside each crop
    sx, ex = _area_bounds(x1 - x0, size)
    sy, ey = sy + y0[:, None], ey + y0[:, None]
    sx, ex = sx + x0[:, None], ex + x0[:, None]
    k = image[:, None, None]
    total = (
        integrals[k, ey[:, :, None], ex[:, None, :]]
        - integrals[k, sy[:, :, None], ex[:, None, :]]
        - integrals[k, ey[:, :, None], sx[:, None, :]]
        + integrals[k, sy[:, :, None], sx[:, None, :]]
    )
    return _window_mean(total, (ey - sy)[:, :, None, None], (ex - sx)[:, None, :, None])


def nms_iou(boxes: np.ndarray, scores: np.ndarray, threshold: float) -> np.ndarray:
    """``torchvision.ops.nms``: greedy, by score (ties in index order), a box goes when its IoU with a kept
    one is above ``threshold``; areas ``(x2-x1)*(y2-y1)`` in float32. Returns the kept indices in that order."""
    x1, y1, x2, y2 = (boxes[:, j] for j in range(4))
    area = (x2 - x1) * (y2 - y1)
    order = np.argsort(-scores, kind="stable")
    keep = []
    # Degenerate boxes give NaN overlaps, which (as in torchvision) suppress nothing.
    with np.errstate(divide="ignore", invalid="ignore"):
        while order.size:
            i = order[0]
            keep.append(i)
            rest = order[1:]
            w = np.maximum(np.float32(0), np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]))
            h = np.maximum(np.float32(0), np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]))
            inter = w * h
            order = rest[~(inter / (area[i] + area[rest] - inter) > threshold)]
    return np.asarray(keep, dtype=np.int64)


def batched_nms_iou(boxes: np.ndarray, scores: np.ndarray, image: np.ndarray, threshold: float) -> np.ndarray:
    """``torchvision.ops.batched_nms`` keyed by image: the kept indices, highest score first.

    Below 1000 boxes torchvision shifts each image's boxes apart by a float32 offset and runs one NMS;
    above, it runs NMS per image and sorts the survivors with torch's unstable sort. Both are followed here
    (offsets included, since they round the coordinates), so the candidates reach the next stage in the
    reference's order, which decides between boxes of equal score; only ties among more than 1000 boxes
    may be ordered differently (ours: index order).
    """
    if len(boxes) == 0:
        return np.zeros(0, np.int64)
    if boxes.size > 4000:
        keep = []
        for img in np.unique(image):
            members = np.flatnonzero(image == img)
            keep.append(members[nms_iou(boxes[members], scores[members], threshold)])
        kept = np.sort(np.concatenate(keep))
        return kept[np.argsort(-scores[kept], kind="stable")]
    offsets = image.astype(np.float32) * (boxes.max() + np.float32(1))
    return nms_iou(boxes + offsets[:, None], scores, threshold)


def batched_nms_min(boxes: np.ndarray, scores: np.ndarray, image: np.ndarray, threshold: float) -> np.ndarray:
    """facenet-pytorch's last NMS, ``batched_nms_numpy(..., "Min")``, operation for operation.

    Overlap is the intersection over the smaller box (areas with +1 pixel); a box stays when that is at
    most ``threshold``. The order comes from NumPy's default (unstable) ``argsort`` of the scores, taken
    from the highest, over all images at once with the same offsets: ONet's probabilities often saturate
    at exactly 1.0, and this is what picks the reference's box among such ties.
    """
    if len(boxes) == 0:
        return np.zeros(0, np.int64)
    shifted = boxes + (image.astype(np.float32) * (boxes.max() + 1))[:, None]
    x1, y1, x2, y2 = (shifted[:, j].copy() for j in range(4))
    area = (x2 - x1 + 1) * (y2 - y1 + 1)
    order = np.argsort(scores)
    pick = []
    with np.errstate(divide="ignore", invalid="ignore"):
        while order.size > 0:
            i = order[-1]
            pick.append(i)
            rest = order[:-1]
            w = np.maximum(0.0, np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]) + 1)
            h = np.maximum(0.0, np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]) + 1)
            order = rest[np.where(w * h / np.minimum(area[i], area[rest]) <= threshold)]
    return np.asarray(pick, dtype=np.int64)


def rerec(boxes: np.ndarray) -> np.ndarray:
    """Square each box on its longer side, about its centre (float32, facenet-pytorch's operation order)."""
    x1, y1, x2, y2 = (boxes[:, j] for j in range(4))
    h = y2 - y1
    w = x2 - x1
    side = np.maximum(w, h)
    half = np.float32(0.5)
    nx1 = x1 + w * half - side * half
    ny1 = y1 + h * half - side * half
    return np.stack([nx1, ny1, nx1 + side, ny1 + side], axis=1)


def bbreg(boxes: np.ndarray, reg: np.ndarray) -> np.ndarray:
    """Apply RNet's/ONet's regression: each edge moves by a fraction of the (+1 pixel) box size."""
    w = boxes[:, 2] - boxes[:, 0] + np.float32(1)
    h = boxes[:, 3] - boxes[:, 1] + np.float32(1)
    return np.stack(
        [
            boxes[:, 0] + reg[:, 0] * w,
            boxes[:, 1] + reg[:, 1] * h,
            boxes[:, 2] + reg[:, 2] * w,
            boxes[:, 3] + reg[:, 3] * h,
        ],
        axis=1,
    )


@dataclass
class _CropWindows:
    """Integer crop windows of candidate boxes (facenet-pytorch's ``pad``: clipped, never padded)."""

    y0: np.ndarray
    x0: np.ndarray
    y1: np.ndarray
    x1: np.ndarray
    valid: np.ndarray  # bool: the window holds at least one pixel


def crop_windows(boxes: np.ndarray, height: int, width: int) -> _CropWindows:
    """Truncate boxes to integers and clip them to the image: rows ``y-1 .. ey``, columns ``x-1 .. ex``."""
    t = np.trunc(boxes).astype(np.int64)
    x = np.maximum(t[:, 0], 1)
    y = np.maximum(t[:, 1], 1)
    ex = np.minimum(t[:, 2], width)
    ey = np.minimum(t[:, 3], height)
    return _CropWindows(y - 1, x - 1, ey, ex, (ey > y - 1) & (ex > x - 1))


class MTCNNDetector:
    """MTCNN on OpenVINO, batched over frames; frames are shrunk to ``max_side`` before detection.

    Args:
        max_side: frames are shrunk (OpenCV INTER_AREA) so their longer side is at most this.
        min_face_size: smallest face MTCNN looks for, in detector (shrunk) pixels.
        min_confidence: faces whose ONet probability is below this are dropped.
        batch_size: frames per PNet call.
        model: a registry name (``"mtcnn"``, converted on first use; needs torch once) or a model folder.

    Raises:
        InvalidArgument: a non-positive ``min_face_size`` or ``batch_size``.
        ModelUnavailable: ``model`` is not an MTCNN model folder, or cannot be had (the message says how).
    """

    def __init__(
        self,
        *,
        max_side: int = 640,
        min_face_size: int = 40,
        min_confidence: float = 0.9,
        batch_size: int = 16,
        model: str | Path = "mtcnn",
    ) -> None:
        from shared.runtime import compile_model
        from shared.weights import resolve_model

        if min_face_size <= 0 or batch_size <= 0 or max_side <= 0:
            raise InvalidArgument("MTCNN needs a positive min_face_size, batch_size and max_side")
        self.max_side = max_side
        self.min_face_size = min_face_size
        self.min_confidence = min_confidence
        self.batch_size = batch_size
        folder = resolve_model(model)
        self._nets: dict[str, Any] = {net: compile_model(folder, network=net) for net in NETWORKS}
        card = self._nets["pnet"].card
        if not isinstance(card.preprocessing, MTCNNPreprocessing):
            raise ModelUnavailable(f"{folder} holds a {card.kind} model ({card.architecture}), not MTCNN")
        self.pre: MTCNNPreprocessing = card.preprocessing

    def scale_for(self, height: int, width: int) -> float:
        return min(1.0, self.max_side / float(max(height, width)))

    def detect(self, frames: list[np.ndarray]) -> list[list[Detection]]:
        """Detect faces in RGB ``uint8`` ``(H, W, 3)`` frames; boxes and landmarks in each frame's pixels.

        Raises:
            InvalidArgument: a frame that is not an RGB ``uint8`` ``(H, W, 3)`` array.
        """
        import cv2

        out: list[list[Detection]] = [[] for _ in frames]
        groups: dict[tuple[int, int], list[int]] = {}  # frames of one size (one video) share a batch
        for i, frame in enumerate(frames):
            if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
                raise InvalidArgument(f"frames must be RGB uint8 (H, W, 3); got {frame.dtype} {frame.shape}")
            if min(frame.shape[:2]) > 0:
                groups.setdefault(frame.shape[:2], []).append(i)
        for (height, width), members in groups.items():
            scale = self.scale_for(height, width)
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            if min(size) < self.min_face_size:
                continue  # smaller than MTCNN's first pyramid level: no face it could see
            sx, sy = width / size[0], height / size[1]
            for start in range(0, len(members), self.batch_size):
                chunk = members[start : start + self.batch_size]
                small = np.stack(
                    [
                        cv2.resize(frames[i], size, interpolation=cv2.INTER_AREA) if scale < 1 else frames[i]
                        for i in chunk
                    ]
                )
                for i, faces in zip(chunk, self.run(small), strict=True):
                    for box, prob, points in zip(faces.boxes, faces.probs, faces.landmarks, strict=True):
                        if prob < self.min_confidence:
                            continue
                        full = np.array(
                            [box[0] * sx, box[1] * sy, box[2] * sx, box[3] * sy], dtype=np.float64
                        )
                        full[[0, 2]] = full[[0, 2]].clip(0, width)
                        full[[1, 3]] = full[[1, 3]].clip(0, height)
                        if full[2] - full[0] < 2 or full[3] - full[1] < 2:
                            continue
                        keypoints = points.astype(np.float64) * np.array([sx, sy])
                        out[i].append(Detection(full, float(prob), keypoints))
        return out

    # --- facenet-pytorch's detect_face -------------------------------------------------------------

    def _normalize(self, pixels: np.ndarray) -> np.ndarray:
        """float32 ``(K, h, w, 3)`` pixels → the networks' NCHW input."""
        x = (pixels - np.float32(self.pre.mean)) * np.float32(self.pre.scale)
        return np.ascontiguousarray(x.transpose(0, 3, 1, 2))

    def run(self, images: np.ndarray) -> list[MTCNNFaces]:
        """facenet-pytorch's ``detect_face`` on a batch of equal-sized RGB ``uint8`` ``(N, H, W, 3)`` images.

        Returns:
            One :class:`MTCNNFaces` per image, in the images' own pixels, before ``min_confidence``.
        """
        n, height, width = images.shape[:3]
        scales = pyramid_scales(
            height, width, self.min_face_size, self.pre.pyramid_factor, self.pre.pnet_cell
        )
        if n == 0 or not scales:
            return [MTCNNFaces.empty() for _ in range(n)]
        integrals = integral_images(images)
        cand = self._stage_pnet(integrals, height, width, scales)
        cand = self._stage_refine(cand, integrals, height, width)
        return self._stage_output(cand, integrals, height, width, n)

    def _stage_pnet(self, integrals: np.ndarray, height: int, width: int, scales: list[float]) -> _Candidates:
        thresh = np.float32(self.pre.thresholds[0])
        stride, cell = np.float32(self.pre.pnet_stride), np.float32(self.pre.pnet_cell)
        levels = []
        for scale in scales:
            level = area_resize(integrals, height, width, int(height * scale + 1), int(width * scale + 1))
            out = self._nets["pnet"].infer(self._normalize(level))
            prob, reg = out["prob"][:, 1], out["reg"]  # (N, h', w'), (N, 4, h', w')
            image, row, col = np.nonzero(prob >= thresh)
            if image.size == 0:
                continue
            # Each PNet cell is a cell x cell window at stride `stride` in the level: back to image pixels,
            # in float32 with facenet-pytorch's operation order (the floor makes the order matter).
            xy = np.stack([col, row], axis=1).astype(np.float32)
            s = np.float32(scale)
            q1 = np.floor((stride * xy + np.float32(1)) / s)
            q2 = np.floor((stride * xy + cell - np.float32(1) + np.float32(1)) / s)
            found = _Candidates(
                boxes=np.concatenate([q1, q2], axis=1),
                scores=prob[image, row, col],
                image=image.astype(np.int64),
                reg=reg[image, :, row, col],
            )
            levels.append(found.take(batched_nms_iou(found.boxes, found.scores, found.image, NMS_LEVEL)))
        cand = _Candidates.concat(levels)
        cand = cand.take(batched_nms_iou(cand.boxes, cand.scores, cand.image, NMS_ACROSS_LEVELS))
        b, r = cand.boxes, cand.reg
        regw, regh = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
        moved = np.stack(
            [
                b[:, 0] + r[:, 0] * regw,
                b[:, 1] + r[:, 1] * regh,
                b[:, 2] + r[:, 2] * regw,
                b[:, 3] + r[:, 3] * regh,
            ],
            axis=1,
        )
        return _Candidates(rerec(moved), cand.scores, cand.image, np.zeros_like(moved))

    def _score_crops(
        self, net: str, cand: _Candidates, integrals: np.ndarray, height: int, width: int, size: int
    ) -> tuple[_Candidates, dict[str, np.ndarray] | None]:
        """Run ``net`` on the ``size`` x ``size`` crops of the candidates whose window holds pixels.

        Crops are cut ``CROP_BATCH`` at a time, so memory stays bounded however many candidates there are.

        Returns:
            Those candidates (in order) and the network's outputs for them; None when there are none.
        """
        win = crop_windows(cand.boxes, height, width)
        keep = np.flatnonzero(win.valid)
        if keep.size == 0:
            return cand.take(keep), None
        parts = []
        for i in range(0, keep.size, CROP_BATCH):
            k = keep[i : i + CROP_BATCH]
            crops = area_crops(integrals, cand.image[k], win.y0[k], win.x0[k], win.y1[k], win.x1[k], size)
            parts.append(self._nets[net].infer(self._normalize(crops)))
        return cand.take(keep), {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}

    def _stage_refine(self, cand: _Candidates, integrals: np.ndarray, height: int, width: int) -> _Candidates:
        """RNet: score 24x24 crops, keep those above the threshold, NMS, regress, square."""
        cand, out = self._score_crops("rnet", cand, integrals, height, width, self.pre.rnet_size)
        if out is None:
            return cand
        score = out["prob"][:, 1]
        passed = np.flatnonzero(score > np.float32(self.pre.thresholds[1]))
        cand = _Candidates(cand.boxes[passed], score[passed], cand.image[passed], out["reg"][passed])
        cand = cand.take(batched_nms_iou(cand.boxes, cand.scores, cand.image, NMS_RNET))
        return _Candidates(rerec(bbreg(cand.boxes, cand.reg)), cand.scores, cand.image, cand.reg)

    def _stage_output(
        self, cand: _Candidates, integrals: np.ndarray, height: int, width: int, n: int
    ) -> list[MTCNNFaces]:
        """ONet: score 48x48 crops with landmarks, threshold, regress, "Min" NMS; split by image."""
        faces = [MTCNNFaces.empty() for _ in range(n)]
        cand, out = self._score_crops("onet", cand, integrals, height, width, self.pre.onet_size)
        if out is None:
            return faces
        score = out["prob"][:, 1]
        passed = np.flatnonzero(score > np.float32(self.pre.thresholds[2]))
        boxes, image, marks = cand.boxes[passed], cand.image[passed], out["landmarks"][passed]
        # Landmarks are fractions of the (+1 pixel) box ONet saw, before its regression moves the box.
        w = (boxes[:, 2] - boxes[:, 0] + np.float32(1))[:, None]
        h = (boxes[:, 3] - boxes[:, 1] + np.float32(1))[:, None]
        px = w * marks[:, :5] + boxes[:, :1] - np.float32(1)
        py = h * marks[:, 5:] + boxes[:, 1:2] - np.float32(1)
        landmarks = np.stack([px, py], axis=2)  # (K, 5, 2)
        boxes, score = bbreg(boxes, out["reg"][passed]), score[passed]
        pick = batched_nms_min(boxes, score, image, NMS_ONET)
        for img in np.unique(image[pick]):
            mine = pick[image[pick] == img]  # in pick order: highest probability first
            faces[int(img)] = MTCNNFaces(boxes[mine], score[mine], landmarks[mine])
        return faces


@lru_cache(maxsize=4)
def get_mtcnn_detector(
    max_side: int = 640, min_face_size: int = 40, min_confidence: float = 0.9, model: str = "mtcnn"
) -> MTCNNDetector:
    """One detector per process and setting (building it compiles three IRs)."""
    return MTCNNDetector(
        max_side=max_side, min_face_size=min_face_size, min_confidence=min_confidence, model=model
    )
