"""The job function RQ runs (``preprocess_worker.jobs.analyze_job``, enqueued by dotted path).

It runs ``shared.pipeline`` — the same code as ``deepfake analyze`` — with remote scorers (the two
inference services), writes stage and progress into the job record as the pipeline reports them, stores
the report, and ends every job in a state a client can act on:

- bad input (``BadInput`` errors: not decodable, no usable stream...) → ``failed`` with the error's code,
  never retried (it would fail again);
- anything else (an inference service down, a bug) → retried while RQ has retries left, then
  ``failed`` with a code and a message that says nothing internal;
- the job deleted meanwhile (``DELETE /v1/jobs/{id}``) → the pipeline stops at its next progress report.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from redis import Redis

from gateway.jobs import JobStore, finalize
from shared.errors import BadInput, DeepfakeError
from shared.settings import WorkerSettings, get_analyze_settings, get_worker_settings
from shared.stages import overall_progress

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

    def scorer(self, role: str) -> Any:
        """The remote scorer for ``video`` or ``audio``, connected on first use (services may start later)."""
        from preprocess_worker.remote import RemoteAudioScorer, RemoteFaceScorer

        with self._lock:
            if role not in self._scorers:
                s = self.settings
                if role == "video":
                    self._scorers[role] = RemoteFaceScorer(
                        s.video_service_url, timeout=s.service_timeout, retries=s.service_retries
                    )
                else:
                    self._scorers[role] = RemoteAudioScorer(
                        s.audio_service_url, timeout=s.service_timeout, retries=s.service_retries
                    )
            return self._scorers[role]


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
    """Build the face detector now (with the options jobs will use), so the first job does not pay for it."""
    from shared.analysis import AnalyzeOptions
    from shared.detectors.faces import get_face_detector

    get_face_detector(AnalyzeOptions.from_settings(get_analyze_settings()))


def analyze_job(job_id: str) -> dict[str, str]:
    """Analyse the upload of job ``job_id``; the report goes into the job record."""
    ctx = load_context()
    store = ctx.store
    record = store.raw(job_id)
    if record is None:
        log.info("job %s was deleted before it started", job_id)
        return {"status": "cancelled"}
    store.update(job_id, status="running", stage="starting", progress=0)

    done = 0.0

    def on_progress(stage: str, fraction: float) -> None:
        nonlocal done
        done = max(done, overall_progress(stage, fraction))  # never moves backwards
        if not store.update(job_id, status="running", stage=stage, progress=round(done, 4)):
            raise JobCancelled(job_id)

    artifacts_dir = Path(record["artifacts_dir"]) if ctx.settings.make_artifacts and record.get("artifacts_dir") else None
    try:
        report = run_pipeline(Path(record["upload_path"]), ctx, on_progress, artifacts_dir, record["filename"])
    except JobCancelled:
        log.info("job %s was deleted while running; stopped", job_id)
        return {"status": "cancelled"}
    except BadInput as exc:
        store.fail(job_id, exc.code, exc.message)
        finalize(store, job_id, webhook_timeout=ctx.settings.webhook_timeout,
                 webhook_attempts=ctx.settings.webhook_attempts)
        return {"status": "failed", "code": exc.code}
    except Exception as exc:
        _fail_or_retry(store, job_id, exc, ctx.settings)
        raise
    if not store.finish(job_id, report):
        return {"status": "cancelled"}
    finalize(store, job_id, webhook_timeout=ctx.settings.webhook_timeout, webhook_attempts=ctx.settings.webhook_attempts)
    return {"status": "done"}


def _fail_or_retry(store: JobStore, job_id: str, exc: Exception, settings: WorkerSettings) -> None:
    from rq import get_current_job
    from rq.timeouts import JobTimeoutException

    if isinstance(exc, DeepfakeError):
        code, message = exc.code, exc.message
        log.warning("job %s: %s: %s", job_id, code, message)
    elif isinstance(exc, JobTimeoutException):
        code, message = "job_timeout", "the analysis took longer than the configured limit"
        log.warning("job %s: %s", job_id, exc)
    else:
        code, message = "internal_error", "the analysis failed because of an internal error"
        log.exception("job %s failed", job_id)
    rq_job = get_current_job()
    if rq_job is not None and rq_job.retries_left:
        store.update(job_id, status="queued", stage="retrying", progress=0)
        return
    store.fail(job_id, code, message)
    finalize(store, job_id, webhook_timeout=settings.webhook_timeout, webhook_attempts=settings.webhook_attempts)


def run_pipeline(
    path: Path, ctx: WorkerContext, on_progress: Any, artifacts_dir: Path | None, filename: str
) -> Any:
    """``shared.pipeline.analyze`` with the remote scorers: decode and detect here, score in the services.

    Options come from ``AnalyzeSettings`` (``DEEPFAKE_*``), the same defaults as ``deepfake analyze``.
    """
    from shared import pipeline
    from shared.detectors import model_roles

    report = pipeline.analyze(
        path,
        scorers={role: ctx.scorer(role) for role in model_roles()},
        options=pipeline.AnalyzeOptions.from_settings(get_analyze_settings()),
        progress=on_progress,
        artifacts_dir=artifacts_dir,
    )
    # the upload is stored under a sanitized name; the report names the file as the user did
    report.media.filename = filename
    return report
