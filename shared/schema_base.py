"""The vocabulary every report section shares (verdicts, statuses) and the strict base model.

Apart from :mod:`shared.report` so that a detector's own section model (``shared/provenance/section.py``)
can use it while ``shared.report`` imports that model for its ``Report`` field.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

Verdict = Literal["fake", "real", "uncertain", "not_applicable"]
MediaKind = Literal["video", "image", "audio"]
SectionStatus = Literal["analyzed", "not_applicable", "not_available"]


class StrictModel(BaseModel):
    """Unknown fields are refused: the schema is the contract."""

    model_config = ConfigDict(extra="forbid")
