"""Fixtures of the service tests: a flushed Redis database, and loopback HTTP receivers for webhooks."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@pytest.fixture
def redis_db(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """The machine's Redis (127.0.0.1:6379), the database of the test module's ``REDIS_DB_URL`` (each
    module its own, default 12), flushed before and after the test."""
    redis = pytest.importorskip("redis")
    connection = redis.Redis.from_url(getattr(request.module, "REDIS_DB_URL", "redis://127.0.0.1:6379/12"))
    try:
        connection.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("needs Redis on 127.0.0.1:6379 (CI starts it)")
    connection.flushdb()
    yield connection
    connection.flushdb()
    connection.close()


@dataclass
class Receiver:
    """A loopback HTTP server that records what it is sent and answers ``status`` (or never answers)."""

    status: int = 204
    location: str | None = None
    hang: threading.Event | None = None
    requests: list[dict] = field(default_factory=list)
    connections: int = 0
    server: ThreadingHTTPServer | None = None

    @property
    def port(self) -> int:
        assert self.server is not None
        return self.server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"


@pytest.fixture
def receiver() -> Iterator[Callable[..., Receiver]]:
    """``receiver(status=204, location=None, hang=None)`` starts one; all are stopped after the test."""
    started: list[Receiver] = []

    def start(**kwargs) -> Receiver:
        rec = Receiver(**kwargs)

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                rec.connections += 1
                if rec.hang is not None:
                    rec.hang.wait(30)  # never answers within the sender's timeout
                    return
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                rec.requests.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                                     "body": json.loads(body)})
                self.send_response(rec.status)
                if rec.location:
                    self.send_header("Location", rec.location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        rec.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        rec.server.daemon_threads = True
        threading.Thread(target=rec.server.serve_forever, daemon=True).start()
        started.append(rec)
        return rec

    yield start
    for rec in started:
        if rec.hang is not None:
            rec.hang.set()
        rec.server.shutdown()
        rec.server.server_close()


