"""The gateway's exception handlers: every error answers ``{"error": {"code", "message"}}``.

Our own errors carry their status and code (``shared.errors``); Redis being down is 503
``queue_unavailable`` with ``Retry-After``; validation errors are 422 ``invalid_argument`` with one
readable message; anything unexpected is 500 ``internal_error`` with nothing internal in the body.
"""

from __future__ import annotations

import logging

import redis.exceptions
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.errors import DeepfakeError, InvalidArgument, QueueUnavailable

log = logging.getLogger("gateway")


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    @app.exception_handler(DeepfakeError)
    async def _deepfake_error(request: Request, exc: DeepfakeError) -> JSONResponse:
        if exc.status >= 500 and not isinstance(exc, QueueUnavailable):
            log.error("%s: %s", exc.code, exc.message)
        if exc.status in (413, 415):
            request.app.state.metrics.uploads_rejected.labels(code=exc.code).inc()
        headers = {"Retry-After": "5"} if exc.status == 503 else None  # as for Redis errors below
        return JSONResponse(exc.to_body(), status_code=exc.status, headers=headers)

    @app.exception_handler(redis.exceptions.RedisError)
    async def _redis_down(request: Request, exc: redis.exceptions.RedisError) -> JSONResponse:
        log.warning("redis error on %s: %s", request.url.path, exc)
        error = QueueUnavailable("the job queue is not available; try again shortly")
        return JSONResponse(error.to_body(), status_code=error.status, headers={"Retry-After": "5"})

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path"))
            parts.append(f"{where}: {err.get('msg')}" if where else str(err.get("msg")))
        error = InvalidArgument("; ".join(parts) or "invalid request")
        return JSONResponse(error.to_body(), status_code=error.status)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(
            {"error": {"code": code, "message": str(exc.detail)}}, status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s", request.url.path)
        return JSONResponse({"error": {"code": "internal_error", "message": "internal error"}}, status_code=500)
