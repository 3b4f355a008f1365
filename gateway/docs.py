"""The API documentation pages, ``/docs`` (Swagger UI) and ``/redoc`` (ReDoc), served without any CDN.

FastAPI's own pages load Swagger UI and ReDoc from a CDN, so on the closed networks newsrooms run this
service on they were blank. Here the same pages (``fastapi.openapi.docs``) load their scripts, style sheet
and icon from this gateway: the files ship inside the ``fastapi-offline`` package (Swagger UI, Apache-2.0;
ReDoc, MIT), pinned in ``pyproject.toml``; only its files are used, not its app factory. ReDoc's web fonts
(Google Fonts) are left out, and the one image ReDoc fetches from its own CDN (the "Redocly" logo at the
foot of its menu, which hides itself when it cannot load) is pointed at nothing, so a closed network sees no
request leave. Assets are served from a fixed list, like the page's (``gateway.web``).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response

from shared.errors import require

require("fastapi_offline", "gateway", needed_for="the offline API documentation (/docs, /redoc)")

import fastapi_offline  # noqa: E402

#: the package's folder of Swagger UI and ReDoc builds
ASSET_DIR = Path(fastapi_offline.__file__).with_name("static")
ASSET_PREFIX = "/docs-assets"
DOCS_URL = "/docs"
REDOC_URL = "/redoc"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"

_MEDIA_TYPES = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "redoc.standalone.js": "text/javascript; charset=utf-8",
    "favicon.png": "image/png",
}
ASSETS: dict[str, Path] = {name: ASSET_DIR / name for name in _MEDIA_TYPES}

#: URLs inside the packaged scripts that would leave the closed network, and what they become
_REWRITES = {"redoc.standalone.js": [(b"https://cdn.redoc.ly/redoc/logo-mini.svg", b"data:,")]}


def _rewritten(name: str) -> bytes | None:
    """The asset's bytes with its outbound URLs replaced, or ``None`` when it has none to replace."""
    if name not in _REWRITES:
        return None
    data = ASSETS[name].read_bytes()
    for old, new in _REWRITES[name]:
        data = data.replace(old, new)
    return data

router = APIRouter(tags=["documentation"])


def _title(request: Request) -> str:
    return str(getattr(request.app, "title", "API"))


@router.get(DOCS_URL, include_in_schema=False)
def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI for this gateway's OpenAPI document, with its assets served from here."""
    root = request.scope.get("root_path", "")
    return get_swagger_ui_html(
        openapi_url=f"{root}{request.app.openapi_url}",
        title=f"{_title(request)} - Swagger UI",
        oauth2_redirect_url=f"{root}{OAUTH2_REDIRECT_URL}",
        swagger_js_url=f"{root}{ASSET_PREFIX}/swagger-ui-bundle.js",
        swagger_css_url=f"{root}{ASSET_PREFIX}/swagger-ui.css",
        swagger_favicon_url=f"{root}{ASSET_PREFIX}/favicon.png",
    )


@router.get(OAUTH2_REDIRECT_URL, include_in_schema=False)
def swagger_ui_redirect() -> HTMLResponse:
    """Swagger UI's OAuth2 redirect helper (kept so the page behaves as FastAPI's own)."""
    return get_swagger_ui_oauth2_redirect_html()


@router.get(REDOC_URL, include_in_schema=False)
def redoc(request: Request) -> HTMLResponse:
    """ReDoc for this gateway's OpenAPI document, with its script served from here and no web fonts."""
    root = request.scope.get("root_path", "")
    return get_redoc_html(
        openapi_url=f"{root}{request.app.openapi_url}",
        title=f"{_title(request)} - ReDoc",
        redoc_js_url=f"{root}{ASSET_PREFIX}/redoc.standalone.js",
        redoc_favicon_url=f"{root}{ASSET_PREFIX}/favicon.png",
        with_google_fonts=False,
    )


@router.get(ASSET_PREFIX + "/{name}", include_in_schema=False)
def docs_asset(name: str) -> Response:
    """One of the documentation pages' assets (from the fixed list: no request names a file)."""
    path = ASSETS.get(name)
    if path is None:
        body = {"error": {"code": "not_found", "message": f"no documentation asset named {name!r}"}}
        return JSONResponse(status_code=404, content=body)
    headers = {"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"}
    rewritten = _rewritten(name)
    if rewritten is not None:
        return Response(rewritten, media_type=_MEDIA_TYPES[name], headers=headers)
    return FileResponse(path, media_type=_MEDIA_TYPES[name], headers=headers)
