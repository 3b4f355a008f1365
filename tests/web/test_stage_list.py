"""The page's stage list while a job runs: kinds of evidence run side by side, so the job's stage names an
earlier step again (frames still decoding after the voice was scored); the list must never untick a step,
and the bar never goes back."""

from __future__ import annotations

import json
from typing import Any

import pytest

pytestmark = pytest.mark.browser

#: what a worker writes into the job record of a video with sound, poll after poll (stage, progress)
POLLS = [
    ("decoding", 0.05), ("detecting_faces", 0.12), ("scoring_audio", 0.3), ("decoding", 0.35),
    ("detecting_faces", 0.42), ("scoring_video", 0.6), ("scoring_video", 0.9), ("merging", 0.98),
]  # fmt: skip


def test_steps_once_ticked_stay_ticked_and_the_bar_never_goes_back(gateway_without_queue: str, new_page: Any) -> None:
    page, problems = new_page()
    served: list[int] = []

    def job(route: Any) -> None:
        n = min(len(served), len(POLLS) - 1)
        served.append(n)
        stage, progress = POLLS[n]
        body = {"id": "stage-test", "status": "running", "stage": stage, "progress": progress, "filename": "clip.mp4",
                "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:01Z", "report": None, "error": None}  # fmt: skip
        route.fulfill(status=200, content_type="application/json", body=json.dumps(body))

    page.route("**/v1/jobs/stage-test", job)
    page.goto(f"{gateway_without_queue}/#job=stage-test")
    ticked: list[set[str]] = []
    bars: list[float] = []
    for _ in range(len(POLLS) + 2):
        page.wait_for_selector("#stages .stage")
        page.wait_for_timeout(700)  # the page polls every 500 ms at first
        ticked.append(set(page.eval_on_selector_all("#stages .stage.done", "els => els.map(e => e.dataset.stage)")))
        bars.append(float(page.eval_on_selector("#job-bar", "el => el.value")))
        if len(served) >= len(POLLS):
            break
    page.wait_for_timeout(1200)  # the last poll (merging) rendered
    ticked.append(set(page.eval_on_selector_all("#stages .stage.done", "els => els.map(e => e.dataset.stage)")))
    assert len(served) >= len(POLLS), served
    for before, after in zip(ticked, ticked[1:], strict=False):
        assert before <= after, f"a step was unticked: {sorted(before - after)}"
    assert bars == sorted(bars)
    assert "scoring_audio" in ticked[-1] and "decoding" in ticked[-1]
    assert problems.errors == []
