"""The stack on three hosts, a host lost mid-job, and a Redis restart (issue 22).

The hosts are Linux network namespaces joined by a bridge, each with its own address and its own
loopback, so a process that listened on 127.0.0.1 would be out of reach of the other hosts:

    host A  10.N.M.1   redis-server (append-only file, in this test's folder) and the gateway
    host B  10.N.M.2   one preprocess worker                       <- lost mid-job in the last test
    host C  10.N.M.3   one preprocess worker, the video and audio inference services
    bridge  10.N.M.254 this test process: the operator and the user uploading files

Each host is one ``deploy/local.py`` ``Stack`` whose ``launcher`` is ``ip netns exec <host>``; every
address comes from the stack's configuration, every port is the settings' default (each host has its
own ports). Uploads and artefacts are on storage every host shares (``StackConfig.data_dir``; in a
cluster a ReadWriteMany volume): namespaces share the file system, so what this test proves is the
network side: a worker on another host than the gateway gets the job from Redis, reads the upload,
reaches the services on a third host and writes the report back.

The inference services are on host C, the host that stays: losing host B costs worker capacity only. A
host that ran the only copy of a service would cost that service's evidence until it came back
(``tests/service/test_service_down.py``).

Needs root (``ip netns``); skips, saying why, where namespaces cannot be made. Never touches the
machine's Redis on 127.0.0.1:6379.
"""

from __future__ import annotations

import secrets
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from fixtures_hosts import Host, NamespacesUnavailable, make_network, start_on_hosts
from fixtures_stack import load_local_runner, stack_env

REDIS_DB_URL = "redis://127.0.0.1:6379/14"


# --- the stack on three hosts ------------------------------------------------------------------------
@dataclass
class Cluster:
    hosts: dict[str, Host]
    stacks: dict[str, Any]  # host name -> deploy_local.Stack
    shared_dir: Path

    @property
    def url(self) -> str:
        return self.stacks["a"].config.gateway_url

    def redis(self) -> Any:
        from redis import Redis

        return Redis.from_url(self.stacks["a"].config.redis_url)

    def upload(self, path: Path) -> str:
        with path.open("rb") as fh:
            r = httpx.post(f"{self.url}/v1/analyze", files={"file": (path.name, fh)}, timeout=60)
        assert r.status_code == 202, r.text
        return r.json()["id"]

    def job(self, job_id: str) -> dict:
        r = httpx.get(f"{self.url}/v1/jobs/{job_id}", timeout=15)
        assert r.status_code == 200, r.text
        return r.json()

    def wait_done(self, job_ids: list[str], timeout: float = 600.0) -> dict[str, dict]:
        """Poll every job until it ends; each must end ``done``."""
        deadline = time.monotonic() + timeout
        ended: dict[str, dict] = {}
        while len(ended) < len(job_ids):
            for job_id in job_ids:
                if job_id not in ended:
                    job = self.job(job_id)
                    if job["status"] in ("done", "failed"):
                        ended[job_id] = job
            if time.monotonic() > deadline:
                late = {j: self.job(j)["status"] for j in job_ids if j not in ended}
                raise AssertionError(f"jobs still unfinished after {timeout} s: {late}" + self.tails())
            time.sleep(0.5)
        failed = {j: job["error"] for j, job in ended.items() if job["status"] != "done"}
        assert not failed, f"jobs failed: {failed}" + self.tails()
        return ended

    def rq_worker_of(self, job_id: str) -> str | None:
        from rq.job import Job
        from rq.serializers import JSONSerializer

        return Job.fetch(job_id, connection=self.redis(), serializer=JSONSerializer).worker_name

    def host_of_worker(self, worker_name: str) -> str:
        """Which host's stack a worker (RQ or beat name, ``workerN-TOKEN[.sK|.rK]``) belongs to."""
        for name, stack in self.stacks.items():
            if stack.owns_worker(worker_name):
                return name
        raise AssertionError(f"worker {worker_name} belongs to no host")

    def tails(self) -> str:
        return "".join(stack.log_tail(name, 15) for stack in self.stacks.values() for name in stack.procs)


