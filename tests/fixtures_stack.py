"""The running service stack for end-to-end tests (owned by the service area).

``service_stack`` starts the real thing with the same runner as ``make up`` (``deploy/local.py``): a
private redis-server on a free port (append-only file, so the Redis-outage test can stop and restart it
without touching the machine's Redis on 6379), both inference services with the test model folders,
the gateway and two preprocess workers, each on a free port, logs in the stack's own ``run/logs``. It is
torn down after the session; on a failed start the log tail is in the error.

Models: ``video_model_dir`` (test-made ICPR checkpoint → IR); for audio the untrained ``melcnn_model_dir``
when that fixture exists, else the published AASIST-L from ``../shared`` (skips without either).
"""

from __future__ import annotations

import importlib.util
import shutil
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from shared.roles import roles

__all__ = ["service_stack", "running_stack", "load_local_runner", "free_port", "RunningStack", "stack_env"]

REPO = Path(__file__).resolve().parents[1]


def load_local_runner() -> Any:
    """``deploy/local.py`` as a module (deploy/ is not a package: it is what ``make up`` runs)."""
    name = "deploy_local"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, REPO / "deploy" / "local.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class RunningStack:
    stack: Any  # deploy_local.Stack
    url: str
    run_dir: Path
    video_model_dir: Path
    audio_model_dir: Path
    max_upload_mb: float
    #: the workers' face detector folders (``face_detector_env``): a reference run of ``deepfake analyze`` uses them too
    face_detector_env: dict[str, str] = field(default_factory=dict)

    @property
    def redis_url(self) -> str:
        return self.stack.config.redis_url

    def redis(self) -> Any:
        from redis import Redis

        return Redis.from_url(self.redis_url)

    def wait_for(self, job_id: str, *, until: tuple[str, ...] = ("done", "failed"), timeout: float = 180.0) -> dict:
        """Poll ``GET /v1/jobs/{id}`` until its status is in ``until``; returns the job JSON."""
        import httpx

        deadline = time.monotonic() + timeout
        last: dict = {}
        while time.monotonic() < deadline:
            r = httpx.get(f"{self.url}/v1/jobs/{job_id}", timeout=10)
            if r.status_code == 200:
                last = r.json()
                if last["status"] in until:
                    return last
            time.sleep(0.2)
        raise AssertionError(f"job {job_id} did not reach {until} in {timeout} s; last seen: {last}"
                             + self.stack._tail(self.stack.workers()[-1] if self.stack.workers() else "gateway"))


def _audio_model_dir(request: pytest.FixtureRequest) -> Path:
    try:
        return request.getfixturevalue("melcnn_model_dir")
    except pytest.FixtureLookupError:
        return request.getfixturevalue("aasist_l_model_dir")


@pytest.fixture(scope="session")
def face_detector_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The stack's face detectors, converted once here (the workers are offline): MTCNN from facenet-pytorch,
    and BlazeFace (the default) from ../shared/weights when present; where it is absent (a fresh machine),
    the workers use MTCNN."""
    import os

    from shared.registry import get_published

    shared_material = Path(os.environ.get("DEEPFAKE_SHARED_MATERIAL", Path(__file__).resolve().parents[2] / "shared"))
    out = tmp_path_factory.mktemp("stack-detector")
    from shared.models.mtcnn import import_checkpoint as import_mtcnn
    from shared.weights import package_checkpoint

    entry = get_published("mtcnn")
    import_mtcnn(entry.architecture, package_checkpoint(entry), out / "mtcnn", published=entry)
    env = {"DEEPFAKE_MTCNN_MODEL": str(out / "mtcnn")}
    weights = shared_material / "weights" / "blazeface"
    if (weights / "blazeface.pth").is_file() and (weights / "anchors.npy").is_file():
        from shared.models.blazeface import import_checkpoint

        folder = out / "blazeface"
        import_checkpoint("blazeface", weights / "blazeface.pth", folder, published=get_published("blazeface"))
        env["DEEPFAKE_BLAZEFACE_MODEL"] = str(folder)
    else:
        env["DEEPFAKE_DETECTOR"] = "mtcnn"
    return env


def stack_env(request: pytest.FixtureRequest, run_dir: Path, *, max_upload_mb: float = 5.0) -> dict[str, str]:
    """The environment of every process of a test stack: the test model folders, one thread each, short
    heartbeats (a killed worker's job is found within seconds), a small upload limit."""
    return {
        "DEEPFAKE_VIDEO_MODEL": str(request.getfixturevalue("video_model_dir")),
        "DEEPFAKE_AUDIO_MODEL": str(_audio_model_dir(request)),
        "DEEPFAKE_CACHE_DIR": str(run_dir / "cache"),
        "DEEPFAKE_OFFLINE": "1",
        "DEEPFAKE_INFERENCE_THREADS": "1",
        "DEEPFAKE_WORKER_OPENCV_THREADS": "1",
        "DEEPFAKE_WORKER_HEARTBEAT_INTERVAL": "1",
        "DEEPFAKE_WORKER_HEARTBEAT_GRACE": "5",
        "DEEPFAKE_WORKER_MAINTENANCE_INTERVAL": "2",
        "DEEPFAKE_GATEWAY_MAX_UPLOAD_MB": str(max_upload_mb),
        "DEEPFAKE_GATEWAY_JOB_TIMEOUT": "300",
        # the webhook test's receiver listens on loopback, which is refused by default
        "DEEPFAKE_GATEWAY_WEBHOOK_ALLOW_PRIVATE": "true",
        "DEEPFAKE_WORKER_WEBHOOK_ALLOW_PRIVATE": "true",
        "OMP_NUM_THREADS": "1",
        **request.getfixturevalue("face_detector_env"),
    }


@contextmanager
def running_stack(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    *,
    workers: int = 2,
    redis_db: int = 3,
    queue_name: str = "e2e",
) -> Iterator[RunningStack]:
    """Start a stack of its own (private redis-server, free ports, its own run folder); down on exit.

    Tests that break a part of the stack (stop a service) start one of these instead of stopping the
    session's ``service_stack``."""
    if not shutil.which("redis-server"):
        pytest.skip("needs redis-server (apt-get install redis-server)")
    video_dir: Path = request.getfixturevalue("video_model_dir")
    audio_dir = _audio_model_dir(request)
    runner = load_local_runner()
    run_dir = tmp_path_factory.mktemp(f"stack-run-{queue_name}")
    max_upload_mb = 5.0
    env = stack_env(request, run_dir, max_upload_mb=max_upload_mb)
    config = runner.StackConfig(
        run_dir=run_dir,
        redis_url=f"redis://127.0.0.1:{free_port()}/{redis_db}",
        gateway_port=free_port(),
        service_ports={role.name: free_port() for role in roles()},
        workers=workers,
        queue_name=queue_name,
        env=env,
        start_timeout=300,
    )
    stack = runner.Stack(config).up()
    try:
        yield RunningStack(
            stack=stack,
            url=config.gateway_url,
            run_dir=run_dir,
            video_model_dir=video_dir,
            audio_model_dir=audio_dir,
            max_upload_mb=max_upload_mb,
            face_detector_env=request.getfixturevalue("face_detector_env"),
        )
    finally:
        stack.down()


@pytest.fixture(scope="session")
def service_stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    with running_stack(request, tmp_path_factory) as stack:
        yield stack
