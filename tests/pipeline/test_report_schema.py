"""The report's JSON Schema is committed, current, and describes what the pipeline emits."""

from __future__ import annotations

import json

import pytest

from shared.report import SCHEMA_PATH, SCHEMA_VERSION, Report, Thresholds, render_schema
from shared.scoring import verdict_for


def test_committed_schema_equals_the_generated_one() -> None:
    assert SCHEMA_PATH.is_file(), "run `make schemas` and commit schemas/report.schema.json"
    assert SCHEMA_PATH.read_text() == render_schema(), "schema out of date: run `make schemas` and commit it"


def test_schema_names_the_fields_the_issue_asks_for() -> None:
    schema = json.loads(SCHEMA_PATH.read_text())
    assert SCHEMA_VERSION in schema["$id"]
    top = schema["properties"]
    for name in (
        "schema_version",
        "verdict",
        "score",
        "media",
        "video",
        "audio",
        "reasons",
        "timings",
        "models",
        "artifacts",
    ):
        assert name in top, name
    assert set(top["verdict"]["enum"]) == {"fake", "real", "uncertain", "not_applicable"}
    defs = schema["$defs"]
    assert {"sha256", "kind", "duration_s", "fps", "width", "height", "video_codec", "audio_codec"} <= set(
        defs["MediaFacts"]["properties"]
    )
    assert {"model", "frames_analyzed", "frames_with_faces", "tracks", "frames"} <= set(
        defs["VideoSection"]["properties"]
    )
    assert {"index", "time_s", "faces"} <= set(defs["FrameResult"]["properties"])
    assert {"model", "segments", "score"} <= set(defs["AudioSection"]["properties"])
    assert {"training_data", "version", "name"} <= set(defs["ModelInfo"]["properties"])
    assert set(defs["Artifact"]["properties"]["kind"]["enum"]) == {
        "face_thumbnail",
        "heatmap_overlay",
        "mel_spectrogram",
    }


@pytest.mark.parametrize(
    ("score", "verdict"),
    [
        (None, "not_applicable"),
        (0.1, "real"),
        (0.35, "uncertain"),
        (0.5, "uncertain"),
        (0.65, "uncertain"),
        (0.9, "fake"),
    ],
)
def test_verdict_band(score: float | None, verdict: str) -> None:
    assert verdict_for(score, Thresholds(uncertain_low=0.35, uncertain_high=0.65)) == verdict


def test_a_measured_point_is_fake_at_its_fake_point_as_the_scoring_module_says() -> None:
    """The face and voice sections take their verdicts from ``report.verdict_for``; a model card's point
    must give what ``shared.scoring.Band`` (and so ``deepfake evaluate``) gives, also exactly at the point."""
    from shared.report import Band
    from shared.scoring import Band as ScoringBand

    measured = Band(uncertain_low=0.2, uncertain_high=0.9, source="model_card", description="measured")
    configured = Band(uncertain_low=0.2, uncertain_high=0.9, source="settings", description="configured")
    point = ScoringBand(fake_at=0.9, real_below=0.2)
    for score in (0.1, 0.2, 0.5, 0.9, 0.95):
        assert verdict_for(score, measured) == point.verdict(score)
    assert verdict_for(0.9, configured) == "uncertain"  # the configured band keeps both bounds uncertain


def test_report_rejects_unknown_fields() -> None:
    with pytest.raises(Exception, match="extra"):
        Report.model_validate({"surprise": 1})
