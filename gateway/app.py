"""The gateway: HTTP in, jobs out (``uvicorn gateway.app:app``).

Uploads are stored in the shared upload folder and enqueued on RQ by dotted path
(:data:`gateway.jobs.JOB_FUNCTION`), so this process never imports torch, OpenVINO or the pipeline.
The job API is described in ``docs/service.md`` and served as OpenAPI at ``/openapi.json``.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import shutil
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path, PurePath
from typing import Annotated, Any

import httpx
import redis
import redis.exceptions
from fastapi import Depends, FastAPI, File, Form, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.security import APIKeyHeader
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from rq import Callback, Queue, Retry
from rq.serializers import JSONSerializer
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from gateway.jobs import (
    FAILURE_CALLBACK,
    JOB_FUNCTION,
    TERMINAL,
    ErrorBody,
    Job,
    JobStore,
    remove_upload,
)
from gateway.media import SNIFF_BYTES, safe_filename, sniff_media
from gateway.metrics import GatewayMetrics
from shared.errors import (
    ConfigurationError,
    DeepfakeError,
    FileTooLarge,
    InvalidArgument,
    JobNotFound,
    QueueUnavailable,
    Unauthorized,
)
from shared.settings import PLACEHOLDER_API_KEYS, GatewaySettings, get_gateway_settings

log = logging.getLogger("gateway")

REDIS_ERRORS = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
#: multipart framing around the file; a body larger than the file limit plus this is refused unread
MULTIPART_SLACK = 64 * 1024


def _error_example(code: str, message: str) -> dict[str, Any]:
    return {"model": ErrorBody, "content": {"application/json": {"example": {"error": {"code": code, "message": message}}}}}


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "API key missing or wrong (only when auth is on)",
          **_error_example("unauthorized", "missing or invalid API key")},
    503: {"description": "the queue (Redis) is not answering; retry later",
          **_error_example("queue_unavailable", "the job queue is not available; try again shortly")},
    422: {"description": "a form field or parameter is invalid",
          **_error_example("invalid_argument", "wait: Input should be less than or equal to 30")},
}


def check_settings(settings: GatewaySettings) -> None:
    """Refuse unsafe configurations at start-up.

    Raises:
        ConfigurationError: auth is on but the API key is left at a placeholder.
    """
    if settings.auth_enabled and settings.api_key.strip().lower() in PLACEHOLDER_API_KEYS:
        raise ConfigurationError(
            "DEEPFAKE_GATEWAY_AUTH_ENABLED is on but DEEPFAKE_GATEWAY_API_KEY is a placeholder; "
            "set a real key, e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
        )


# --- dependencies ----------------------------------------------------------------------------------
SettingsDep = Annotated[GatewaySettings, Depends(get_gateway_settings)]


def get_store(request: Request) -> JobStore:
    return request.app.state.store


def get_queue(request: Request) -> Queue:
    return request.app.state.queue


StoreDep = Annotated[JobStore, Depends(get_store)]
QueueDep = Annotated[Queue, Depends(get_queue)]
_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="needed when auth is on")


def require_api_key(settings: SettingsDep, key: Annotated[str | None, Depends(_api_key_header)] = None) -> None:
    if settings.auth_enabled and not (key and secrets.compare_digest(key, settings.api_key)):
        raise Unauthorized("missing or invalid API key (send it in the X-API-Key header)")


# --- the body-size guard and request metrics (pure ASGI, so it sees every request) ----------------
class _BodyTooLarge(Exception):
    pass


class GuardAndMeasure:
    """Refuse oversized bodies with 413 before reading them, and count/time every request.

    A declared ``Content-Length`` over the limit is refused unread. A chunked body is counted as it
    streams; once over the limit the read fails and whatever the app would answer is replaced by 413.
    """

    def __init__(self, app: Any, fastapi_app: FastAPI) -> None:
        self.app = app
        self.fastapi_app = fastapi_app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = self.fastapi_app.state
        limit = state.settings.max_upload_bytes + MULTIPART_SLACK
        metrics: GatewayMetrics = state.metrics
        started = time.perf_counter()
        status_holder = {"status": 500, "replaced": False}
        too_large = FileTooLarge(f"the upload is larger than the limit of {state.settings.max_upload_mb:g} MB")

        async def send_413() -> None:
            body = JSONResponse(too_large.to_body(), status_code=413)
            status_holder["status"] = 413
            metrics.uploads_rejected.labels(code=too_large.code).inc()
            await body(scope, _drain_nothing, send)

        declared = dict(scope.get("headers") or []).get(b"content-length")
        if scope["method"] == "POST" and declared is not None and declared.isdigit() and int(declared) > limit:
            await send_413()
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
                    await send_413()
                return
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
            await send(message)

        try:
            await self.app(scope, guarded_receive, guarded_send)
        except _BodyTooLarge:
            if not status_holder["replaced"]:
                await send_413()
        self._observe(scope, started, status_holder["status"])

    def _observe(self, scope: dict[str, Any], started: float, status: int) -> None:
        route = getattr(scope.get("route"), "path", None) or "unmatched"
        metrics: GatewayMetrics = self.fastapi_app.state.metrics
        metrics.requests.labels(method=scope["method"], route=route, status=str(status)).inc()
        metrics.latency.labels(method=scope["method"], route=route).observe(time.perf_counter() - started)


async def _drain_nothing() -> dict[str, Any]:
    return {"type": "http.disconnect"}


# --- the app ---------------------------------------------------------------------------------------
def create_app() -> FastAPI:
    """Build the gateway app. Settings come from ``get_gateway_settings`` (override it in tests)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings: GatewaySettings = app.dependency_overrides.get(get_gateway_settings, get_gateway_settings)()
        check_settings(settings)
        app.state.settings = settings
        settings.upload_dir.mkdir(parents=True, exist_ok=True)
        settings.artifacts_dir.mkdir(parents=True, exist_ok=True)
        connection = redis.Redis.from_url(
            settings.redis_url, socket_connect_timeout=1.0, socket_timeout=5.0, health_check_interval=10
        )
        app.state.queue = Queue(settings.queue_name, connection=connection, serializer=JSONSerializer)
        app.state.store = JobStore(connection)
        app.state.http = httpx.AsyncClient(timeout=settings.readiness_timeout)
        log.info("gateway ready: redis %s, queue %s, uploads in %s", settings.redis_url, settings.queue_name,
                 settings.upload_dir)
        try:
            yield
        finally:
            await app.state.http.aclose()
            connection.close()

    app = FastAPI(
        title="Deepfake detection gateway",
        version="1.0.0",
        summary="Upload a video, image or audio file; get one report on whether it was manipulated.",
        description=(
            "Jobs are asynchronous: `POST /v1/analyze` queues the file and answers 202 with a job; poll "
            "`GET /v1/jobs/{id}` until `status` is `done` (the report is in `report`) or `failed` (the "
            "reason is in `error`). Every error answers `{\"error\": {\"code\", \"message\"}}` with a "
            "stable `code`."
        ),
        lifespan=lifespan,
        # operation ids are the handler names, so generated clients read api.jobs.analyze, get_job, ...
        generate_unique_id_function=lambda route: route.name,
    )
    # Defaults until lifespan runs (tests may build the app without starting it).
    app.state.settings = get_gateway_settings()
    app.state.queue = None
    app.state.metrics = GatewayMetrics(lambda: app.state.queue)
    _install_error_handlers(app)
    _install_routes(app)
    _mark_binary_uploads(app)
    app.add_middleware(GuardAndMeasure, fastapi_app=app)
    try:
        from gateway.web import router as web_router  # the page (owned by the page's engineer)
    except ImportError:
        log.info("gateway.web not present: serving the API only")
    else:
        app.include_router(web_router)
    return app


