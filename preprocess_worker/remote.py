"""Remote scorers: the inference services behind the same methods as the in-process scorers.

``RemoteFaceScorer`` has ``FaceScorer``'s ``card``/``input_size``/``has_attention``/``score``;
``RemoteAudioScorer`` has ``AudioScorer``'s ``card``/``score_windows``. ``shared.pipeline`` runs unchanged
with either kind, which is how the worker and ``deepfake analyze`` give the same report for the same file.

Tensors travel in the binary format of :mod:`shared.wire`. A call that cannot connect is retried with
backoff (a service restarting). Whatever goes wrong here is ours, never the user's: the worker made
the tensors from an upload it already decoded. So a service that answers 5xx or stays down is
``ServiceUnavailable``, one that refuses the request (4xx) is ``InferenceServiceError``, and outputs that
break the model's contract (a missing output, the wrong shape, NaN or infinite values) are
``ModelContractError``; none of them is ``BadInput``.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from shared import wire
from shared.errors import (
    DeepfakeError,
    InferenceServiceError,
    InvalidArgument,
    ModelContractError,
    ServiceUnavailable,
)
from shared.modelcard import ModelCard
from shared.roles import get_role
from shared.video_scoring import FaceScores, VideoCardMixin, check_faces

log = logging.getLogger(__name__)


class _ServiceClient:
    """One inference service: its model card (fetched once) and ``POST /v1/infer``."""

    def __init__(
        self, base_url: str, *, role: str, timeout: float = 120.0, retries: int = 3, http: httpx.Client | None = None
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.role = role
        #: the service in words for people ("the voice analysis service"): errors may reach a report
        self.title = get_role(role).service_title
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
                    raise ServiceUnavailable(f"{self.title} did not answer") from exc
                log.warning("%s service %s: %s; retrying in %.1f s", self.role, self.base_url, exc, delay)
                time.sleep(delay)
                delay *= 2
                continue
            except httpx.TimeoutException as exc:
                raise ServiceUnavailable(f"{self.title} did not answer in time") from exc
            if response.is_success:
                return response
            raise _error_from(response, self.role, self.title)
        raise AssertionError("unreachable")

    def infer(self, tensors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        body = wire.encode(tensors)
        response = self._request("POST", "/v1/infer", content=body, headers={"content-type": wire.CONTENT_TYPE})
        try:
            return wire.decode(response.content)
        except InvalidArgument as exc:  # the service's answer is malformed: its fault, not the upload's
            raise ModelContractError(f"the {self.role} inference service sent an unreadable answer") from exc

    def infer_batched(self, name: str, batch: np.ndarray) -> dict[str, np.ndarray]:
        """Send ``batch`` in chunks of the service's ``max_batch`` and concatenate the outputs."""
        parts = [self.infer({name: batch[i : i + self.max_batch]}) for i in range(0, len(batch), self.max_batch)]
        if not parts:
            parts = [self.infer({name: batch})]
        return {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}

    def check(self) -> None:
        """Raise ``ServiceUnavailable`` unless the service answers ``/healthz`` now (retried as any call)."""
        self._request("GET", "/healthz")

    def close(self) -> None:
        self._http.close()


def _error_from(response: httpx.Response, role: str, title: str) -> DeepfakeError:
    """The error for a non-2xx answer. The service's own message goes to the log, not to the job."""
    try:
        error = response.json()["error"]
        code, message = str(error["code"]), str(error["message"])
    except (ValueError, KeyError, TypeError):
        code, message = "", response.text[:200]
    log.warning("%s inference service answered %s %s: %s", role, response.status_code, code, message)
    if response.status_code >= 500:
        return ServiceUnavailable(f"{title} failed (HTTP {response.status_code})")
    return InferenceServiceError(
        f"the {role} inference service refused a request from the worker (HTTP {response.status_code})",
        service_code=code or None,
    )


def checked_output(
    outputs: dict[str, np.ndarray], name: str, shape: tuple[int, ...], *, role: str, low: float | None = None,
    high: float | None = None,
) -> np.ndarray:
    """``outputs[name]`` as float32 of exactly ``shape``, all finite (and within [low, high] when given).

    Raises:
        ModelContractError: the output is missing, has another shape, or holds NaN, infinite or
            out-of-range values. A NaN score would otherwise pass for "no evidence".
    """
    if name not in outputs:
        raise ModelContractError(f"the {role} model returned no {name!r} output (got {sorted(outputs)})")
    array = np.asarray(outputs[name], dtype=np.float32)
    if array.shape != shape:
        raise ModelContractError(
            f"the {role} model's {name!r} output has shape {list(array.shape)}, expected {list(shape)}"
        )
    if not np.isfinite(array).all():
        raise ModelContractError(f"the {role} model's {name!r} output holds NaN or infinite values")
    if (low is not None and (array < low).any()) or (high is not None and (array > high).any()):
        raise ModelContractError(f"the {role} model's {name!r} output is outside [{low}, {high}]")
    return array


class _RemoteScorer:
    """What both remote scorers are: one inference service's client, its card, folder and info."""

    #: the model role (a ``shared.roles.ROLES`` name), named in every error about the service
    role: str

    def __init__(
        self, base_url: str, *, timeout: float = 120.0, retries: int = 3, http: httpx.Client | None = None
    ) -> None:
        self._client = _ServiceClient(base_url, role=self.role, timeout=timeout, retries=retries, http=http)
        self.card = self._client.card
        self.folder = self._client.folder
        self.info = self._client.info

    def check(self) -> None:
        """Raise ``ServiceUnavailable`` unless the service answers now (before a job relies on it)."""
        self._client.check()

    def close(self) -> None:
        self._client.close()


class RemoteFaceScorer(VideoCardMixin, _RemoteScorer):
    """``FaceScorer`` over HTTP (the video inference service)."""

    role = "video"

    def score(self, faces: np.ndarray) -> FaceScores:
        """Score uint8 (N, S, S, 3) RGB crops remotely."""
        faces = check_faces(faces, self.input_size)
        out = self._client.infer_batched("faces", faces)
        logits = checked_output(out, "logits", (len(faces),), role="video")
        attention = None
        if self.has_attention:
            maps = np.asarray(out.get("attention", np.empty(0)), np.float32)
            if maps.ndim != 3:
                raise ModelContractError(f"the video model's attention maps have shape {list(maps.shape)}")
            attention = checked_output(out, "attention", (len(faces), *maps.shape[1:]), role="video",
                                       low=0.0, high=1.0)
        return FaceScores(logits=logits, attention=attention)


class RemoteAudioScorer(_RemoteScorer):
    """``AudioScorer`` over HTTP (the audio inference service)."""

    role = "audio"

    @property
    def sample_rate(self) -> int:
        return self.card.preprocessing.sample_rate  # type: ignore[union-attr]

    def score_windows(self, windows: np.ndarray) -> np.ndarray:
        """Fake probability per float32 (N, samples) window, scored remotely."""
        windows = np.ascontiguousarray(np.asarray(windows, dtype=np.float32))
        if windows.ndim != 2:
            raise InvalidArgument(f"windows must have shape (N, samples), got {tuple(windows.shape)}")
        out = self._client.infer_batched("windows", windows)
        return checked_output(out, "probs", (len(windows),), role="audio", low=0.0, high=1.0)

