"""Faces → logits (+ attention maps): the one place a video model folder is run.

``FaceScorer`` reads the folder's ``model.json`` for the input size and normalization (callers never
hard-code them), compiles the IR once per process (``shared.runtime.compile_model``) and scores uint8 RGB
face crops in batches. The same contract backs ``deepfake models score`` and the video inference service.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shared.errors import InvalidArgument, ModelUnavailable
from shared.modelcard import ModelCard, VideoPreprocessing
from shared.scoring import sigmoid as _sigmoid64

#: faces per inference call. OpenVINO keeps the intermediate tensors of the largest batch it has run: for
#: EfficientNet-B4 at 224 px, batch 32 held 680 MB more than the loaded model, batch 8 246 MB, batch 4
#: 168 MB, at the same speed on 2 cores (48 ms a face with 4 and with 8; measured: ``FaceScorer.score`` on
#: 32 crops, the process's peak RSS before and after)
DEFAULT_BATCH = 4


@dataclass
class FaceScores:
    """Per-face outputs. Fake probability = ``sigmoid(logits)``.

    Attributes:
        logits: float32 (N,).
        attention: float32 (N, h, w) in [0, 1] for AutoAtt models, else ``None``.
    """

    logits: np.ndarray
    attention: np.ndarray | None = None

    @property
    def probabilities(self) -> np.ndarray:
        return sigmoid(self.logits)


def sigmoid(x: np.ndarray) -> np.ndarray:
    """``shared.scoring.sigmoid`` as float32 (the contract of ``FaceScores.probabilities``)."""
    return _sigmoid64(x).astype(np.float32)


def normalize_faces(faces: np.ndarray, prep: VideoPreprocessing) -> np.ndarray:
    """uint8 (N, S, S, 3) RGB → float32 (N, 3, S, S) normalized as the card says."""
    x = faces.astype(np.float32) * np.float32(1.0 / 255.0)
    x -= np.asarray(prep.mean, dtype=np.float32)
    x /= np.asarray(prep.std, dtype=np.float32)
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))


def check_faces(faces: np.ndarray, size: int) -> np.ndarray:
    """Refuse anything but uint8 (N, size, size, 3) with a clear message."""
    faces = np.asarray(faces)
    if faces.dtype != np.uint8:
        raise InvalidArgument(f"faces must be uint8 RGB crops, got dtype {faces.dtype}")
    if faces.ndim != 4 or faces.shape[1:] != (size, size, 3):
        raise InvalidArgument(f"faces must have shape (N, {size}, {size}, 3), got {tuple(faces.shape)}")
    return faces


class VideoCardMixin:
    """``input_size`` and ``has_attention`` as a video model's card states them.

    Every face scorer (in-process, queued, remote) reads them from its ``card`` by this one rule, so
    the pipeline sees the same contract whichever runs the model.
    """

    card: ModelCard

    @property
    def input_size(self) -> int:
        return self.card.preprocessing.input_size  # type: ignore[union-attr]

    @property
    def has_attention(self) -> bool:
        return "attention" in self.card.preprocessing.outputs  # type: ignore[union-attr]


class FaceScorer(VideoCardMixin):
    """A compiled video model folder. Thread-safe (each call makes its own infer request)."""

    def __init__(
        self, folder: Path, compiled: object, card: ModelCard, batch_size: int = DEFAULT_BATCH
    ) -> None:
        if not isinstance(card.preprocessing, VideoPreprocessing):
            raise ModelUnavailable(f"{folder} holds a {card.kind} model, not a face model")
        self.folder = Path(folder)
        self.card = card
        self.batch_size = batch_size
        self._compiled = compiled

    @classmethod
    def from_folder(
        cls, folder: Path | str, *, hint: str = "LATENCY", threads: int = 0, batch_size: int = DEFAULT_BATCH
    ) -> FaceScorer:
        """Compile ``folder`` (``model.xml`` + ``model.bin`` + ``model.json``) once per process.

        Args:
            folder: a model folder made by ``deepfake models import-icpr`` / ``fetch``.
            hint: OpenVINO ``PERFORMANCE_HINT`` (``"LATENCY"`` in-process, ``"THROUGHPUT"`` in services).
            threads: inference threads, 0 = all cores.
            batch_size: faces per inference call.
        """
        from shared.runtime import compile_model

        compiled = compile_model(Path(folder), hint=hint, threads=threads)
        return cls(compiled.folder, compiled, compiled.card, batch_size=batch_size)

    def score(self, faces: np.ndarray) -> FaceScores:
        """Score uint8 (N, S, S, 3) RGB face crops (S = the card's input size, 224 for ICPR2020).

        Returns:
            ``FaceScores``: logits float32 (N,), attention float32 (N, h, w) or ``None``.

        Raises:
            InvalidArgument: wrong dtype or shape.
        """
        faces = check_faces(faces, self.input_size)
        prep = self.card.preprocessing
        assert isinstance(prep, VideoPreprocessing)
        logits: list[np.ndarray] = []
        maps: list[np.ndarray] = []
        for start in range(0, len(faces), self.batch_size):
            batch = normalize_faces(faces[start : start + self.batch_size], prep)
            out = self._compiled.infer(batch)  # type: ignore[attr-defined]
            logits.append(np.asarray(out["logit"], dtype=np.float32).reshape(len(batch)))
            if self.has_attention:
                att = np.asarray(out["attention"], dtype=np.float32)
                maps.append(att.reshape(len(batch), *att.shape[-2:]))
        if not logits:  # zero faces: empty arrays of the right shape
            return FaceScores(np.zeros(0, np.float32), self._empty_attention())
        return FaceScores(
            logits=np.concatenate(logits),
            attention=np.clip(np.concatenate(maps), 0.0, 1.0) if self.has_attention else None,
        )

    def _empty_attention(self) -> np.ndarray | None:
        if not self.has_attention:
            return None
        shape = self._compiled.compiled.output("attention").get_partial_shape()  # type: ignore[attr-defined]
        h, w = (d.get_length() if d.is_static else 0 for d in list(shape)[-2:])
        return np.zeros((0, h, w), np.float32)
