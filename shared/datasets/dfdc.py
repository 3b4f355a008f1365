"""DFDC (Facebook Deepfake Detection Challenge) training folders.

Layout: any number of folders, each with a ``metadata.json`` next to its videos, e.g.
``dfdc_train_part_0/metadata.json`` ... ``dfdc_train_part_49/``, or the Kaggle ``train_sample_videos``.
``metadata.json`` maps a file name to ``{"label": "FAKE"|"REAL", "original": "x.mp4", "split": ...}``.

Identity: a fake and the real video it was made from (``original``) share a group, so a face swap is
never in a different split from its source. The reference recipe (ICPR2020) splits by folder number:
0–34 train, 35–39 validation, 40–49 test (``split="icpr"``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from shared.datasets.base import FAKE, REAL, Dataset, Sample, require_dir
from shared.errors import InvalidArgument

#: the reference split by folder number (ICPR2020)
ICPR_FOLDERS = {"train": range(0, 35), "val": range(35, 40), "test": range(40, 50)}
_TRAILING_NUMBER = re.compile(r"(\d+)$")


def folder_number(folder: Path) -> int | None:
    """The trailing integer of a folder name (``dfdc_train_part_12`` → 12), or None."""
    m = _TRAILING_NUMBER.search(folder.name)
    return int(m.group(1)) if m else None


def icpr_split_of(number: int | None) -> str | None:
    if number is None:
        return None
    for name, numbers in ICPR_FOLDERS.items():
        if number in numbers:
            return name
    return None


def find_metadata(root: Path) -> list[Path]:
    """``metadata.json`` files in ``root`` itself and in its sub-folders (two levels at most)."""
    root = require_dir(root, "DFDC data")
    found = sorted({*root.glob("metadata.json"), *root.glob("*/metadata.json"), *root.glob("*/*/metadata.json")})
    return found


def read_dfdc(root: Path, *, split: str | None = "icpr") -> Dataset:
    """Read every DFDC folder under ``root``.

    Args:
        root: a DFDC folder or a folder of them.
        split: ``"icpr"`` sets each sample's split from its folder number (folders whose name has no
            number, or a number over 49, stay unsplit); ``None`` leaves splitting to the caller.

    Raises:
        InvalidArgument: no ``metadata.json`` found, or one that is not DFDC metadata.
    """
    root = Path(root)
    metas = find_metadata(root)
    if not metas:
        raise InvalidArgument(f"DFDC data: no metadata.json in {root} or its sub-folders")
    samples: list[Sample] = []
    missing = 0
    for meta_path in metas:
        try:
            meta = json.loads(meta_path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise InvalidArgument(f"DFDC data: {meta_path} is not readable JSON ({exc})") from None
        if not isinstance(meta, dict):
            raise InvalidArgument(f"DFDC data: {meta_path} is not a mapping of file name to label")
        folder = meta_path.parent
        number = folder_number(folder)
        folder_split = icpr_split_of(number) if split == "icpr" else None
        for name, info in sorted(meta.items()):
            label_text = str(info.get("label", "")).upper() if isinstance(info, dict) else ""
            if label_text not in ("FAKE", "REAL"):
                raise InvalidArgument(f"DFDC data: {meta_path}: entry {name!r} has no FAKE/REAL label")
            path = folder / name
            if not path.is_file():
                missing += 1
                continue
            original = info.get("original") if label_text == "FAKE" else None
            # the original is named relative to the same folder in DFDC; identity = the real video
            identity = Path(original).stem if original else Path(name).stem
            samples.append(
                Sample(
                    path=path,
                    label=FAKE if label_text == "FAKE" else REAL,
                    group=f"dfdc:{identity}",
                    source="DFDC",
                    split=folder_split,
                    attack="DFDC" if label_text == "FAKE" else None,
                    meta={"folder": folder.name, "folder_number": number, "original": original},
                )
            )
    notes = "split by folder number (ICPR2020: 0-34 train, 35-39 val, 40-49 test)" if split == "icpr" else ""
    if missing:
        notes += f"; {missing} files listed in metadata.json are absent and were skipped"
    return Dataset("DFDC", root, "dfdc", samples, notes.strip("; "))
