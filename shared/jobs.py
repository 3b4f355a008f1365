"""The job record: what ``GET /v1/jobs/{id}`` shows, written by the gateway and by the preprocess workers.

RQ runs the work; this record is the API's view of it. It lives in one Redis hash per job
(``deepfake:job:{id}``) so the worker can update ``stage``/``progress`` field by field while the gateway
reads, and it carries its own TTL (``result_ttl`` once done, ``failure_ttl`` once failed).

RQ and the record can disagree only when a worker dies mid-job: RQ then retries the job or moves it to
its failed registry, while the record still says ``running``. Two paths repair that, so a job is never
stuck ``running``: the RQ failure callback :func:`on_rq_failure` (run by whichever process notices the
abandoned job: a worker's maintenance sweep or the gateway) and :meth:`JobStore.get`, which reconciles
the record with RQ's status on every read. A job whose attempts killed ``max_crashes`` workers ends
``worker_crashed`` instead of taking down the next worker too.

Also here, because both sides need them: the webhook outbox a finished job is put in (:func:`finalize`;
delivery is :mod:`shared.webhooks`, never inline) and the workers' liveness beats that ``/readyz`` counts.

The gateway and the workers import this module; it needs Redis and RQ (the ``gateway`` extra), never torch.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from shared.errors import require
from shared.report import Report

# One clear error naming the extra, instead of a bare ModuleNotFoundError from deep inside RQ.
require("redis", "gateway", needed_for="the job queue")
require("rq", "gateway", needed_for="the job queue")

if TYPE_CHECKING:
    from redis import Redis

log = logging.getLogger(__name__)

KEY_PREFIX = "deepfake:job:"
#: The job function, enqueued by dotted path so the gateway never imports the worker's torch code.
JOB_FUNCTION = "preprocess_worker.jobs.analyze_job"
#: RQ's failure callback, also by dotted path (it runs in whichever process notices a failure)
FAILURE_CALLBACK = "shared.jobs.on_rq_failure"
#: webhooks waiting for delivery: a sorted set of job ids scored by when the next attempt is due
WEBHOOK_OUTBOX_KEY = "deepfake:webhooks:due"
#: live preprocess workers: a sorted set of worker names scored by when their last beat expires
WORKERS_ALIVE_KEY = "deepfake:workers:alive"

JobStatus = Literal["queued", "running", "done", "failed"]
TERMINAL = frozenset({"done", "failed"})


class ErrorInfo(BaseModel):
    """A machine-readable error: a stable ``code`` and a message safe to show a user."""

    code: str = Field(examples=["unsupported_media"])
    message: str = Field(examples=["the file is not a video, image or audio file this service can read"])


class ErrorBody(BaseModel):
    """Every error response of the gateway has this body."""

    error: ErrorInfo


class Job(BaseModel):
    """One analysis job as the API shows it."""

    id: str = Field(description="unguessable job id", examples=["0f3kq8Yb2nR1cVt9xW4sZg"])
    status: JobStatus = Field(examples=["running"])
    stage: str | None = Field(
        None, description="current pipeline stage, e.g. decoding, detecting_faces, scoring_video",
        examples=["detecting_faces"],
    )
    progress: float = Field(0.0, ge=0.0, le=1.0, examples=[0.4])
    filename: str = Field(examples=["interview.mp4"])
    created_at: datetime
    updated_at: datetime
    report: Report | None = Field(None, description="the report, once status is done")
    error: ErrorInfo | None = Field(None, description="why the job failed, once status is failed")


def utcnow() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def job_key(job_id: str) -> str:
    """The Redis key of a job record."""
    return KEY_PREFIX + job_id


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


# Every write to an existing record goes through one of these scripts, which write only while the record
# is there: a job deleted (DELETE /v1/jobs/{id}) or expired while a worker still runs it must stay gone.
# A check followed by a separate HSET could recreate a partial record between the two (no id, no TTL):
# GET then failed with 500 and the key never expired.
_WRITE_IF_PRESENT = """
local status = redis.call('HGET', KEYS[1], 'status')
if not status or redis.call('HEXISTS', KEYS[1], 'id') == 0 then return 0 end
if ARGV[1] == '1' and (status == 'done' or status == 'failed') then return 2 end
local n = tonumber(ARGV[3])
for i = 4, 3 + n do redis.call('HDEL', KEYS[1], ARGV[i]) end
if #ARGV > 3 + n then redis.call('HSET', KEYS[1], unpack(ARGV, 4 + n)) end
if ARGV[2] ~= '' then
  local ttl = redis.call('HGET', KEYS[1], ARGV[2])
  if ttl then redis.call('EXPIRE', KEYS[1], tonumber(ttl)) end
