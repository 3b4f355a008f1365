"""What the two inference services have in common: a FastAPI app around one compiled model folder.

``video_service`` and ``audio_service`` each pass a loader (resolve + compile the folder, in
``lifespan``, never at import) and an ``infer`` function (named arrays in → named arrays out). This module
adds the rest once: ``POST /v1/infer`` in the binary tensor format of :mod:`shared.wire`,
``GET /v1/model`` (name, version, sha256 of the IR files), ``GET /healthz``, the error body, and a body
size limit. Blocking inference runs in the thread pool; OpenVINO's compiled model is thread-safe and its
``THROUGHPUT`` hint runs concurrent requests on parallel streams.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from shared.errors import require

# The services' packages, checked before they are imported: one error naming the extra to install.
for _module in ("fastapi", "uvicorn", "openvino"):
    require(_module, "ml", needed_for="the inference services")

from fastapi import FastAPI, Request  # noqa: E402
from fastapi.responses import JSONResponse, Response  # noqa: E402
from starlette.concurrency import run_in_threadpool  # noqa: E402

from shared import wire  # noqa: E402
from shared.errors import DeepfakeError, FileTooLarge, InvalidArgument  # noqa: E402
from shared.fsutil import sha256_file  # noqa: E402
from shared.modelcard import ModelCard  # noqa: E402
from shared.weights import resolve_model  # noqa: E402

log = logging.getLogger(__name__)

InferFn = Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]]


@dataclass
class LoadedModel:
    """A compiled model folder ready to serve."""

    folder: Path
    card: ModelCard
    infer: InferFn
    #: the array name ``/v1/infer`` expects and its batch axis is limited by ``max_batch``
    input_name: str
    extra: dict[str, Any] = field(default_factory=dict)
    sha256: dict[str, str] = field(default_factory=dict)


def resolve_model_folder(spec: str) -> Path:
    """A registry name or a model folder → the model folder (``shared.weights.resolve_model``)."""
    return Path(resolve_model(spec))


def model_info(model: LoadedModel) -> dict[str, Any]:
    card = model.card
    return {
        "name": card.name,
        "version": card.version,
        "kind": card.kind,
        "architecture": card.architecture,
        "precision": card.precision,
        "sha256": model.sha256,
        "source_sha256": card.source.sha256 if card.source else None,
        "input": model.input_name,
        **model.extra,
        "card": card.model_dump(mode="json"),
    }


def create_inference_app(
    *,
    title: str,
    load: Callable[[], LoadedModel],
    max_batch: Callable[[], int],
    max_body_bytes: Callable[[], int],
) -> FastAPI:
    """Build an inference service app.

    Args:
        title: OpenAPI title.
        load: resolves and compiles the model folder; called once, in ``lifespan``.
        max_batch: the largest first dimension ``/v1/infer`` accepts.
        max_body_bytes: the largest ``/v1/infer`` body.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        started = time.perf_counter()
        model = await run_in_threadpool(load)
        model.sha256 = {
            name: await run_in_threadpool(sha256_file, model.folder / name) for name in ("model.xml", "model.bin")
        }
        app.state.model = model
        log.info("%s: %s loaded from %s in %.1f s", title, model.card.version, model.folder,
                 time.perf_counter() - started)
        yield

    app = FastAPI(title=title, version="1.0.0", lifespan=lifespan)

    @app.exception_handler(DeepfakeError)
    async def _deepfake_error(request: Request, exc: DeepfakeError) -> JSONResponse:
        return JSONResponse(exc.to_body(), status_code=exc.status)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s", request.url.path)
        return JSONResponse({"error": {"code": "internal_error", "message": "internal error"}}, status_code=500)

    @app.get("/healthz")
    def healthz(request: Request) -> dict[str, str]:
        """Answers once the model is compiled (uvicorn serves only after lifespan start-up)."""
        return {"status": "ok", "model": request.app.state.model.card.version}

    @app.get("/v1/model")
    def get_model(request: Request) -> dict[str, Any]:
        """Which model this service runs: name, version, sha256 of the IR files, and its full card."""
        return {**model_info(request.app.state.model), "max_batch": max_batch()}

    @app.post(
        "/v1/infer",
        response_class=Response,
        responses={200: {"content": {wire.CONTENT_TYPE: {}}, "description": "named output arrays"}},
    )
    async def infer(request: Request) -> Response:
        """One batch in the tensor wire format (``shared.wire``) in, named outputs out."""
        model: LoadedModel = request.app.state.model
        limit = max_body_bytes()
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise FileTooLarge(f"the tensor body is larger than {limit} bytes")
        body = bytearray()
        async for chunk in request.stream():
            body.extend(chunk)
            if len(body) > limit:
                raise FileTooLarge(f"the tensor body is larger than {limit} bytes")
        tensors = wire.decode(body)
        if model.input_name not in tensors:
            raise InvalidArgument(f"the body has no tensor named {model.input_name!r}")
        batch = tensors[model.input_name]
        if batch.ndim == 0 or len(batch) > max_batch():
            raise InvalidArgument(f"{model.input_name}: batch of {len(batch) if batch.ndim else 0} "
                                  f"is outside 0..{max_batch()}")
        outputs = await run_in_threadpool(model.infer, tensors)
        return Response(wire.encode(outputs), media_type=wire.CONTENT_TYPE)

    return app
