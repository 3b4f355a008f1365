"""``FaceScorer``'s contract with every OpenVINO stream busy: batches go through an ``AsyncInferQueue``.

Compiled with the ``THROUGHPUT`` hint, a model gets several streams that each use a share of the cores
(2 streams of 1 thread on a 2-core machine). ``FaceScorer.score`` runs its batches one after another
with synchronous requests, so one large request keeps only one stream busy. Here the batches of one
request are started asynchronously on an ``AsyncInferQueue`` with OpenVINO's optimal number of infer
requests, so they run on all streams at once; concurrent HTTP requests share the queue (each call waits
only for its own batches, through per-call userdata, never ``wait_all``).

Input checks, normalization and the output layout are ``shared.video_scoring``'s (``check_faces``,
``normalize_faces``, the card's ``outputs``); a test pins equality with ``FaceScorer.score``.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from shared.video_scoring import FaceScorer, FaceScores, VideoCardMixin, check_faces, normalize_faces


class _Call:
    """The batches of one ``score`` call: filled by OpenVINO's callback threads."""

    def __init__(self, batches: int) -> None:
        self.outputs: list[dict[str, np.ndarray] | None] = [None] * batches
        self.remaining = batches
        self.error: BaseException | None = None
        self.done = threading.Event()
        self.lock = threading.Lock()


class QueuedFaceScorer(VideoCardMixin):
    """Wraps a compiled ``FaceScorer``; same ``card``, ``input_size``, ``has_attention`` and ``score``."""

    def __init__(self, scorer: FaceScorer, compiled_model: Any) -> None:
        import openvino as ov

        self.scorer = scorer
        self.card = scorer.card
        self.folder = scorer.folder
        self.batch_size = scorer.batch_size
        self.jobs = int(compiled_model.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS"))
        self._queue = ov.AsyncInferQueue(compiled_model, self.jobs)
        self._queue.set_callback(self._on_done)
        self._outputs = [port.get_any_name() for port in compiled_model.outputs]

    def _on_done(self, request: Any, userdata: tuple[_Call, int]) -> None:
        call, index = userdata
        try:
            out = {name: np.array(request.get_tensor(name).data) for name in self._outputs}  # copy: reused buffers
        except BaseException as exc:  # surfaced to the caller, not lost in OpenVINO's thread
            with call.lock:
                call.error = exc
            out = None
        with call.lock:
            call.outputs[index] = out
            call.remaining -= 1
            if call.remaining == 0:
                call.done.set()

    def score(self, faces: np.ndarray) -> FaceScores:
        """Score uint8 (N, S, S, 3) RGB crops; identical results to ``FaceScorer.score``."""
        faces = check_faces(faces, self.input_size)
        if len(faces) <= self.batch_size or self.jobs <= 1:
            return self.scorer.score(faces)  # one batch: nothing to overlap
        prep = self.card.preprocessing
        starts = list(range(0, len(faces), self.batch_size))
        call = _Call(len(starts))
        for index, start in enumerate(starts):
            batch = normalize_faces(faces[start : start + self.batch_size], prep)  # type: ignore[arg-type]
            self._queue.start_async([batch], (call, index))
        call.done.wait()
        if call.error is not None:
            raise call.error
        logits = [np.asarray(o["logit"], np.float32).reshape(-1) for o in call.outputs if o is not None]
        attention = None
        if self.has_attention:
            maps = []
            for o, start in zip(call.outputs, starts, strict=True):
                assert o is not None
                att = np.asarray(o["attention"], np.float32)
                maps.append(att.reshape(min(self.batch_size, len(faces) - start), *att.shape[-2:]))
            attention = np.clip(np.concatenate(maps), 0.0, 1.0)
        return FaceScores(logits=np.concatenate(logits), attention=attention)