def _mark_binary_uploads(app: FastAPI) -> None:
    """Also spell file fields ``format: binary``: OpenAPI 3.1's ``contentMediaType`` alone is not yet
    understood by every client generator (openapi-python-client then types the upload as ``str``)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            for component in schema.get("components", {}).get("schemas", {}).values():
                for prop in component.get("properties", {}).values():
                    if prop.get("contentMediaType") == "application/octet-stream":
                        prop["format"] = "binary"
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DeepfakeError)
    async def _deepfake_error(request: Request, exc: DeepfakeError) -> JSONResponse:
        if exc.status >= 500 and not isinstance(exc, QueueUnavailable):
            log.error("%s: %s", exc.code, exc.message)
        if exc.status in (413, 415):
            request.app.state.metrics.uploads_rejected.labels(code=exc.code).inc()
        return JSONResponse(exc.to_body(), status_code=exc.status)

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


JOB_EXAMPLE = {
    "id": "0f3kq8Yb2nR1cVt9xW4sZg",
    "status": "queued",
    "stage": None,
    "progress": 0.0,
    "filename": "interview.mp4",
    "created_at": "2026-11-26T03:00:00.000+00:00",
    "updated_at": "2026-11-26T03:00:00.000+00:00",
    "report": None,
    "error": None,
}


def _install_routes(app: FastAPI) -> None:
    auth = [Depends(require_api_key)]

    @app.post(
        "/v1/analyze",
        status_code=202,
        response_model=Job,
        dependencies=auth,
        tags=["jobs"],
        summary="Upload a file to analyse",
        responses={
            200: {"model": Job, "description": "the job finished within `wait` seconds"},
            202: {"description": "queued", "content": {"application/json": {"example": JOB_EXAMPLE}}},
            413: {"description": "the file is over the size limit",
                  **_error_example("file_too_large", "the upload is larger than the limit of 500 MB")},
            415: {"description": "not a video, image or audio file",
                  **_error_example("unsupported_media", "application/pdf files cannot be analysed: ...")},
            **ERROR_RESPONSES,
        },
    )
    async def analyze(
        request: Request,
        settings: SettingsDep,
        store: StoreDep,
        queue: QueueDep,
        file: Annotated[UploadFile, File(description="the video, image or audio file")],
        callback_url: Annotated[
            str | None,
            Form(description="URL POSTed the job JSON when the job ends (done or failed)",
                 pattern=r"^https?://", examples=["https://example.org/hooks/deepfake"]),
        ] = None,
        wait: Annotated[
            float, Form(ge=0, le=30, description="seconds to wait for the result before answering 202")
        ] = 0.0,
    ) -> Response:
        """Queue one file for analysis; answers 202 with the job (200 if it finished within `wait`)."""
        if file.size is not None and file.size > settings.max_upload_bytes:
            raise FileTooLarge(f"the upload is larger than the limit of {settings.max_upload_mb:g} MB")
        head = await file.read(SNIFF_BYTES)
        if not head:
            raise InvalidArgument("the uploaded file is empty")
        kind, _mime = sniff_media(head)
        await file.seek(0)

        job_id = secrets.token_urlsafe(16)
        shown_name = PurePath((file.filename or "upload").replace("\\", "/")).name or "upload"
        upload_path = settings.upload_dir.resolve() / job_id / safe_filename(file.filename)
        await run_in_threadpool(_save_upload, file, upload_path, settings.max_upload_bytes)
        try:
            await run_in_threadpool(_enqueue, settings, store, queue, job_id, shown_name, upload_path, callback_url)
        except REDIS_ERRORS:
            remove_upload(upload_path, job_id)
            raise QueueUnavailable("the job queue is not available; try again shortly") from None
        request.app.state.metrics.jobs_submitted.labels(kind=kind).inc()

        job = await run_in_threadpool(store.get, job_id, reconcile=False)
        deadline = time.monotonic() + min(wait, settings.max_wait)
        while job is not None and job.status not in TERMINAL and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
            job = await run_in_threadpool(store.get, job_id)
        assert job is not None
        status = 200 if job.status in TERMINAL else 202
        return JSONResponse(
            job.model_dump(mode="json"), status_code=status, headers={"Location": f"/v1/jobs/{job_id}"}
        )

    @app.get(
        "/v1/jobs/{job_id}",
        response_model=Job,
        dependencies=auth,
        tags=["jobs"],
        summary="The job's status, progress and (when done) report",
        responses={404: {"description": "no such job (or it expired)",
                         **_error_example("job_not_found", "no job with this id")}, **ERROR_RESPONSES},
    )
    def get_job(job_id: str, store: StoreDep) -> Job:
        """Status, stage, progress; the report once `done`, the error once `failed`."""
        job = store.get(job_id)
        if job is None:
            raise JobNotFound("no job with this id (it may have expired)")
        return job

    @app.delete(
        "/v1/jobs/{job_id}",
        status_code=204,
        dependencies=auth,
        tags=["jobs"],
        summary="Cancel a job and delete its record, upload and artifacts",
        responses={404: {"description": "no such job", **_error_example("job_not_found", "no job with this id")},
                   **ERROR_RESPONSES},
    )
    def delete_job(job_id: str, settings: SettingsDep, store: StoreDep, queue: QueueDep) -> Response:
        """Cancel (if not finished) and forget a job; a running job stops at its next stage."""
        record = store.delete(job_id)
        if record is None:
            raise JobNotFound("no job with this id (it may have expired)")
        _cancel_rq_job(queue, job_id)
        if record.get("upload_path"):
            remove_upload(Path(record["upload_path"]), job_id)
        if record.get("artifacts_dir"):
            shutil.rmtree(record["artifacts_dir"], ignore_errors=True)
        return Response(status_code=204)

    @app.get(
        "/v1/jobs/{job_id}/artifacts/{name}",
        dependencies=auth,
        tags=["jobs"],
        summary="A picture listed in the report (face thumbnail, heatmap overlay, spectrogram)",
        response_class=FileResponse,
        responses={200: {"content": {"image/png": {"schema": {"type": "string", "format": "binary"}}},
                         "description": "the PNG"},
                   404: {"description": "no such job or artifact",
                         **_error_example("not_found", "no artifact with this name")}, **ERROR_RESPONSES},
    )
    def get_artifact(job_id: str, name: str, store: StoreDep) -> FileResponse:
        """One artifact named in `report.artifacts` (plain file names only)."""
        record = store.raw(job_id)
        if record is None:
            raise JobNotFound("no job with this id (it may have expired)")
        job = store.get(job_id, reconcile=False)
        listed = {a.name: a for a in (job.report.artifacts if job and job.report else [])}
        folder = record.get("artifacts_dir")
        if name not in listed or not folder or (Path(folder) / name).parent != Path(folder):
            raise StarletteHTTPException(404, "no artifact with this name")
        path = Path(folder) / name
        if not path.is_file():
            raise StarletteHTTPException(404, "the artifact is no longer stored")
        return FileResponse(path, media_type=listed[name].media_type)

    @app.get("/healthz", tags=["operations"], summary="The gateway process is up")
    def healthz() -> dict[str, str]:
        """Liveness: answers as long as the process serves HTTP."""
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["operations"],
        summary="Redis and both inference services answer",
        responses={503: {"description": "a dependency is not answering",
                         "content": {"application/json": {"example": {
                             "status": "not_ready",
                             "checks": {"redis": "ok", "video_service": "ConnectError", "audio_service": "ok"},
                             "workers": 2}}}}},
    )
    async def readyz(request: Request) -> JSONResponse:
        """Readiness: 200 when Redis and both inference services answer, 503 (with the failing checks) if not."""
        settings: GatewaySettings = request.app.state.settings
        queue: Queue = request.app.state.queue

        def redis_check() -> tuple[str, int | None]:
            try:
                queue.connection.ping()
                from rq import Worker

                return "ok", Worker.count(queue=queue)
            except REDIS_ERRORS as exc:
                return type(exc).__name__, None

        async def http_check(base: str) -> str:
            try:
                response = await request.app.state.http.get(base.rstrip("/") + "/healthz")
                return "ok" if response.status_code == 200 else f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                return type(exc).__name__

        (redis_status, workers), video, audio = await asyncio.gather(
            run_in_threadpool(redis_check),
            http_check(settings.video_service_url),
            http_check(settings.audio_service_url),
        )
        checks = {"redis": redis_status, "video_service": video, "audio_service": audio}
        ready = all(v == "ok" for v in checks.values())
        body = {"status": "ready" if ready else "not_ready", "checks": checks, "workers": workers}
        return JSONResponse(body, status_code=200 if ready else 503)

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics", response_class=Response,
             responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}})
    def metrics(request: Request) -> Response:
        """Request counts and latencies by route, jobs submitted, queue depth and workers."""
        return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)


def _save_upload(file: UploadFile, path: Path, limit: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    try:
        with path.open("wb") as out:
            while chunk := file.file.read(1024 * 1024):
                written += len(chunk)
                if written > limit:
                    raise FileTooLarge(f"the upload is larger than the limit of {limit / 1024 / 1024:g} MB")
                out.write(chunk)
    except BaseException:
        shutil.rmtree(path.parent, ignore_errors=True)
        raise


def _enqueue(
    settings: GatewaySettings,
    store: JobStore,
    queue: Queue,
    job_id: str,
    filename: str,
    upload_path: Path,
    callback_url: str | None,
) -> None:
    attempts = settings.retries + 1
    store.create(
        job_id,
        filename=filename,
        upload_path=upload_path,
        callback_url=callback_url,
        delete_upload=not settings.retain_uploads,
        artifacts_dir=settings.artifacts_dir.resolve() / job_id,
        result_ttl=settings.result_ttl,
        failure_ttl=settings.failure_ttl,
        # an unfinished record outlives every attempt, then the longer of the two TTLs
        pending_ttl=settings.job_timeout * attempts + max(settings.result_ttl, settings.failure_ttl),
    )
    queue.enqueue(
        JOB_FUNCTION,
        job_id,
        job_id=job_id,
        description=f"analyze {filename}",
        job_timeout=settings.job_timeout,
        result_ttl=settings.result_ttl,
        failure_ttl=settings.failure_ttl,
        # a retry is re-queued at once (no interval: that would need RQ's scheduler process)
        retry=Retry(max=settings.retries) if settings.retries else None,
        on_failure=Callback(FAILURE_CALLBACK, timeout=60),
    )


def _cancel_rq_job(queue: Queue, job_id: str) -> None:
    """Take a job off the queue if it has not started; a started one notices its record is gone."""
    from rq.exceptions import InvalidJobOperation, NoSuchJobError
    from rq.job import Job as RQJob
    from rq.job import JobStatus as RQStatus

    try:
        rq_job = RQJob.fetch(job_id, connection=queue.connection, serializer=JSONSerializer)
    except NoSuchJobError:
        return
    if rq_job.get_status() in (RQStatus.QUEUED, RQStatus.SCHEDULED, RQStatus.DEFERRED):
        try:
            rq_job.cancel()
        except InvalidJobOperation:
            pass
        rq_job.delete()


app = create_app()
