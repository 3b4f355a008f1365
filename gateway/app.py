"""The gateway: HTTP in, jobs out (``uvicorn gateway.app:app``).

A thin factory: settings and connections in ``lifespan``, the guard middleware
(:mod:`gateway.middleware`), the error handlers (:mod:`gateway.handlers`) and one router per resource:
:mod:`gateway.routes.jobs` (the job API), :mod:`gateway.routes.ops` (health, readiness, metrics) and
:mod:`gateway.web` (the page). Jobs are enqueued by dotted path, so this process never imports torch,
OpenVINO or the pipeline. The job API is described in ``docs/service.md`` and served as OpenAPI at
``/openapi.json``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from shared.errors import ConfigurationError, require

# One clear error naming the extra when the gateway's packages are missing (not a bare ImportError).
for _module in ("fastapi", "python_multipart", "redis", "rq", "prometheus_client", "filetype", "uvicorn"):
    require(_module, "gateway", needed_for="the gateway")

import httpx  # noqa: E402
import redis  # noqa: E402
from fastapi import FastAPI  # noqa: E402
from rq import Queue  # noqa: E402
from rq.serializers import JSONSerializer  # noqa: E402

from gateway import web  # noqa: E402
from gateway.handlers import install_error_handlers  # noqa: E402
from gateway.metrics import GatewayMetrics  # noqa: E402
from gateway.middleware import GuardAndMeasure  # noqa: E402
from gateway.routes import jobs, ops  # noqa: E402
from shared.jobs import JobStore  # noqa: E402
from shared.roles import service_urls  # noqa: E402
from shared.settings import (  # noqa: E402
    PLACEHOLDER_API_KEYS,
    GatewaySettings,
    get_gateway_settings,
    without_password,
)
from shared.webhooks import WebhookPolicy  # noqa: E402

log = logging.getLogger("gateway")


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


def webhook_policy(settings: GatewaySettings) -> WebhookPolicy:
    """The callback targets this gateway accepts: its own endpoints (Redis, every model role's inference
    service, itself) refused."""
    own = [settings.redis_url, *service_urls(settings),
           f"http://{settings.host}:{settings.port}", f"http://127.0.0.1:{settings.port}"]
    return WebhookPolicy.from_urls(own, allow_private=settings.webhook_allow_private)


def mark_binary_uploads(app: FastAPI) -> None:
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


def create_app() -> FastAPI:
    """Build the gateway app. Settings come from ``get_gateway_settings`` (override it in tests)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings: GatewaySettings = app.dependency_overrides.get(get_gateway_settings, get_gateway_settings)()
        check_settings(settings)
        app.state.settings = settings
        for folder in (settings.upload_dir, settings.artifacts_dir):
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                # start anyway: /readyz reports it and uploads answer 503 storage_unavailable
                log.error("cannot create %s: %s", folder, exc)
        connection = redis.Redis.from_url(
            settings.redis_url, socket_connect_timeout=1.0, socket_timeout=5.0, health_check_interval=10
        )
        app.state.queue = Queue(settings.queue_name, connection=connection, serializer=JSONSerializer)
        app.state.store = JobStore(connection)
        app.state.webhook_policy = webhook_policy(settings)
        app.state.http = httpx.AsyncClient(timeout=settings.readiness_timeout)
        log.info("gateway ready: redis %s, queue %s, uploads in %s", without_password(settings.redis_url),
                 settings.queue_name, settings.upload_dir)
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
    install_error_handlers(app)
    app.include_router(jobs.router)
    app.include_router(ops.router)
    app.include_router(web.router)
    mark_binary_uploads(app)
    app.add_middleware(GuardAndMeasure, fastapi_app=app)
    return app


app = create_app()