end
return 1
"""
_CLAIM_IF_PRESENT = """
if redis.call('HEXISTS', KEYS[1], 'id') == 0 then return 0 end
return redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2])
"""
_INCR_IF_PRESENT = """
if redis.call('HEXISTS', KEYS[1], 'id') == 0 then return false end
return redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
"""


class JobStore:
    """Reads and writes job records in Redis. Every method is one or two round trips, and no write
    brings back a record that was deleted or has expired (the ``*_IF_PRESENT`` scripts)."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._write_script = redis.register_script(_WRITE_IF_PRESENT)
        self._claim_script = redis.register_script(_CLAIM_IF_PRESENT)
        self._incr_script = redis.register_script(_INCR_IF_PRESENT)

    def write(self, job_id: str, fields: dict[str, Any], *, delete: tuple[str, ...] = (),
              keep_finished: bool = False, ttl_field: str | None = None) -> Literal["written", "finished", "gone"]:
        """Set ``fields`` (and remove ``delete``) of an existing record, atomically.

        Args:
            keep_finished: leave a done or failed record as it is (progress arriving after the end).
            ttl_field: the record field holding the TTL to set now (``result_ttl``, ``failure_ttl``).

        Returns:
            "written", "finished" (left as it was) or "gone" (no such record: nothing was written).
        """
        pairs = [str(x) for k, v in fields.items() for x in (k, "" if v is None else v)]
        args = ["1" if keep_finished else "0", ttl_field or "", str(len(delete)), *delete, *pairs]
        outcome = int(self._write_script(keys=[job_key(job_id)], args=args))
        return ("gone", "written", "finished")[outcome]  # type: ignore[return-value]

    def claim(self, job_id: str, field: str) -> bool:
        """Set ``field`` to now unless it is set (``HSETNX``); True for the one caller that set it.
        False as well when the record is gone."""
        return bool(self._claim_script(keys=[job_key(job_id)], args=[field, utcnow()]))

    def increment(self, job_id: str, field: str) -> int | None:
        """Add one to a counter field; its new value, or None when the record is gone."""
        value = self._incr_script(keys=[job_key(job_id)], args=[field])
        return None if value is None else int(value)

    # --- writing -----------------------------------------------------------------------------------
    def create(
        self,
        job_id: str,
        *,
        filename: str,
        upload_path: Path,
        callback_url: str | None,
        delete_upload: bool,
        artifacts_dir: Path | None,
        result_ttl: int,
        failure_ttl: int,
        pending_ttl: int,
        max_crashes: int = 2,
    ) -> None:
        """Write the record of a job about to be enqueued.

        Args:
            job_id: the job's id (also RQ's job id).
            filename: the name the user gave the file (shown back, never used as a path).
            upload_path: where the upload is stored.
            callback_url: where to POST the job JSON when it ends (already checked), or None.
            delete_upload: delete the upload once the job ends.
            artifacts_dir: where the worker writes the report's pictures, or None.
            result_ttl: seconds the record lives once done.
            failure_ttl: seconds the record lives once failed.
            pending_ttl: seconds the record lives before it ends.
            max_crashes: the job fails ``worker_crashed`` once its attempts killed this many workers.
        """
        now = utcnow()
        fields: dict[Any, Any] = {
            "id": job_id,
            "status": "queued",
            "stage": "",
            "progress": "0",
            "filename": filename,
            "created_at": now,
            "updated_at": now,
            "upload_path": str(upload_path),
            "delete_upload": "1" if delete_upload else "0",
            "artifacts_dir": str(artifacts_dir) if artifacts_dir else "",
            "callback_url": callback_url or "",
            "result_ttl": str(result_ttl),
            "failure_ttl": str(failure_ttl),
            "max_crashes": str(max_crashes),
        }
        with self.redis.pipeline() as pipe:
            pipe.hset(job_key(job_id), mapping=fields)
            pipe.expire(job_key(job_id), pending_ttl)
            pipe.execute()

    def update(self, job_id: str, **fields: Any) -> bool:
        """Set some fields (stage, progress, status) of a job that is not finished. False if it is gone."""
        return self.write(job_id, {**fields, "updated_at": utcnow()}, keep_finished=True) != "gone"

    def exists(self, job_id: str) -> bool:
        return bool(self.redis.exists(job_key(job_id)))

    def finish(self, job_id: str, report: Report | dict[str, Any]) -> bool:
        """Mark a job done with its report; the record then lives ``result_ttl`` seconds. False if it is gone."""
        body = report.model_dump_json() if isinstance(report, Report) else json.dumps(report)
        fields = {"status": "done", "stage": "", "progress": "1", "report": body, "updated_at": utcnow()}
        return self.write(job_id, fields, delete=("error",), ttl_field="result_ttl") != "gone"

    def fail(self, job_id: str, code: str, message: str) -> bool:
        """Mark a job failed with a machine-readable error; the record then lives ``failure_ttl`` seconds."""
        error = json.dumps({"code": code, "message": message})
        fields = {"status": "failed", "error": error, "updated_at": utcnow()}
        return self.write(job_id, fields, ttl_field="failure_ttl") != "gone"

    def delete(self, job_id: str) -> dict[str, str] | None:
        """Remove the record; returns what it held (for cleaning up files), or None if there was none."""
        key = job_key(job_id)
        with self.redis.pipeline() as pipe:
            pipe.hgetall(key)
            pipe.delete(key)
            raw, _ = pipe.execute()
        return {_text(k): _text(v) for k, v in raw.items()} if raw else None

    # --- reading -----------------------------------------------------------------------------------
    def raw(self, job_id: str) -> dict[str, str] | None:
        raw = self.redis.hgetall(job_key(job_id))
        record = {_text(k): _text(v) for k, v in raw.items()} if raw else None
        if record is not None and "id" not in record:
            # what a write after a delete left before the writes were scripted: not a job
            log.warning("job %s: a partial record without id (left by a write after its deletion); dropped", job_id)
            self.redis.delete(job_key(job_id))
            return None
        return record

    def get(self, job_id: str, *, reconcile: bool = True) -> Job | None:
        """The job as the API shows it, after reconciling an unfinished record with RQ's status."""
        record = self.raw(job_id)
        if record is None:
            return None
        if reconcile and record.get("status") not in TERMINAL:
            if reconcile_with_rq(self, job_id, record):
                record = self.raw(job_id) or record
        return to_job(record)


