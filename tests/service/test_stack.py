"""End-to-end: the real stack (private redis-server, both inference services, gateway, two RQ workers),
real generated media, real HTTP. One stack per session (``service_stack`` in tests/fixtures_stack.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.e2e

def deepfake_analyze(path: Path, stack) -> dict:
    """``deepfake analyze --json`` on the same file with the same model folders (in-process scorers)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "DEEPFAKE_INFERENCE_THREADS": "1",
           "DEEPFAKE_CACHE_DIR": str(stack.run_dir / "cache-ref"), "DEEPFAKE_OFFLINE": "1",
           **stack.face_detector_env}  # the workers' face detector (offline: BlazeFace's converted folder)
    cli = Path(sys.executable).with_name("deepfake")
    out = subprocess.run(
        [str(cli), "analyze", str(path), "--json", "--video-model", str(stack.video_model_dir),
         "--audio-model", str(stack.audio_model_dir)],
        capture_output=True, text=True, env=env, timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout)


def upload(stack, path: Path, **data) -> httpx.Response:
    with path.open("rb") as fh:
        return httpx.post(f"{stack.url}/v1/analyze", files={"file": (path.name, fh)}, data=data, timeout=60)


def test_video_upload_poll_report_equals_in_process_analyze(service_stack, face_video: Path) -> None:
    r = upload(service_stack, face_video)
    assert r.status_code == 202, r.text
    job_id = r.json()["id"]
    job = service_stack.wait_for(job_id)
    assert job["status"] == "done", job["error"]
    assert job["progress"] == 1.0 and job["error"] is None
    remote = job["report"]
    local = deepfake_analyze(face_video, service_stack)

    assert remote["verdict"] == local["verdict"]
    assert remote["score"] == pytest.approx(local["score"], abs=1e-4)
    assert remote["video"]["status"] == local["video"]["status"] == "analyzed"
    assert [t["score"] for t in remote["video"]["tracks"]] == pytest.approx(
        [t["score"] for t in local["video"]["tracks"]], abs=1e-4)
    assert remote["audio"]["status"] == local["audio"]["status"]
    assert [s["score"] for s in remote["audio"]["segments"]] == pytest.approx(
        [s["score"] for s in local["audio"]["segments"]], abs=1e-4)
    assert remote["models"] == local["models"]
    assert remote["media"]["sha256"] == local["media"]["sha256"]

    # the upload is gone once processed (no retention configured); artifacts are served
    assert not (service_stack.run_dir / "uploads" / job_id).exists()
    assert remote["artifacts"], "the worker asks the pipeline for artifacts"
    art = remote["artifacts"][0]
    png = httpx.get(f"{service_stack.url}/v1/jobs/{job_id}/artifacts/{art['name']}", timeout=10)
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")


def test_image_and_audio_uploads_are_analysed(service_stack, face_image: Path, speech_audio: Path) -> None:
    ids = {name: upload(service_stack, path).json()["id"] for name, path in
           {"image": face_image, "audio": speech_audio}.items()}
    image = service_stack.wait_for(ids["image"])
    audio = service_stack.wait_for(ids["audio"])
    assert image["status"] == "done" and image["report"]["media"]["kind"] == "image"
    assert image["report"]["video"]["status"] == "analyzed"
    assert audio["status"] == "done" and audio["report"]["media"]["kind"] == "audio"
    assert audio["report"]["audio"]["status"] == "analyzed" and audio["report"]["audio"]["segments"]


def test_unusable_media_fails_with_a_machine_readable_error(service_stack, bad_inputs: dict) -> None:
    path = bad_inputs["truncated"]  # starts like an MP4, so it passes the gateway's sniffing
    r = upload(service_stack, path)
    assert r.status_code == 202, r.text
    job = service_stack.wait_for(r.json()["id"])
    assert job["status"] == "failed"
    assert job["error"]["code"] in {"corrupt_media", "unsupported_media", "no_usable_stream", "empty_media"}
    assert "Traceback" not in job["error"]["message"]


