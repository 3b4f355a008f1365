"""Service throughput: N concurrent uploads (images and short videos) against the local stack.

Starts the stack with the same runner as ``make up`` (``deploy/local.py``) on free ports with a private
Redis, first with one preprocess worker, then adds a second, and for each configuration uploads
``--jobs`` files at once (half images, half 3 s videos with a face and speech) and polls each until done.
Prints throughput (jobs per second, wall clock from first upload to last result) and p50/p95 latency
(upload → done), plus the ratio to the one-worker baseline measured in the same run.

With ``--hosts`` (root: Linux network namespaces, ``tests/fixtures_hosts.py``) the stack runs across
hosts instead: Redis and the gateway on one, both inference services on another, and one preprocess
worker on each of ``--max-workers`` worker hosts; the baseline is one worker host, measured in the same
run, and every worker talks to Redis and the services over the hosts' bridge.

Models: ``DEEPFAKE_VIDEO_MODEL`` / ``DEEPFAKE_AUDIO_MODEL`` (registry names or folders) as for ``make up``.
Media: generated here (the astronaut photo of scikit-image on a moving background), nothing downloaded.

    DEEPFAKE_VIDEO_MODEL=... DEEPFAKE_AUDIO_MODEL=... .venv/bin/python benchmarks/bench_service.py --jobs 8
    sudo DEEPFAKE_VIDEO_MODEL=... DEEPFAKE_AUDIO_MODEL=... .venv/bin/python benchmarks/bench_service.py --hosts
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import secrets
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import httpx

REPO = Path(__file__).resolve().parents[1]


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def make_media(folder: Path) -> tuple[Path, Path]:
    """A PNG with one face and a 3 s H.264/AAC video with one face and speech (the test fixtures' recipe)."""
    import cv2

    media = _load("fixtures_media", REPO / "tests" / "fixtures_media.py")
    image = folder / "face.png"
    cv2.imwrite(str(image), cv2.cvtColor(media._compose(360, 480, 0.0, [(140, 60)]), cv2.COLOR_RGB2BGR))
    video = media.write_video(
        folder / "face.mp4", lambda i: media._compose(360, 640, i / 25, [(220 + 2 * i, 70 + (i % 10))]), 75,
        audio_seconds=3.0,
    )
    return image, video


def run_batch(url: str, files: list[Path], timeout: float = 900.0) -> dict[str, float]:
    """Upload all files at once, poll each to completion; latency per job and overall throughput."""

    def one(path: Path) -> float:
        with httpx.Client(base_url=url, timeout=60) as client:
            start = time.perf_counter()
            with path.open("rb") as fh:
                r = client.post("/v1/analyze", files={"file": (path.name, fh)})
            r.raise_for_status()
            job_id = r.json()["id"]
            while True:
                job = client.get(f"/v1/jobs/{job_id}").json()
                if job["status"] in ("done", "failed"):
                    if job["status"] != "done":
                        raise RuntimeError(f"{path.name}: {job['error']}")
                    return time.perf_counter() - start
                if time.perf_counter() - start > timeout:
                    raise TimeoutError(path.name)
                time.sleep(0.1)

    started = time.perf_counter()
    with ThreadPoolExecutor(len(files)) as pool:
        latencies = sorted(pool.map(one, files))
    wall = time.perf_counter() - started
    p95_index = max(0, round(0.95 * len(latencies)) - 1)
    return {
        "jobs": len(files),
        "wall_s": wall,
        "throughput": len(files) / wall,
        "p50_s": statistics.median(latencies),
        "p95_s": latencies[p95_index],
    }


def bench_queued_scoring(folder: str, faces: int = 96, repeats: int = 3) -> tuple[float, float]:
    """Seconds to score ``faces`` crops: ``FaceScorer`` (sync batches) vs the video service's queued scorer.

    Both use the service's THROUGHPUT compilation; best of ``repeats``, alternating to share the noise.
    """
    import numpy as np

    from shared.inference_app import resolve_model_folder
    from shared.runtime import compile_model
    from shared.video_scoring import FaceScorer
    from video_service.queued import QueuedFaceScorer

    path = resolve_model_folder(folder)
    plain = FaceScorer.from_folder(path, hint="THROUGHPUT")
    queued = QueuedFaceScorer(plain, compile_model(path, hint="THROUGHPUT").compiled)
    batch = np.random.default_rng(0).integers(0, 256, (faces, 224, 224, 3), dtype=np.uint8)
    plain.score(batch[:8])
    sync_s, queued_s = [], []
    for _ in range(repeats):
        t = time.perf_counter()
        plain.score(batch)
        sync_s.append(time.perf_counter() - t)
        t = time.perf_counter()
        queued.score(batch)
        queued_s.append(time.perf_counter() - t)
    return min(sync_s), min(queued_s)


def bench_one_machine(local, tmp_path: Path, files: list[Path], warm: list[Path], max_workers: int,
                      env: dict[str, str]) -> list[tuple[int, dict[str, float]]]:
    """Throughput with 1..max_workers workers, all on this machine (loopback)."""
    from shared.roles import roles

    fixtures_stack = _load("fixtures_stack", REPO / "tests" / "fixtures_stack.py")
    free_port = fixtures_stack.free_port
    config = local.StackConfig(
        run_dir=tmp_path / "run",
        redis_url=f"redis://127.0.0.1:{free_port()}/0",
        gateway_port=free_port(),
        service_ports={role.name: free_port() for role in roles()},
        workers=1,
        queue_name="bench",
        env=env,
    )
    stack = local.Stack(config).up()
    rows = []
    try:
        run_batch(config.gateway_url, warm)  # warm-up: first-call costs are not throughput
        for workers in range(1, max_workers + 1):
            while len(stack.workers()) < workers:
                stack.start_worker()
            rows.append((workers, run_batch(config.gateway_url, files)))
    finally:
        stack.down()
    return rows


def bench_hosts(local, tmp_path: Path, files: list[Path], warm: list[Path], max_workers: int,
                env: dict[str, str]) -> list[tuple[int, dict[str, float]]]:
    """Throughput with 1..max_workers worker hosts (one worker each), across network namespaces."""
    hosts_module = _load("fixtures_hosts", REPO / "tests" / "fixtures_hosts.py")
    network = hosts_module.make_network()  # NamespacesUnavailable says why not
    rows = []
    try:
        worker_names = [f"w{i}" for i in range(1, max_workers + 1)]
        hosts = network.create(["gw", "svc", *worker_names])
        default = local.StackConfig()
        redis_port = urlsplit(default.redis_url).port or 6379
        base = local.StackConfig(
            run_dir=tmp_path / "hosts",
            redis_url=f"redis://:{secrets.token_hex(8)}@{hosts['gw'].address}:{redis_port}/0",
            host=hosts["gw"].address, service_host=hosts["svc"].address, data_dir=tmp_path / "shared",
            workers=0, queue_name="bench", env=env,
        )
        stacks = hosts_module.start_on_hosts(local, hosts, base, gateway_host="gw", service_host="svc",
                                             worker_hosts={worker_names[0]: 1})
        try:
            url = stacks["gw"].config.gateway_url
            run_batch(url, warm)
            for count in range(1, max_workers + 1):
                for name in worker_names[:count]:
                    if not stacks[name].workers():
                        stacks[name].start_worker()
                rows.append((count, run_batch(url, files)))
        finally:
            for stack in stacks.values():
                stack.down()
    finally:
        network.destroy()
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=8, help="concurrent uploads per configuration (half videos)")
    parser.add_argument("--max-workers", type=int, default=2)
    parser.add_argument("--hosts", action="store_true",
                        help="one worker per worker host, hosts as network namespaces (needs root)")
    parser.add_argument("--skip-scoring", action="store_true", help="leave out the queued-scoring comparison")
    args = parser.parse_args()
    from shared.roles import roles

    for var in (role.model_env for role in roles()):
        if var not in os.environ:
            print(f"set {var} (registry name or model folder), as for make up", file=sys.stderr)
            return 2

    local = _load("deploy_local", REPO / "deploy" / "local.py")
    env = {"DEEPFAKE_WORKER_OPENCV_THREADS": "1"}
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-service-") as tmp:
        tmp_path = Path(tmp)
        image, video = make_media(tmp_path)
        files = [image if i % 2 == 0 else video for i in range(args.jobs)]
        bench = bench_hosts if args.hosts else bench_one_machine
        rows = bench(local, tmp_path, files, [image, video], args.max_workers, env)
    load = os.getloadavg()[0]

    if not args.skip_scoring:
        sync_s, queued_s = bench_queued_scoring(os.environ["DEEPFAKE_VIDEO_MODEL"])
        print(f"\nvideo service scoring 96 faces (THROUGHPUT, {os.cpu_count()} cores): FaceScorer sync batches "
              f"{sync_s:.2f} s, AsyncInferQueue {queued_s:.2f} s: {sync_s / queued_s:.2f}x")
    print(f"load average (1 min) before the run {load_before:.1f}, after {load:.1f} "
          "(other processes on this machine slow every number)")
    where = ("worker hosts (network namespaces, one worker each; Redis + gateway and the inference services "
             "on two other hosts)") if args.hosts else "workers (one machine)"
    print(f"\n{args.jobs} concurrent uploads ({args.jobs - args.jobs // 2} PNG images, {args.jobs // 2} "
          f"3 s 640x360 videos with speech), {os.cpu_count()} CPU cores, 1..{args.max_workers} {where}")
    unit = "worker hosts" if args.hosts else "workers"
    print(f"| {unit} | throughput (jobs/s) | vs 1 | p50 latency (s) | p95 latency (s) | wall (s) |")
    print("|---:|---:|---:|---:|---:|---:|")
    base = rows[0][1]["throughput"]
    for workers, r in rows:
        print(f"| {workers} | {r['throughput']:.3f} | {r['throughput'] / base:.2f}x | {r['p50_s']:.1f} | "
              f"{r['p95_s']:.1f} | {r['wall_s']:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
