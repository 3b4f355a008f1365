"""FaceForensics++.

Layout (as the official download script writes it)::

    original_sequences/youtube/<compression>/videos/000.mp4
    original_sequences/actors/<compression>/videos/01__talking.mp4        (DeepFakeDetection originals)
    manipulated_sequences/<Method>/<compression>/videos/000_003.mp4      (target 000, source 003)
    splits/train.json, val.json, test.json  (optional: the official lists of [a, b] id pairs)

Identity: a fake ``a_b`` links ids ``a`` and ``b``; every id joined that way (union-find) is one group,
so an original never lands in a different split from a fake made with its face or its frames. With the
official split files (``splits/`` under the root, or ``splits_dir``), each pair's split is used, which
is the reference's 720/140/140.
"""

from __future__ import annotations

import json
from pathlib import Path

from shared.datasets.base import FAKE, REAL, VIDEO_EXTENSIONS, Dataset, Sample, require_dir
from shared.errors import InvalidArgument


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _videos(folder: Path, compression: str | None) -> list[tuple[str, Path]]:
    """(compression, video) pairs below ``<folder>/<compression>/videos``."""
    out: list[tuple[str, Path]] = []
    if not folder.is_dir():
        return out
    for comp_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
        if compression and comp_dir.name != compression:
            continue
        videos = comp_dir / "videos"
        if videos.is_dir():
            out.extend((comp_dir.name, v) for v in sorted(videos.iterdir()) if v.suffix.lower() in VIDEO_EXTENSIONS)
    return out


def _ids_of_fake(stem: str) -> list[str]:
    """``000_003`` → [000, 003]; DeepFakeDetection ``01_02__meeting__X`` → actors [01, 02]."""
    head = stem.split("__", 1)[0]
    return [p for p in head.split("_") if p] or [stem]


def _ids_of_original(stem: str) -> str:
    return stem.split("__", 1)[0]


def read_official_splits(splits_dir: Path) -> dict[str, str]:
    """id → split from the official ``train.json`` / ``val.json`` / ``test.json`` (lists of [a, b])."""
    mapping: dict[str, str] = {}
    for name in ("train", "val", "test"):
        path = Path(splits_dir) / f"{name}.json"
        if not path.is_file():
            raise InvalidArgument(f"FaceForensics++ splits: {path} is missing")
        try:
            pairs = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise InvalidArgument(f"FaceForensics++ splits: {path} is not JSON ({exc})") from None
        for pair in pairs:
            for vid in pair:
                mapping[str(vid)] = name
    return mapping


def read_ffpp(root: Path, *, compression: str | None = "c23", splits_dir: Path | None = None) -> Dataset:
    """Read FaceForensics++ under ``root``.

    Args:
        root: the folder holding ``original_sequences`` and ``manipulated_sequences``.
        compression: ``c0``/``c23``/``c40``, or None for every compression found.
        splits_dir: folder with the official split files; ``root/splits`` is used when present.
    """
    root = require_dir(root, "FaceForensics++ data")
    orig_root, manip_root = root / "original_sequences", root / "manipulated_sequences"
    if not orig_root.is_dir() and not manip_root.is_dir():
        raise InvalidArgument(f"FaceForensics++ data: {root} has neither original_sequences/ nor manipulated_sequences/")
    uf = _UnionFind()
    raw: list[tuple[Path, int, str, list[str], str]] = []
    if orig_root.is_dir():
        for kind_dir in sorted(p for p in orig_root.iterdir() if p.is_dir()):
            prefix = "actor" if kind_dir.name == "actors" else "yt"
            for comp, video in _videos(kind_dir, compression):
                ids = [f"{prefix}:{_ids_of_original(video.stem)}"]
                uf.find(ids[0])
                raw.append((video, REAL, "original", ids, comp))
    if manip_root.is_dir():
        for method_dir in sorted(p for p in manip_root.iterdir() if p.is_dir()):
            prefix = "actor" if method_dir.name == "DeepFakeDetection" else "yt"
            for comp, video in _videos(method_dir, compression):
                ids = [f"{prefix}:{i}" for i in _ids_of_fake(video.stem)]
                for other in ids[1:]:
                    uf.union(ids[0], other)
                uf.find(ids[0])
                raw.append((video, FAKE, method_dir.name, ids, comp))
    if not raw:
        raise InvalidArgument(
            f"FaceForensics++ data: no videos under {root}/*_sequences/*/{compression or '*'}/videos/"
        )
    official: dict[str, str] = {}
    splits_dir = splits_dir or (root / "splits" if (root / "splits" / "train.json").is_file() else None)
    if splits_dir:
        official = read_official_splits(splits_dir)
    samples = []
    for video, label, method, ids, comp in raw:
        split = None
        if official:
            found = {official.get(i.split(":", 1)[1]) for i in ids} - {None}
            split = found.pop() if len(found) == 1 else None
        samples.append(
            Sample(
                path=video,
                label=label,
                group=f"ffpp:{uf.find(ids[0])}",
                source=method,
                split=split,
                attack=method if label == FAKE else None,
                meta={"compression": comp, "ids": ids},
            )
        )
    notes = "official FF++ split files" if official else "identity groups by union of target/source ids"
    return Dataset("FaceForensics++", root, "ffpp", samples, notes)