class _Receiver(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers["content-length"]))
        type(self).received.append({"headers": dict(self.headers), "body": json.loads(body)})
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def test_webhook_is_delivered_to_a_loopback_receiver(service_stack, face_image: Path) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        job_id = upload(service_stack, face_image, callback_url=url).json()["id"]
        job = service_stack.wait_for(job_id)
        deadline = time.monotonic() + 30
        while not _Receiver.received and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(_Receiver.received) == 1
        hook = _Receiver.received[0]
        assert hook["body"]["id"] == job_id and hook["body"]["status"] == "done"
        assert hook["body"]["report"]["verdict"] == job["report"]["verdict"]
        assert hook["headers"]["x-deepfake-job-id"] == job_id
    finally:
        server.shutdown()


def test_over_the_limit_is_413_and_wrong_type_is_415(service_stack, tmp_path: Path) -> None:
    big = tmp_path / "big.png"
    big.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * int((service_stack.max_upload_mb + 1) * 1024 * 1024))
    r = upload(service_stack, big)
    assert r.status_code == 413 and r.json()["error"]["code"] == "file_too_large"
    text = tmp_path / "notes.mp4"
    text.write_text("these are meeting notes, not a video\n" * 20)
    r = upload(service_stack, text)
    assert r.status_code == 415
    assert set(r.json()) == {"error"} and set(r.json()["error"]) >= {"code", "message"}
    assert r.json()["error"]["code"] == "unsupported_media"


def test_readyz_and_metrics(service_stack) -> None:
    ready = httpx.get(f"{service_stack.url}/readyz", timeout=10).json()
    assert ready["status"] == "ready" and ready["workers"] >= 1
    text = httpx.get(f"{service_stack.url}/metrics", timeout=10).text
    assert "deepfake_gateway_requests_total" in text and "deepfake_workers" in text
    model = httpx.get(f"{service_stack.stack.config.service_url('video')}/v1/model", timeout=10).json()
    assert len(model["sha256"]["model.bin"]) == 64 and model["version"].startswith(model["name"])


def test_redis_outage_is_503_and_queued_jobs_survive(service_stack, face_image: Path) -> None:
    """Stops the stack's private redis-server (never the machine's), then brings it back."""
    from rq.suspension import resume, suspend

    stack = service_stack.stack
    redis = service_stack.redis()
    suspend(redis)  # keep the jobs queued across the outage
    try:
        ids = [upload(service_stack, face_image).json()["id"] for _ in range(2)]
        stack.stop_redis()
        r = upload(service_stack, face_image)
        assert r.status_code == 503 and r.json()["error"]["code"] == "queue_unavailable"
        r = httpx.get(f"{service_stack.url}/v1/jobs/{ids[0]}", timeout=10)
        assert r.status_code == 503 and r.json()["error"]["code"] == "queue_unavailable"
        assert httpx.get(f"{service_stack.url}/readyz", timeout=10).status_code == 503
        stack.start_redis()
    finally:
        resume(service_stack.redis())
    for job_id in ids:
        assert service_stack.wait_for(job_id, timeout=240)["status"] == "done"
    # the workers came back on their own: a new upload is processed too
    new_id = upload(service_stack, face_image).json()["id"]
    assert service_stack.wait_for(new_id, timeout=240)["status"] == "done"


def test_worker_killed_mid_job_is_retried_or_failed_never_stuck(service_stack, face_video: Path) -> None:
    from rq.job import Job
    from rq.serializers import JSONSerializer

    stack = service_stack.stack
    job_id = upload(service_stack, face_video).json()["id"]
    service_stack.wait_for(job_id, until=("running",), timeout=120)
    worker_name = Job.fetch(job_id, connection=service_stack.redis(), serializer=JSONSerializer).worker_name
    proc = next(n for n in stack.workers() if worker_name and worker_name.startswith(f"{n}-"))
    stack.kill(proc, signal.SIGKILL)
    try:
        job = service_stack.wait_for(job_id, timeout=180)
        print(f"worker killed mid-job: job ended {job['status']}", job["error"])
        if job["status"] == "failed":
            assert job["error"]["code"] == "worker_lost" and job["error"]["message"]
        else:  # retried on the surviving worker
            assert job["report"]["video"]["status"] == "analyzed"
    finally:
        stack.start_worker()


