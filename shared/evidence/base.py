"""The interface of a kind of evidence (faces, voice, provenance...) from media to a report section.

A kind of evidence says which kinds of file it examines (``media_kinds``), the named products it ``needs``
(``shared.dataflow``, ``shared.products``: ``face_tracks``, ``waveform_16k``, ``speech_activity``,
``image``, ``container_tags``, ``media``...), which model scores it (``model_role``: the model the CLI
compiles in-process and the inference service the worker calls, or ``None`` when it needs no model), which
report section it writes (``section``) and which panel of the page shows it (``page_panel``). It never
decodes or detects by itself: what it needs, it asks for by name. The pipeline runs every registered
kind of evidence through the same three steps:

1. :meth:`Evidence.prepare` - what it takes from its products (CPU work only; no model).
2. :meth:`Evidence.score` - the model (``self.scorer``), local or remote.
3. :meth:`Evidence.build_section` - the report section, its verdict and its reasons.

Prepared and scored data are each kind's own dataclasses; the pipeline only passes them along.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

from shared.analysis import RunContext
from shared.findings import FindingWords, generic_words, section_finding
from shared.media.probe import MediaSource
from shared.modelcard import ModelCard
from shared.registry import licence_of
from shared.report import Artifact, Finding, ModelInfo


def model_info(card: ModelCard) -> ModelInfo:
    """The report's description of a model, from its card."""
    return ModelInfo(
        name=card.name,
        version=card.version,
        architecture=card.architecture,
        precision=card.precision,
        training_data=card.training_data,
        reported_metrics=dict(card.reported_metrics),
        decision_threshold=card.decision_threshold,
        licence=card.licence or licence_of(card.name),
    )


class Evidence(ABC):
    """One kind of evidence. Subclasses set the class attributes and implement the three steps.

    Args:
        scorer: the model that scores this evidence (an object with a ``card``), or ``None``.
        unavailable: why there is no scorer, when there should be one (shown in the report).
    """

    #: registry name ("faces", "voice", "provenance")
    name: ClassVar[str]
    #: the :class:`shared.report.Report` field this kind of evidence writes
    section: ClassVar[str]
    #: media kinds it examines; for other kinds it writes :meth:`skipped_section`
    media_kinds: ClassVar[frozenset[str]]
    #: the products it needs (``shared.products``); :meth:`prepare` gets them by name (absent ones: None)
    needs: ClassVar[tuple[str, ...]] = ()
    #: the model it scores with: the name of a ``shared.roles.ROLES`` entry ("video", "audio"), which
    #: says how the CLI loads it in-process and which inference service the worker calls; ``None`` when
    #: it needs no model (runs inside the worker)
    model_role: ClassVar[str | None] = None
    #: the page's panel for this section (``gateway/static/app.js``)
    page_panel: ClassVar[str]
    #: media kinds for which this kind's model is required: without it, analysing such a file is an
    #: error (a video without the face model); elsewhere a missing model is a note in the report
    required_for: ClassVar[frozenset[str]] = frozenset()
    #: how this kind of evidence words its result for people (``shared.findings``); ``None``: generic
    #: words from its name ("signs of manipulation", "no conclusion", ...)
    words: ClassVar[FindingWords | None] = None

    def __init__(self, scorer: Any | None = None, *, unavailable: str | None = None) -> None:
        self.scorer = scorer
        self.unavailable = unavailable

    @property
    def card(self) -> ModelCard | None:
        card = getattr(self.scorer, "card", None)
        return card if isinstance(card, ModelCard) else None

    def applies_to(self, source: MediaSource) -> bool:
        return source.facts.kind in self.media_kinds

    @classmethod
    def needs_model(cls, source: MediaSource) -> bool:
        """Whether analysing ``source`` calls this kind's model (so a runner loads it)."""
        return cls.model_role is not None and source.facts.kind in cls.media_kinds

    @property
    def not_run(self) -> str | None:
        """Why this evidence will not be examined at all (its model could not be had), else ``None``."""
        return self.unavailable if self.model_role is not None and self.scorer is None else None

    def needs_for(self, source: MediaSource) -> tuple[str, ...]:
        """The products to make for this file: none when the evidence will not be examined."""
        return () if self.not_run is not None else self.needs

    @abstractmethod
    def prepare(self, products: dict[str, Any], run: RunContext) -> Any:
        """What this evidence takes from its products (``needs``); ``BadInput`` for unusable input."""

    @abstractmethod
    def score(self, prepared: Any, run: RunContext) -> Any:
        """Run the model on what :meth:`prepare` made (``None`` when there is nothing to score)."""

    @abstractmethod
    def build_section(
        self, source: MediaSource, prepared: Any, scored: Any, run: RunContext, reasons: list[str]
    ) -> Any:
        """The report section; explanations for people go into ``reasons``."""

    @abstractmethod
    def skipped_section(self, source: MediaSource) -> Any:
        """The section for a media kind this kind of evidence does not examine."""

    def write_artifacts(
        self, folder: Path | None, prepared: Any, scored: Any, section: Any, *, heatmaps: Path | None = None
    ) -> list[Artifact]:
        """Pictures that explain the section: page artifacts into ``folder`` (when given), the CLI's
        per-face heatmaps into ``heatmaps`` (when given). None by default."""
        return []

    def finding(self, result: Any) -> Finding | None:
        """This kind's result (its report section, ``None`` when it wrote none) in plain words.

        The default words the section's verdict with :attr:`words` and says where its score falls in its
        band (``shared.findings.section_finding``); override for more (provenance names its signer).
        """
        words = self.words or generic_words(self.name)
        return section_finding(self.name, self.section, result, words, based_on=self.based_on(result))

    def based_on(self, result: Any) -> str | None:
        """What this kind's verdict rests on, in words (which frames, which seconds); ``None`` by default."""
        return None

    @property
    def model_version(self) -> str | None:
        """The version of the model that scored this evidence, for the report's ``models``."""
        card = self.card
        return card.version if card is not None else None
