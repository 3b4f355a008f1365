"""Prometheus metrics of the gateway (``GET /metrics``).

One registry per app (not the process-global default), so tests can build several apps in a process.
Request counts and latencies are labelled by route template (``/v1/jobs/{job_id}``), never by raw path,
to keep label cardinality bounded. Queue gauges are read from Redis at scrape time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)


class QueueCollector(Collector):
    """Jobs waiting, running and failed in RQ, and live workers, read when Prometheus scrapes."""

    def __init__(self, queue_getter: Callable[[], Any]) -> None:
        self._queue_getter = queue_getter

    def collect(self) -> Iterator[GaugeMetricFamily]:
        queue = self._queue_getter()
        if queue is None:
            return
        try:
            from shared.jobs import live_workers

            values = {
                "queued": queue.count,
                "started": queue.started_job_registry.count,
                "failed": queue.failed_job_registry.count,
            }
            workers = len(live_workers(queue.connection))
        except Exception as exc:  # Redis down: expose what we can, /readyz says why
            log.debug("queue gauges unavailable: %s", exc)
            return
        jobs = GaugeMetricFamily("deepfake_queue_jobs", "RQ jobs by state", labels=["state"])
        for state, value in values.items():
            jobs.add_metric([state], value)
        yield jobs
        yield GaugeMetricFamily("deepfake_workers", "preprocess workers alive (liveness beat not expired)",
                                value=workers)


class GatewayMetrics:
    def __init__(self, queue_getter: Callable[[], Any]) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "deepfake_gateway_requests",
            "HTTP requests by method, route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "deepfake_gateway_request_seconds",
            "HTTP request latency by route template",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self.jobs_submitted = Counter(
            "deepfake_jobs_submitted", "jobs accepted and queued", ["kind"], registry=self.registry
        )
        self.uploads_rejected = Counter(
            "deepfake_uploads_rejected", "uploads refused, by error code", ["code"], registry=self.registry
        )
        self.registry.register(QueueCollector(queue_getter))
