"""The lips kind of evidence is wired in the places docs/DESIGN.md lists for a new kind (at most 6 files)."""

from __future__ import annotations

from pathlib import Path

from shared.evidence import builtin_kinds, get_kind
from shared.evidence.registry import get_evidence_class
from shared.report import Report

REPO = Path(__file__).resolve().parents[2]


def test_registered_in_report_order() -> None:
    declared = get_kind("lips")
    assert declared in builtin_kinds() and declared.cls == "LipsEvidence" and declared.own_model
    kind = get_evidence_class("lips")
    assert kind.section == "lips" and kind.model_role is None
    assert "face_landmarks" in kind.needs and "face_tracks" in kind.needs and "speech_activity" in kind.needs


def test_a_report_field_with_its_schema() -> None:
    assert "lips" in Report.model_fields
    schema = (REPO / "schemas" / "report.schema.json").read_text()
    assert '"LipsSection"' in schema and '"LipsTrack"' in schema


def test_a_page_panel_and_a_doc() -> None:
    kind = get_evidence_class("lips")
    app = (REPO / "gateway" / "static" / "app.js").read_text()
    assert f'"{kind.page_panel}"' in app or f"'{kind.page_panel}'" in app
    doc = (REPO / "docs" / "lips.md").read_text()
    assert "does not prove" in doc


def test_the_landmarks_product_is_made_by_one_provider() -> None:
    from shared.dataflow import check_graph

    check_graph([("lips", get_evidence_class("lips").needs)])
