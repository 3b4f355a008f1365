"""The inference path runs without torch: ``deepfake analyze``, the worker and both services.

Converting published ``.pth`` files is the only step that needs torch, so the model folders are made
first (in this test process, where torch is allowed); then the real command runs in a subprocess in
which importing torch, torchaudio, torchvision, facenet-pytorch or timm raises ``ImportError``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BLOCKED = ("torch", "torchaudio", "torchvision", "facenet_pytorch", "timm")

_BLOCKER = f'''
import sys

class _NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {BLOCKED!r}:
            raise ImportError(f"{{name}} is blocked: the inference path must not import it")
        return None

sys.meta_path.insert(0, _NoTorch())
'''


@pytest.fixture
def no_torch_env(tmp_path: Path) -> dict[str, str]:
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(_BLOCKER)
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(blocker), str(REPO)]), "OMP_NUM_THREADS": "2"}


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)


def test_the_blocker_blocks(no_torch_env: dict[str, str]) -> None:
    result = _run([sys.executable, "-c", "import torch"], no_torch_env)
    assert result.returncode != 0 and "is blocked" in result.stderr


@pytest.mark.parametrize("detector", ["mtcnn", "blazeface"])
def test_deepfake_analyze_without_torch(
    detector: str,
    face_video: Path,
    face_image: Path,
    video_model_dir: Path,
    melcnn_model_dir: Path,
    no_torch_env: dict[str, str],
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    import shutil

    from shared.weights import downloads_dir, resolve_model

    if detector == "blazeface":  # the published files, as a user's first run would have downloaded them
        weights = request.getfixturevalue("shared_weights") / "blazeface"
        downloads_dir().mkdir(parents=True, exist_ok=True)
        for name in ("blazeface.pth", "anchors.npy"):
            shutil.copy(weights / name, downloads_dir() / name)
    resolve_model(detector)  # the one conversion step (torch allowed here), into the test's cache
    result = _run(
        [
            sys.executable, "-m", "shared.cli", "analyze", str(face_video), str(face_image), "--json",
            "--frames", "3", "--face-detector", detector, "--video-model", str(video_model_dir),
            "--audio-model", str(melcnn_model_dir), "--heatmaps", str(tmp_path / "heat"),
        ],
        no_torch_env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    # two reports, then the run's {"summary": ...} line
    video, image = (r for r in map(json.loads, result.stdout.splitlines()) if "schema_version" in r)
    assert video["video"]["status"] == "analyzed" and video["video"]["frames_with_faces"] == 3
    assert video["audio"]["status"] == "analyzed" and video["audio"]["segments"]
    assert image["video"]["status"] == "analyzed"
    assert list((tmp_path / "heat").glob("*.png"))  # the heatmap renderer is torch-free too


def test_worker_and_services_import_without_torch(no_torch_env: dict[str, str]) -> None:
    code = (
        "import sys\n"
        "import preprocess_worker.jobs, preprocess_worker.worker, preprocess_worker.remote\n"
        "import video_service.app, audio_service.app, gateway.app\n"
        "import shared.pipeline, shared.evidence, shared.faces.mtcnn, shared.faces.stage\n"
        "import shared.evidence.faces, shared.evidence.voice, shared.evidence.provenance\n"
        f"loaded = sorted(m for m in sys.modules if m.split('.')[0] in {BLOCKED!r})\n"
        "assert not loaded, loaded\n"
    )
    result = _run([sys.executable, "-c", code], no_torch_env)
    assert result.returncode == 0, result.stderr


def test_worker_process_starts_loads_its_models_and_works_without_torch(
    no_torch_env: dict[str, str], video_model_dir: Path,
) -> None:
    """``python -m preprocess_worker`` itself, not only its modules: it imported torch to set a thread
    count, so in the torch-free worker image it died at start-up. Here it loads the face detector, registers
    with RQ on the machine's Redis and, in burst mode on an empty queue, exits 0."""
    redis = pytest.importorskip("redis")
    url = "redis://127.0.0.1:6379/13"
    connection = redis.Redis.from_url(url)
    try:
        connection.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("needs Redis on 127.0.0.1:6379 (CI starts it)")
    from shared.weights import resolve_model

    resolve_model("mtcnn")  # the one conversion step (torch allowed here), into the test's cache
    env = {**no_torch_env, "DEEPFAKE_WORKER_REDIS_URL": url, "DEEPFAKE_WORKER_QUEUE_NAME": "torch-free",
           "DEEPFAKE_DETECTOR": "mtcnn", "DEEPFAKE_VIDEO_MODEL": str(video_model_dir)}
    try:
        result = _run([sys.executable, "-m", "preprocess_worker", "--burst", "--name", "torch-free-worker"], env)
    finally:
        connection.flushdb()
        connection.close()
    assert result.returncode == 0, result.stderr[-3000:]
    assert "torch-free-worker" in result.stderr  # it got as far as RQ's work loop
