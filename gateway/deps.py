"""What the gateway's routes share: injected dependencies, the API-key check and the documented errors.

Settings come from :func:`shared.settings.get_gateway_settings` (tests override it through
``app.dependency_overrides``); the queue, the job store and the webhook policy are built once in the
app's ``lifespan`` and kept on ``app.state``.
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any

import redis.exceptions
from fastapi import Depends, Request
from fastapi.security import APIKeyHeader
from rq import Queue

from shared.errors import Unauthorized
from shared.jobs import ErrorBody, JobStore
from shared.settings import GatewaySettings, get_gateway_settings
from shared.webhooks import WebhookPolicy

#: Redis failures that mean "the queue is down, retry later" (503), not a bug
REDIS_ERRORS = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
API_KEY_HEADER = "X-API-Key"
UNAUTHORIZED_MESSAGE = "missing or invalid API key (send it in the X-API-Key header)"


def get_store(request: Request) -> JobStore:
    return request.app.state.store


def get_queue(request: Request) -> Queue:
    return request.app.state.queue


def get_webhook_policy(request: Request) -> WebhookPolicy:
    return request.app.state.webhook_policy


SettingsDep = Annotated[GatewaySettings, Depends(get_gateway_settings)]
StoreDep = Annotated[JobStore, Depends(get_store)]
QueueDep = Annotated[Queue, Depends(get_queue)]
WebhookPolicyDep = Annotated[WebhookPolicy, Depends(get_webhook_policy)]

_api_key_header = APIKeyHeader(name=API_KEY_HEADER, auto_error=False, description="needed when auth is on")


def api_key_ok(settings: GatewaySettings, key: str | None) -> bool:
    """Whether a request carrying ``key`` may use ``/v1/*`` (always, when auth is off)."""
    return not settings.auth_enabled or bool(key and secrets.compare_digest(key, settings.api_key))


def require_api_key(settings: SettingsDep, key: Annotated[str | None, Depends(_api_key_header)] = None) -> None:
    """The API-key dependency of every ``/v1/*`` route.

    The body-size middleware already answered 401 from the headers before any body was read
    (:class:`gateway.middleware.GuardAndMeasure`); this dependency documents the scheme in OpenAPI
    and keeps the check for a route mounted without the middleware.
    """
    if not api_key_ok(settings, key):
        raise Unauthorized(UNAUTHORIZED_MESSAGE)


def error_example(code: str, message: str) -> dict[str, Any]:
    """An OpenAPI response entry with the error body's schema and one example."""
    return {"model": ErrorBody, "content": {"application/json": {"example": {"error": {"code": code, "message": message}}}}}


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "API key missing or wrong (only when auth is on)",
          **error_example("unauthorized", "missing or invalid API key")},
    503: {"description": "the queue (Redis) is not answering; retry later",
          **error_example("queue_unavailable", "the job queue is not available; try again shortly")},
    422: {"description": "a form field or parameter is invalid",
          **error_example("invalid_argument", "wait: Input should be less than or equal to 30")},
}
