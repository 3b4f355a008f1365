"""Remote scorers: the inference services behind the same methods as the in-process scorers.

``RemoteFaceScorer`` has ``FaceScorer``'s ``card``/``input_size``/``has_attention``/``score``;
``RemoteAudioScorer`` has ``AudioScorer``'s ``card``/``score_windows``. ``shared.pipeline`` runs unchanged
with either kind, which is how the worker and ``deepfake analyze`` give the same report for the same file.

Tensors travel in the binary format of :mod:`shared.wire`. A call that cannot connect is retried with
backoff (a service restarting); an error body from the service is raised as the same error type.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from shared import wire
from shared.errors import DeepfakeError, InvalidArgument, ServiceUnavailable
from shared.modelcard import ModelCard

log = logging.getLogger(__name__)


class _ServiceClient:
    """One inference service: its model card (fetched once) and ``POST /v1/infer``."""

    def __init__(
        self, base_url: str, *, role: str, timeout: float = 120.0, retries: int = 3, http: httpx.Client | None = None
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.role = role
        self.retries = retries
        self._http = http or httpx.Client(base_url=self.base_url, timeout=httpx.Timeout(timeout, connect=5.0))
        self.info: dict[str, Any] = self._request("GET", "/v1/model").json()
        self.card = ModelCard.model_validate(self.info["card"])
        self.max_batch = int(self.info.get("max_batch") or 256)
        #: kept for parity with the local scorers, which expose the folder they compiled
        self.folder = Path(f"{self.base_url}/v1/model")

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        delay = 0.5
        for attempt in range(self.retries + 1):
            try:
                response = self._http.request(method, path, **kwargs)
            except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError) as exc:
                if attempt == self.retries:
                    raise ServiceUnavailable(f"the {self.role} inference service is not answering") from exc
                log.warning("%s service %s: %s; retrying in %.1f s", self.role, self.base_url, exc, delay)
                time.sleep(delay)
                delay *= 2
                continue
            except httpx.TimeoutException as exc:
                raise ServiceUnavailable(f"the {self.role} inference service timed out") from exc
            if response.is_success:
                return response
            raise _error_from(response, self.role)
        raise AssertionError("unreachable")

    def infer(self, tensors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        body = wire.encode(tensors)
        response = self._request("POST", "/v1/infer", content=body, headers={"content-type": wire.CONTENT_TYPE})
        return wire.decode(response.content)

    def infer_batched(self, name: str, batch: np.ndarray) -> dict[str, np.ndarray]:
        """Send ``batch`` in chunks of the service's ``max_batch`` and concatenate the outputs."""
        parts = [self.infer({name: batch[i : i + self.max_batch]}) for i in range(0, len(batch), self.max_batch)]
        if not parts:
            parts = [self.infer({name: batch})]
        return {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}

    def close(self) -> None:
        self._http.close()


def _error_from(response: httpx.Response, role: str) -> DeepfakeError:
    try:
        error = response.json()["error"]
        code, message = str(error["code"]), str(error["message"])
    except (ValueError, KeyError, TypeError):
        code, message = "", response.text[:200]
    if response.status_code >= 500:
        return ServiceUnavailable(f"the {role} inference service failed: {message}")
    exc = InvalidArgument(f"the {role} inference service refused the batch: {message}")
    exc.code = code or exc.code
    return exc


class RemoteFaceScorer:
    """``FaceScorer`` over HTTP (the video inference service)."""

    def __init__(
        self, base_url: str, *, timeout: float = 120.0, retries: int = 3, http: httpx.Client | None = None
    ) -> None:
        self._client = _ServiceClient(base_url, role="video", timeout=timeout, retries=retries, http=http)
        self.card = self._client.card
        self.folder = self._client.folder
        self.info = self._client.info

    @property
    def input_size(self) -> int:
        return self.card.preprocessing.input_size  # type: ignore[union-attr]

    @property
    def has_attention(self) -> bool:
        return "attention" in self.card.preprocessing.outputs  # type: ignore[union-attr]

    def score(self, faces: np.ndarray) -> Any:
        """Score uint8 (N, S, S, 3) RGB crops remotely; returns ``shared.video_scoring.FaceScores``."""
        from shared.video_scoring import FaceScores, check_faces

        faces = check_faces(faces, self.input_size)
        out = self._client.infer_batched("faces", faces)
        logits = np.asarray(out["logits"], dtype=np.float32).reshape(len(faces))
        attention = out.get("attention")
        return FaceScores(logits=logits, attention=None if attention is None else np.asarray(attention, np.float32))

    def close(self) -> None:
        self._client.close()


class RemoteAudioScorer:
    """``AudioScorer`` over HTTP (the audio inference service)."""

    def __init__(
        self, base_url: str, *, timeout: float = 120.0, retries: int = 3, http: httpx.Client | None = None
    ) -> None:
        self._client = _ServiceClient(base_url, role="audio", timeout=timeout, retries=retries, http=http)
        self.card = self._client.card
        self.folder = self._client.folder
        self.info = self._client.info

    @property
    def sample_rate(self) -> int:
        return self.card.preprocessing.sample_rate  # type: ignore[union-attr]

    def score_windows(self, windows: np.ndarray) -> np.ndarray:
        """Fake probability per float32 (N, samples) window, scored remotely."""
        windows = np.ascontiguousarray(np.asarray(windows, dtype=np.float32))
        if windows.ndim != 2:
            raise InvalidArgument(f"windows must have shape (N, samples), got {tuple(windows.shape)}")
        out = self._client.infer_batched("windows", windows)
        return np.asarray(out["probs"], dtype=np.float32).reshape(len(windows))

    def close(self) -> None:
        self._client.close()
