"""``deepfake evaluate video`` scores exactly what ``deepfake analyze`` reports: the same face stage (sampling,
detector, tracks, interpolated frames), the same track rule, the same calibration map.

Before, evaluate scored the most confident face of 32 frames as one track while analyze reported the most
suspicious of several tracks over every 2nd frame, so a calibration fitted by evaluate was applied by analyze
to another quantity. The two-person clip is where the two differ most.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from shared.cli import main
from shared.report import Report


def _analyze(capsys: pytest.CaptureFixture[str], path: Path, *args: str) -> Report:
    assert main(["analyze", str(path), "--json", *args]) == 0
    return Report.model_validate_json(capsys.readouterr().out)


@pytest.mark.parametrize("flags", [[], ["--frames", "6", "--top-face"]], ids=["defaults", "frames-top-face"])
def test_each_video_score_is_the_one_analyze_reports(
    face_video: Path, two_face_video: Path, video_model_dir: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str], flags: list[str],
) -> None:
    data = tmp_path / "data"
    for label, video in (("real", face_video), ("fake", two_face_video)):
        (data / label).mkdir(parents=True)
        shutil.copy(video, data / label / video.name)
    out = tmp_path / "eval"
    assert main(["evaluate", "video", "--model", str(video_model_dir), "--data", str(data), "--split", "all",
                 "--face-cache", str(tmp_path / "faces"), "--out", str(out), "--quiet", *flags]) == 0
    capsys.readouterr()
    with (out / "scores.csv").open() as fh:
        rows = [r for r in csv.DictReader(fh) if r["level"] == "video"]
    assert len(rows) == 2
    for row in rows:
        label = "real" if row["label"] == "0" else "fake"
        video = face_video if label == "real" else two_face_video
        report = _analyze(capsys, data / label / video.name, "--video-model", str(video_model_dir), *flags)
        assert report.video.status == "analyzed" and report.video.score is not None
        assert float(row["score"]) == pytest.approx(report.video.score, abs=6e-5)  # the report rounds to 4 places
    if not flags:  # the default face stage found both people of the two-person clip, as analyze does
        report = _analyze(capsys, data / "fake" / two_face_video.name, "--video-model", str(video_model_dir))
        assert sum(t.counted for t in report.video.tracks) == 2
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["levels"]["video"]["n"] == 2
