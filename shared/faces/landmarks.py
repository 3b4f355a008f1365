"""Face landmarks: MediaPipe's 468-point face mesh on the face crops of the face stage.

The model is ``face_landmark.tflite`` as shipped inside the ``mediapipe==0.10.21`` wheel (Apache-2.0),
pinned by sha256 in ``shared.registry.PACKAGED["face-mesh"]`` and compiled by OpenVINO through the one
compile path (``shared.runtime.compile_model``) at f32: OpenVINO's default bf16 on CPUs with AMX moved
landmarks by up to 0.86 px of 192 (``../shared/reference/lips``); at f32 they match the TFLite interpreter
(``ai-edge-litert``) to 9e-5 px on real face crops (``tests/lips/test_landmarks.py``). mediapipe's own Python is never
imported: its ``__init__`` pulls in protobuf, absl and its native runtime, none of which this needs.

Input: a square face crop, RGB, resized to 192x192 and scaled to [0, 1] (NHWC). Output: 468 points
(x, y, z) in pixels of that 192x192 input, and a face-presence log-odds. MediaPipe cuts its crop as a
square about 1.5x the face around the face; the reference face crop (``shared.faces.crop``: the detector
box plus 20 % of its height, 40 % on top, squared) is close to that, so the face stage's crops are used as
they are: nothing is decoded or cut again.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from shared.errors import ModelContractError
from shared.registry import get_packaged

#: its entry in ``shared.registry.PACKAGED``
FACE_MESH = "face-mesh"
INPUT_SIZE = 192
POINTS = 468
#: the eyes' outer corners (MediaPipe's canonical mesh): a size reference that does not move with speech
EYE_OUTER = (33, 263)
#: inner-lip (upper, lower) pairs, centre first: their gap is the mouth opening
INNER_LIP_PAIRS = ((13, 14), (82, 87), (312, 317))
#: the nose tip, to tell a face turned away (it sits far from the middle of the eyes)
NOSE_TIP = 1
#: crops whose results a face mesh remembers (5.6 KB each): face verification (``shared.faces.verify``)
#: and the ``face_landmarks`` product hand it the same crops of every detected face, one after the other
RECALLED_CROPS = 2048


@dataclass(frozen=True)
class FaceLandmarks:
    """Landmarks of N face crops.

    Attributes:
        points: float32 ``(N, 468, 3)``: x, y in pixels of the crop they were found on, z (depth, same scale).
        presence: float32 ``(N,)``: the model's probability that the crop holds a face.
    """

    points: np.ndarray
    presence: np.ndarray

    def __len__(self) -> int:
        return int(self.presence.shape[0])

    def mouth_opening(self) -> np.ndarray:
        """Inner-lip gap over the distance between the eyes' outer corners, float64 ``(N,)``.

        Relative to the eyes so that it does not change when the face moves nearer or farther.
        """
        p = self.points[:, :, :2].astype(np.float64)
        gaps = np.stack([np.linalg.norm(p[:, u] - p[:, lo], axis=1) for u, lo in INNER_LIP_PAIRS], axis=1)
        return gaps.mean(axis=1) / np.maximum(self.eye_distance(), 1e-6)

    def eye_distance(self) -> np.ndarray:
        """Distance between the eyes' outer corners, in crop pixels, float64 ``(N,)``."""
        p = self.points[:, :, :2].astype(np.float64)
        return np.linalg.norm(p[:, EYE_OUTER[0]] - p[:, EYE_OUTER[1]], axis=1)

    def turn(self) -> np.ndarray:
        """How far the face is turned sideways: the nose tip's distance from the middle of the eyes along
        the eye line, over the eye distance (about 0 frontal, about 0.5 in profile), float64 ``(N,)``."""
        p = self.points[:, :, :2].astype(np.float64)
        left, right, nose = p[:, EYE_OUTER[0]], p[:, EYE_OUTER[1]], p[:, NOSE_TIP]
        axis = right - left
        length = np.maximum(np.linalg.norm(axis, axis=1), 1e-6)
        along = np.einsum("ij,ij->i", nose - (left + right) / 2.0, axis) / length
        return np.abs(along) / length


class FaceMesh:
    """The face mesh compiled by OpenVINO. Thread-safe (one infer request per call).

    It remembers the results of the last :data:`RECALLED_CROPS` crops, by their bytes: face verification
    runs it on each detected face's crop during the face stage, and the ``face_landmarks`` product on every
    crop the stage kept afterwards, the detected faces' crops among them (the same arrays, cut by the same
    rule). Recalling a result is exact (same input, same output) and spares the mesh a second run on every
    detected face.
    """

    def __init__(self, compiled: Any) -> None:
        self._compiled = compiled
        self._recalled: OrderedDict[bytes, tuple[np.ndarray, float]] = OrderedDict()
        self._lock = threading.Lock()
        # the outputs by size, not by position or name (a converter may reorder or rename them)
        sizes = [int(np.prod(o.get_partial_shape().to_shape())) for o in compiled.outputs]
        if sorted(sizes) != [1, POINTS * 3]:
            raise ModelContractError(f"the face mesh should give {POINTS * 3} coordinates and one score, got {sizes}")
        self._points_out, self._presence_out = sizes.index(POINTS * 3), sizes.index(1)

    @classmethod
    def from_package(cls) -> FaceMesh:
        """Compile the file inside the mediapipe wheel as its registry entry says (f32, one thread).

        Raises:
            ModelUnavailable: mediapipe is not installed, or its file is not the pinned one.
        """
        from shared.runtime import compile_model

        return cls(compile_model(get_packaged(FACE_MESH)).compiled)

    def landmarks(self, crops: np.ndarray) -> FaceLandmarks:
        """Landmarks of square RGB ``uint8`` crops ``(N, H, W, 3)``, in each crop's own pixels."""
        import cv2

        crops = np.asarray(crops)
        if crops.ndim != 4 or crops.shape[-1] != 3 or crops.shape[1] != crops.shape[2]:
            raise ValueError(f"the face mesh takes square RGB crops (N, H, W, 3), got {crops.shape}")
        count, side = crops.shape[0], crops.shape[1]
        points = np.zeros((count, POINTS, 3), np.float32)
        presence = np.zeros(count, np.float32)
        request = self._compiled.create_infer_request()
        scale = side / INPUT_SIZE
        for n in range(count):
            key = hashlib.blake2b(np.ascontiguousarray(crops[n]).tobytes(), digest_size=16).digest() + bytes(
                str(crops[n].shape), "ascii"
            )
            with self._lock:
                known = self._recalled.get(key)
            if known is not None:
                points[n], presence[n] = known
                continue
            face = crops[n] if side == INPUT_SIZE else cv2.resize(crops[n], (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_AREA)
            request.infer({0: (face.astype(np.float32) / 255.0)[None]})
            points[n] = request.get_output_tensor(self._points_out).data.reshape(POINTS, 3) * scale
            logit = float(request.get_output_tensor(self._presence_out).data.reshape(-1)[0])
            presence[n] = 1.0 / (1.0 + np.exp(-logit))
            with self._lock:
                self._recalled[key] = (points[n].copy(), float(presence[n]))
                while len(self._recalled) > RECALLED_CROPS:
                    self._recalled.popitem(last=False)
        return FaceLandmarks(points=points, presence=presence)


@lru_cache(maxsize=1)
def get_face_mesh() -> FaceMesh:
    """The process's face mesh, compiled on first use."""
    return FaceMesh.from_package()
