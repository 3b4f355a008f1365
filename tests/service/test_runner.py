"""``deploy/local.py`` (what ``make up`` runs) without a stack: its defaults, its port check, its supervisor.

The supervisor runs as its own process, as ``make up`` starts it, around a stand-in worker (a Python
one-liner that records its ``--name`` and sleeps); the end-to-end tests do the same with real workers.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from fixtures_stack import load_local_runner

REPO = Path(__file__).resolve().parents[2]


def wait_until(condition, timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached in {timeout} s")
        time.sleep(0.05)


def test_defaults_come_from_the_settings_classes(monkeypatch: pytest.MonkeyPatch) -> None:
    from shared.settings import AudioServiceSettings, GatewaySettings, VideoServiceSettings

    runner = load_local_runner()
    config = runner.StackConfig()
    gateway, video, audio = GatewaySettings(), VideoServiceSettings(), AudioServiceSettings()
    assert (config.redis_url, config.host, config.gateway_port, config.queue_name) == (
        gateway.redis_url, gateway.host, gateway.port, gateway.queue_name)
    assert (config.service_host, config.service_ports) == (video.host, {"video": video.port, "audio": audio.port})

    monkeypatch.setenv("DEEPFAKE_GATEWAY_PORT", "9123")
    monkeypatch.setenv("DEEPFAKE_AUDIO_SERVICE_PORT", "9124")
    from_env = runner.StackConfig.from_env(workers=3)
    assert (from_env.gateway_port, from_env.service_ports["audio"], from_env.workers) == (9123, 9124, 3)
    assert runner.StackConfig.from_env(gateway_port=9200).gateway_port == 9200


def test_port_check_ignores_time_wait_but_refuses_a_listener() -> None:
    """``make down`` then ``make up`` at once: the old gateway's connections linger in TIME_WAIT.

    Before: the check bound without SO_REUSEADDR and said the port was in use for about a minute.
    """
    runner = load_local_runner()
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _ = server.accept()
    with pytest.raises(runner.StackError, match="in use"):
        runner._ensure_port_free(port)  # something listens: refused
    accepted.close()  # the server side closes first, so its end of the connection enters TIME_WAIT
    client.recv(1)
    client.close()
    server.close()
    runner._ensure_port_free(port)  # a fresh stack can bind it now, as uvicorn does


STAND_IN = textwrap.dedent(
    """
    import pathlib, sys, time
    with open(sys.argv[1], "a") as log:
        log.write(sys.argv[-1] + "\\n")
    if sys.argv[2] == "crash":
        sys.exit(3)
    time.sleep(120)
    """
)


def start_supervisor(tmp_path: Path, mode: str, **options) -> tuple[subprocess.Popen, Path, Path]:
    log, pid_file = tmp_path / "names.log", tmp_path / "worker.pid"
    code = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(REPO / "deploy")!r})
        import local
        sup = local.Supervisor(name="w1", pid_file=local.Path({str(pid_file)!r}),
                               program=("-c", {STAND_IN!r}, {str(log)!r}, {mode!r}), **{options!r})
        sys.exit(sup.run())
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, start_new_session=True)
    return proc, log, pid_file


def test_supervisor_restarts_a_killed_worker_under_a_new_name_and_stops_on_sigterm(tmp_path: Path) -> None:
    proc, log, pid_file = start_supervisor(tmp_path, "sleep", first_delay=0.1)
    try:
        wait_until(lambda: pid_file.exists() and log.exists(), what="the first worker")
        first = int(pid_file.read_text())
        os.kill(first, signal.SIGKILL)  # what a decoder crash does to a non-forking worker
        wait_until(lambda: pid_file.read_text().strip() not in ("", str(first)) and
                   len(log.read_text().split()) == 2, what="a new worker")
        assert log.read_text().split() == ["w1", "w1.s1"]  # a new RQ name: the dead one is still registered
        second = int(pid_file.read_text())
        os.killpg(proc.pid, signal.SIGTERM)  # make down: the whole group
        assert proc.wait(30) == 0
        wait_until(lambda: not _alive(second), what="the worker stopping")
        assert log.read_text().split() == ["w1", "w1.s1"]  # not restarted after the stop
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)


def test_supervisor_gives_up_when_the_worker_dies_right_after_every_start(tmp_path: Path) -> None:
    proc, log, _ = start_supervisor(tmp_path, "crash", first_delay=0.01, give_up_after=3)
    try:
        assert proc.wait(60) == 1  # exits, so make up reports the failing log instead of waiting
        assert log.read_text().split() == ["w1", "w1.s1", "w1.s2"]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (exited, not yet reaped by its parent) counts as gone
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_a_slot_counts_as_up_once_any_of_its_workers_registered() -> None:
    """CI: a worker died at start-up and its supervisor's replacement (``.s1``) registered; the runner
    waited for the first name only and gave up on a running stack."""
    runner = load_local_runner()
    slots = ["worker1-ab12cd", "worker2-ab12cd"]
    assert runner.slots_up(slots, ["worker1-ab12cd", "worker2-ab12cd.s1"]) == slots
    assert runner.slots_up(slots, ["worker1-ab12cd.r2"]) == ["worker1-ab12cd"]
    assert runner.slots_up(slots, ["worker12-ab12cd", "other"]) == []  # another slot, not a restart of one
