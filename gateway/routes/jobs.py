"""The job API: ``POST /v1/analyze``, ``GET``/``DELETE /v1/jobs/{id}``, ``GET /v1/jobs/{id}/artifacts/{name}``.

Uploads are stored in the shared upload folder and enqueued on RQ by dotted path
(:data:`shared.jobs.JOB_FUNCTION`), so the gateway never imports torch, OpenVINO or the pipeline.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import shutil
import time
from pathlib import Path, PurePath
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse, Response
from rq import Callback, Queue, Retry
from rq.serializers import JSONSerializer
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from gateway.deps import (
    ERROR_RESPONSES,
    REDIS_ERRORS,
    QueueDep,
    SettingsDep,
    StoreDep,
    WebhookPolicyDep,
    error_example,
    require_api_key,
)
from gateway.media import SNIFF_BYTES, safe_filename, sniff_media
from shared.errors import FileTooLarge, InvalidArgument, JobNotFound, QueueUnavailable, StorageUnavailable
from shared.jobs import FAILURE_CALLBACK, JOB_FUNCTION, TERMINAL, Job, JobStore, remove_upload, to_job
from shared.settings import GatewaySettings

log = logging.getLogger("gateway")

router = APIRouter(dependencies=[Depends(require_api_key)])

JOB_EXAMPLE = {
    "id": "0f3kq8Yb2nR1cVt9xW4sZg",
    "status": "queued",
    "stage": None,
    "progress": 0.0,
    "filename": "interview.mp4",
    "created_at": "2026-11-26T03:00:00.000+00:00",
    "updated_at": "2026-11-26T03:00:00.000+00:00",
    "report": None,
    "error": None,
}
STORAGE_MESSAGE = "uploads cannot be stored right now (the upload folder is not writable); try again later"


@router.post(
    "/v1/analyze",
    status_code=202,
    response_model=Job,
    tags=["jobs"],
    summary="Upload a file to analyse",
    responses={
        200: {"model": Job, "description": "the job finished within `wait` seconds"},
        202: {"description": "queued", "content": {"application/json": {"example": JOB_EXAMPLE}}},
        413: {"description": "the file is over the size limit",
              **error_example("file_too_large", "the upload is larger than the limit of 500 MB")},
        415: {"description": "not a video, image or audio file",
              **error_example("unsupported_media", "application/pdf files cannot be analysed: ...")},
        **ERROR_RESPONSES,
    },
)
async def analyze(
    request: Request,
    settings: SettingsDep,
    store: StoreDep,
    queue: QueueDep,
    webhook_policy: WebhookPolicyDep,
    file: Annotated[UploadFile, File(description="the video, image or audio file")],
    callback_url: Annotated[
        str | None,
        Form(description="URL POSTed the job JSON when the job ends (done or failed)",
             pattern=r"^https?://", examples=["https://example.org/hooks/deepfake"]),
    ] = None,
    wait: Annotated[
        float, Form(ge=0, le=30, description="seconds to wait for the result before answering 202")
    ] = 0.0,
) -> Response:
    """Queue one file for analysis; answers 202 with the job (200 if it finished within `wait`)."""
    if file.size is not None and file.size > settings.max_upload_bytes:
        raise FileTooLarge(f"the upload is larger than the limit of {settings.max_upload_mb:g} MB")
    head = await file.read(SNIFF_BYTES)
    if not head:
        raise InvalidArgument("the uploaded file is empty")
    kind, _mime = sniff_media(head)
    await file.seek(0)
    if callback_url:
        # resolves the host (blocking DNS): refused targets never reach the queue
        await run_in_threadpool(webhook_policy.check, callback_url)

    job_id = secrets.token_urlsafe(16)
    shown_name = PurePath((file.filename or "upload").replace("\\", "/")).name or "upload"
    upload_path = settings.upload_dir.resolve() / job_id / safe_filename(file.filename)
    await run_in_threadpool(save_upload, file, upload_path, settings.max_upload_bytes)
    try:
        await run_in_threadpool(enqueue, settings, store, queue, job_id, shown_name, upload_path, callback_url)
    except REDIS_ERRORS:
        remove_upload(upload_path, job_id)
        raise QueueUnavailable("the job queue is not available; try again shortly") from None
    request.app.state.metrics.jobs_submitted.labels(kind=kind).inc()

    job = await run_in_threadpool(store.get, job_id, reconcile=False)
    deadline = time.monotonic() + min(wait, settings.max_wait)
    while job is not None and job.status not in TERMINAL and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        job = await run_in_threadpool(store.get, job_id)
    assert job is not None
    status = 200 if job.status in TERMINAL else 202
    return JSONResponse(
        job.model_dump(mode="json"), status_code=status, headers={"Location": f"/v1/jobs/{job_id}"}
    )


@router.get(
    "/v1/jobs/{job_id}",
    response_model=Job,
    tags=["jobs"],
    summary="The job's status, progress and (when done) report",
    responses={404: {"description": "no such job (or it expired)",
                     **error_example("job_not_found", "no job with this id")}, **ERROR_RESPONSES},
)
def get_job(job_id: str, store: StoreDep) -> Job:
    """Status, stage, progress; the report once `done`, the error once `failed`."""
    job = store.get(job_id)
    if job is None:
        raise JobNotFound("no job with this id (it may have expired)")
    return job


@router.delete(
    "/v1/jobs/{job_id}",
    status_code=204,
    tags=["jobs"],
    summary="Cancel a job and delete its record, upload and artifacts",
    responses={404: {"description": "no such job", **error_example("job_not_found", "no job with this id")},
               **ERROR_RESPONSES},
)
def delete_job(job_id: str, settings: SettingsDep, store: StoreDep, queue: QueueDep) -> Response:
    """Cancel (if not finished) and forget a job; a running job stops at its next stage."""
    record = store.delete(job_id)
    if record is None:
        raise JobNotFound("no job with this id (it may have expired)")
    cancel_rq_job(queue, job_id)
    if record.get("upload_path"):
        remove_upload(Path(record["upload_path"]), job_id)
    if record.get("artifacts_dir"):
        shutil.rmtree(record["artifacts_dir"], ignore_errors=True)
    return Response(status_code=204)


@router.get(
    "/v1/jobs/{job_id}/artifacts/{name}",
    tags=["jobs"],
    summary="A picture listed in the report (face thumbnail, heatmap overlay, spectrogram)",
    response_class=FileResponse,
    responses={200: {"content": {"image/png": {"schema": {"type": "string", "format": "binary"}}},
                     "description": "the PNG"},
               404: {"description": "no such job or artifact",
                     **error_example("not_found", "no artifact with this name")}, **ERROR_RESPONSES},
)
def get_artifact(job_id: str, name: str, store: StoreDep) -> FileResponse:
    """One artifact named in `report.artifacts` (plain file names only)."""
    record = store.raw(job_id)
    if record is None:
        raise JobNotFound("no job with this id (it may have expired)")
    job = to_job(record)  # the record just read; no second read, no reconcile (only its artifacts matter)
    listed = {a.name: a for a in (job.report.artifacts if job.report else [])}
    folder = record.get("artifacts_dir")
    if name not in listed or not folder or (Path(folder) / name).parent != Path(folder):
        raise StarletteHTTPException(404, "no artifact with this name")
    path = Path(folder) / name
    if not path.is_file():
        raise StarletteHTTPException(404, "the artifact is no longer stored")
    return FileResponse(path, media_type=listed[name].media_type)


# --- helpers ---------------------------------------------------------------------------------------
def save_upload(file: UploadFile, path: Path, limit: int) -> None:
    """Copy the spooled upload to ``path`` (``upload_dir/<job id>/<name>``), at most ``limit`` bytes.

    Raises:
        FileTooLarge: more than ``limit`` bytes arrived.
        StorageUnavailable: the upload folder cannot be written (permissions, full disk, read-only).
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        written = 0
        with path.open("wb") as out:
            while chunk := file.file.read(1024 * 1024):
                written += len(chunk)
                if written > limit:
                    raise FileTooLarge(f"the upload is larger than the limit of {limit / 1024 / 1024:g} MB")
                out.write(chunk)
    except OSError as exc:
        log.error("cannot store an upload in %s: %s", path.parent.parent, exc)
        shutil.rmtree(path.parent, ignore_errors=True)
        raise StorageUnavailable(STORAGE_MESSAGE) from None
    except BaseException:
        shutil.rmtree(path.parent, ignore_errors=True)
        raise


