"""The RQ worker process: load once, then run jobs in-process (``python -m preprocess_worker``).

RQ's default worker forks a child per job, which would pay model loading per job (or rely on torch and
OpenMP surviving ``fork``). :class:`PreloadedWorker` is a non-forking ``SimpleWorker``: the face detector
and the inference-service clients are built once per process (:func:`preprocess_worker.jobs.load_context`)
and every job reuses them.

A non-forking worker cannot heartbeat from a parent while its job runs, and RQ's ``SimpleWorker`` then
promises a heartbeat for the whole job timeout, so a worker killed mid-job would look alive for up to
``job_timeout`` + 60 s. Here a thread renews the job's heartbeat every ``heartbeat_interval`` seconds
with a short TTL instead: a killed worker's job expires within ``heartbeat_interval + heartbeat_grace``
seconds and the next registry sweep (any worker's maintenance, or the gateway reading the job) retries
it or fails it with ``worker_lost``.

Beside the RQ work loop each worker process runs two daemon threads: a liveness beat (what ``/readyz``
counts, :func:`shared.jobs.worker_beat`) and a webhook sender (:class:`shared.webhooks.WebhookSender`),
so a slow webhook receiver never holds a job. A worker that dies is restarted by its supervisor
(``deploy/local.py``'s runner, or the container's ``restart:`` policy).
"""

from __future__ import annotations

import argparse
import itertools
import logging
import os
import shutil
import socket
import threading
import time
from pathlib import Path

from shared.errors import require

# One error naming the extra instead of a bare ImportError from deep inside RQ.
require("rq", "gateway", needed_for="the preprocess worker")

from redis import Redis  # noqa: E402
from redis.exceptions import RedisError  # noqa: E402
from rq import Queue, SimpleWorker  # noqa: E402
from rq.job import Job  # noqa: E402
from rq.serializers import JSONSerializer  # noqa: E402
from rq.worker import WorkerStatus  # noqa: E402

from shared.jobs import worker_beat, worker_gone  # noqa: E402
from shared.roles import service_urls  # noqa: E402
from shared.settings import WorkerSettings, get_worker_settings, without_password  # noqa: E402
from shared.webhooks import WebhookPolicy, WebhookSender  # noqa: E402

log = logging.getLogger("preprocess_worker")


class PreloadedWorker(SimpleWorker):
    """``SimpleWorker`` with short, thread-driven job heartbeats (see the module docstring)."""

    heartbeat_interval = 5
    heartbeat_grace = 15
    #: folders swept for files of jobs whose record is gone (expired or deleted)
    sweep_dirs: tuple[Path, ...] = ()
    sweep_min_age = 600.0

    def run_maintenance_tasks(self) -> None:
        super().run_maintenance_tasks()
        try:
            sweep_orphans(self.connection, self.sweep_dirs, self.sweep_min_age)
        except Exception as exc:  # never let housekeeping stop the worker
            log.warning("sweeping orphaned job files failed: %s", exc)

    def get_heartbeat_ttl(self, job: Job, working_time: float = 0.0) -> int:
        return self.heartbeat_interval + self.heartbeat_grace

    @property
    def dequeue_timeout(self) -> int:
        # RQ blocks an idle worker in BLPOP for worker_ttl - 15 s (about 7 minutes) and sweeps only
        # between dequeues; waking every maintenance interval lets idle workers find an abandoned job
        # (and a job that crashed its worker) within seconds, as the module docstring promises.
        return max(1, int(self.maintenance_interval))

    def execute_job(self, job: Job, queue: Queue) -> None:
        execution = self.prepare_execution(job)
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(self.heartbeat_interval):
                try:
                    self.maintain_heartbeats(job, execution)
                except Exception as exc:  # Redis blip: the next beat tries again
                    log.warning("heartbeat for job %s failed: %s", job.id, exc)

        beater = threading.Thread(target=beat, name=f"heartbeat-{job.id}", daemon=True)
        beater.start()
        try:
            self.perform_job(job, queue, execution)
        finally:
            stop.set()
            beater.join()
        self.set_state(WorkerStatus.IDLE)


def sweep_orphans(connection: Redis, folders: tuple[Path, ...], min_age: float) -> int:
    """Delete ``<folder>/<job id>/`` trees whose job record no longer exists (TTL expired, or deleted).

    Only trees older than ``min_age`` seconds: the gateway writes an upload just before the record.
    Returns how many were removed.
    """
    from shared.jobs import KEY_PREFIX

    removed = 0
    now = time.time()
    for folder in folders:
        if not folder.is_dir():
            continue
        for entry in folder.iterdir():
            if not entry.is_dir() or now - entry.stat().st_mtime < min_age:
                continue
            if not connection.exists(KEY_PREFIX + entry.name):
                shutil.rmtree(entry, ignore_errors=True)
                removed += 1
    return removed


