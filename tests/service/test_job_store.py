"""``shared.jobs.JobStore`` on the machine's Redis: a deleted job stays deleted.

The stack test caught it: ``DELETE`` of a running job, then the worker's next progress write (a check, then
a separate ``HSET``) recreated a partial record without id or TTL, and ``GET`` answered 500 instead of 404.
Every write path a worker, the RQ failure callback or the webhook sender takes after a job may be gone is
tried here on a deleted record.
"""

from __future__ import annotations

from pathlib import Path

from shared.jobs import JobStore, finalize, job_key, on_rq_failure

REDIS_DB_URL = "redis://127.0.0.1:6379/10"


def _job(store: JobStore, job_id: str, tmp_path: Path) -> str:
    store.create(job_id, filename="clip.mp4", upload_path=tmp_path / job_id / "clip.mp4", callback_url=None,
                 delete_upload=True, artifacts_dir=None, result_ttl=60, failure_ttl=120, pending_ttl=30)
    return job_id


def test_no_write_brings_back_a_deleted_job(redis_db, tmp_path: Path) -> None:
    store = JobStore(redis_db)
    job_id = _job(store, "deleted-job", tmp_path)
    assert store.update(job_id, status="running", stage="decoding", progress=0.1)
    assert store.delete(job_id) is not None
    assert not store.update(job_id, stage="detecting_faces", progress=0.5)
    assert not store.finish(job_id, {"verdict": "real"})
    assert not store.fail(job_id, "internal_error", "boom")
    assert not store.claim(job_id, "finalized")
    assert store.increment(job_id, "crashes") is None
    assert store.write(job_id, {"webhook": "delivered"}) == "gone"
    finalize(store, job_id)

    class Abandoned:  # what RQ passes for a job whose worker died
        id, worker_name, started_at, retries_left = job_id, "w1", None, 1

    from rq.exceptions import AbandonedJobError

    on_rq_failure(Abandoned(), redis_db, AbandonedJobError, None, None)
    assert not redis_db.exists(job_key(job_id))
    assert store.get(job_id) is None


def test_writes_to_a_live_job_keep_their_meaning(redis_db, tmp_path: Path) -> None:
    store = JobStore(redis_db)
    job_id = _job(store, "live-job", tmp_path)
    assert store.update(job_id, status="running", stage="decoding", progress=0.25)
    record = store.raw(job_id)
    assert record is not None and (record["status"], record["stage"], record["progress"]) == ("running", "decoding", "0.25")
    assert store.fail(job_id, "internal_error", "boom") and 100 < redis_db.ttl(job_key(job_id)) <= 120
    assert store.update(job_id, status="running", progress=0.9)  # progress after the end: left as it was
    assert store.raw(job_id)["status"] == "failed"
    assert store.finish(job_id, {"verdict": "real"})
    record = store.raw(job_id)
    assert record["status"] == "done" and "error" not in record and 0 < redis_db.ttl(job_key(job_id)) <= 60
    assert store.claim(job_id, "finalized") and not store.claim(job_id, "finalized")
    assert store.increment(job_id, "crashes") == 1 and store.increment(job_id, "crashes") == 2


def test_a_partial_record_left_by_an_older_version_reads_as_gone(redis_db) -> None:
    redis_db.hset(job_key("partial"), mapping={"stage": "decoding", "progress": "0.5"})
    store = JobStore(redis_db)
    assert store.get("partial") is None and not redis_db.exists(job_key("partial"))
