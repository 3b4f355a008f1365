"""CSV manifests: the labelled media of ``../shared/media`` and any user CSV of the same shape.

A manifest has at least ``path`` (relative to the CSV's folder, or absolute) and ``label``
(``real``/``bonafide``/``0`` or ``fake``/``spoof``/``1``). Optional columns: ``group`` (identity),
``source``, ``split``, ``attack``. The project's ``manifest-audio.csv`` / ``manifest-visual.csv`` have
no ``group`` column; for them identity and source are derived from where each file came from:

* LJSpeech / WaveFake (``samples/LJ002-0176.wav`` and ``..._gen.wav``): the sentence, so a clip and
  its vocoded copy stay together;
* LibriSpeech (Resemblyzer): the speaker (``1998-15444-0000`` → speaker 1998);
* Tortoise TTS: the voice (``voices/<voice>/*.wav`` recordings and ``.../<voice>.mp3`` generations of
  that voice); other Tortoise outputs each form their own group;
* ASVspoof clips: the protocol speaker when the label note quotes it, else the file.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from shared.datasets.base import FAKE, REAL, Dataset, Sample
from shared.errors import InvalidArgument

_LABELS = {"real": REAL, "bonafide": REAL, "bona-fide": REAL, "0": REAL, "fake": FAKE, "spoof": FAKE, "1": FAKE}

SOURCE_NAMES = {
    "MarkHershey/AudioDeepFakeDetection": "LJSpeech-WaveFake",
    "resemble-ai/Resemblyzer": "LibriSpeech",
    "neonbjb/tortoise-tts": "Tortoise",
    "josebeo2016/audio_augmentor": "ASVspoof2019-LA",
}
_LA_SPEAKER = re.compile(r"(LA_\d{4}) LA_[TDE]_\d+")


def _derived_group_and_source(row: dict[str, str]) -> tuple[str, str]:
    repo = row.get("source_repo", "")
    source = SOURCE_NAMES.get(repo) or row.get("dataset") or repo or "manifest"
    src_path = row.get("source_path") or row.get("path", "")
    stem = Path(src_path).stem
    parts = Path(src_path).parts
    if repo == "MarkHershey/AudioDeepFakeDetection":
        return f"ljspeech:{stem.removesuffix('_gen')}", source
    if repo == "resemble-ai/Resemblyzer":
        return f"librispeech:{stem.split('-', 1)[0]}", source
    if repo == "neonbjb/tortoise-tts":
        if "voices" in parts:
            return f"voice:{parts[parts.index('voices') + 1]}", source
        if len(parts) >= 3 and parts[-3] == "various" or "riding_hood" in parts:
            return f"voice:{stem}", source
        return f"tortoise:{src_path}", source
    m = _LA_SPEAKER.search(row.get("how_label_was_established", ""))
    if m:
        return f"asvspoof2019:{m.group(1)}", source
    return f"file:{src_path}", source


def read_manifest(csv_path: Path) -> Dataset:
    """Read a manifest CSV; files it lists that do not exist are an error (the manifest is wrong)."""
    csv_path = Path(csv_path)
    if not csv_path.is_file():
        raise InvalidArgument(f"manifest {csv_path} does not exist")
    with csv_path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    if not rows or "path" not in rows[0] or "label" not in rows[0]:
        raise InvalidArgument(f"manifest {csv_path}: needs a header with at least 'path' and 'label' columns")
    samples = []
    for number, row in enumerate(rows, 2):
        label = _LABELS.get(row["label"].strip().lower())
        if label is None:
            raise InvalidArgument(f"manifest {csv_path.name} line {number}: unknown label {row['label']!r}")
        path = Path(row["path"])
        path = path if path.is_absolute() else csv_path.parent / path
        if not path.is_file():
            raise InvalidArgument(f"manifest {csv_path.name} line {number}: {path} does not exist")
        group, source = _derived_group_and_source(row)
        attack = row.get("attack") or row.get("attack_id_if_known") or row.get("method_if_fake") or None
        samples.append(
            Sample(
                path=path,
                label=label,
                group=row.get("group") or group,
                source=row.get("source") or source,
                split=(row.get("split") or None),
                attack=attack if label == FAKE and attack else None,
                meta={"id": row["path"]},
            )
        )
    return Dataset(csv_path.stem, csv_path.parent, "manifest", samples)
