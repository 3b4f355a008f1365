"""Run the whole stack on one machine: ``make up`` / ``make down`` (or ``python deploy/local.py up|down|status``).

Starts, in order: Redis (only if none answers at the configured URL; then with an append-only file in
``run/redis`` so queued jobs survive a restart), the inference service of every model role
(``shared.roles``: video_service, audio_service; waits until each has compiled its model and answers
``/healthz``), the gateway (port 8000 unless configured) and N
preprocess workers (waits until each has registered with RQ). Every process writes its log to
``run/logs/<name>.log``; PIDs and URLs go to ``run/stack.json`` so ``down`` stops exactly what ``up``
started. If any step fails, what was started is stopped again and the failing log's tail is printed.

Workers are supervised: each worker slot is a small supervisor process (``local.py supervise``) that
runs one ``python -m preprocess_worker`` and starts a new one (a new RQ name, after a backoff) whenever
it dies, e.g. killed by a file that crashes the decoder. It stops restarting after a clean exit, on
SIGTERM (``make down`` signals the slot's whole process group), or when the worker keeps dying right
after start (a configuration error: the slot then exits and ``make up`` shows the log).

Configuration is the services' own environment variables (``DEEPFAKE_*``, see ``docs/service.md``);
every default (ports, Redis URL, queue name, hosts) is read from the settings classes in
``shared/settings.py``, never repeated here. The same ``Stack`` class starts the stack for the
end-to-end tests.

The same class runs one host's share of a stack spread over several hosts: ``StackConfig.launcher``
runs every process through a prefix (``ip netns exec HOST`` in ``tests/fixtures_hosts.py``),
``service_hosts`` says where each inference service listens, ``data_dir`` is the storage all hosts share
for uploads and artefacts, and ``start_redis``/``start_services``/``start_gateway``/``start_worker`` start
the pieces one by one instead of ``up()``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script (``python deploy/local.py``): the library is beside it
    sys.path.insert(0, str(REPO))

from shared.roles import ModelRole, get_role, roles  # noqa: E402
from shared.settings import GatewaySettings  # noqa: E402

log = logging.getLogger("deploy.local")


def _default(settings_class: Any, name: str) -> Any:
    """A field's default as its settings class declares it (the one place defaults live)."""
    return settings_class.model_fields[name].get_default(call_default_factory=True)


def _service_ports(read_env: bool = False) -> dict[str, int]:
    """Each model role's service port: its settings' default, or the environment's when ``read_env``."""
    if read_env:
        return {role.name: role.service_settings_class()().port for role in roles()}
    return {role.name: _default(role.service_settings_class(), "port") for role in roles()}


def _service_host() -> str:
    # every inference service shares its host settings (``_InferenceServiceSettings``): one host for all
    return str(_default(next(iter(roles())).service_settings_class(), "host"))


