"""A model role's inference service down in a running stack (issue 17, item 3).

The stack here is this module's own (``running_stack``: private redis-server on a free port, database 7,
one worker), never the session's ``service_stack``: the tests stop its services.

Before: the worker built a remote scorer for every model role on every job, and each one called its
service when made, so with the voice service down an image job failed although an image needs no voice
model, and a video with speech failed instead of being reported without its voice check.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fixtures_stack import RunningStack, running_stack

pytestmark = pytest.mark.e2e

#: not the default 12 of the other service tests; the stack's own redis-server serves it anyway
REDIS_DB = 7


@pytest.fixture(scope="module")
def own_stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    with running_stack(request, tmp_path_factory, workers=1, redis_db=REDIS_DB, queue_name="service-down") as stack:
        yield stack


def upload(stack: RunningStack, path: Path) -> str:
    with path.open("rb") as fh:
        r = httpx.post(f"{stack.url}/v1/analyze", files={"file": (path.name, fh)}, timeout=60)
    assert r.status_code == 202, r.text
    return str(r.json()["id"])


def test_voice_service_down_degrades_only_the_voice_check(own_stack: RunningStack, face_image: Path,
                                                          face_video: Path) -> None:
    stack = own_stack.stack
    # a first video while both services run: the worker now holds a client of the voice service, which
    # must be noticed as gone (not used blindly) once the service stops
    first = own_stack.wait_for(upload(own_stack, face_video), timeout=240)
    assert first["status"] == "done", first["error"]
    assert first["report"]["audio"]["status"] != "not_available"

    stack.stop_service("audio")
    ready = httpx.get(f"{own_stack.url}/readyz", timeout=30)
    assert ready.status_code == 503
    checks = ready.json()["checks"]
    assert checks["video_service"] == "ok" and checks["audio_service"] != "ok"  # each role on its own

    image_job = own_stack.wait_for(upload(own_stack, face_image), timeout=240)
    video_job = own_stack.wait_for(upload(own_stack, face_video), timeout=240)

    assert image_job["status"] == "done", image_job["error"]
    image = image_job["report"]
    assert image["video"]["status"] == "analyzed"
    assert image["audio"]["status"] == "not_applicable"  # an image has no voice: nothing is missing

    assert video_job["status"] == "done", video_job["error"]
    video = video_job["report"]
    assert video["video"]["status"] == "analyzed" and video["video"]["score"] is not None
    voice = video["audio"]
    assert voice["status"] == "not_available" and voice["verdict"] == "not_applicable"
    assert voice["reason"] == "the voice check could not run: the voice analysis service did not answer"
    assert any("voice check could not run" in reason for reason in video["reasons"])
    # the faces still decide: the overall verdict is the faces' one
    assert video["verdict"] == video["video"]["verdict"]


def test_faces_service_down_still_fails_an_image_job(own_stack: RunningStack, face_image: Path) -> None:
    """Faces are what an image is analysed for: without their service the job fails (after its retry)."""
    own_stack.stack.stop_service("video")
    job = own_stack.wait_for(upload(own_stack, face_image), timeout=240)
    assert job["status"] == "failed"
    assert job["error"]["code"] == "service_unavailable"
    assert job["error"]["message"] == "the faces analysis service did not answer"
