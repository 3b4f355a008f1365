"""The gateway's cheap check of what was uploaded: the file's first bytes, never its name.

The worker's decoder is the real judge (a file can start like an MP4 and still be corrupt); this check
only turns obvious mistakes (a PDF, a zip, a text file) into a 415 before anything is queued. It uses
the ``filetype`` library's magic-number table, so no torch and no ffmpeg here.
"""

from __future__ import annotations

import re
from pathlib import PurePath

import filetype

from shared.errors import UnsupportedMedia

#: (kind, extension) pairs the pipeline can decode (PyAV/ffmpeg); everything else is refused with 415.
ACCEPTED = {
    "video": {"3gp", "mp4", "m4v", "mkv", "mov", "avi", "wmv", "mpg", "webm", "flv"},
    "audio": {"aac", "mp3", "m4a", "ogg", "flac", "wav", "amr", "aiff"},
    "image": {"jpg", "png", "apng", "gif", "webp", "tif", "bmp"},
}
SNIFF_BYTES = 8192


def sniff_media(head: bytes) -> tuple[str, str]:
    """Return ``(kind, mime)`` of a file from its first bytes.

    Raises:
        UnsupportedMedia: the bytes are not a video, audio or image format the pipeline reads.
    """
    kind = filetype.guess(head)
    if kind is not None:
        family = kind.mime.split("/")[0]
        if family in ACCEPTED and kind.extension in ACCEPTED[family]:
            return family, kind.mime
        described = f"{kind.mime} files"
    else:
        described = "this file type"
    raise UnsupportedMedia(
        f"{described} cannot be analysed: upload a video (mp4, mov, mkv, webm, avi), "
        "an image (jpg, png, webp, bmp, gif, tiff) or an audio file (wav, mp3, m4a, flac, ogg)"
    )


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_filename(name: str | None, fallback: str = "upload") -> str:
    """A plain file name safe to store: no folders, no control characters, at most 120 characters."""
    base = PurePath((name or "").replace("\\", "/")).name
    cleaned = _UNSAFE.sub("_", base).strip("._")
    if not cleaned:
        return fallback
    if len(cleaned) > 120:
        stem, dot, ext = cleaned.rpartition(".")
        cleaned = (stem[: 110] + dot + ext[:9]) if dot else cleaned[:120]
    return cleaned
