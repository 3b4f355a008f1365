"""Several face models as one: the ICPR2020 paper's ensemble, whose logits are averaged.

Bonettini et al. (ICPR 2020) average the logits of EfficientNetB4, EfficientNetB4ST, EfficientNetAutoAttB4
and EfficientNetAutoAttB4ST and report a per-video AUC of 0.969 on FaceForensics++ and 0.947 on DFDC for
that ensemble (their Table 3; each member alone is at most 0.962 / 0.942 in the same table). Here an
ensemble is selected by one name wherever a face model is (``--video-model ICPR2020_ensemble_DFDC``,
``DEEPFAKE_VIDEO_MODEL``), or spelt out as ``ensemble:A+B+...`` with registry names or model folders.

An ensemble is an **ensemble folder**: ``ensemble.json`` naming its members' model folders (each one a
published model, parity-checked as usual). :class:`EnsembleFaceScorer` compiles every member once and
averages their logits; attention maps (AutoAtt members) are averaged over the members that give one.
Members must cut faces the same way (input size and margin): the face stage makes one crop per face.
The averaged logit carries no member's calibration or operating point (none was measured for the
average), so the ensemble's card has neither: its verdicts use the configured band and say so.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from shared.errors import ConfigurationError, InvalidArgument
from shared.modelcard import ModelCard, VideoPreprocessing
from shared.video_scoring import FaceScorer, FaceScores, VideoCardMixin

ENSEMBLE_FILE = "ensemble.json"
PREFIX = "ensemble:"

#: the paper's ensembles, by one name each: its four networks trained on one dataset
ICPR2020_ENSEMBLES: dict[str, tuple[str, ...]] = {
    f"ICPR2020_ensemble_{data}": tuple(
        f"{arch}_{data}"
        for arch in ("EfficientNetB4", "EfficientNetB4ST", "EfficientNetAutoAttB4", "EfficientNetAutoAttB4ST")
    )
    for data in ("DFDC", "FFPP")
}
#: what the paper reports for each ensemble (Table 3, per-video AUC)
REPORTED = {"ICPR2020_ensemble_DFDC": {"auc_dfdc": 0.947}, "ICPR2020_ensemble_FFPP": {"auc_ffpp": 0.969}}


def members_of(spec: str) -> tuple[str, ...] | None:
    """The member specs of an ensemble name or ``ensemble:A+B`` spec; ``None`` for a single model."""
    if spec in ICPR2020_ENSEMBLES:
        return ICPR2020_ENSEMBLES[spec]
    if spec.startswith(PREFIX):
        members = tuple(m for m in spec[len(PREFIX) :].split("+") if m)
        if len(members) < 2:
            raise InvalidArgument(f"an ensemble needs at least two models, got {spec!r}")
        return members
    return None


def write_ensemble_folder(name: str, member_folders: list[Path], cache: Path) -> Path:
    """The ensemble folder of ``member_folders`` under ``cache`` (same members -> same folder)."""
    key = hashlib.sha256("\n".join(str(p.resolve()) for p in member_folders).encode()).hexdigest()[:12]
    folder = cache / "ensembles" / f"{name.replace(':', '_').replace('+', '_').replace('/', '_')[:80]}-{key}"
    folder.mkdir(parents=True, exist_ok=True)
    document = {"name": name, "members": [str(p.resolve()) for p in member_folders]}
    target = folder / ENSEMBLE_FILE
    tmp = folder / f".{ENSEMBLE_FILE}.tmp"
    tmp.write_text(json.dumps(document, indent=2) + "\n")
    tmp.replace(target)
    return folder


def is_ensemble_folder(folder: Path) -> bool:
    return (Path(folder) / ENSEMBLE_FILE).is_file()


def ensemble_card(name: str, cards: list[ModelCard]) -> ModelCard:
    """The card of an ensemble: the members' shared crop, no calibration, no operating point."""
    preps = [c.preprocessing for c in cards]
    if not all(isinstance(p, VideoPreprocessing) for p in preps):
        raise ConfigurationError(f"ensemble {name}: every member must be a face model")
    first = preps[0]
    assert isinstance(first, VideoPreprocessing)
    for card, prep in zip(cards, preps, strict=True):
        assert isinstance(prep, VideoPreprocessing)
        if (prep.input_size, prep.margin) != (first.input_size, first.margin):
            raise ConfigurationError(
                f"ensemble {name}: {card.name} cuts faces at {prep.input_size} px with margin {prep.margin}, "
                f"{cards[0].name} at {first.input_size} px with margin {first.margin}; members must cut alike"
            )
    outputs = ["logit"] + (["attention"] if any("attention" in p.outputs for p in preps) else [])  # type: ignore[union-attr]
    training = sorted({c.training_data for c in cards if c.training_data})
    return ModelCard(
        name=name,
        architecture="ensemble(" + ", ".join(c.architecture for c in cards) + ")",
        kind="video",
        preprocessing=first.model_copy(update={"outputs": outputs}),
        training_data="; ".join(training) or None,
        reported_metrics=dict(REPORTED.get(name, {})),
        notes="logits averaged over: " + ", ".join(f"{c.name} ({c.version})" for c in cards),
    )


class EnsembleFaceScorer(VideoCardMixin):
    """Face models run in turn on the same crops; their logits averaged. Same contract as ``FaceScorer``."""

    def __init__(self, name: str, members: list[Any]) -> None:
        if len(members) < 2:
            raise InvalidArgument("an ensemble needs at least two models")
        self.members = members
        self.card = ensemble_card(name, [m.card for m in members])

    @classmethod
    def from_folder(cls, folder: Path | str, **kwargs: Any) -> EnsembleFaceScorer:
        document = json.loads((Path(folder) / ENSEMBLE_FILE).read_text())
        return cls(str(document["name"]), [FaceScorer.from_folder(Path(m), **kwargs) for m in document["members"]])

    def score(self, faces: np.ndarray) -> Any:
        results = [m.score(faces) for m in self.members]
        logits = np.mean(np.stack([np.asarray(r.logits, np.float64) for r in results]), axis=0).astype(np.float32)
        maps = [np.asarray(r.attention, np.float32) for r in results if r.attention is not None]
        attention = np.mean(np.stack(maps), axis=0) if maps and len({m.shape for m in maps}) == 1 else None
        if maps and attention is None:
            raise ConfigurationError(f"ensemble {self.card.name}: its members' attention maps differ in size")
        return FaceScores(logits=logits, attention=attention)


def load_face_scorer(folder: Path | str, **kwargs: Any) -> FaceScorer | EnsembleFaceScorer:
    """The video role's in-process loader: a model folder's ``FaceScorer``, or an ensemble folder's
    :class:`EnsembleFaceScorer` (same contract)."""
    if is_ensemble_folder(Path(folder)):
        return EnsembleFaceScorer.from_folder(folder, **kwargs)
    return FaceScorer.from_folder(folder, **kwargs)
