"""Fixtures for the web page tests: a real headless Chromium and a real gateway process.

Chromium is Debian's (``/usr/bin/chromium``, or ``DEEPFAKE_CHROMIUM``) driven by Playwright's Python
package; Playwright's own browser download is never used. Tests skip with a clear reason when either
is missing. Screenshots go to ``artifacts/web/`` (git-ignored; ``DEEPFAKE_WEB_ARTIFACTS`` moves it).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("DEEPFAKE_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(os.environ.get("DEEPFAKE_WEB_ARTIFACTS", REPO / "artifacts" / "web"))

DESKTOP = {"width": 1280, "height": 900}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    print(f"\nweb page screenshots: {ARTIFACTS}")
    return ARTIFACTS


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """One headless Chromium for the session (Debian's binary, not a Playwright download)."""
    if not CHROMIUM.exists():
        pytest.skip(f"needs Chromium at {CHROMIUM} (apt-get install chromium, or set DEEPFAKE_CHROMIUM)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright Python package")
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


class PageProblems:
    """Console errors, uncaught exceptions and failed requests seen by one page (CSP violations included)."""

    def __init__(self, page: object) -> None:
        self.errors: list[str] = []
        page.on("console", lambda m: self.errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))


@pytest.fixture
def new_page(browser: object) -> Iterator[object]:
    """``new_page(viewport)`` → (page, problems); every context is closed after the test."""
    contexts = []

    def make(viewport: dict[str, int] = DESKTOP, **kwargs: object) -> tuple[object, PageProblems]:
        context = browser.new_context(viewport=viewport, accept_downloads=True, **kwargs)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        return page, PageProblems(page)

    yield make
    for context in contexts:
        context.close()


def _start_gateway(env_overrides: dict[str, str], tmp: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {
        **os.environ,
        "DEEPFAKE_GATEWAY_UPLOAD_DIR": str(tmp / "uploads"),
        "DEEPFAKE_GATEWAY_ARTIFACTS_DIR": str(tmp / "artifacts"),
        **env_overrides,
    }
    log = (tmp / "gateway.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "gateway.app:app", "--host", "127.0.0.1", "--port", str(port),
         "--log-level", "warning"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the gateway exited with {proc.returncode}: {(tmp / 'gateway.log').read_text()}")
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the gateway did not answer /healthz within 60 s")


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


#: The API key of the ``gateway_with_api_key`` fixture (a test value, never a real secret).
TEST_API_KEY = "web-test-key-4b1f0c9e"


@pytest.fixture(scope="session")
def gateway_without_queue(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real gateway process whose Redis is unreachable and whose upload limit is 64 KB.

    Enough for everything the page does before a job exists: serving the page, refusing uploads by
    type (415) or size (413), and reporting a queue that is down (503).
    """
    pytest.importorskip("fastapi", reason="needs the gateway extras")
    pytest.importorskip("gateway.app", reason="needs the gateway app (gateway/app.py)")
    tmp = tmp_path_factory.mktemp("web-gateway")
    proc, base = _start_gateway(
        {"DEEPFAKE_GATEWAY_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
         "DEEPFAKE_GATEWAY_MAX_UPLOAD_MB": str(64 / 1024)},
        tmp,
    )
    try:
        yield base
    finally:
        _stop(proc)


@pytest.fixture(scope="session")
def gateway_with_api_key(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """Like ``gateway_without_queue`` but with API-key auth on: yields (base URL, the key)."""
    pytest.importorskip("gateway.app", reason="needs the gateway app (gateway/app.py)")
    tmp = tmp_path_factory.mktemp("web-gateway-auth")
    proc, base = _start_gateway(
        {"DEEPFAKE_GATEWAY_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
         "DEEPFAKE_GATEWAY_AUTH_ENABLED": "true", "DEEPFAKE_GATEWAY_API_KEY": TEST_API_KEY},
        tmp,
    )
    try:
        yield base, TEST_API_KEY
    finally:
        _stop(proc)


@pytest.fixture(scope="session")
def stack_url(request: pytest.FixtureRequest) -> str:
    """Base URL of the whole running stack (``service_stack`` from tests/fixtures_stack.py)."""
    try:
        stack = request.getfixturevalue("service_stack")
    except pytest.FixtureLookupError:
        pytest.skip("needs the running stack fixture `service_stack` (tests/fixtures_stack.py)")
    return str(stack.url).rstrip("/")
