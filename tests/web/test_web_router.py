"""The page's router without a browser: what is served, with which headers, and what is not."""

from __future__ import annotations

import re

import pytest

pytest.importorskip("fastapi", reason="needs the gateway extras")

from fastapi import FastAPI  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from gateway.web import ASSETS, STATIC_DIR, router  # noqa: E402


@pytest.fixture(scope="module")
def client() -> TestClient:
    app = FastAPI()
    app.include_router(router)
    return TestClient(app)


def test_index_is_served_with_a_strict_content_security_policy(client):
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "'unsafe-inline'" not in csp
    assert response.headers["x-content-type-options"] == "nosniff"


def test_every_asset_the_page_references_is_served_with_its_type(client):
    html = client.get("/").text
    referenced = set(re.findall(r'(?:src|href)="(/static/[^"]+)"', html))
    assert {"/static/app.js", "/static/style.css"} <= referenced
    expected = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
    for url in referenced:
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["content-type"].startswith(expected[url[url.rfind("."):]]), url


def test_unknown_asset_names_are_404_with_the_error_body(client):
    for name in ("nope.js", "web.py", "__init__.py"):
        response = client.get(f"/static/{name}")
        assert response.status_code == 404, name
        assert response.json()["error"]["code"] == "not_found"


def test_no_asset_name_reaches_outside_the_static_folder(client):
    for name in ("..%2Fweb.py", "%2E%2E%2Fweb.py", "..%5Cweb.py", "%2Fetc%2Fpasswd"):
        response = client.get(f"/static/{name}")
        assert response.status_code == 404, name
        assert "APIRouter" not in response.text and "root:" not in response.text


def test_assets_load_nothing_from_other_hosts():
    """No CDN, no web fonts, no analytics: the page must work on an offline machine."""
    for path in ASSETS.values():
        text = path.read_text()
        urls = re.findall(r"(?:https?:)?//[\w.-]+\.[a-z]{2,}[^\s\"')]*", text)
        foreign = [u for u in urls if "www.w3.org/2000/svg" not in u]
        assert foreign == [], f"{path.name} refers to {foreign}"
    assert (STATIC_DIR / "index.html").exists()


def test_the_page_is_not_in_the_openapi_but_the_artifacts_endpoint_is():
    create_app = pytest.importorskip("gateway.app", reason="needs the gateway app (gateway/app.py)").create_app
    paths = create_app().openapi()["paths"]
    assert "/" not in paths and not any(p.startswith("/static") for p in paths)
    artifact = paths["/v1/jobs/{job_id}/artifacts/{name}"]["get"]
    assert "image/png" in artifact["responses"]["200"]["content"]