def to_job(record: dict[str, str]) -> Job:
    report = json.loads(record["report"]) if record.get("report") else None
    error = json.loads(record["error"]) if record.get("error") else None
    return Job(
        id=record["id"],
        status=record["status"],  # type: ignore[arg-type]
        stage=record.get("stage") or None,
        progress=float(record.get("progress") or 0.0),
        filename=record.get("filename", ""),
        created_at=record["created_at"],  # type: ignore[arg-type]
        updated_at=record.get("updated_at") or record["created_at"],  # type: ignore[arg-type]
        report=report,
        error=error,
    )


# --- when RQ and the record disagree ---------------------------------------------------------------
WORKER_LOST = "worker_lost"
WORKER_LOST_MESSAGE = "the worker processing this job stopped before finishing; it was not retried further"
WORKER_CRASHED = "worker_crashed"
WORKER_CRASHED_MESSAGE = (
    "every worker that tried this job died while processing it, so it was not retried again; "
    "the file may be one the decoder cannot handle"
)


def reconcile_with_rq(store: JobStore, job_id: str, record: dict[str, str]) -> bool:
    """Bring an unfinished record in line with RQ. Returns True when the record was changed.

    A ``running`` job whose worker died is found by RQ's started-registry cleanup (its heartbeat
    expired); the cleanup retries it or fails it, and :func:`on_rq_failure` updates the record. Nothing
    here waits on the network beyond Redis: a webhook is only put in the outbox.
    """
    from rq.exceptions import NoSuchJobError
    from rq.job import Job as RQJob
    from rq.job import JobStatus as RQStatus
    from rq.registry import StartedJobRegistry
    from rq.serializers import JSONSerializer
    from rq.timeouts import TimerDeathPenalty

    try:
        rq_job = RQJob.fetch(job_id, connection=store.redis, serializer=JSONSerializer)
    except NoSuchJobError:
        rq_job = None
    if rq_job is not None and rq_job.get_status(refresh=False) == RQStatus.STARTED:
        # The registry runs failure callbacks under a death penalty; SIGALRM only works in the main
        # thread, and the gateway calls this from a thread pool, hence the timer-based one.
        registry = StartedJobRegistry(
            rq_job.origin, connection=store.redis, serializer=JSONSerializer, death_penalty_class=TimerDeathPenalty
        )
        registry.cleanup()
        changed = store.raw(job_id)
        if changed is not None and changed != record:
            return True
        rq_job.refresh()
    status = rq_job.get_status(refresh=False) if rq_job is not None else None
    if status in (RQStatus.FAILED, RQStatus.STOPPED, RQStatus.CANCELED, None):
        if status is None and record.get("status") == "queued":
            return False  # enqueue still in flight, or the job was deleted
        store.fail(job_id, WORKER_LOST, WORKER_LOST_MESSAGE)
        finalize(store, job_id)
        return True
    if status in (RQStatus.QUEUED, RQStatus.SCHEDULED, RQStatus.DEFERRED) and record.get("status") == "running":
        store.update(job_id, status="queued", stage="retrying", progress=0)
        return True
    return False


