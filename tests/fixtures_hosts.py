"""Hosts as Linux network namespaces, for the tests and benchmarks that run the stack on several hosts.

A :class:`Network` is a bridge in the calling process's namespace (address ``.254``: the operator, and
the user uploading files) and one namespace per host on a veth pair, each with its own address and its
own loopback, so a process listening on 127.0.0.1 would be out of reach of the other hosts. Making
them needs root (``ip netns``): :func:`make_network` raises :class:`NamespacesUnavailable` with the
reason where that is not permitted. :func:`start_on_hosts` starts the stack across them with the same
runner as ``make up`` (``deploy/local.py``), one ``Stack`` per host.

Used by ``tests/service/test_hosts.py`` and ``benchmarks/bench_service.py --hosts``.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import secrets
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from typing import Any

__all__ = ["Host", "Network", "NamespacesUnavailable", "make_network", "start_on_hosts"]


# --- hosts as network namespaces ---------------------------------------------------------------------
def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check, timeout=30)


@dataclass
class Host:
    name: str  # the namespace
    address: str

    @property
    def launcher(self) -> list[str]:
        return ["ip", "netns", "exec", self.name]

    def pids(self) -> list[int]:
        out = _ip("netns", "pids", self.name, check=False).stdout
        return [int(p) for p in out.split()]

    def listening(self) -> list[str]:
        """The TCP addresses (``ip:port``) something listens on inside this host (its own /proc/net/tcp)."""
        out = subprocess.run([*self.launcher, "cat", "/proc/net/tcp"], capture_output=True, text=True,
                             check=True, timeout=30).stdout
        found = []
        for line in out.splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            if state == "0A":  # LISTEN
                hex_ip, hex_port = local.split(":")
                ip = str(ipaddress.IPv4Address(bytes.fromhex(hex_ip)[::-1]))
                found.append(f"{ip}:{int(hex_port, 16)}")
        return found

    def kill_everything(self) -> None:
        """SIGKILL every process of this host until none is left (a supervisor could start one meanwhile)."""
        deadline = time.monotonic() + 30
        while pids := self.pids():
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            assert time.monotonic() < deadline, f"processes of {self.name} survive SIGKILL: {pids}"
            time.sleep(0.1)

    def delete(self) -> None:
        self.kill_everything()
        _ip("netns", "del", self.name, check=False)


class Network:
    """A bridge in this process's namespace and one namespace per host, each on a veth pair."""

    def __init__(self) -> None:
        self.token = secrets.token_hex(2)
        self.bridge = f"dfbr{self.token}"
        self.hosts: dict[str, Host] = {}
        self.subnet = self._free_subnet()

    @staticmethod
    def _free_subnet() -> str:
        used = _ip("-4", "addr").stdout + _ip("-4", "route").stdout
        for _ in range(50):
            prefix = f"10.{200 + secrets.randbelow(50)}.{secrets.randbelow(250)}"
            if f"{prefix}." not in used:
                return prefix
        raise RuntimeError("no free 10.x.y.0/24 subnet for the test hosts")

    def create(self, names: list[str]) -> dict[str, Host]:
        _ip("link", "add", self.bridge, "type", "bridge")
        _ip("addr", "add", f"{self.subnet}.254/24", "dev", self.bridge)
        _ip("link", "set", self.bridge, "up")
        for i, name in enumerate(names, start=1):
            host = Host(f"df{self.token}{name}", f"{self.subnet}.{i}")
            _ip("netns", "add", host.name)
            self.hosts[name] = host
            outside, inside = f"dfv{self.token}{name}", f"dfp{self.token}{name}"
            _ip("link", "add", outside, "type", "veth", "peer", "name", inside)
            _ip("link", "set", inside, "netns", host.name)
            _ip("-n", host.name, "link", "set", inside, "name", "eth0")
            _ip("-n", host.name, "addr", "add", f"{host.address}/24", "dev", "eth0")
            _ip("-n", host.name, "link", "set", "eth0", "up")
            _ip("-n", host.name, "link", "set", "lo", "up")
            _ip("link", "set", outside, "master", self.bridge)
            _ip("link", "set", outside, "up")
        return self.hosts

    def destroy(self) -> None:
        for name, host in self.hosts.items():
            host.delete()
            _ip("link", "del", f"dfv{self.token}{name}", check=False)
        _ip("link", "del", self.bridge, check=False)


class NamespacesUnavailable(RuntimeError):
    """Network namespaces cannot be made here; the message says why."""


def make_network() -> Network:
    """A :class:`Network` to add hosts to, or :class:`NamespacesUnavailable` saying why there can be none."""
    if shutil.which("ip") is None:
        raise NamespacesUnavailable("needs the `ip` command (iproute2) to make network namespaces")
    if os.geteuid() != 0:
        raise NamespacesUnavailable("needs root to make network namespaces (`ip netns add`); run as root, as CI does")
    probe = f"dfprobe{secrets.token_hex(2)}"
    made = _ip("netns", "add", probe, check=False)
    if made.returncode != 0:
        raise NamespacesUnavailable(f"network namespaces are not permitted here: `ip netns add` said "
                                    f"{made.stderr.strip()!r}")
    _ip("netns", "del", probe, check=False)
    return Network()


def start_on_hosts(runner: Any, hosts: dict[str, Host], base: Any, *, gateway_host: str, service_host: str,
                   worker_hosts: dict[str, int]) -> dict[str, Any]:
    """One ``deploy/local.py`` ``Stack`` per host, started piece by piece: Redis and the gateway on
    ``gateway_host``, the inference services on ``service_host``, ``worker_hosts[name]`` workers on each
    named host. ``base`` is the ``StackConfig`` every host shares (its addresses must be the hosts'); each
    host gets its own run folder below ``base.run_dir`` and runs its processes through ``ip netns exec``.
    Returns the stacks by host name (stop each with ``down()``); if a start fails, what was started is
    stopped before the error is raised."""
    stacks: dict[str, Any] = {}
    try:
        for name, host in hosts.items():
            config = dataclasses.replace(base, run_dir=base.run_dir / name, launcher=host.launcher)
            stacks[name] = runner.Stack(config)
        stacks[gateway_host].start_redis()
        stacks[service_host].start_services()
        stacks[gateway_host].start_gateway()
        for name, count in worker_hosts.items():
            for _ in range(count):
                stacks[name].start_worker()
        stacks[gateway_host].wait_ready()
    except BaseException:
        for stack in stacks.values():
            stack.down()
        raise
    return stacks
