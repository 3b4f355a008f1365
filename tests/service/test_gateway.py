"""The gateway in-process (FastAPI TestClient) against the real Redis on 127.0.0.1:6379, database 11.

No worker runs here: these tests pin what the gateway itself decides (status codes, the error body,
what it enqueues and how, auth, metrics, OpenAPI). The whole stack is exercised in test_stack.py.
"""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from shared.settings import GatewaySettings, get_gateway_settings

REDIS_DB_URL = "redis://127.0.0.1:6379/11"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


def minimal_report() -> dict:
    """A valid report (schema-checked) for a PNG with no face: enough to exercise storage and serving."""
    from shared.report import AudioSection, MediaFacts, Report, VideoSection

    report = Report(
        tool_version="test",
        created_at="2026-11-26T03:00:00+00:00",
        verdict="not_applicable",
        media=MediaFacts(filename="a.png", kind="image", size_bytes=72, sha256="0" * 64, container="png_pipe"),
        video=VideoSection(status="not_applicable", verdict="not_applicable"),
        audio=AudioSection(status="not_applicable", verdict="not_applicable"),
    )
    return report.model_dump(mode="json")


def make_client(tmp_path: Path, **overrides) -> TestClient:
    from gateway.app import create_app

    settings = GatewaySettings(
        redis_url=overrides.pop("redis_url", REDIS_DB_URL),
        queue_name="test-gateway",
        upload_dir=overrides.pop("upload_dir", tmp_path / "uploads"),
        artifacts_dir=tmp_path / "artifacts",
        video_service_url="http://127.0.0.1:9",
        audio_service_url="http://127.0.0.1:9",
        **overrides,
    )
    app = create_app()
    app.dependency_overrides[get_gateway_settings] = lambda: settings
    return TestClient(app)


@pytest.fixture
def client(redis_db, tmp_path: Path):
    with make_client(tmp_path, max_upload_mb=1.0) as c:
        yield c


def test_importing_the_gateway_does_not_import_torch() -> None:
    code = "import sys, gateway.app; bad = [m for m in ('torch', 'openvino', 'cv2', 'av') if m in sys.modules]; print(bad)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_upload_is_stored_and_enqueued_with_explicit_timeout_ttls_and_retry(client, redis_db, tmp_path) -> None:
    from rq.job import Job
    from rq.serializers import JSONSerializer

    r = client.post("/v1/analyze", files={"file": ("../../etc/face.png", PNG, "image/png")})
    assert r.status_code == 202, r.text
    job = r.json()
    assert set(job) == {"id", "status", "stage", "progress", "filename", "created_at", "updated_at", "report", "error"}
    assert job["status"] == "queued" and job["progress"] == 0 and job["report"] is None and job["error"] is None
    assert job["filename"] == "face.png"
    assert len(job["id"]) >= 20 and r.headers["location"] == f"/v1/jobs/{job['id']}"

    stored = list((tmp_path / "uploads" / job["id"]).iterdir())
    assert [p.name for p in stored] == ["face.png"] and stored[0].read_bytes() == PNG

    rq_job = Job.fetch(job["id"], connection=redis_db, serializer=JSONSerializer)
    assert rq_job.func_name == "preprocess_worker.jobs.analyze_job"
    assert rq_job.args == [job["id"]] or tuple(rq_job.args) == (job["id"],)
    defaults = GatewaySettings()
    assert rq_job.timeout == defaults.job_timeout
    assert rq_job.result_ttl == defaults.result_ttl and rq_job.failure_ttl == defaults.failure_ttl
    assert rq_job.retries_left == defaults.retries
    assert rq_job._failure_callback_name == "shared.jobs.on_rq_failure"

    again = client.get(f"/v1/jobs/{job['id']}")
    assert again.status_code == 200 and again.json()["id"] == job["id"]


def test_job_ids_are_unguessable_and_distinct(client) -> None:
    ids = {client.post("/v1/analyze", files={"file": ("a.png", PNG)}).json()["id"] for _ in range(5)}
    assert len(ids) == 5
    assert all(len(i) >= 21 for i in ids)  # 16 random bytes, url-safe base64


