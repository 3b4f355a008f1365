"""The record of an analysis: exactly what produced a report, so it can be forwarded and repeated elsewhere.

``deepfake analyze FILE --record OUT`` writes it next to the report. It names the file by its sha256, the
models by name, version and the sha256 of the checkpoint they were made from, the band every verdict used,
the tool and report versions, every analysis option and those that differ from the defaults (the settings
that can change the result), and the sha256 of the report it goes with. It holds no path of the machine
that made it: the same file analysed with the same models and options gives the same verdicts elsewhere.
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

RECORD_VERSION = 1


def _model_entry(card: Any) -> dict[str, Any]:
    source = getattr(card, "source", None)
    return {
        "name": card.name,
        "version": card.version,
        "architecture": card.architecture,
        "precision": card.precision,
        "inference_precision": getattr(card, "inference_precision", None),
        "checkpoint": None if source is None else source.file,
        "checkpoint_sha256": None if source is None else source.sha256,
        "decision_threshold": card.decision_threshold,
        "has_calibration": card.calibration is not None,
        "has_operating_point": card.operating_point is not None,
    }


def analysis_record(report: Any, options: Any, scorers: dict[str, Any]) -> dict[str, Any]:
    """The record of one analysis (a JSON-ready dict).

    Args:
        report: the :class:`shared.report.Report` the analysis made.
        options: the ``AnalyzeOptions`` it ran with.
        scorers: model role -> the scorer that ran (each with a ``card``).
    """
    from shared.analysis import AnalyzeOptions
    from shared.settings import AnalyzeSettings

    chosen = dataclasses.asdict(options)
    # the product's defaults (the settings' defaults, no environment): what a plain `deepfake analyze` uses
    defaults = dataclasses.asdict(AnalyzeOptions.from_settings(AnalyzeSettings.model_construct()))
    bands = {}
    for name in report.model_fields:
        section = getattr(report, name)
        band = getattr(section, "band", None)
        if band is not None and getattr(section, "status", None) == "analyzed":
            bands[name] = band.model_dump()
    models = {role: _model_entry(s.card) for role, s in sorted(scorers.items()) if getattr(s, "card", None) is not None}
    used = set(report.models)
    return {
        "record_version": RECORD_VERSION,
        "tool_version": report.tool_version,
        "report_schema_version": report.schema_version,
        "report_sha256": hashlib.sha256(report.model_dump_json().encode()).hexdigest(),
        "created_at": report.created_at,
        "file": {
            "name": report.media.filename,
            "sha256": report.media.sha256,
            "size_bytes": report.media.size_bytes,
            "kind": report.media.kind,
        },
        "verdict": report.verdict,
        "verdict_rests_on": report.verdict_rests_on,
        "summary": report.summary,
        "models": {role: {**entry, "scored": role in used} for role, entry in models.items()},
        "bands": bands,
        "options": chosen,
        "options_changed_from_defaults": {k: v for k, v in chosen.items() if defaults.get(k) != v},
    }
