"""Issue 10, item 4: the worker does not import the gateway, and a missing extra fails loudly, naming it.

Import checks run in fresh interpreters (``sys.modules`` of this one already holds everything).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from shared.errors import MissingDependency, require

REPO = Path(__file__).resolve().parents[2]


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=300)


def test_the_worker_imports_nothing_from_the_gateway() -> None:
    out = run_python(
        "import sys, preprocess_worker.jobs, preprocess_worker.worker, preprocess_worker.remote, shared.webhooks\n"
        "print(sorted(m for m in sys.modules if m == 'gateway' or m.startswith('gateway.')))"
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_require_names_the_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "openvino", None)  # as if the package were not installed
    with pytest.raises(MissingDependency) as caught:
        require("openvino", "ml", needed_for="the inference services")
    error = caught.value
    assert "deepfake-detect[ml]" in error.message and "the inference services" in error.message
    assert error.code == "missing_dependency" and error.exit_code == 1
    assert require("json", "gateway").__name__ == "json"


def test_require_does_not_hide_a_broken_checkout() -> None:
    with pytest.raises(ModuleNotFoundError):
        require("shared.no_such_module", "gateway")


@pytest.mark.parametrize(
    ("blocked", "module", "extra"),
    [("fastapi", "gateway.app", "gateway"), ("prometheus_client", "gateway.app", "gateway"),
     ("rq", "shared.jobs", "gateway"), ("rq", "preprocess_worker.worker", "gateway"),
     ("openvino", "shared.inference_app", "ml")],
)
def test_a_missing_extra_is_one_clear_error(blocked: str, module: str, extra: str) -> None:
    """Before: the gateway served the API without its page when gateway.web failed to import, and the
    inference services accepted only folders when shared.weights did; other imports failed bare."""
    out = run_python(f"import sys; sys.modules[{blocked!r}] = None\nimport {module}")
    assert out.returncode != 0
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("shared.errors.MissingDependency:"), out.stderr[-2000:]
    assert f"deepfake-detect[{extra}]" in last and repr(blocked) in last


def test_the_web_page_is_part_of_every_gateway() -> None:
    from fastapi.testclient import TestClient

    from gateway.app import create_app

    client = TestClient(create_app())  # no lifespan: the page needs no queue
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert client.get("/static/app.js").status_code == 200