def build_worker(settings: WorkerSettings, *, name: str | None = None) -> PreloadedWorker:
    connection = Redis.from_url(settings.redis_url, health_check_interval=10)
    queue = Queue(settings.queue_name, connection=connection, serializer=JSONSerializer)
    worker = PreloadedWorker(
        [queue],
        connection=connection,
        name=name or f"{socket.gethostname()}.{os.getpid()}",
        serializer=JSONSerializer,
        maintenance_interval=settings.maintenance_interval,
        job_monitoring_interval=settings.heartbeat_interval,
    )
    worker.heartbeat_interval = settings.heartbeat_interval
    worker.heartbeat_grace = settings.heartbeat_grace
    worker.sweep_dirs = (settings.upload_dir.resolve(), settings.artifacts_dir.resolve())
    return worker


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m preprocess_worker", description=__doc__.split("\n")[0])
    parser.add_argument("--name", help="worker name (default: host.pid)")
    parser.add_argument("--burst", action="store_true", help="quit when the queue is empty")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    settings = get_worker_settings()
    import cv2

    # The models run on OpenVINO (DEEPFAKE_INFERENCE_THREADS); OpenCV's resizes in the face stage would
    # otherwise take every core in each of several workers. The worker never imports torch.
    cv2.setNumThreads(settings.opencv_threads)
    from preprocess_worker.jobs import load_context

    load_context()  # the pipeline's models, once per process, before the first job
    base_name = args.name or f"{socket.gethostname()}.{os.getpid()}"
    helpers = WorkerHelpers.start(settings, base_name)
    try:
        return _work(settings, base_name, args.burst, args.log_level)
    finally:
        helpers.stop()


def _work(settings: WorkerSettings, base_name: str, burst: bool, log_level: str) -> int:
    # RQ's work loop quits on some Redis errors (e.g. Redis restarting between two jobs). The models
    # stay loaded: wait for Redis and go on with a fresh RQ worker (a new name, since the old one may
    # still be registered) instead of letting the process die.
    for generation in itertools.count():
        worker = build_worker(settings, name=base_name if generation == 0 else f"{base_name}.r{generation}")
        log.info("worker %s listening on %s (%s)", worker.name, settings.queue_name,
                 without_password(settings.redis_url))
        try:
            worker.work(burst=burst, logging_level=log_level)
        except RedisError as exc:
            log.warning("worker %s: Redis error: %s", worker.name, exc)
        if worker._shutdown_requested_date is not None or burst:  # SIGTERM/SIGINT: a real stop
            return 0
        _wait_for_redis(worker.connection)
    return 0


class WorkerHelpers:
    """The worker process's two daemon threads: the liveness beat and the webhook sender."""

    def __init__(self, connection: Redis, name: str, beat_every: float, beat_ttl: float,
                 sender: WebhookSender) -> None:
        self.connection = connection
        self.name = name
        self.beat_every = beat_every
        self.beat_ttl = beat_ttl
        self.sender = sender
        self._stop = threading.Event()
        self._beat = threading.Thread(target=self._beat_loop, name="liveness-beat", daemon=True)

    @classmethod
    def start(cls, settings: WorkerSettings, name: str) -> WorkerHelpers:
        """Start both threads for worker ``name`` (own Redis connection, so a job never waits on them)."""
        connection = Redis.from_url(settings.redis_url, health_check_interval=10, socket_timeout=10)
        policy = WebhookPolicy.from_urls(
            [settings.redis_url, *service_urls(settings)],
            allow_private=settings.webhook_allow_private,
        )
        sender = WebhookSender(connection, policy, timeout=settings.webhook_timeout,
                               attempts=settings.webhook_attempts, backoff=settings.webhook_backoff)
        helpers = cls(connection, name, settings.heartbeat_interval,
                      settings.heartbeat_interval + settings.heartbeat_grace, sender)
        helpers._beat.start()
        sender.start()
        return helpers

    def _beat_loop(self) -> None:
        while True:
            try:
                worker_beat(self.connection, self.name, self.beat_ttl)
            except RedisError as exc:  # Redis restarting: the next beat tries again
                log.debug("liveness beat failed: %s", exc)
            if self._stop.wait(self.beat_every):
                return

    def stop(self) -> None:
        """Stop both threads and take this worker off the live list at once."""
        self._stop.set()
        self.sender.stop(timeout=self.sender.timeout + 5)
        self._beat.join(timeout=5)
        try:
            worker_gone(self.connection, self.name)
        except RedisError:
            pass  # the beat expires on its own


def _wait_for_redis(connection: Redis) -> None:
    delay = 0.5
    while True:
        try:
            if connection.ping():
                return
        except RedisError:
            pass
        time.sleep(delay)
        delay = min(delay * 2, 5.0)