def enqueue(
    settings: GatewaySettings,
    store: JobStore,
    queue: Queue,
    job_id: str,
    filename: str,
    upload_path: Path,
    callback_url: str | None,
) -> None:
    """Write the job record, then enqueue the job function with every RQ limit set explicitly."""
    attempts = settings.retries + 1
    store.create(
        job_id,
        filename=filename,
        upload_path=upload_path,
        callback_url=callback_url,
        delete_upload=not settings.retain_uploads,
        artifacts_dir=settings.artifacts_dir.resolve() / job_id,
        result_ttl=settings.result_ttl,
        failure_ttl=settings.failure_ttl,
        # an unfinished record outlives every attempt, then the longer of the two TTLs
        pending_ttl=settings.job_timeout * attempts + max(settings.result_ttl, settings.failure_ttl),
        max_crashes=settings.max_worker_crashes,
    )
    queue.enqueue(
        JOB_FUNCTION,
        job_id,
        job_id=job_id,
        description=f"analyze {filename}",
        job_timeout=settings.job_timeout,
        result_ttl=settings.result_ttl,
        failure_ttl=settings.failure_ttl,
        # a retry is re-queued at once (no interval: that would need RQ's scheduler process)
        retry=Retry(max=settings.retries) if settings.retries else None,
        on_failure=Callback(FAILURE_CALLBACK, timeout=60),
    )


def cancel_rq_job(queue: Queue, job_id: str) -> None:
    """Take a job off the queue if it has not started; a started one notices its record is gone."""
    from rq.exceptions import InvalidJobOperation, NoSuchJobError
    from rq.job import Job as RQJob
    from rq.job import JobStatus as RQStatus

    try:
        rq_job = RQJob.fetch(job_id, connection=queue.connection, serializer=JSONSerializer)
    except NoSuchJobError:
        return
    if rq_job.get_status() in (RQStatus.QUEUED, RQStatus.SCHEDULED, RQStatus.DEFERRED):
        try:
            rq_job.cancel()
        except InvalidJobOperation:
            pass
        rq_job.delete()
