"""Run the whole stack on one machine: ``make up`` / ``make down`` (or ``python deploy/local.py up|down|status``).

Starts, in order: Redis (only if none answers at the configured URL; then with an append-only file in
``run/redis`` so queued jobs survive a restart), the video and audio inference services (waits until
each has compiled its model and answers ``/healthz``), the gateway (port 8000 unless configured) and N
preprocess workers (waits until each has registered with RQ). Every process writes its log to
``run/logs/<name>.log``; PIDs and URLs go to ``run/stack.json`` so ``down`` stops exactly what ``up``
started. If any step fails, what was started is stopped again and the failing log's tail is printed.

Configuration is the services' own environment variables (``DEEPFAKE_*``, see ``docs/service.md``) plus
the options below; the same ``Stack`` class starts the stack for the end-to-end tests.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[1]


@dataclass
class StackConfig:
    run_dir: Path = REPO / "run"
    redis_url: str = "redis://127.0.0.1:6379/0"
    host: str = "127.0.0.1"
    gateway_port: int = 8000
    video_port: int = 8001
    audio_port: int = 8002
    workers: int = 2
    queue_name: str = "deepfake"
    python: str = sys.executable
    #: extra environment for every process (model folders, TTLs, ...); wins over the inherited one
    env: dict[str, str] = field(default_factory=dict)
    start_timeout: float = 600.0

    @classmethod
    def from_env(cls, **overrides: object) -> StackConfig:
        """Defaults, then ``DEEPFAKE_*`` variables, then explicit overrides (None = keep)."""
        env = os.environ
        cfg = cls(
            redis_url=env.get("DEEPFAKE_GATEWAY_REDIS_URL", cls.redis_url),
            host=env.get("DEEPFAKE_GATEWAY_HOST", cls.host),
            gateway_port=int(env.get("DEEPFAKE_GATEWAY_PORT", cls.gateway_port)),
            video_port=int(env.get("DEEPFAKE_VIDEO_SERVICE_PORT", cls.video_port)),
            audio_port=int(env.get("DEEPFAKE_AUDIO_SERVICE_PORT", cls.audio_port)),
            queue_name=env.get("DEEPFAKE_GATEWAY_QUEUE_NAME", cls.queue_name),
        )
        for key, value in overrides.items():
            if value is not None:
                setattr(cfg, key, type(getattr(cfg, key))(value) if key != "run_dir" else Path(value))  # type: ignore[arg-type]
        return cfg

    @property
    def gateway_url(self) -> str:
        return f"http://{self.host}:{self.gateway_port}"

    @property
    def video_url(self) -> str:
        return f"http://127.0.0.1:{self.video_port}"

    @property
    def audio_url(self) -> str:
        return f"http://127.0.0.1:{self.audio_port}"

    @property
    def logs(self) -> Path:
        return self.run_dir / "logs"

    @property
    def state_file(self) -> Path:
        return self.run_dir / "stack.json"


class StackError(RuntimeError):
    pass


class Stack:
    """The processes of one running stack. ``up()`` starts them, ``down()`` stops them."""

    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.procs: dict[str, int] = {}
        self.redis_started = False
        self._worker_seq = 0
        self._token = secrets.token_hex(3)
        #: seconds each start-up phase took (also in run/stack.json)
        self.timings: dict[str, float] = {}

    # --- environment shared by every process -------------------------------------------------------
    def env(self) -> dict[str, str]:
        c = self.config
        run = c.run_dir.resolve()
        common = {
            "REDIS_URL": c.redis_url,
            "QUEUE_NAME": c.queue_name,
            "UPLOAD_DIR": str(run / "uploads"),
            "ARTIFACTS_DIR": str(run / "artifacts"),
            "VIDEO_SERVICE_URL": c.video_url,
            "AUDIO_SERVICE_URL": c.audio_url,
        }
        env = dict(os.environ)
        for prefix in ("DEEPFAKE_GATEWAY_", "DEEPFAKE_WORKER_"):
            env.update({prefix + k: v for k, v in common.items()})
        env.update(
            {
                "DEEPFAKE_GATEWAY_HOST": c.host,
                "DEEPFAKE_GATEWAY_PORT": str(c.gateway_port),
                "DEEPFAKE_VIDEO_SERVICE_HOST": "127.0.0.1",
                "DEEPFAKE_VIDEO_SERVICE_PORT": str(c.video_port),
                "DEEPFAKE_AUDIO_SERVICE_HOST": "127.0.0.1",
                "DEEPFAKE_AUDIO_SERVICE_PORT": str(c.audio_port),
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(c.env)
        return env

    # --- starting ----------------------------------------------------------------------------------
    def up(self) -> Stack:
        c = self.config
        if c.state_file.exists():
            other = Stack.load(c.state_file)
            if other.alive():
                raise StackError(f"a stack is already running (see {c.state_file}); run `make down` first")
            c.state_file.unlink()
        c.logs.mkdir(parents=True, exist_ok=True)
        for port in (c.video_port, c.audio_port, c.gateway_port):
            _ensure_port_free(port)  # else a stranger answering /healthz would pass for ours
        t0 = time.monotonic()
        try:
            self._ensure_redis()
            self.timings["redis"] = round(time.monotonic() - t0, 2)
            # each service reads its host and port from its settings (env set in self.env())
            self._spawn("video_service", ["-m", "video_service"])
            self._spawn("audio_service", ["-m", "audio_service"])
            self._wait_http("video_service", c.video_url + "/healthz")
            self._wait_http("audio_service", c.audio_url + "/healthz")
            self.timings["inference_services"] = round(time.monotonic() - t0, 2)
            self._spawn("gateway", ["-m", "gateway"])
            self._wait_http("gateway", c.gateway_url + "/readyz")
            self.timings["gateway"] = round(time.monotonic() - t0, 2)
            for _ in range(c.workers):
                self.start_worker(wait=False)
            self._wait_workers(c.workers)
            self.timings["workers"] = round(time.monotonic() - t0, 2)
        except BaseException:
            self.down()
            raise
        self.save()
        return self

    def _ensure_redis(self) -> None:
        if self._redis_ping():
            return
        parts = urlsplit(self.config.redis_url)
        if parts.hostname not in ("127.0.0.1", "localhost") or not shutil.which("redis-server"):
            raise StackError(f"Redis at {self.config.redis_url} is not answering and cannot be started here")
        self.start_redis()

    def start_redis(self) -> None:
        """Start a private redis-server (append-only file in run/redis, so a restart keeps the jobs)."""
        port = urlsplit(self.config.redis_url).port or 6379
        data = (self.config.run_dir / "redis").resolve()
        data.mkdir(parents=True, exist_ok=True)
        self._spawn("redis", ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(data),
                              "--appendonly", "yes", "--save", "", "--protected-mode", "yes"], python=False)
        self.redis_started = True
        deadline = time.monotonic() + 20
        while not self._redis_ping():
            self._check_alive("redis")
            if time.monotonic() > deadline:
                raise StackError("redis-server did not answer within 20 s" + self._tail("redis"))
            time.sleep(0.1)
        self.save()

    def stop_redis(self) -> None:
        """Stop the private redis-server (it writes its append-only file first)."""
        if not self.redis_started:
            raise StackError("this stack did not start Redis; it will not stop someone else's")
        self._stop("redis", timeout=15)

    def start_worker(self, *, wait: bool = True) -> str:
        self._worker_seq += 1
        name = f"worker{self._worker_seq}"
        self._spawn(name, ["-m", "preprocess_worker", "--name", f"{name}-{self._token}"])
        if wait:
            self._wait_workers(1, names=[f"{name}-{self._token}"])
            self.save()
        return name

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` to one process (tests: a worker killed mid-job)."""
        pid = self.procs[name]
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            pass
        if sig == signal.SIGKILL:
            _reap(pid, 10)
            del self.procs[name]
            self.save()

    def workers(self) -> list[str]:
        return [n for n in self.procs if n.startswith("worker")]

    def _spawn(self, name: str, args: list[str], *, python: bool = True) -> None:
        log = (self.config.logs / f"{name}.log").open("ab")
        cmd = [self.config.python, *args] if python else args
        proc = subprocess.Popen(cmd, cwd=REPO, env=self.env(), stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        self.procs[name] = proc.pid

    def _wait_http(self, name: str, url: str) -> None:
        deadline = time.monotonic() + self.config.start_timeout
        while True:
            self._check_alive(name)
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise StackError(f"{name} did not answer {url} in time" + self._tail(name))
            time.sleep(0.2)

    def _wait_workers(self, count: int, names: list[str] | None = None) -> None:
        from redis import Redis
        from rq import Worker

        names = names or [f"{n}-{self._token}" for n in self.workers()]
        connection = Redis.from_url(self.config.redis_url)
        deadline = time.monotonic() + self.config.start_timeout
        try:
            while True:
                for n in self.workers():
                    self._check_alive(n)
                registered = {w.name for w in Worker.all(connection=connection)}
                if len(set(names) & registered) >= count:
                    return
                if time.monotonic() > deadline:
                    raise StackError("workers did not register in time" + self._tail(self.workers()[-1]))
                time.sleep(0.2)
        finally:
            connection.close()

    def _check_alive(self, name: str) -> None:
        pid = self.procs.get(name)
        if pid is None or not _alive(pid):
            raise StackError(f"{name} exited during start-up" + self._tail(name))

    def _tail(self, name: str, lines: int = 30) -> str:
        path = self.config.logs / f"{name}.log"
        if not path.exists():
            return ""
        text = path.read_text(errors="replace").splitlines()[-lines:]
        return f"\n--- last lines of {path} ---\n" + "\n".join(text)

    def _redis_ping(self) -> bool:
        from redis import Redis
        from redis.exceptions import RedisError

        connection = Redis.from_url(self.config.redis_url, socket_connect_timeout=0.5, socket_timeout=1)
        try:
            return bool(connection.ping())
        except RedisError:
            return False
        finally:
            connection.close()

    # --- stopping ----------------------------------------------------------------------------------
    def down(self) -> None:
        """Stop workers first (so no job starts on a half-stopped stack), then gateway and services, then Redis.

        Each group gets SIGTERM together (workers finish or abandon their job: an abandoned job is retried
        on the next start), then SIGKILL whatever is still alive after ``timeout`` seconds.
        """
        groups = [
            [n for n in self.procs if n.startswith("worker")],
            [n for n in ("gateway", "video_service", "audio_service") if n in self.procs],
            [n for n in ("redis",) if n in self.procs],
        ]
        for group in groups:
            self._stop_many(group)
        if self.config.state_file.exists():
            self.config.state_file.unlink()

    def _stop(self, name: str, timeout: float = 10.0) -> None:
        self._stop_many([name], timeout)

    def _stop_many(self, names: list[str], timeout: float = 10.0) -> None:
        pids = {name: self.procs.pop(name) for name in names if name in self.procs}
        for pid in pids.values():
            try:
                os.killpg(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + timeout
        for pid in pids.values():
            if not _reap(pid, max(0.0, deadline - time.monotonic())):
                try:
                    os.killpg(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                _reap(pid, 5)

    def alive(self) -> bool:
        return any(_alive(pid) for pid in self.procs.values())

    # --- state -------------------------------------------------------------------------------------
    def save(self) -> None:
        c = self.config
        state = {
            "procs": self.procs,
            "redis_started": self.redis_started,
            "worker_seq": self._worker_seq,
            "token": self._token,
            "startup_seconds": self.timings,
            "config": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(c).items() if k != "env"},
            "gateway_url": c.gateway_url,
            "logs": str(c.logs),
        }
        c.run_dir.mkdir(parents=True, exist_ok=True)
        c.state_file.write_text(json.dumps(state, indent=2) + "\n")

    @classmethod
    def load(cls, state_file: Path) -> Stack:
        state = json.loads(Path(state_file).read_text())
        raw = state["config"]
        config = StackConfig(**{**raw, "run_dir": Path(raw["run_dir"])})
        stack = cls(config)
        stack.procs = {k: int(v) for k, v in state["procs"].items()}
        stack.redis_started = state["redis_started"]
        stack._worker_seq = state["worker_seq"]
        stack._token = state["token"]
        return stack


def _ensure_port_free(port: int) -> None:
    import socket

    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            raise StackError(f"port {port} is already in use (another stack? `make down`, or choose another port)") from None


def _alive(pid: int) -> bool:
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)
        if waited == pid:
            return False
    except ChildProcessError:
        pass  # not our child (down from another process): fall back to kill(0)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _reap(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return not _alive(pid)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="deploy/local.py", description="run the stack on this machine")
    parser.add_argument("command", choices=["up", "down", "status"])
    parser.add_argument("--run-dir", default=os.environ.get("DEEPFAKE_RUN_DIR", str(REPO / "run")))
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WORKERS", "2")))
    parser.add_argument("--port", type=int, default=None, help="gateway port (default 8000)")
    args = parser.parse_args(argv)
    config = StackConfig.from_env(run_dir=args.run_dir, workers=args.workers, gateway_port=args.port)
    if args.command == "up":
        try:
            stack = Stack(config).up()
        except StackError as exc:
            print(f"make up failed: {exc}", file=sys.stderr)
            return 1
        redis_note = "started (run/redis)" if stack.redis_started else "already running, reused"
        print(f"stack up: gateway {config.gateway_url}  (docs {config.gateway_url}/docs)")
        print(f"  redis {config.redis_url} {redis_note}; {config.workers} workers; logs in {config.logs}/")
        return 0
    if not config.state_file.exists():
        print("no stack running (no run/stack.json)")
        return 0
    stack = Stack.load(config.state_file)
    if args.command == "status":
        for name, pid in stack.procs.items():
            print(f"{name:15s} pid {pid:7d} {'running' if _alive(pid) else 'DEAD'}")
        return 0
    stack.down()
    print("stack down")
    return 0


if __name__ == "__main__":
    sys.exit(main())
