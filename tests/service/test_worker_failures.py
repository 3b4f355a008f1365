"""Whose fault a failure is (issue 10, item 5): a bad upload is the user's, a refusing or broken model ours.

The inference services here are real apps (``shared.inference_app``) around the test-made face model's
card, some with a deliberately broken ``infer``; the worker's remote scorers talk to them over
``TestClient`` (an ``httpx.Client``). The job tests run ``analyze_job`` in a real RQ ``SimpleWorker``
against the real Redis (database 13), on real generated media.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from shared.errors import (
    BadInput,
    CorruptMedia,
    InferenceServiceError,
    InvalidArgument,
    ModelContractError,
    ServiceUnavailable,
)

REDIS_DB_URL = "redis://127.0.0.1:6379/13"
InferFn = Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]]


def faces(n: int) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (n, 224, 224, 3), dtype=np.uint8)


@pytest.fixture
def service(video_model_dir: Path) -> Iterator[Callable[[InferFn], TestClient]]:
    """``service(infer, input_name="faces", folder=video_model_dir)``: a running inference app with the
    card of the model in ``folder`` and ``infer`` in place of the model."""
    from shared.inference_app import LoadedModel, create_inference_app
    from shared.modelcard import ModelCard

    clients: list[TestClient] = []

    def start(infer: InferFn, input_name: str = "faces", folder: Path = video_model_dir) -> TestClient:
        card = ModelCard.load(folder)
        app = create_inference_app(
            title="test service",
            load=lambda: LoadedModel(folder=folder, card=card, infer=infer, input_name=input_name),
            max_batch=lambda: 8,
            max_body_bytes=lambda: 64 * 1024 * 1024,
        )
        client = TestClient(app, raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        return client

    yield start
    for client in clients:
        client.__exit__(None, None, None)


def good_infer(has_attention: bool) -> InferFn:
    def infer(tensors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        n = len(tensors["faces"])
        out = {"logits": np.zeros(n, np.float32)}
        if has_attention:
            out["attention"] = np.full((n, 7, 7), 0.5, np.float32)
        return out

    return infer


def test_failure_table() -> None:
    from rq.timeouts import JobTimeoutException

    from preprocess_worker.jobs import classify_failure

    cases = [
        (CorruptMedia("the file is damaged"), "corrupt_media", False),
        (InvalidArgument("bad option"), "invalid_argument", False),
        (InferenceServiceError("the video inference service refused a request"), "inference_failed", True),
        (ModelContractError("NaN"), "model_contract", False),
        (ServiceUnavailable("down"), "service_unavailable", True),
        (JobTimeoutException("late"), "job_timeout", True),
        (RuntimeError("a bug with /secret/paths in it"), "internal_error", True),
    ]
    for exc, code, retry in cases:
        failure = classify_failure(exc)
        assert (failure.code, failure.retry) == (code, retry), exc
    assert "/secret" not in classify_failure(RuntimeError("/secret/paths")).message


def test_a_service_refusing_the_request_is_an_inference_error_not_bad_input(service, video_model_dir) -> None:
    """Before: a 4xx from the service became InvalidArgument, i.e. the user's fault, never retried."""
    from preprocess_worker.remote import RemoteFaceScorer

    client = service(good_infer(has_attention=True))
    scorer = RemoteFaceScorer("http://testserver", retries=0, http=client)
    assert scorer.score(faces(3)).logits.shape == (3,)
    scorer._client.max_batch = 100  # a card read before the service was redeployed with max_batch 8
    with pytest.raises(InferenceServiceError) as caught:
        scorer.score(faces(20))
    error = caught.value
    assert not isinstance(error, BadInput)
    assert (error.status, error.code, error.retryable, error.exit_code) == (502, "inference_failed", True, 1)
    assert error.details == {"service_code": "invalid_argument"}


@pytest.mark.parametrize(
    ("name", "outputs"),
    [
        ("nan logits", lambda n: {"logits": np.full(n, np.nan, np.float32), "attention": np.zeros((n, 7, 7), np.float32)}),
        ("inf logits", lambda n: {"logits": np.full(n, np.inf, np.float32), "attention": np.zeros((n, 7, 7), np.float32)}),
        ("one logit short", lambda n: {"logits": np.zeros(n - 1, np.float32), "attention": np.zeros((n, 7, 7), np.float32)}),
        ("no logits", lambda n: {"scores": np.zeros(n, np.float32)}),
        ("attention out of range", lambda n: {"logits": np.zeros(n, np.float32), "attention": np.full((n, 7, 7), 3.0, np.float32)}),
    ],
)
def test_outputs_that_break_the_model_contract_are_model_contract_errors(service, name, outputs) -> None:
    from preprocess_worker.remote import RemoteFaceScorer

    client = service(lambda tensors: outputs(len(tensors["faces"])))
    scorer = RemoteFaceScorer("http://testserver", retries=0, http=client)
    if name == "attention out of range" and not scorer.has_attention:
        pytest.skip("the test model has no attention output")
    with pytest.raises(ModelContractError) as caught:
        scorer.score(faces(2))
    assert (caught.value.status, caught.value.code, caught.value.retryable) == (500, "model_contract", False)


