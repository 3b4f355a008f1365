"""The job function RQ runs (``preprocess_worker.jobs.analyze_job``, enqueued by dotted path).

It runs ``shared.pipeline`` — the same code as ``deepfake analyze`` — with remote scorers (the two
inference services), writes stage and progress into the job record as the pipeline reports them, stores
the report, and ends every job in a state a client can act on:

- the user's fault (``BadInput`` errors: not decodable, no usable stream...) → ``failed`` with the
  error's code, never retried (it would fail again);
- ours, and another attempt cannot help (``ModelContractError``: a model's outputs broke its
  contract) → ``failed`` with that code at once;
- ours otherwise (an inference service down or refusing what we sent, a bug) → retried while RQ has
  retries left, then ``failed`` with a code and a message that says nothing internal. An inference
  service that answered 4xx (``InferenceServiceError``) makes the worker reconnect, so the retry reads
  the service's current model card;
- the job deleted meanwhile (``DELETE /v1/jobs/{id}``) → the pipeline stops at its next progress report.

:func:`classify_failure` makes that decision; the table is pinned by a test.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from redis import Redis

from shared.errors import DeepfakeError, InferenceServiceError, ServiceUnavailable
from shared.jobs import TERMINAL, JobStore, finalize
from shared.roles import ModelRole
from shared.settings import WorkerSettings, get_analyze_settings, get_worker_settings
from shared.stages import WorkProgress, work_for

log = logging.getLogger("preprocess_worker.jobs")


class JobCancelled(Exception):
    """The job's record was deleted while it ran."""


