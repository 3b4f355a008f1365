"""The gateway's pure-ASGI guard: the API key and the body size are judged from the headers first.

FastAPI reads and parses a multipart body before it runs a route's dependencies, so an API-key
dependency alone would let an unauthenticated client make the gateway read (and spool to disk) a
500 MB upload before answering 401. This middleware sees the request before the app does:

1. ``/v1/*`` without a valid ``X-API-Key`` (auth on) → 401, no byte of the body read;
2. a declared ``Content-Length`` over the limit → 413 unread; a chunked body is counted as it
   streams, and once over the limit the read fails and whatever the app would answer becomes 413;
3. every request is counted and timed by route template.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.routing import Match

from gateway.deps import API_KEY_HEADER, UNAUTHORIZED_MESSAGE, api_key_ok
from gateway.metrics import GatewayMetrics
from shared.errors import DeepfakeError, FileTooLarge, Unauthorized

#: multipart framing around the file; a body larger than the file limit plus this is refused unread
MULTIPART_SLACK = 64 * 1024
_API_KEY_HEADER = API_KEY_HEADER.lower().encode()


class _BodyTooLarge(Exception):
    pass


async def _no_body() -> dict[str, Any]:
    return {"type": "http.disconnect"}


class GuardAndMeasure:
    """Refuse unauthenticated and oversized requests before their body is read; count every request."""

    def __init__(self, app: Any, fastapi_app: FastAPI) -> None:
        self.app = app
        self.fastapi_app = fastapi_app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = self.fastapi_app.state
        settings = state.settings
        limit = settings.max_upload_bytes + MULTIPART_SLACK
        started = time.perf_counter()
        status_holder = {"status": 500, "replaced": False}
        headers = dict(scope.get("headers") or [])

        async def refuse(error: DeepfakeError) -> None:
            status_holder["status"] = error.status
            if isinstance(error, FileTooLarge):
                state.metrics.uploads_rejected.labels(code=error.code).inc()
            await JSONResponse(error.to_body(), status_code=error.status)(scope, _no_body, send)

        too_large = FileTooLarge(f"the upload is larger than the limit of {settings.max_upload_mb:g} MB")

        if scope["path"].startswith("/v1/"):
            key = headers.get(_API_KEY_HEADER)
            if not api_key_ok(settings, key.decode("latin-1") if key is not None else None):
                await refuse(Unauthorized(UNAUTHORIZED_MESSAGE))
                self._observe(scope, started, status_holder["status"])
                return

        declared = headers.get(b"content-length")
        if scope["method"] == "POST" and declared is not None and declared.isdigit() and int(declared) > limit:
            await refuse(too_large)
            self._observe(scope, started, status_holder["status"])
            return

        received = 0
        exceeded = False

        async def guarded_receive() -> dict[str, Any]:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise _BodyTooLarge()
            return message

        async def guarded_send(message: dict[str, Any]) -> None:
            if exceeded:
                if message["type"] == "http.response.start" and not status_holder["replaced"]:
                    status_holder["replaced"] = True
                    await refuse(too_large)
                return
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
            await send(message)

        try:
            await self.app(scope, guarded_receive, guarded_send)
        except _BodyTooLarge:
            if not status_holder["replaced"]:
                await refuse(too_large)
        self._observe(scope, started, status_holder["status"])

    def _observe(self, scope: dict[str, Any], started: float, status: int) -> None:
        route = getattr(scope.get("route"), "path", None) or self._template(scope)
        metrics: GatewayMetrics = self.fastapi_app.state.metrics
        metrics.requests.labels(method=scope["method"], route=route, status=str(status)).inc()
        metrics.latency.labels(method=scope["method"], route=route).observe(time.perf_counter() - started)

    def _template(self, scope: dict[str, Any]) -> str:
        """The route template of a request refused before routing (labels stay bounded)."""
        for route in self.fastapi_app.router.routes:
            match, _ = route.matches(scope)
            if match is Match.FULL:
                return getattr(route, "path", "unmatched")
        return "unmatched"
