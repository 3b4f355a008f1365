"""What every dataset reader returns: labelled samples with an identity for splitting.

A ``Sample`` is one media file. ``group`` is the identity that must never straddle two splits (the
person in a video, the speaker of a clip, the source video of a face swap); ``source`` names where it
comes from for per-source metrics (a manipulation method, an attack id, a corpus). ``split`` is set
when the dataset defines its own split (ASVspoof's train/dev/eval, DFDC folder numbers under the
reference recipe, FF++'s official lists); otherwise ``shared.datasets.splits`` makes one by group.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from shared.errors import InvalidArgument

REAL, FAKE = 0, 1
SPLITS = ("train", "val", "test")

VIDEO_EXTENSIONS = frozenset({".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg"})
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp"})
AUDIO_EXTENSIONS = frozenset({".wav", ".flac", ".mp3", ".ogg", ".m4a", ".opus", ".aac"})

MediaKind = Literal["video", "image", "audio"]


def media_kind(path: Path) -> MediaKind | None:
    """The kind of a file from its extension, or None for anything else."""
    ext = Path(path).suffix.lower()
    if ext in VIDEO_EXTENSIONS:
        return "video"
    if ext in IMAGE_EXTENSIONS:
        return "image"
    if ext in AUDIO_EXTENSIONS:
        return "audio"
    return None


@dataclass
class Sample:
    """One labelled media file.

    Attributes:
        path: the file.
        label: 1 = fake (spoof), 0 = real (bona fide).
        group: identity that must stay within one split.
        source: dataset, manipulation method or attack, for per-source metrics.
        split: the dataset's own split (``train``/``val``/``test``) when it defines one.
        attack: the attack or manipulation id of a fake when known (``A07``, ``Deepfakes``...).
        meta: anything else the reader knows (original video, speaker...).
    """

    path: Path
    label: int
    group: str
    source: str
    split: str | None = None
    attack: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.meta.get("id") or self.path.name

    @property
    def kind(self) -> MediaKind | None:
        return media_kind(self.path)


@dataclass
class Dataset:
    """A named list of samples read from ``root`` by ``reader``."""

    name: str
    root: Path
    reader: str
    samples: list[Sample]
    notes: str = ""

    def __len__(self) -> int:
        return len(self.samples)

    def summary(self) -> dict[str, Any]:
        """Counts for reports: per label, per split, per source; number of identity groups."""
        return {
            "name": self.name,
            "root": str(self.root),
            "reader": self.reader,
            "n": len(self.samples),
            "n_real": sum(s.label == REAL for s in self.samples),
            "n_fake": sum(s.label == FAKE for s in self.samples),
            "groups": len({s.group for s in self.samples}),
            "splits": dict(Counter(s.split or "unsplit" for s in self.samples)),
            "sources": dict(Counter(s.source for s in self.samples)),
            "notes": self.notes,
        }

    def subset(self, samples: list[Sample], suffix: str) -> Dataset:
        return Dataset(f"{self.name}:{suffix}", self.root, self.reader, samples, self.notes)

    def only(self, kind: MediaKind | set[str]) -> Dataset:
        """Keep only samples of the given media kind(s)."""
        kinds = {kind} if isinstance(kind, str) else set(kind)
        return self.subset([s for s in self.samples if s.kind in kinds], "+".join(sorted(kinds)))


def require_dir(path: Path, what: str) -> Path:
    path = Path(path)
    if not path.is_dir():
        raise InvalidArgument(f"{what}: {path} is not a folder")
    return path