def test_deleting_a_running_job_stops_it_and_removes_its_files(service_stack, face_video: Path) -> None:
    job_id = upload(service_stack, face_video).json()["id"]
    service_stack.wait_for(job_id, until=("running",), timeout=120)
    assert httpx.delete(f"{service_stack.url}/v1/jobs/{job_id}", timeout=10).status_code == 204
    assert httpx.get(f"{service_stack.url}/v1/jobs/{job_id}", timeout=10).status_code == 404
    assert not (service_stack.run_dir / "uploads" / job_id).exists()
    # the worker notices at its next progress report and takes the next job; the record stays gone
    follow_up = upload(service_stack, face_video).json()["id"]
    assert service_stack.wait_for(follow_up, timeout=240)["status"] == "done"
    assert httpx.get(f"{service_stack.url}/v1/jobs/{job_id}", timeout=10).status_code == 404


def test_a_killed_worker_is_restarted_and_jobs_still_run(service_stack, face_image: Path) -> None:
    """Issue 14: a worker killed (kill -9, as a decoder crash kills it) comes back under its supervisor."""
    from shared.jobs import live_workers

    stack = service_stack.stack
    slot = stack.workers()[0]
    old_pid = stack.worker_pid(slot)
    os.kill(old_pid, signal.SIGKILL)  # the worker only: its supervisor stays
    deadline = time.monotonic() + 240
    while stack.worker_pid(slot) == old_pid or not any(
            n.startswith(f"{slot}-") and ".s" in n for n in live_workers(service_stack.redis())):
        assert time.monotonic() < deadline, "no new worker appeared" + stack._tail(slot)
        time.sleep(0.5)
    assert stack.alive()
    job_id = upload(service_stack, face_image).json()["id"]
    assert service_stack.wait_for(job_id, timeout=240)["status"] == "done"
    ready = httpx.get(f"{service_stack.url}/readyz", timeout=10).json()
    assert ready["checks"]["workers"] == "ok" and ready["workers"] >= 1


def test_a_job_that_kills_its_workers_fails_worker_crashed_and_the_pool_survives(service_stack,
                                                                                  face_image: Path) -> None:
    """A job that kills every worker it meets (here ``os._exit``) ends after ``max_crashes`` (2) of them,
    although RQ still had retries left; before, it was retried until no worker was left."""
    import secrets

    from rq import Callback, Queue, Retry
    from rq.serializers import JSONSerializer

    from shared.jobs import FAILURE_CALLBACK, JobStore

    redis = service_stack.redis()
    store = JobStore(redis)
    job_id = "poison-" + secrets.token_hex(6)
    store.create(job_id, filename="poison.bin", upload_path=service_stack.run_dir / "uploads" / job_id / "x",
                 callback_url=None, delete_upload=True, artifacts_dir=None, result_ttl=600, failure_ttl=600,
                 pending_ttl=900, max_crashes=2)
    queue = Queue(service_stack.stack.config.queue_name, connection=redis, serializer=JSONSerializer)
    queue.enqueue("os._exit", 1, job_id=job_id, job_timeout=120, retry=Retry(max=5),
                  on_failure=Callback(FAILURE_CALLBACK, timeout=60))
    job = service_stack.wait_for(job_id, timeout=300)
    assert job["status"] == "failed" and job["error"]["code"] == "worker_crashed", job
    assert store.raw(job_id)["crashes"] == "2"
    # the supervisors brought the workers back: real work still gets done
    follow_up = upload(service_stack, face_image).json()["id"]
    assert service_stack.wait_for(follow_up, timeout=300)["status"] == "done"