def on_rq_failure(job: Any, connection: Redis, exc_type: Any, exc_value: Any, traceback: Any) -> None:
    """RQ failure callback (dotted path :data:`FAILURE_CALLBACK`).

    Called when the job function raised (the worker already wrote the record) and when RQ finds an
    abandoned job (its worker died: the record still says ``running``). An abandoned attempt counts as
    a crash; once a job has killed ``max_crashes`` workers it ends ``worker_crashed`` and RQ does not
    retry it (RQ reads ``retries_left`` right after this callback). Otherwise, if RQ will retry, the
    record goes back to ``queued``; if not, it ends ``failed`` with ``worker_lost``.
    """
    from rq.exceptions import AbandonedJobError

    store = JobStore(connection)
    record = store.raw(job.id)
    if record is None or record.get("status") in TERMINAL:
        return
    if exc_type is AbandonedJobError:
        # Counted once per dead worker: the gateway's reconcile and a worker's sweep may both report
        # the same abandoned attempt, and each attempt ran on a different worker.
        if store.claim(job.id, f"crashed:{job.worker_name or job.started_at}"):
            counted = store.increment(job.id, "crashes")
            if counted is None:
                return  # deleted meanwhile
            crashes = counted
        else:
            crashes = int(_text(connection.hget(job_key(job.id), "crashes") or 0))
        limit = int(record.get("max_crashes") or 0)
        if limit and crashes >= limit:
            log.warning("job %s killed %d workers; failing it as %s", job.id, crashes, WORKER_CRASHED)
            job.retries_left = 0
            store.fail(job.id, WORKER_CRASHED, WORKER_CRASHED_MESSAGE)
            finalize(store, job.id)
            return
    if job.retries_left and job.retries_left > 0:
        store.update(job.id, status="queued", stage="retrying", progress=0)
        return
    store.fail(job.id, WORKER_LOST, WORKER_LOST_MESSAGE)
    finalize(store, job.id)


