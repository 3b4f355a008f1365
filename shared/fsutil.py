"""File-system helpers that keep caches consistent when a process is interrupted."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_folder(out_dir: Path) -> Iterator[Path]:
    """Write a folder all at once: yields a temporary sibling to fill, then renames it to ``out_dir``.

    A reader never sees a half-written folder (a model IR without its card, a face-cache entry without
    its index): on success the old ``out_dir`` is replaced whole, on any error the temporary folder is
    removed and ``out_dir`` is left as it was.
    """
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=out_dir.name + ".", dir=out_dir.parent))
    try:
        yield tmp
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def sha256_file(path: Path) -> str:
    """The sha256 of a file's bytes, read in chunks (checkpoints and uploads can be large)."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()