@pytest.fixture(scope="module")
def cluster(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    if not shutil.which("redis-server"):
        pytest.skip("needs redis-server (apt-get install redis-server)")
    try:
        network = make_network()
    except NamespacesUnavailable as exc:
        pytest.skip(str(exc))
    root = tmp_path_factory.mktemp("hosts")
    runner = load_local_runner()
    try:
        hosts = network.create(["a", "b", "c"])
        a, c = hosts["a"].address, hosts["c"].address
        default_redis = urlsplit(runner.StackConfig().redis_url)
        base = runner.StackConfig(
            run_dir=root,
            # the settings' default port and database, on host A's own address; other hosts need a password
            redis_url=f"redis://:{secrets.token_hex(8)}@{a}:{default_redis.port or 6379}{default_redis.path}",
            host=a,
            service_host=c,
            data_dir=root / "shared",
            workers=0,
            queue_name="hosts",
            env=stack_env(request, root),
            start_timeout=300,
        )
        stacks = start_on_hosts(runner, hosts, base, gateway_host="a", service_host="c",
                                worker_hosts={"b": 1, "c": 1})
        try:
            yield Cluster(hosts=hosts, stacks=stacks, shared_dir=root / "shared")
        finally:
            for stack in stacks.values():
                stack.down()
    finally:
        network.destroy()


# --- the tests ---------------------------------------------------------------------------------------
@pytest.mark.e2e
@pytest.mark.slow
def test_uploads_are_analysed_on_other_hosts_and_nothing_listens_on_loopback(cluster: Cluster, face_video: Path,
                                                                             face_image: Path) -> None:
    for name, host in cluster.hosts.items():
        listening = host.listening()
        assert not [x for x in listening if x.startswith("127.")], f"host {name} listens on loopback: {listening}"
    assert {x.split(":")[0] for x in cluster.hosts["a"].listening()} == {cluster.hosts["a"].address}
    assert len(cluster.hosts["c"].listening()) == 2  # the video and the audio service
    assert cluster.hosts["b"].listening() == []  # a worker only connects out

    ids = [cluster.upload(face_video), cluster.upload(face_image), cluster.upload(face_video)]
    ended = cluster.wait_done(ids)
    for job_id, job in ended.items():
        assert job["report"]["video"]["status"] == "analyzed", job["report"]["video"]
        assert cluster.host_of_worker(cluster.rq_worker_of(job_id) or "?") in ("b", "c")
    # the worker on another host wrote the report's pictures to the shared storage
    assert any((cluster.shared_dir / "artifacts").rglob("*")), "no artefacts on the shared storage"


@pytest.mark.e2e
@pytest.mark.slow
def test_redis_restarted_with_its_append_only_file_loses_no_queued_job(cluster: Cluster,
                                                                       face_image: Path) -> None:
    from rq import Queue, Worker
    from rq.serializers import JSONSerializer
    from rq.suspension import resume, suspend

    redis = cluster.redis()
    workers = len(Worker.all(connection=redis))
    suspend(redis)
    try:
        # An idle worker waits in RQ's dequeue loop and sees the suspension only after one more job:
        # upload that many more, and wait until every worker has finished it and stopped taking jobs.
        ids = [cluster.upload(face_image) for _ in range(workers + 3)]
        deadline = time.monotonic() + 300
        while not all(w.get_state() == "suspended" for w in Worker.all(connection=redis)):
            assert time.monotonic() < deadline, "the workers did not suspend" + cluster.tails()
            time.sleep(0.2)
        queued = set(ids) & set(Queue("hosts", connection=redis, serializer=JSONSerializer).job_ids)
        assert len(queued) >= 3, queued
        cluster.stacks["a"].stop_redis()  # SIGTERM: Redis writes its append-only file and exits
        assert httpx.get(f"{cluster.url}/readyz", timeout=15).status_code == 503
        aof = cluster.stacks["a"].config.run_dir / "redis"
        assert any(p.stat().st_size > 0 for p in aof.rglob("*.aof*")), f"no append-only file in {aof}"
        cluster.stacks["a"].start_redis()  # the same folder: it replays the file
        redis = cluster.redis()
        assert queued <= set(Queue("hosts", connection=redis, serializer=JSONSerializer).job_ids)
    finally:
        resume(cluster.redis())
    cluster.wait_done(ids)


@pytest.mark.e2e
@pytest.mark.slow
def test_a_host_lost_mid_job_loses_no_job(cluster: Cluster, face_video: Path) -> None:
    """Host B dies (every process SIGKILLed, its namespace deleted) while it runs a job: that job is
    retried on host C, every job ends done with its report, and /readyz names B's lost worker."""
    from shared.jobs import JobStore

    ids = [cluster.upload(face_video) for _ in range(6)]
    # B's worker takes jobs back to back; lose B the moment it is seen running one
    deadline = time.monotonic() + 300
    on_b = None
    while on_b is None:
        assert time.monotonic() < deadline, "host B never ran a job" + cluster.tails()
        for job_id in ids:
            if cluster.job(job_id)["status"] == "running":
                worker = cluster.rq_worker_of(job_id)
                if worker and cluster.host_of_worker(worker) == "b":
                    on_b = job_id
                    break
        time.sleep(0.05)
    b_workers = [n for n in _beating(cluster) if cluster.host_of_worker(n) == "b"]
    cluster.hosts["b"].delete()
    assert cluster.hosts["b"].pids() == []

    ended = cluster.wait_done(ids)
    for job in ended.values():
        assert job["report"]["video"]["status"] == "analyzed"
    record = JobStore(cluster.redis()).raw(on_b)
    assert record is not None and record.get("crashes") == "1", record  # its attempt on B counted as lost
    assert cluster.host_of_worker(cluster.rq_worker_of(on_b) or "?") == "c"

    ready = httpx.get(f"{cluster.url}/readyz", timeout=15).json()
    assert ready["status"] == "ready" and ready["workers"] == 1, ready  # C's worker carries on
    assert b_workers and set(b_workers) <= set(ready["lost_workers"]), (b_workers, ready)


def _beating(cluster: Cluster) -> list[str]:
    from shared.jobs import live_workers

    return live_workers(cluster.redis())


# --- lost workers, without the namespaces ------------------------------------------------------------
def test_lost_workers_are_those_whose_beat_ran_out_without_a_goodbye(redis_db) -> None:
    from shared.jobs import LOST_WORKER_MEMORY, live_workers, lost_workers, worker_beat, worker_gone

    worker_beat(redis_db, "killed", ttl=-1)
    worker_beat(redis_db, "long-gone", ttl=-(LOST_WORKER_MEMORY + 5))
    worker_beat(redis_db, "alive", ttl=30)
    worker_beat(redis_db, "stopping", ttl=30)
    worker_gone(redis_db, "stopping")
    assert live_workers(redis_db) == ["alive"]
    assert lost_workers(redis_db) == ["killed"]
    assert redis_db.zscore("deepfake:workers:alive", "long-gone") is None  # forgotten after a while


# --- the runner's pieces for several hosts, without starting anything --------------------------------
def test_each_host_gets_its_addresses_shared_storage_and_launcher(tmp_path: Path) -> None:
    from shared.roles import roles

    runner = load_local_runner()
    names = [role.name for role in roles()]
    config = runner.StackConfig(run_dir=tmp_path / "b", redis_url="redis://:pw@10.9.9.1:6379/0", host="10.9.9.1",
                                service_host="10.9.9.3", service_hosts={names[0]: "10.9.9.4"},
                                data_dir=tmp_path / "shared", launcher=["ip", "netns", "exec", "hostb"])
    env = runner.Stack(config).env()
    first, rest = names[0], names[1:]
    assert config.service_url(first).startswith("http://10.9.9.4:")
    assert all(config.service_url(n).startswith("http://10.9.9.3:") for n in rest)
    for role in roles():
        assert env[role.service_env_prefix + "HOST"] == config.service_host_of(role)
        assert env[role.worker_url_env] == env[role.gateway_url_env] == config.service_url(role)
    for prefix in ("DEEPFAKE_GATEWAY_", "DEEPFAKE_WORKER_"):
        assert env[prefix + "UPLOAD_DIR"] == str((tmp_path / "shared" / "uploads").resolve())
        assert env[prefix + "REDIS_URL"] == "redis://:pw@10.9.9.1:6379/0"
    assert env["DEEPFAKE_GATEWAY_HOST"] == "10.9.9.1"


def test_a_redis_other_hosts_reach_must_have_a_password(tmp_path: Path) -> None:
    """Redis's protected mode would refuse every other host: say so at start instead."""
    runner = load_local_runner()
    stack = runner.Stack(runner.StackConfig(run_dir=tmp_path, redis_url="redis://10.9.9.1:6379/0"))
    with pytest.raises(runner.StackError, match="password"):
        stack.start_redis()
    assert stack.procs == {}


def test_logs_show_a_redis_url_without_its_password() -> None:
    from shared.settings import without_password

    assert without_password("redis://:s3cret@10.0.0.1:6379/0") == "redis://:***@10.0.0.1:6379/0"
    assert without_password("redis://app:s3cret@redis/2") == "redis://app:***@redis/2"
    assert without_password("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
