"""``make client``'s generated Python client (openapi-python-client) against the running stack."""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def generated_client(tmp_path_factory: pytest.TempPathFactory):
    """Generate the client the way ``make client`` does, into a temporary folder, and import it."""
    generator = Path(sys.executable).with_name("openapi-python-client")
    if not generator.exists() and not shutil.which("openapi-python-client"):
        pytest.skip("openapi-python-client is not installed (the dev extra)")
    out = tmp_path_factory.mktemp("client")
    schema = out / "openapi.json"
    subprocess.run([sys.executable, "-m", "gateway.openapi", str(schema)], check=True, cwd=REPO)
    gen = subprocess.run(
        [str(generator if generator.exists() else "openapi-python-client"), "generate", "--path", str(schema),
         "--output-path", str(out / "deepfake-client"), "--config", str(REPO / "deploy" / "openapi-client.yaml"),
         "--overwrite"],
        capture_output=True, text=True, cwd=out,
    )
    assert gen.returncode == 0, gen.stdout + gen.stderr
    assert "Warning" not in gen.stdout, gen.stdout  # every endpoint made it into the client
    sys.path.insert(0, str(out / "deepfake-client"))
    try:
        yield importlib.import_module("deepfake_client")
    finally:
        sys.path.remove(str(out / "deepfake-client"))
        for name in [m for m in sys.modules if m == "deepfake_client" or m.startswith("deepfake_client.")]:
            del sys.modules[name]


def test_generated_client_uploads_polls_and_reads_the_report(generated_client, service_stack, face_image: Path) -> None:
    from deepfake_client.api.jobs import analyze, get_artifact, get_job
    from deepfake_client.api.operations import readyz
    from deepfake_client.models import BodyAnalyze, ErrorBody, Job
    from deepfake_client.types import File

    # auth is off on the test stack; the client still sends the header the gateway documents
    client = generated_client.AuthenticatedClient(
        base_url=service_stack.url, token="unused", prefix="", auth_header_name="X-API-Key", timeout=60
    )
    assert readyz.sync_detailed(client=client).status_code == 200
    with face_image.open("rb") as fh:
        queued = analyze.sync(client=client, body=BodyAnalyze(file=File(payload=fh, file_name=face_image.name)))
    assert isinstance(queued, Job) and queued.status in ("queued", "running", "done")

    deadline = time.monotonic() + 180
    job = queued
    while job.status not in ("done", "failed") and time.monotonic() < deadline:
        time.sleep(0.3)
        job = get_job.sync(queued.id, client=client)
    assert job.status == "done" and job.report is not None
    assert job.report.media.kind == "image" and job.report.verdict in ("fake", "real", "uncertain")
    if job.report.artifacts:
        png = get_artifact.sync_detailed(queued.id, job.report.artifacts[0].name, client=client)
        assert png.status_code == 200 and png.content.startswith(b"\x89PNG")

    missing = get_job.sync("no-such-job", client=client)
    assert isinstance(missing, ErrorBody) and missing.error.code == "job_not_found"
