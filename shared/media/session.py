"""One open file per analysis: every reader of the file (the probe's hash and demuxer, the frame and
audio decoders, Pillow, the metadata and C2PA-marker scans) reads through views of one descriptor.

Why: an analysis used to open the same file 9 times (the probe hashed it, read its head, demuxed it; the
face stage, the voice check and provenance each opened it again). Besides the wasted reads, every open is
a chance to see another file (a path replaced mid-analysis). A :class:`MediaFile` opens the path once;
:meth:`MediaFile.reader` hands out independent, seekable views that read with ``os.pread`` at their own
offset, so views used from several threads never move each other's position. The C2PA reader runs in a
sandboxed child process and opens the path there: with the probe's open, that makes 2 opens per file.

Views carry the file's name (``.name``): FFmpeg uses it as a hint when probing formats by content alone
is ambiguous, as it did when it was given the path.
"""

from __future__ import annotations

import io
import os
import weakref
from pathlib import Path


class _View(io.RawIOBase):
    """A read-only, seekable view of an open descriptor with its own position (``os.pread``)."""

    def __init__(self, fd: int, size: int, name: str) -> None:
        super().__init__()
        self._fd = fd
        self._size = size
        self._pos = 0
        self.name = name

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        data = os.pread(self._fd, len(view), self._pos)
        view[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            pos = offset
        elif whence == io.SEEK_CUR:
            pos = self._pos + offset
        elif whence == io.SEEK_END:
            pos = self._size + offset
        else:
            raise ValueError(f"invalid whence {whence}")
        if pos < 0:
            raise OSError("negative seek position")
        self._pos = pos
        return pos

    def tell(self) -> int:
        return self._pos


class MediaFile:
    """A file opened once for one analysis; :meth:`reader` gives independent views of it.

    The descriptor is closed by :meth:`close` (or when the object is collected): readers made before
    then must not be used afterwards.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        self._close = weakref.finalize(self, os.close, self._fd)
        self.size = os.fstat(self._fd).st_size

    def reader(self, buffer_size: int = 1 << 16) -> io.BufferedReader:
        """A new buffered, seekable view starting at byte 0."""
        if not self._close.alive:
            raise ValueError(f"{self.path.name}: the media file was closed")
        return io.BufferedReader(_View(self._fd, self.size, str(self.path)), buffer_size=buffer_size)

    @property
    def closed(self) -> bool:
        return not self._close.alive

    def close(self) -> None:
        self._close()

    def __enter__(self) -> MediaFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