def test_an_audio_service_returning_nan_probabilities_is_a_model_contract_error(service, melcnn_model_dir) -> None:
    """A NaN score must never pass for "no evidence" (issue 14 item 2, the service side)."""
    from preprocess_worker.remote import RemoteAudioScorer

    client = service(lambda tensors: {"probs": np.array([0.2, np.nan], np.float32)}, input_name="windows",
                     folder=melcnn_model_dir)
    scorer = RemoteAudioScorer("http://testserver", retries=0, http=client)
    with pytest.raises(ModelContractError):
        scorer.score_windows(np.zeros((2, 16), np.float32))


# --- the same errors through a real RQ worker running analyze_job ------------------------------------
@pytest.fixture
def audio_service(service, melcnn_model_dir) -> TestClient:
    """A working audio service (the untrained MelCNN's card, probability 0.5 for every window)."""
    return service(lambda t: {"probs": np.full(len(t["windows"]), 0.5, np.float32)}, input_name="windows",
                   folder=melcnn_model_dir)


@pytest.fixture
def run_one_attempt(redis_db, audio_service):
    """``run_one_attempt(upload, video_client)`` → (record, rq_job, ctx, queue) after one attempt of
    ``analyze_job`` (the audio scorer is ``audio_service``)."""
    from rq import Callback, Queue, Retry, SimpleWorker
    from rq.job import Job
    from rq.serializers import JSONSerializer

    import preprocess_worker.jobs as worker_jobs
    from preprocess_worker.remote import RemoteAudioScorer, RemoteFaceScorer
    from shared.jobs import FAILURE_CALLBACK, JOB_FUNCTION, JobStore
    from shared.settings import WorkerSettings

    saved = worker_jobs._context

    def run(upload: Path, client: TestClient):
        store = JobStore(redis_db)
        ctx = worker_jobs.WorkerContext(
            settings=WorkerSettings(redis_url=REDIS_DB_URL, queue_name="test-failures", make_artifacts=False),
            store=store,
        )
        ctx._scorers = {
            "video": RemoteFaceScorer("http://testserver", retries=0, http=client),
            "audio": RemoteAudioScorer("http://testserver", retries=0, http=audio_service),
        }
        worker_jobs._context = ctx
        job_id = "job-" + upload.stem
        store.create(job_id, filename=upload.name, upload_path=upload, callback_url=None, delete_upload=False,
                     artifacts_dir=None, result_ttl=600, failure_ttl=600, pending_ttl=600)
        queue = Queue("test-failures", connection=redis_db, serializer=JSONSerializer)
        queue.enqueue(JOB_FUNCTION, job_id, job_id=job_id, job_timeout=300, retry=Retry(max=1),
                      on_failure=Callback(FAILURE_CALLBACK, timeout=60))
        handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            SimpleWorker([queue], connection=redis_db, serializer=JSONSerializer).work(burst=True, max_jobs=1)
        finally:
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
        return store.raw(job_id), Job.fetch(job_id, connection=redis_db, serializer=JSONSerializer), ctx, queue

    yield run
    worker_jobs._context = saved


def test_a_bad_upload_fails_as_the_users_fault_and_is_not_retried(run_one_attempt, service, bad_inputs) -> None:
    record, rq_job, _, queue = run_one_attempt(bad_inputs["truncated"], service(good_infer(True)))
    assert record["status"] == "failed"
    assert '"code": "corrupt_media"' in record["error"] or '"code": "no_usable_stream"' in record["error"]
    assert rq_job.retries_left == 1 and rq_job.id not in queue.job_ids


def test_a_broken_model_fails_the_job_as_ours_without_a_retry(run_one_attempt, service, face_image) -> None:
    nan = service(lambda t: {"logits": np.full(len(t["faces"]), np.nan, np.float32),
                             "attention": np.zeros((len(t["faces"]), 7, 7), np.float32)})
    record, rq_job, _, queue = run_one_attempt(face_image, nan)
    assert record["status"] == "failed" and '"code": "model_contract"' in record["error"]
    assert rq_job.retries_left == 1 and rq_job.id not in queue.job_ids  # the same model would fail again


def test_a_refusing_service_fails_the_attempt_as_ours_and_the_job_is_retried(run_one_attempt, service,
                                                                             face_image) -> None:
    """Before: InvalidArgument, so the job failed at once as if the upload were bad."""

    def refuse(tensors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        raise InvalidArgument("faces: expected 256x256 crops")  # a service redeployed with another model

    record, rq_job, ctx, queue = run_one_attempt(face_image, service(refuse))
    assert record["status"] == "queued" and record["stage"] == "retrying"
    assert rq_job.retries_left == 0 and queue.job_ids == [rq_job.id]  # RQ re-queued it
    assert ctx._scorers == {}  # the retry reconnects and reads the service's card again