def test_wrong_type_is_415_with_the_error_body(client, tmp_path) -> None:
    r = client.post("/v1/analyze", files={"file": ("report.pdf", b"%PDF-1.7\n" + b"x" * 100, "application/pdf")})
    assert r.status_code == 415
    body = r.json()
    assert set(body) == {"error"} and body["error"]["code"] == "unsupported_media"
    assert isinstance(body["error"]["message"], str) and "pdf" in body["error"]["message"]
    # a PNG renamed .mp4 is judged by its bytes (accepted); text renamed .mp4 is not
    assert client.post("/v1/analyze", files={"file": ("x.mp4", b"hello world" * 10)}).status_code == 415
    assert not any((tmp_path / "uploads").iterdir())


def test_empty_file_is_refused(client) -> None:
    r = client.post("/v1/analyze", files={"file": ("a.mp4", b"")})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_argument"


def test_over_the_size_limit_is_413_declared_or_streamed(client, tmp_path) -> None:
    big = PNG + b"\0" * (2 * 1024 * 1024)
    r = client.post("/v1/analyze", files={"file": ("big.png", big, "image/png")})
    assert r.status_code == 413 and r.json()["error"]["code"] == "file_too_large"

    # chunked upload (no Content-Length): counted while streaming
    boundary = "xyzBOUNDARY"
    payload = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.png\"\r\n"
        "Content-Type: image/png\r\n\r\n"
    ).encode() + big + f"\r\n--{boundary}--\r\n".encode()

    def chunks():
        for i in range(0, len(payload), 256 * 1024):
            yield payload[i : i + 256 * 1024]

    r = client.post(
        "/v1/analyze", content=chunks(), headers={"content-type": f"multipart/form-data; boundary={boundary}"}
    )
    assert r.status_code == 413 and r.json()["error"]["code"] == "file_too_large"
    assert not (tmp_path / "uploads").exists() or not any((tmp_path / "uploads").iterdir())


