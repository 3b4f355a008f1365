"""Operations: ``GET /healthz`` (the process answers), ``GET /readyz`` (it can do work), ``GET /metrics``.

Ready means a job submitted now would be stored and processed: Redis answers, the inference service of
every model role (``shared.roles``) answers (each reported under its own name), at least one
preprocess worker is alive (its liveness beat has not expired, :func:`shared.jobs.live_workers`), and
the upload folder is writable.

It also lists ``lost_workers``: workers whose liveness beat stopped without a goodbye in the last ten
minutes (killed, or their host went away; :func:`shared.jobs.lost_workers`). Losing some workers
leaves the service ready while one is alive, but an operator sees the capacity that went missing.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from rq import Queue
from starlette.concurrency import run_in_threadpool

from gateway.deps import REDIS_ERRORS
from shared.jobs import live_workers, lost_workers
from shared.roles import roles
from shared.settings import GatewaySettings

router = APIRouter()


def upload_dir_writable(folder: Path) -> bool:
    """Whether a file can be created in ``folder`` (tried for real: permission bits say little to root)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=".ready-", dir=folder)
    except OSError:
        return False
    os.close(fd)
    os.unlink(name)
    return True


@router.get("/healthz", tags=["operations"], summary="The gateway process is up")
def healthz() -> dict[str, str]:
    """Liveness: answers as long as the process serves HTTP."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    tags=["operations"],
    summary="Redis, every inference service and a worker answer; uploads can be stored",
    responses={503: {"description": "a dependency is not answering",
                     "content": {"application/json": {"example": {
                         "status": "not_ready",
                         "checks": {"redis": "ok", "video_service": "ConnectError", "audio_service": "ok",
                                    "workers": "ok", "upload_dir": "ok"},
                         "workers": 2, "lost_workers": ["worker1-hostb"]}}}}},
)
async def readyz(request: Request) -> JSONResponse:
    """Readiness: 200 when every check is ok, 503 (with the failing checks) if not."""
    settings: GatewaySettings = request.app.state.settings
    queue: Queue = request.app.state.queue

    def redis_check() -> tuple[str, int | None, list[str] | None]:
        try:
            queue.connection.ping()
            return "ok", len(live_workers(queue.connection)), lost_workers(queue.connection)
        except REDIS_ERRORS as exc:
            return type(exc).__name__, None, None

    async def http_check(base: str) -> str:
        try:
            response = await request.app.state.http.get(base.rstrip("/") + "/healthz")
            return "ok" if response.status_code == 200 else f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            return type(exc).__name__

    services = list(roles())
    (redis_status, workers, lost), writable, answers = await asyncio.gather(
        run_in_threadpool(redis_check),
        run_in_threadpool(upload_dir_writable, settings.upload_dir),
        asyncio.gather(*(http_check(role.service_url(settings)) for role in services)),
    )
    checks = {
        "redis": redis_status,
        # one check per model role's inference service ("video_service", "audio_service", ...)
        **{role.service: answer for role, answer in zip(services, answers, strict=True)},
        "workers": "ok" if workers else ("unknown" if workers is None else "none alive"),
        "upload_dir": "ok" if writable else "not writable",
    }
    ready = all(v == "ok" for v in checks.values())
    body = {"status": "ready" if ready else "not_ready", "checks": checks, "workers": workers, "lost_workers": lost}
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get("/metrics", tags=["operations"], summary="Prometheus metrics", response_class=Response,
            responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}})
def metrics(request: Request) -> Response:
    """Request counts and latencies by route, jobs submitted, queue depth and workers."""
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
