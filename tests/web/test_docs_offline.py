"""``/docs`` and ``/redoc`` work on a closed network: every script, style sheet and icon comes from the
gateway itself (``gateway.docs``), checked in the HTML and in Chromium with every other host cut off."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

pytest.importorskip("fastapi", reason="needs the gateway extras")
pytest.importorskip("fastapi_offline", reason="needs fastapi-offline (the gateway extra)")

from fastapi.testclient import TestClient  # noqa: E402

from gateway.app import create_app  # noqa: E402
from gateway.docs import ASSETS  # noqa: E402

#: any absolute URL in an attribute or a script string
_URL = re.compile(r"""(?:src|href|url)\s*[=:(]\s*['"]?(https?:)?//([^/'"\s)]+)""", re.IGNORECASE)


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(create_app())


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_docs_pages_reference_no_other_host(client: TestClient, path: str) -> None:
    html = client.get(path)
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    hosts = {m.group(2) for m in _URL.finditer(html.text)}
    assert not hosts, f"{path} loads from {hosts}"
    assert "cdn.jsdelivr" not in html.text and "fonts.googleapis" not in html.text
    # every local asset it names is served, with its type
    local = set(re.findall(r"""(?:src|href|url)\s*[=:]\s*['"](/[^'"]+)['"]""", html.text))
    assets = {u for u in local if u.startswith("/docs-assets/")}
    assert assets, html.text
    for url in assets:
        response = client.get(url)
        assert response.status_code == 200, url
        assert len(response.content) > 1000, url
        kind = {"js": "text/javascript", "css": "text/css", "png": "image/png"}[url.rsplit(".", 1)[1]]
        assert response.headers["content-type"].startswith(kind), url


def test_the_docs_point_at_this_gateways_openapi(client: TestClient) -> None:
    assert "'/openapi.json'" in client.get("/docs").text or '"/openapi.json"' in client.get("/docs").text
    assert 'spec-url="/openapi.json"' in client.get("/redoc").text
    assert client.get("/openapi.json").json()["info"]["title"]


def test_unknown_docs_assets_are_404(client: TestClient) -> None:
    for name in ("nope.js", "core.py", "..%2Fcore.py", "__init__.py"):
        response = client.get(f"/docs-assets/{name}")
        assert response.status_code == 404, name
    assert set(ASSETS) == {"swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js", "favicon.png"}


@pytest.mark.parametrize(("path", "ready"), [("/docs", ".opblock"), ("/redoc", "[data-section-id]")])
def test_docs_render_in_chromium_with_the_network_cut(gateway_without_queue: str, new_page, path: str, ready: str, screenshot_dir) -> None:
    """Chromium may reach only the gateway: any other request is aborted and recorded."""
    page, problems = new_page()
    elsewhere: list[str] = []
    own = urlsplit(gateway_without_queue).netloc

    def only_the_gateway(route) -> None:
        if urlsplit(route.request.url).netloc == own or route.request.url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    page.route("**/*", only_the_gateway)
    page.goto(gateway_without_queue + path)
    page.wait_for_selector(ready, timeout=30_000)  # the documentation rendered the gateway's operations
    assert "analyze" in page.content()
    page.screenshot(path=str(screenshot_dir / f"docs{path.replace('/', '-')}.png"))
    assert elsewhere == [], elsewhere
    assert not [e for e in problems.errors if "favicon" not in e], problems.errors