def test_invalid_form_fields_are_422_with_the_error_body(client) -> None:
    r = client.post("/v1/analyze", files={"file": ("a.png", PNG)}, data={"wait": "31"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_argument"
    r = client.post("/v1/analyze", files={"file": ("a.png", PNG)}, data={"callback_url": "file:///etc/passwd"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_argument"
    r = client.post("/v1/analyze", data={"wait": "1"})
    assert r.status_code == 422 and "file" in r.json()["error"]["message"]


def test_unknown_job_is_404_job_not_found(client) -> None:
    for method in ("get", "delete"):
        r = getattr(client, method)("/v1/jobs/doesnotexist")
        assert r.status_code == 404 and r.json() == {
            "error": {"code": "job_not_found", "message": "no job with this id (it may have expired)"}
        }


def test_delete_takes_a_queued_job_off_the_queue_and_removes_its_upload(client, redis_db, tmp_path) -> None:
    from rq import Queue
    from rq.serializers import JSONSerializer

    job_id = client.post("/v1/analyze", files={"file": ("a.png", PNG)}).json()["id"]
    queue = Queue("test-gateway", connection=redis_db, serializer=JSONSerializer)
    assert job_id in queue.job_ids
    assert client.delete(f"/v1/jobs/{job_id}").status_code == 204
    assert job_id not in queue.job_ids
    assert not (tmp_path / "uploads" / job_id).exists()
    assert client.get(f"/v1/jobs/{job_id}").status_code == 404


def test_artifacts_are_served_only_when_listed_in_the_report(client, redis_db, tmp_path) -> None:
    from shared.jobs import JobStore

    job_id = client.post("/v1/analyze", files={"file": ("a.png", PNG)}).json()["id"]
    folder = tmp_path / "artifacts" / job_id
    folder.mkdir(parents=True)
    (folder / "track0_face.png").write_bytes(PNG)
    (folder / "secret.png").write_bytes(PNG)
    report = minimal_report()
    report["artifacts"] = [{"name": "track0_face.png", "kind": "face_thumbnail", "track_id": 0, "media_type": "image/png"}]
    JobStore(redis_db).finish(job_id, report)
    r = client.get(f"/v1/jobs/{job_id}/artifacts/track0_face.png")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png" and r.content == PNG
    for name in ("secret.png", "..%2Fsecret.png", "nothing.png"):
        assert client.get(f"/v1/jobs/{job_id}/artifacts/{name}").status_code == 404
    assert client.get(f"/v1/jobs/{job_id}").json()["report"]["artifacts"][0]["name"] == "track0_face.png"


def test_redis_down_is_503_queue_unavailable(tmp_path) -> None:
    with make_client(tmp_path, redis_url="redis://127.0.0.1:1/0") as c:
        r = c.post("/v1/analyze", files={"file": ("a.png", PNG)})
        assert r.status_code == 503 and r.json()["error"]["code"] == "queue_unavailable"
        assert not any((tmp_path / "uploads").iterdir())  # the upload was not left behind
        r = c.get("/v1/jobs/whatever")
        assert r.status_code == 503 and r.json()["error"]["code"] == "queue_unavailable"
        ready = c.get("/readyz")
        assert ready.status_code == 503 and ready.json()["checks"]["redis"] != "ok"
        assert c.get("/healthz").status_code == 200


def test_api_key_auth(redis_db, tmp_path) -> None:
    with make_client(tmp_path, auth_enabled=True, api_key="s3cr3t-key-for-tests") as c:
        r = c.post("/v1/analyze", files={"file": ("a.png", PNG)})
        assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
        assert c.get("/v1/jobs/x", headers={"X-API-Key": "wrong"}).status_code == 401
        ok = c.post("/v1/analyze", files={"file": ("a.png", PNG)}, headers={"X-API-Key": "s3cr3t-key-for-tests"})
        assert ok.status_code == 202
        assert c.get("/healthz").status_code == 200 and c.get("/metrics").status_code == 200


@pytest.mark.parametrize("key", ["change-me", "", "changeme"])
def test_auth_with_a_placeholder_key_is_refused_at_start_up(tmp_path, key: str) -> None:
    from shared.errors import ConfigurationError

    client = make_client(tmp_path, auth_enabled=True, api_key=key)
    with pytest.raises(ConfigurationError, match="placeholder"), client:
        pass


def test_auth_off_by_default() -> None:
    assert GatewaySettings().auth_enabled is False


def test_metrics_count_requests_by_route_template(client) -> None:
    job_id = client.post("/v1/analyze", files={"file": ("a.png", PNG)}).json()["id"]
    client.get(f"/v1/jobs/{job_id}")
    client.post("/v1/analyze", files={"file": ("a.pdf", b"%PDF-1.4 xxxxxxxx")})
    text = client.get("/metrics").text
    assert 'deepfake_gateway_requests_total{method="GET",route="/v1/jobs/{job_id}",status="200"} 1.0' in text
    assert 'deepfake_jobs_submitted_total{kind="image"} 1.0' in text
    assert 'deepfake_uploads_rejected_total{code="unsupported_media"} 1.0' in text
    assert 'deepfake_queue_jobs{state="queued"} 1.0' in text
    assert job_id not in text


def test_openapi_documents_examples_and_the_error_schema(client) -> None:
    spec = client.get("/openapi.json").json()
    assert "ErrorBody" in spec["components"]["schemas"] and "Job" in spec["components"]["schemas"]
    analyze = spec["paths"]["/v1/analyze"]["post"]
    for status in ("202", "413", "415", "503", "401"):
        assert status in analyze["responses"], status
    err = analyze["responses"]["415"]["content"]["application/json"]
    assert err["schema"]["$ref"].endswith("/ErrorBody") and err["example"]["error"]["code"] == "unsupported_media"
    assert spec["paths"]["/v1/jobs/{job_id}"]["get"]["responses"]["404"]["content"]["application/json"]["example"]
    assert "Report" in spec["components"]["schemas"]


def test_wait_returns_the_finished_job_with_200(client, redis_db) -> None:
    """A job finished by someone else while the request waits comes back with 200 (no worker here)."""
    import threading
    import time

    from shared.jobs import JobStore

    store = JobStore(redis_db)
    report = minimal_report()
    seen: list[str] = []

    def finish_soon() -> None:
        for _ in range(100):
            ids = [k.decode().split(":")[-1] for k in redis_db.keys("deepfake:job:*")]
            if ids:
                time.sleep(0.3)
                store.finish(ids[0], report)
                seen.append(ids[0])
                return
            time.sleep(0.05)

    threading.Thread(target=finish_soon, daemon=True).start()
    r = client.post("/v1/analyze", files={"file": ("a.png", io.BytesIO(PNG))}, data={"wait": "5"})
    assert r.status_code == 200 and r.json()["status"] == "done" and r.json()["id"] == seen[0]
    assert r.json()["report"]["verdict"] == report["verdict"]


def test_a_job_rq_gave_up_on_reads_failed_worker_lost_and_its_upload_is_deleted(client, redis_db, tmp_path) -> None:
    """RQ moved the job to failed (its worker died, no retry left) while the record said running."""
    from rq.job import Job, JobStatus
    from rq.serializers import JSONSerializer

    from shared.jobs import JobStore

    job_id = client.post("/v1/analyze", files={"file": ("a.png", PNG)}).json()["id"]
    JobStore(redis_db).update(job_id, status="running", stage="detecting_faces", progress=0.3)
    Job.fetch(job_id, connection=redis_db, serializer=JSONSerializer).set_status(JobStatus.FAILED)
    job = client.get(f"/v1/jobs/{job_id}").json()
    assert job["status"] == "failed" and job["error"]["code"] == "worker_lost"
    assert not (tmp_path / "uploads" / job_id).exists()


def test_failure_callback_requeues_while_retries_are_left_then_fails(client, redis_db) -> None:
    from rq.job import Job
    from rq.serializers import JSONSerializer

    from shared.jobs import JobStore, on_rq_failure

    job_id = client.post("/v1/analyze", files={"file": ("a.png", PNG)}).json()["id"]
    store = JobStore(redis_db)
    store.update(job_id, status="running", stage="scoring_video", progress=0.8)
    rq_job = Job.fetch(job_id, connection=redis_db, serializer=JSONSerializer)
    assert rq_job.retries_left == 1
    on_rq_failure(rq_job, redis_db, None, None, None)
    assert store.get(job_id, reconcile=False).status == "queued"
    rq_job.retries_left = 0
    on_rq_failure(rq_job, redis_db, None, None, None)
    job = store.get(job_id, reconcile=False)
    assert job.status == "failed" and job.error.code == "worker_lost"


def test_retention_keeps_the_upload(redis_db, tmp_path) -> None:
    from shared.jobs import JobStore, finalize

    with make_client(tmp_path, retain_uploads=True) as c:
        job_id = c.post("/v1/analyze", files={"file": ("a.png", PNG)}).json()["id"]
    store = JobStore(redis_db)
    store.finish(job_id, minimal_report())
    finalize(store, job_id)
    assert (tmp_path / "uploads" / job_id / "a.png").read_bytes() == PNG


def test_worker_sweeps_files_of_jobs_whose_record_is_gone(redis_db, tmp_path) -> None:
    from preprocess_worker.worker import sweep_orphans
    from shared.jobs import JobStore

    with make_client(tmp_path) as c:
        kept = c.post("/v1/analyze", files={"file": ("a.png", PNG)}).json()["id"]
    orphan = tmp_path / "uploads" / "expiredjob"
    orphan.mkdir()
    (orphan / "x.png").write_bytes(PNG)
    assert sweep_orphans(redis_db, (tmp_path / "uploads",), min_age=3600) == 0  # too young
    assert sweep_orphans(redis_db, (tmp_path / "uploads",), min_age=0) == 1
    assert not orphan.exists() and (tmp_path / "uploads" / kept).exists() and JobStore(redis_db).exists(kept)


# --- issue 14: callback targets, webhooks off the request path, crashes, storage, readiness, auth -----
@pytest.mark.parametrize(
    "url",
    ["http://169.254.169.254/latest/meta-data/", "http://127.0.0.1:6379/", "http://localhost:8001/v1/infer",
     "http://10.0.0.7/hook", "http://[::ffff:127.0.0.1]/hook"],
)
def test_callback_urls_to_internal_addresses_are_refused_at_submit(client, redis_db, tmp_path, url: str) -> None:
    r = client.post("/v1/analyze", files={"file": ("a.png", PNG)}, data={"callback_url": url})
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "callback_url_refused" and "refused" in r.json()["error"]["message"]
    assert not (tmp_path / "uploads").exists() or not any((tmp_path / "uploads").iterdir())
    assert not redis_db.keys("deepfake:job:*")


def test_allowing_private_targets_still_refuses_the_services_own_ports(redis_db, tmp_path) -> None:
    with make_client(tmp_path, webhook_allow_private=True) as c:
        ok = c.post("/v1/analyze", files={"file": ("a.png", PNG)}, data={"callback_url": "http://127.0.0.1:9999/h"})
        assert ok.status_code == 202, ok.text
        # the test settings put Redis on 6379/11 and both inference services on 127.0.0.1:9
        for url in ("http://127.0.0.1:6379/", "http://127.0.0.1:9/v1/infer", "http://169.254.169.254/"):
            r = c.post("/v1/analyze", files={"file": ("a.png", PNG)}, data={"callback_url": url})
            assert r.status_code == 422 and r.json()["error"]["code"] == "callback_url_refused", url


def test_reconciling_a_lost_job_in_get_queues_its_webhook_instead_of_posting(redis_db, receiver, tmp_path) -> None:
    """Before: the GET that noticed the lost job POSTed the webhook itself (16 s with a silent receiver)."""
    import threading

    from rq.job import Job, JobStatus
    from rq.serializers import JSONSerializer

    from shared.jobs import WEBHOOK_OUTBOX_KEY, JobStore

    silent = receiver(hang=threading.Event())
    with make_client(tmp_path, webhook_allow_private=True) as c:
        job_id = c.post("/v1/analyze", files={"file": ("a.png", PNG)}, data={"callback_url": silent.url}).json()["id"]
        JobStore(redis_db).update(job_id, status="running", stage="detecting_faces", progress=0.3)
        Job.fetch(job_id, connection=redis_db, serializer=JSONSerializer).set_status(JobStatus.FAILED)
        job = c.get(f"/v1/jobs/{job_id}").json()
    assert job["status"] == "failed" and job["error"]["code"] == "worker_lost"
    assert silent.connections == 0
    assert redis_db.zscore(WEBHOOK_OUTBOX_KEY, job_id) is not None


def _abandon(redis_db, job_id: str, worker_name: str) -> None:
    """A worker takes the job off the queue and is killed mid-job; then the registry sweep finds it."""
    from rq import Queue
    from rq.job import Job, JobStatus
    from rq.registry import StartedJobRegistry
    from rq.serializers import JSONSerializer
    from rq.timeouts import TimerDeathPenalty

    from shared.jobs import JobStore

    Queue("test-gateway", connection=redis_db, serializer=JSONSerializer).remove(job_id)  # dequeued
    JobStore(redis_db).update(job_id, status="running", stage="decoding", progress=0.1)
    rq_job = Job.fetch(job_id, connection=redis_db, serializer=JSONSerializer)
    rq_job.worker_name = worker_name
    rq_job.save()
    rq_job.set_status(JobStatus.STARTED)
    registry = StartedJobRegistry("test-gateway", connection=redis_db, serializer=JSONSerializer,
                                  death_penalty_class=TimerDeathPenalty)
    redis_db.zadd(registry.key, {f"{job_id}:exec-{worker_name}": 1})  # heartbeat long expired
    registry.cleanup()


def test_a_job_that_killed_max_worker_crashes_workers_fails_worker_crashed(redis_db, tmp_path) -> None:
    from rq import Queue
    from rq.exceptions import AbandonedJobError
    from rq.job import Job, JobStatus
    from rq.serializers import JSONSerializer

    from shared.jobs import JobStore, on_rq_failure

    with make_client(tmp_path, retries=5, max_worker_crashes=2) as c:
        job_id = c.post("/v1/analyze", files={"file": ("a.png", PNG)}).json()["id"]
    store = JobStore(redis_db)
    queue = Queue("test-gateway", connection=redis_db, serializer=JSONSerializer)

    _abandon(redis_db, job_id, "worker-a")
    assert store.get(job_id, reconcile=False).status == "queued" and queue.job_ids == [job_id]  # retried
    # the same dead worker reported again (the gateway and a worker both swept) is one crash
    rq_job = Job.fetch(job_id, connection=redis_db, serializer=JSONSerializer)
    rq_job.worker_name = "worker-a"
    on_rq_failure(rq_job, redis_db, AbandonedJobError, AbandonedJobError(), None)
    assert store.raw(job_id)["crashes"] == "1" and store.get(job_id, reconcile=False).status == "queued"

    _abandon(redis_db, job_id, "worker-b")  # a second worker took it, and died too
    job = store.get(job_id, reconcile=False)
    assert job.status == "failed" and job.error.code == "worker_crashed" and job.error.message
    rq_job = Job.fetch(job_id, connection=redis_db, serializer=JSONSerializer)
    assert rq_job.get_status() == JobStatus.FAILED and job_id not in queue.job_ids  # retries were left: not used


def test_an_unwritable_upload_folder_is_503_with_a_reason_and_not_ready(redis_db, tmp_path) -> None:
    """Before: the gateway would not start (or answered 500 internal_error) while /readyz said ready."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")  # works for root too, unlike permission bits
    with make_client(tmp_path, upload_dir=blocker / "uploads") as c:
        r = c.post("/v1/analyze", files={"file": ("a.png", PNG)})
        assert r.status_code == 503, r.text
        assert r.json()["error"]["code"] == "storage_unavailable" and "not writable" in r.json()["error"]["message"]
        assert str(tmp_path) not in r.text  # the path stays in the log
        ready = c.get("/readyz")
        assert ready.status_code == 503 and ready.json()["checks"]["upload_dir"] == "not writable"
    assert not redis_db.keys("deepfake:job:*")


def test_readyz_counts_live_workers_from_their_beats(client, redis_db) -> None:
    """Before: /readyz counted RQ registrations, which outlive a killed worker by minutes."""
    from shared.jobs import worker_beat, worker_gone

    body = client.get("/readyz").json()
    assert body["checks"]["workers"] == "none alive" and body["workers"] == 0
    worker_beat(redis_db, "w-expired", ttl=-1)  # its last beat ran out
    worker_beat(redis_db, "w-live", ttl=30)
    body = client.get("/readyz").json()
    assert body["checks"]["workers"] == "ok" and body["workers"] == 1
    assert body["checks"]["upload_dir"] == "ok"
    assert body["status"] == "not_ready"  # the inference services of these settings do not exist
    worker_gone(redis_db, "w-live")
    assert client.get("/readyz").json()["workers"] == 0
    assert "deepfake_workers 0.0" in client.get("/metrics").text


def _serve(app):
    """Run ``app`` under a real uvicorn in a thread; returns (server, port)."""
    import socket
    import threading
    import time

    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    return server, port


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_an_unauthenticated_upload_is_refused_before_its_body_is_read(redis_db, tmp_path, framing: str) -> None:
    """A 400 MB upload without the key: the client sends the headers and 64 KB, and gets 401 at once.

    Before: FastAPI parsed the whole multipart body before the auth dependency ran, so no answer came
    until all 400 MB had arrived (here: never; the read below times out and the test fails).
    """
    import socket

    from gateway.app import create_app

    settings = GatewaySettings(redis_url=REDIS_DB_URL, queue_name="test-gateway", upload_dir=tmp_path / "uploads",
                               artifacts_dir=tmp_path / "artifacts", auth_enabled=True, api_key="s3cr3t-key-for-tests")
    app = create_app()
    app.dependency_overrides[get_gateway_settings] = lambda: settings
    server, port = _serve(app)
    try:
        length = "Content-Length: 419430400" if framing == "content-length" else "Transfer-Encoding: chunked"
        head = (f"POST /v1/analyze HTTP/1.1\r\nHost: 127.0.0.1\r\n{length}\r\n"
                "Content-Type: multipart/form-data; boundary=B\r\n\r\n").encode()
        part = b"--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n\r\n" + PNG + b"\0" * 65536
        if framing == "chunked":
            part = f"{len(part):x}\r\n".encode() + part + b"\r\n"  # one chunk, and never the last one
        with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
            sock.sendall(head + part)
            answer = b""
            while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                answer += chunk
        status_line, _, rest = answer.partition(b"\r\n")
        assert status_line.startswith(b"HTTP/1.1 401"), answer[:300]
        assert b'"code":"unauthorized"' in rest
        assert not (tmp_path / "uploads").exists() or not any((tmp_path / "uploads").iterdir())
    finally:
        server.should_exit = True
