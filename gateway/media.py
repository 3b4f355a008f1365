"""The gateway's cheap check of what was uploaded: the file's first bytes, never its name.

The accept/refuse decision is ``shared.media.formats.sniff``, the same list and the same magic numbers
``deepfake analyze`` uses (so the CLI and the API agree, HEIC/AVIF included); the worker's decoder is the
real judge (a file can start like an MP4 and still be corrupt). This check only turns obvious mistakes (a
PDF, a zip, a text file, a HEIC photo) into a 415 before anything is queued. No torch and no ffmpeg here;
the ``filetype`` library only names what a refused file is ("application/pdf files cannot be analysed").
"""

from __future__ import annotations

import re
from pathlib import PurePath

import filetype

from shared.errors import UnsupportedMedia
from shared.media.formats import ACCEPTED_SUMMARY, SNIFF_BYTES, sniff

__all__ = ["SNIFF_BYTES", "safe_filename", "sniff_media"]


def _describe(head: bytes) -> str:
    kind = filetype.guess(head)
    return f"{kind.mime} files" if kind is not None else "this file type"


def sniff_media(head: bytes) -> tuple[str, str]:
    """Return ``(kind, mime)`` of a file from its first bytes.

    Raises:
        UnsupportedMedia: the bytes are not a video, audio or image format the pipeline reads.
    """
    found = sniff(head)
    if found is not None and found.refusal is not None:
        raise UnsupportedMedia(found.refusal)
    if found is not None:
        return found.kind, found.mime
    raise UnsupportedMedia(f"{_describe(head)} cannot be analysed: upload {ACCEPTED_SUMMARY}")


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_filename(name: str | None, fallback: str = "upload") -> str:
    """A plain file name safe to store: no folders, no control characters, at most 120 characters."""
    base = PurePath((name or "").replace("\\", "/")).name
    cleaned = _UNSAFE.sub("_", base).strip("._")
    if not cleaned:
        return fallback
    if len(cleaned) > 120:
        stem, dot, ext = cleaned.rpartition(".")
        cleaned = (stem[:110] + dot + ext[:9]) if dot else cleaned[:120]
    return cleaned
