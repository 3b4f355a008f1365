"""The web page: ``GET /`` and its static assets from ``gateway/static/``.

The page is plain HTML, CSS and JavaScript (no build step, nothing fetched from other hosts) and talks only
to the public job API (``POST /v1/analyze``, ``GET``/``DELETE /v1/jobs/{id}``,
``GET /v1/jobs/{id}/artifacts/{name}``). The gateway app includes :data:`router`.

Assets are served from a fixed list read at import time rather than through a path parameter that reaches
the file system, so no request can name a file outside ``static/``. A ``StaticFiles`` mount would do the
same, but FastAPI drops mounts when a router is included into an app.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, JSONResponse, Response

STATIC_DIR = Path(__file__).with_name("static")

_MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}

#: The page loads nothing from elsewhere and runs no inline code; images of a job's artifacts arrive as
#: ``blob:`` URLs because the page fetches them with the API key header when one is set.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

_COMMON_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # Revalidate on every load so an upgraded gateway never serves a stale page with a new API.
    "Cache-Control": "no-cache",
}

ASSETS: dict[str, Path] = {
    p.name: p for p in sorted(STATIC_DIR.iterdir()) if p.is_file() and p.suffix in _MEDIA_TYPES
}

router = APIRouter(tags=["web page"])


@router.get("/", include_in_schema=False)
def index() -> FileResponse:
    """The web page: upload a file, follow the job, read the report."""
    headers = {**_COMMON_HEADERS, "Content-Security-Policy": CONTENT_SECURITY_POLICY, "X-Frame-Options": "DENY"}
    return FileResponse(STATIC_DIR / "index.html", media_type=_MEDIA_TYPES[".html"], headers=headers)


@router.get("/static/{name}", include_in_schema=False)
def static_asset(name: str) -> Response:
    """One of the page's assets (script, style sheet, icon)."""
    path = ASSETS.get(name)
    if path is None:
        body = {"error": {"code": "not_found", "message": f"no page asset named {name!r}"}}
        return JSONResponse(status_code=404, content=body)
    return FileResponse(path, media_type=_MEDIA_TYPES[path.suffix], headers=_COMMON_HEADERS)