@dataclass
class StackConfig:
    run_dir: Path = REPO / "run"
    redis_url: str = field(default_factory=lambda: _default(GatewaySettings, "redis_url"))
    host: str = field(default_factory=lambda: _default(GatewaySettings, "host"))
    gateway_port: int = field(default_factory=lambda: _default(GatewaySettings, "port"))
    #: where the inference services listen (the gateway and workers reach them there)
    service_host: str = field(default_factory=_service_host)
    #: model role name -> its inference service's port (``shared.roles``)
    service_ports: dict[str, int] = field(default_factory=_service_ports)
    workers: int = 2
    queue_name: str = field(default_factory=lambda: _default(GatewaySettings, "queue_name"))
    python: str = sys.executable
    #: extra environment for every process (model folders, TTLs, ...); wins over the inherited one
    env: dict[str, str] = field(default_factory=dict)
    start_timeout: float = 600.0
    #: model role name -> the host its inference service listens on, where it is not ``service_host``
    #: (services spread over several hosts)
    service_hosts: dict[str, str] = field(default_factory=dict)
    #: the storage every host shares for uploads and artefacts (``uploads/``, ``artifacts/``): the
    #: gateway writes an upload there and a worker on another host reads it from there (a cluster's
    #: shared volume). Default: ``run_dir``, one machine.
    data_dir: Path | None = None
    #: put before every command this stack starts, e.g. ``["ip", "netns", "exec", "hostb"]`` to run
    #: the processes on another (network-namespace) host; it must exec the command (same PID)
    launcher: list[str] = field(default_factory=list)

    @classmethod
    def from_env(cls, **overrides: object) -> StackConfig:
        """The settings classes read from the environment (``DEEPFAKE_*``), then explicit overrides (None = keep)."""
        gateway = GatewaySettings()
        first = next(iter(roles())).service_settings_class()()
        cfg = cls(
            redis_url=gateway.redis_url,
            host=gateway.host,
            gateway_port=gateway.port,
            service_host=first.host,
            service_ports=_service_ports(read_env=True),
            queue_name=gateway.queue_name,
        )
        for key, value in overrides.items():
            if value is not None:
                setattr(cfg, key, type(getattr(cfg, key))(value) if key != "run_dir" else Path(value))  # type: ignore[arg-type]
        return cfg

    @property
    def gateway_url(self) -> str:
        return f"http://{self.host}:{self.gateway_port}"

    def service_host_of(self, role: ModelRole | str) -> str:
        """The host the inference service of a model role (or role name) listens on."""
        name = role if isinstance(role, str) else role.name
        return self.service_hosts.get(name, self.service_host)

    def service_url(self, role: ModelRole | str) -> str:
        """Where the inference service of a model role (or role name) listens."""
        name = role if isinstance(role, str) else role.name
        return f"http://{self.service_host_of(name)}:{self.service_ports[name]}"

    @property
    def shared_dir(self) -> Path:
        """Where uploads and artefacts live (``data_dir``, else ``run_dir``)."""
        return (self.data_dir or self.run_dir).resolve()

    @property
    def logs(self) -> Path:
        return self.run_dir / "logs"

    @property
    def state_file(self) -> Path:
        return self.run_dir / "stack.json"

    @property
    def pids(self) -> Path:
        """Where each worker slot's supervisor writes the PID of the worker it runs now."""
        return self.run_dir / "pids"


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
        data = c.shared_dir
        common = {
            "REDIS_URL": c.redis_url,
            "QUEUE_NAME": c.queue_name,
            "UPLOAD_DIR": str(data / "uploads"),
            "ARTIFACTS_DIR": str(data / "artifacts"),
            **{role.service_url_field.upper(): c.service_url(role) for role in roles()},
        }
        env = dict(os.environ)
        for prefix in ("DEEPFAKE_GATEWAY_", "DEEPFAKE_WORKER_"):
            env.update({prefix + k: v for k, v in common.items()})
        env.update(
            {
                "DEEPFAKE_GATEWAY_HOST": c.host,
                "DEEPFAKE_GATEWAY_PORT": str(c.gateway_port),
                "PYTHONUNBUFFERED": "1",
            }
        )
        for role in roles():
            env[role.service_env_prefix + "HOST"] = c.service_host_of(role)
            env[role.service_env_prefix + "PORT"] = str(c.service_ports[role.name])
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
        for port in (*c.service_ports.values(), c.gateway_port):
            _ensure_port_free(port)  # else a stranger answering /healthz would pass for ours
        t0 = time.monotonic()
        try:
            self._ensure_redis()
            self.timings["redis"] = round(time.monotonic() - t0, 2)
            self.start_services()
            self.timings["inference_services"] = round(time.monotonic() - t0, 2)
            self.start_gateway()
            self.timings["gateway"] = round(time.monotonic() - t0, 2)
            for _ in range(c.workers):
                self.start_worker(wait=False)
            self._wait_workers(c.workers)
            self.timings["workers"] = round(time.monotonic() - t0, 2)
            # ready only now: /readyz needs a live worker (and the services, Redis, the upload folder)
            self.wait_ready()
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
        """Start a private redis-server (append-only file in run/redis, so a restart keeps the jobs).

        It listens only on the address of ``redis_url``: loopback on one machine; the host's own address
        when the stack runs on several hosts (see ``launcher``). Redis's protected mode refuses other
        hosts unless a password is set, so such a URL must carry one (``redis://:PASSWORD@host:port/db``),
        which becomes ``requirepass``."""
        parts = urlsplit(self.config.redis_url)
        data = (self.config.run_dir / "redis").resolve()
        data.mkdir(parents=True, exist_ok=True)
        bind = "127.0.0.1" if parts.hostname in (None, "localhost") else str(parts.hostname)
        if not bind.startswith("127.") and not parts.password:
            raise StackError(f"a Redis other hosts reach needs a password in its URL ({self.config.redis_url}): "
                             "redis://:PASSWORD@host:port/db")
        password = ["--requirepass", parts.password] if parts.password else []
        self._spawn("redis", ["redis-server", "--port", str(parts.port or 6379), "--bind", bind, "--dir", str(data),
                              "--appendonly", "yes", "--save", "", "--protected-mode", "yes", *password],
                    python=False)
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

    def start_gateway(self, *, wait: bool = True) -> None:
        """Start the gateway (``python -m gateway``); waits until it answers ``/healthz``."""
        self._spawn("gateway", ["-m", "gateway"])
        if wait:
            self._wait_http("gateway", self.config.gateway_url + "/healthz")
            self.save()

    def wait_ready(self) -> None:
        """Wait until the gateway's ``/readyz`` says ready (Redis, every service, a live worker)."""
        self._wait_http("gateway", self.config.gateway_url + "/readyz")

    def start_services(self, role_names: list[str] | None = None) -> None:
        """Start the inference services of these model roles (default: every role) side by side, each
        compiling its model, and wait until all answer ``/healthz``. Each reads its host and port from
        its settings (the environment of :meth:`env`)."""
        names = role_names if role_names is not None else [role.name for role in roles()]
        for name in names:
            self.start_service(name, wait=False)
        for name in names:
            role = get_role(name)
            self._wait_http(role.service, self.config.service_url(role) + "/healthz")
        self.save()

    def start_service(self, role_name: str, *, wait: bool = True) -> None:
        """Start the inference service of a model role (``python -m <service>``), e.g. again after
        :meth:`stop_service`."""
        role = get_role(role_name)
        self._spawn(role.service, ["-m", role.service])
        if wait:
            self._wait_http(role.service, self.config.service_url(role) + "/healthz")
            self.save()

    def stop_service(self, role_name: str) -> None:
        """Stop the inference service of a model role (tests: a service that went down)."""
        self._stop(get_role(role_name).service)
        self.save()

    def start_worker(self, *, wait: bool = True) -> str:
        """Start one supervised worker slot; returns its name (``workerN``)."""
        self._worker_seq += 1
        name = f"worker{self._worker_seq}"
        self.config.pids.mkdir(parents=True, exist_ok=True)
        self._spawn(name, [str(Path(__file__).resolve()), "supervise", "--name", f"{name}-{self._token}",
                           "--pid-file", str(self.worker_pid_file(name))])
        if wait:
            self._wait_workers(1, names=[f"{name}-{self._token}"])
            self.save()
        return name

    def worker_pid_file(self, name: str) -> Path:
        return self.config.pids / f"{name}.pid"

    def worker_pid(self, name: str) -> int:
        """The PID of the worker process slot ``name`` runs now (not its supervisor's)."""
        return int(self.worker_pid_file(name).read_text())

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

    def owns_worker(self, worker_name: str) -> bool:
        """Whether an RQ or liveness-beat worker name is one of this stack's worker slots: the slot's
        first worker (``workerN-TOKEN``), one its supervisor started instead (``.sK``) or one renamed
        after a Redis error (``.rK``)."""
        return bool(slots_up([f"{n}-{self._token}" for n in self.workers()], [worker_name]))

    def log_tail(self, name: str, lines: int = 30) -> str:
        """The last lines of a process's log (RQ's housekeeping lines left out), for error messages."""
        return self._tail(name, lines)

    def _spawn(self, name: str, args: list[str], *, python: bool = True) -> None:
        self.config.logs.mkdir(parents=True, exist_ok=True)  # also when started piece by piece, not by up()
        log = (self.config.logs / f"{name}.log").open("ab")
        cmd = [*self.config.launcher, *([self.config.python, *args] if python else args)]
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
                up = slots_up(names, [w.name for w in Worker.all(connection=connection)])
                if len(up) >= count:
                    return
                if time.monotonic() > deadline:
                    late = [n for n in names if n not in up]
                    slot = late[-1].removesuffix(f"-{self._token}")
                    raise StackError(f"workers {late} did not register in time" + self._tail(slot))
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
        # RQ's housekeeping lines every few seconds would push the cause (a traceback, the supervisor's
        # restart warnings) out of the tail
        text = [line for line in path.read_text(errors="replace").splitlines()
                if "cleaning registries" not in line and "cleaning group registries" not in line][-lines:]
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
        groups: list[list[str]] = [
            [n for n in self.procs if n.startswith("worker")],
            [n for n in ("gateway", *(role.service for role in roles())) if n in self.procs],
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
        config = StackConfig(**{**raw, "run_dir": Path(raw["run_dir"]),
                                "data_dir": Path(raw["data_dir"]) if raw.get("data_dir") else None})
        stack = cls(config)
        stack.procs = {k: int(v) for k, v in state["procs"].items()}
        stack.redis_started = state["redis_started"]
        stack._worker_seq = state["worker_seq"]
        stack._token = state["token"]
        return stack


def _ensure_port_free(port: int) -> None:
    """Refuse a port something listens on. SO_REUSEADDR, like uvicorn's own bind: connections of a
    stack just stopped linger in TIME_WAIT for a minute and must not make the port look busy."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            raise StackError(f"port {port} is already in use (another stack? `make down`, or choose another port)") from None


def slots_up(slots: list[str], registered: list[str]) -> list[str]:
    """The worker slots with a worker registered in RQ: its first (``NAME``), or the one its supervisor
    started in place of a dead one (``NAME.sK``), or one renamed after a Redis error (``NAME.rK``)."""
    return [n for n in slots if any(r == n or r.startswith((f"{n}.s", f"{n}.r")) for r in registered)]


# --- worker supervision ----------------------------------------------------------------------------
@dataclass
class Supervisor:
    """Keeps one worker running: starts it, and starts a new one whenever it dies.

    Each new worker gets a new RQ name (``NAME.sK``): the dead one stays registered in RQ until its key
    expires. After a clean exit (status 0: a warm stop) or a SIGTERM to the supervisor it stops. If the
    worker dies ``give_up_after`` times in a row within ``quick_exit`` seconds of starting, the cause
    is not a job but the set-up, and the supervisor exits with status 1 (``make up`` reports it).

    Signals are not forwarded: the supervisor and its worker share a process group, and the runner
    signals the group (``make down``), so forwarding would give RQ a second SIGTERM (a cold stop).
    """

    name: str
    pid_file: Path
    python: str = sys.executable
    #: what to run, before ``--name NAME``
    program: tuple[str, ...] = ("-m", "preprocess_worker")
    first_delay: float = 1.0
    max_delay: float = 30.0
    quick_exit: float = 10.0
    give_up_after: int = 5
    _stopping: bool = False

    def command(self, restarts: int) -> list[str]:
        name = self.name if restarts == 0 else f"{self.name}.s{restarts}"
        return [self.python, *self.program, "--name", name]

    def _on_signal(self, signum: int, frame: Any) -> None:
        self._stopping = True

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        restarts, quick_failures, delay = 0, 0, self.first_delay
        while not self._stopping:
            started = time.monotonic()
            child = subprocess.Popen(self.command(restarts), cwd=REPO)
            self.pid_file.write_text(f"{child.pid}\n")
            status = child.wait()  # PEP 475: a signal to us does not interrupt the wait
            if self._stopping or status == 0:
                return 0
            quick_failures = quick_failures + 1 if time.monotonic() - started < self.quick_exit else 0
            if quick_failures >= self.give_up_after:
                log.error("%s: the worker died %d times right after starting; giving up", self.name, quick_failures)
                return 1
            if quick_failures == 0:
                delay = self.first_delay  # it ran a while: this death was a job's, not the set-up's
            restarts += 1
            log.warning("%s: the worker exited with %s; starting %s in %.0f s", self.name, _describe(status),
                        self.command(restarts)[-1], delay)
            deadline = time.monotonic() + delay
            while not self._stopping and time.monotonic() < deadline:
                time.sleep(0.1)
            delay = min(delay * 2, self.max_delay)
        return 0


def _describe(status: int) -> str:
    if status < 0:
        try:
            return f"signal {signal.Signals(-status).name}"
        except ValueError:
            return f"signal {-status}"
    return f"status {status}"


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
    parser.add_argument("command", choices=["up", "down", "status", "supervise"])
    parser.add_argument("--run-dir", default=os.environ.get("DEEPFAKE_RUN_DIR", str(REPO / "run")))
    parser.add_argument("--workers", type=int, default=None, help=f"preprocess workers (default {StackConfig.workers})")
    parser.add_argument("--port", type=int, default=None,
                        help="gateway port (default: DEEPFAKE_GATEWAY_PORT, else the settings' default)")
    parser.add_argument("--name", help="supervise: the worker's RQ name")
    parser.add_argument("--pid-file", help="supervise: where to write the running worker's PID")
    args = parser.parse_args(argv)
    if args.command == "supervise":
        logging.basicConfig(level="INFO", format="%(asctime)s %(levelname)s supervisor: %(message)s")
        if not args.name or not args.pid_file:
            parser.error("supervise needs --name and --pid-file")
        return Supervisor(name=args.name, pid_file=Path(args.pid_file)).run()
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