# --- after a job ends ------------------------------------------------------------------------------
def finalize(store: JobStore, job_id: str) -> None:
    """What happens once per finished job: delete the upload (unless retained), queue the webhook.

    Safe to call from several processes: an ``HSETNX`` claim makes exactly one of them do it. The
    webhook is only put in the outbox (one Redis write): the workers' senders deliver it
    (:class:`shared.webhooks.WebhookSender`), so no job and no ``GET`` ever waits on a receiver.
    """
    if not store.claim(job_id, "finalized"):
        return
    record = store.raw(job_id)
    if record is None:
        return
    if record.get("delete_upload") == "1" and record.get("upload_path"):
        remove_upload(Path(record["upload_path"]), job_id)
    if record.get("callback_url"):
        schedule_webhook(store.redis, job_id)


def schedule_webhook(redis: Redis, job_id: str, *, due: float | None = None) -> bool:
    """Put a finished job's webhook in the outbox, due at ``due`` (default: now). False (and nothing
    queued) when the job is gone."""
    if JobStore(redis).write(job_id, {"webhook": "pending"}) == "gone":
        return False
    redis.zadd(WEBHOOK_OUTBOX_KEY, {job_id: time.time() if due is None else due})
    return True


def remove_upload(path: Path, job_id: str) -> None:
    """Delete an upload and its per-job folder (uploads are stored as ``upload_dir/<job id>/<name>``)."""
    path = Path(path)
    if path.parent.name == job_id:
        shutil.rmtree(path.parent, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


# --- worker liveness -------------------------------------------------------------------------------
# RQ's own worker registry keeps a killed worker listed until its key expires (minutes), and an idle RQ
# worker refreshes its heartbeat only once per dequeue timeout, so /readyz cannot count live workers
# from it. Each worker process beats here instead, with a short expiry it chooses itself.
def worker_beat(redis: Redis, name: str, ttl: float) -> None:
    """Say that worker ``name`` is alive for the next ``ttl`` seconds."""
    redis.zadd(WORKERS_ALIVE_KEY, {name: time.time() + ttl})


def worker_gone(redis: Redis, name: str) -> None:
    """A worker stopping cleanly takes itself off at once."""
    redis.zrem(WORKERS_ALIVE_KEY, name)


#: how long a worker whose beat ran out without a goodbye (killed, its host lost) is listed as lost
LOST_WORKER_MEMORY = 600.0


def live_workers(redis: Redis) -> list[str]:
    """Names of the workers whose last beat has not expired (beats older than
    :data:`LOST_WORKER_MEMORY` are dropped)."""
    now = time.time()
    with redis.pipeline() as pipe:
        pipe.zremrangebyscore(WORKERS_ALIVE_KEY, "-inf", now - LOST_WORKER_MEMORY)
        pipe.zrangebyscore(WORKERS_ALIVE_KEY, now, "+inf")
        _, names = pipe.execute()
    return sorted(_text(n) for n in names)


def lost_workers(redis: Redis) -> list[str]:
    """Names of the workers whose beat ran out within the last :data:`LOST_WORKER_MEMORY` seconds
    without a goodbye (:func:`worker_gone`): killed, or on a host that went away. A worker its
    supervisor restarted comes back under a new name, so the old name stays listed for that while."""
    now = time.time()
    names = redis.zrangebyscore(WORKERS_ALIVE_KEY, now - LOST_WORKER_MEMORY, f"({now}")
    return sorted(_text(n) for n in names)
