"""The evaluation folder: metrics.json, scores.csv, every plot as a real PNG, one self-contained HTML page."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from shared.evaluation.metrics import Threshold, sigmoid
from shared.evaluation.report import ScoredSet, write_evaluation


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_write_evaluation_produces_every_artefact(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    y = np.r_[np.zeros(40), np.ones(40)].astype(int)
    s = sigmoid(rng.normal(size=80) + 2 * y - 1)
    frames = ScoredSet([f"f{i}" for i in range(160)], np.repeat(y, 2), np.repeat(s, 2))
    videos = ScoredSet([f"v{i}" for i in range(80)], y, s, ["A" if i % 2 else "B" for i in range(80)])
    wave = rng.normal(0, 0.1, 16000).astype(np.float32)
    result = write_evaluation(
        tmp_path, {"video": videos, "frame": frames}, Threshold(0.5, "card", "model card"),
        title="t", model_info={"name": "m"}, data_info={"n": 80},
        calibrated={"video": sigmoid(0.5 * np.log(s / (1 - s)))}, calibration={"a": 0.5, "b": 0.0},
        mel_examples=[("real", wave), ("fake", wave)],
    )
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["levels"]["video"]["n"] == 80 and metrics["levels"]["frame"]["n"] == 160
    assert "video (calibrated)" in metrics["levels"]
    assert set(metrics["per_group"]["video"]) == {"A", "B"}
    assert metrics["threshold"]["method"] == "card"
    assert metrics == json.loads(json.dumps(result))
    expected = {f"{kind}_{level}.png" for kind in ("confusion", "roc", "pr", "calibration", "histogram")
                for level in ("video", "frame")} | {"mel_examples.png"}
    assert {p.name for p in (tmp_path / "plots").iterdir()} == expected
    for png in (tmp_path / "plots").iterdir():
        w, h = _png_size(png)
        assert w > 300 and h > 200
    page = (tmp_path / "report.html").read_text()
    assert len(re.findall(r"src='data:image/png;base64,", page)) == len(expected)
    assert "http://" not in page and "https://" not in page
    lines = (tmp_path / "scores.csv").read_text().splitlines()
    assert lines[0] == "level,id,label,score,group" and len(lines) == 1 + 80 + 160
