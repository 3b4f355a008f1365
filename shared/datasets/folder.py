"""A plain labelled folder: ``real/`` and ``fake/`` (``bonafide/`` and ``spoof/`` are accepted too).

Layout, either::

    root/real/...   root/fake/...                     (split made by identity group)
    root/train/real/... root/val/... root/test/...    (the user's own split)

Identity: a file directly inside ``real/`` or ``fake/`` is its own group (its stem); files in a
sub-folder (``real/alice/1.mp4``) share that sub-folder as their group, so put one person's or one
speaker's files in one sub-folder to keep them together. ``group_regex`` overrides this: its first
capture group, applied to the file name, is the identity (e.g. ``^([a-z]+)-`` for ``abcd-009-00.png``).
"""

from __future__ import annotations

import re
from pathlib import Path

from shared.datasets.base import FAKE, REAL, SPLITS, Dataset, Sample, media_kind, require_dir
from shared.errors import InvalidArgument

LABEL_FOLDERS = {"real": REAL, "bonafide": REAL, "bona_fide": REAL, "fake": FAKE, "spoof": FAKE}


def _label_dirs(root: Path) -> list[tuple[Path, int]]:
    return [(p, LABEL_FOLDERS[p.name.lower()]) for p in sorted(root.iterdir()) if p.is_dir() and p.name.lower() in LABEL_FOLDERS]


def is_labelled_folder(root: Path) -> bool:
    root = Path(root)
    if not root.is_dir():
        return False
    if _label_dirs(root):
        return True
    return any((root / s).is_dir() and _label_dirs(root / s) for s in SPLITS)


def read_folder(root: Path, *, group_regex: str | None = None) -> Dataset:
    """Read a labelled folder (see the module docstring)."""
    root = require_dir(root, "labelled folder")
    pattern = re.compile(group_regex) if group_regex else None
    split_roots: list[tuple[Path, str | None]] = [
        (root / s, s) for s in SPLITS if (root / s).is_dir() and _label_dirs(root / s)
    ]
    if not split_roots:
        split_roots = [(root, None)]
    samples: list[Sample] = []
    for base, split in split_roots:
        pairs = _label_dirs(base)
        if not pairs:
            raise InvalidArgument(f"labelled folder: {base} has no real/ or fake/ sub-folder")
        for label_dir, label in pairs:
            for path in sorted(p for p in label_dir.rglob("*") if p.is_file() and media_kind(p)):
                rel = path.relative_to(label_dir)
                if pattern:
                    m = pattern.search(path.name)
                    identity = m.group(1) if m and m.groups() else path.stem
                else:
                    identity = rel.parts[0] if len(rel.parts) > 1 else path.stem
                samples.append(
                    Sample(
                        path=path,
                        label=label,
                        group=f"folder:{identity}",
                        source=label_dir.name.lower(),
                        split=split,
                        meta={"id": str(path.relative_to(root))},
                    )
                )
    if not samples:
        raise InvalidArgument(f"labelled folder: no media files under {root}/real or {root}/fake")
    return Dataset(root.name or "folder", root, "folder", samples)
