"""The hostile corpus through the running stack (real gateway, Redis, RQ workers, inference services).

Every case ends with a report or a clean refusal: a 4xx at upload (sniffed format, size) or a job that
fails with a non-internal error code; no job hangs, no upload is left behind, and the workers are still
alive afterwards (``/readyz``), ready for the next ordinary job.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.e2e

#: codes that would mean the fault was ours, or that a file took a worker down
INTERNAL = {"internal_error", "worker_crashed", "worker_lost", "job_timeout", "inference_failed", "model_contract"}


def _upload(stack, path: Path) -> httpx.Response:  # type: ignore[no-untyped-def]
    with path.open("rb") as fh:
        return httpx.post(f"{stack.url}/v1/analyze", files={"file": (path.name, fh)}, timeout=60)


def test_every_hostile_case_through_the_stack(service_stack, hostile_corpus, face_image: Path) -> None:  # type: ignore[no-untyped-def]
    limit = service_stack.max_upload_mb * 1_000_000
    problems: list[str] = []
    jobs: dict[str, str] = {}
    for name, case in hostile_corpus.items():
        r = _upload(service_stack, case.path)
        too_big = case.path.stat().st_size > limit
        if too_big and r.status_code != 413:
            problems.append(f"{name}: upload answered {r.status_code}, expected 413: {r.text[:200]}")
            continue
        if too_big or (case.refused_at_upload and 400 <= r.status_code < 500):
            continue  # refused at the door, with its error body (415 by format, 422 for an empty file)
        if r.status_code not in (200, 202):  # 200: the gateway answered with the job already decided
            # the gateway may refuse by sniffing what the CLI refuses later: a clean 4xx is fine for a refusal
            if not (case.expect == "refused" and 400 <= r.status_code < 500):
                problems.append(f"{name}: upload answered {r.status_code}: {r.text[:200]}")
            continue
        jobs[name] = r.json()["id"]
    started = time.monotonic()
    for name, job_id in jobs.items():
        case = hostile_corpus[name]
        try:
            job = service_stack.wait_for(job_id, timeout=max(60.0, 600.0 - (time.monotonic() - started)))
        except AssertionError as exc:
            problems.append(f"{name}: {str(exc)[:300]}")
            continue
        if case.expect == "report":
            if job["status"] != "done":
                problems.append(f"{name}: expected a report, got {job['status']} {job['error']}")
            elif case.verdict and job["report"]["verdict"] != case.verdict:
                problems.append(f"{name}: verdict {job['report']['verdict']}, expected {case.verdict}")
        else:
            error = job.get("error") or {}
            if job["status"] != "failed" or error.get("code") in INTERNAL:
                problems.append(f"{name}: expected a clean refusal, got {job['status']} {error}")
            elif case.code and error.get("code") != case.code:
                problems.append(f"{name}: error code {error.get('code')}, expected {case.code}")
    assert not problems, "\n".join(problems)
    uploads = service_stack.run_dir / "uploads"
    assert not any(uploads.joinpath(job_id).exists() for job_id in jobs.values())
    ready = httpx.get(f"{service_stack.url}/readyz", timeout=10).json()
    assert ready["checks"]["workers"] == "ok" and ready["workers"] >= 1, ready
    job = service_stack.wait_for(_upload(service_stack, face_image).json()["id"])  # the service still works
    assert job["status"] == "done" and job["report"]["video"]["status"] == "analyzed"