@dataclass
class WorkerContext:
    """What a worker process builds once and every job reuses."""

    settings: WorkerSettings
    store: JobStore
    _scorers: dict[str, Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def scorer(self, role: ModelRole) -> Any:
        """The remote scorer of a model role, connected on first use (services may start later) and
        health-checked on every later one, so a service that went away since is noticed before the job
        relies on it. Its service's address is the role's ``<role>_service_url`` setting.

        Raises:
            ServiceUnavailable: the service does not answer (the cached client is dropped).
        """
        with self._lock:
            cached = self._scorers.get(role.name)
        if cached is not None:
            try:
                cached.check()
                return cached
            except ServiceUnavailable:
                self._drop(role.name, cached)
                raise
        s = self.settings
        made = role.remote_scorer_class()(
            role.service_url(s), timeout=s.service_timeout, retries=s.service_retries
        )
        with self._lock:
            kept = self._scorers.setdefault(role.name, made)
        if kept is not made:  # another thread connected first
            made.close()
        return kept

    def _drop(self, name: str, scorer: Any) -> None:
        with self._lock:
            if self._scorers.get(name) is scorer:
                del self._scorers[name]
        scorer.close()

    def forget_scorers(self) -> None:
        """Drop the service clients, so the next job reconnects and reads each model card again."""
        with self._lock:
            scorers, self._scorers = self._scorers, {}
        for scorer in scorers.values():
            close = getattr(scorer, "close", None)
            if close is not None:
                close()


_context: WorkerContext | None = None


def load_context() -> WorkerContext:
    """Build the process-wide context once: settings, Redis, and the pipeline's local models."""
    global _context
    if _context is None:
        settings = get_worker_settings()
        store = JobStore(Redis.from_url(settings.redis_url, health_check_interval=10))
        _preload_pipeline_models()
        _context = WorkerContext(settings=settings, store=store)
    return _context


def _preload_pipeline_models() -> None:
    """Build the face detector (with the options jobs will use) and the voice-activity model now, so the
    first job does not pay for them."""
    from shared.analysis import AnalyzeOptions
    from shared.faces import get_detector_by_name
    from shared.vad import get_speech_detector

    options = AnalyzeOptions.from_settings(get_analyze_settings())
    get_detector_by_name(options.detector, options)
    get_speech_detector()


def analyze_job(job_id: str) -> dict[str, str]:
    """Analyse the upload of job ``job_id``; the report goes into the job record."""
    ctx = load_context()
    store = ctx.store
    record = store.raw(job_id)
    if record is None:
        log.info("job %s was deleted before it started", job_id)
        return {"status": "cancelled"}
    if record.get("status") in TERMINAL:
        # e.g. failed worker_crashed by another process while RQ still held a retry of it
        log.info("job %s already ended (%s); not running it again", job_id, record.get("status"))
        return {"status": record["status"]}
    store.update(job_id, status="running", stage="starting", progress=0)

    share = WorkProgress()  # run_pipeline plans the file's expected work once it is probed

    def on_progress(stage: str, fraction: float) -> None:
        done = share.update(stage, fraction)  # the share of the work done; never moves backwards
        if not store.update(job_id, status="running", stage=stage, progress=round(done, 4)):
            raise JobCancelled(job_id)

    artifacts_dir = Path(record["artifacts_dir"]) if ctx.settings.make_artifacts and record.get("artifacts_dir") else None
    try:
        report = run_pipeline(
            Path(record["upload_path"]), ctx, on_progress, artifacts_dir, record["filename"], share=share
        )
    except JobCancelled:
        log.info("job %s was deleted while running; stopped", job_id)
        return {"status": "cancelled"}
    except Exception as exc:
        failure = classify_failure(exc)
        if failure.code == "internal_error":
            log.exception("job %s failed", job_id)
        else:
            log.warning("job %s: %s: %s", job_id, failure.code, failure.message)
        if isinstance(exc, InferenceServiceError):
            ctx.forget_scorers()
        if not failure.retry:
            store.fail(job_id, failure.code, failure.message)
            finalize(store, job_id)
            return {"status": "failed", "code": failure.code}
        if _retry_left():
            store.update(job_id, status="queued", stage="retrying", progress=0)
        else:
            store.fail(job_id, failure.code, failure.message)
            finalize(store, job_id)
        raise  # RQ retries it while retries are left, else moves it to its failed registry
    if not store.finish(job_id, report):
        return {"status": "cancelled"}
    finalize(store, job_id)
    return {"status": "done"}


@dataclass(frozen=True)
class Failure:
    """How a failed attempt ends: the job's error code and message, and whether to try again."""

    code: str
    message: str
    #: another attempt can succeed (used only while RQ has retries left)
    retry: bool


def classify_failure(exc: BaseException) -> Failure:
    """Whose fault a failure is, and whether a retry can help (see the module docstring).

    Messages are safe to show a user: our own errors carry one; anything else is ``internal_error``
    with nothing internal in it (the worker log has the traceback).
    """
    from rq.timeouts import JobTimeoutException

    if isinstance(exc, DeepfakeError):
        return Failure(exc.code, exc.message, retry=exc.retryable)
    if isinstance(exc, JobTimeoutException):
        return Failure("job_timeout", "the analysis took longer than the configured limit", retry=True)
    return Failure("internal_error", "the analysis failed because of an internal error", retry=True)


def _retry_left() -> bool:
    from rq import get_current_job

    rq_job = get_current_job()
    return bool(rq_job is not None and rq_job.retries_left)


def run_pipeline(
    path: Path,
    ctx: WorkerContext,
    on_progress: Any,
    artifacts_dir: Path | None,
    filename: str,
    *,
    share: WorkProgress | None = None,
) -> Any:
    """``shared.pipeline.analyze`` with the remote scorers: decode and detect here, score in the services.

    Only the services this file needs are called (an image never waits on the voice service). A service
    that does not answer fails the job (and it is retried) when the file's kind requires its evidence
    (faces for a video or an image); otherwise its check is marked as not run, with the reason, and the
    job still ends with a report. Options come from ``AnalyzeSettings`` (``DEEPFAKE_*``), the same
    defaults as ``deepfake analyze``.
    """
    from shared import pipeline
    from shared.media.probe import open_media
    from shared.role_scorers import scorers_for

    source = open_media(path)
    needed = scorers_for(source, ctx.scorer, missing=(ServiceUnavailable,))
    for why in needed.unavailable.values():
        log.warning("%s: %s", path.name, why)
    options = pipeline.AnalyzeOptions.from_settings(get_analyze_settings())
    if share is not None:
        share.plan(work_for(source, options, needed.scorers))
    report = pipeline.analyze(
        source.path,
        scorers=needed.scorers,
        options=options,
        progress=on_progress,
        artifacts_dir=artifacts_dir,
        source=source,
        unavailable=needed.unavailable,
    )
    # the upload is stored under a sanitized name; the report names the file as the user did
    report.media.filename = filename
    return report
