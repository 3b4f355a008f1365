"""Face cache: faces are extracted once per video (or image) to disk, then reused by training and evaluation.

One entry per (file, extraction settings): ``<root>/<key[:2]>/<key>/`` holding

* ``faces.npy``  uint8 ``(N, S, S, 3)`` RGB crops (the reference's ``scale`` policy, S = 224);
* ``faces.json`` frame index, time, box ``(x1, y1, x2, y2)`` in full-resolution pixels and detector
  confidence of each crop, plus the frames sampled, the settings and the source file's size/mtime.

Two kinds of settings, two recipes: :class:`ExtractionSettings` is the reference's (N frames, the K most
confident faces of each: what training and the published models use); :class:`AnalysisSettings` is
``deepfake analyze``'s own face stage (its sampling, detector, face tracks and interpolation between
detections), so that ``deepfake evaluate video`` scores the very faces, grouped in the very tracks, that
``analyze`` reports on. Entries of the second kind also hold each face's track id.

The key hashes the resolved path, size, modification time and settings, so an edited file or other
settings make a new entry. An entry is written to a temporary folder and renamed into place, so an
interrupted run never leaves a half entry: run the same command again and it resumes where it stopped.
Decoding, sampling, detection and cropping are the pipeline's own (``shared.media``, ``shared.faces``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from shared.datasets.base import media_kind
from shared.errors import DeepfakeError, InvalidArgument
from shared.fsutil import atomic_folder

FACES_FILE = "faces.npy"
INFO_FILE = "faces.json"
CACHE_VERSION = 1

if TYPE_CHECKING:
    from shared.analysis import AnalyzeOptions
    from shared.modelcard import VideoPreprocessing


@dataclass(frozen=True)
class ExtractionSettings:
    """How faces are taken from a file. Part of the cache key.

    Attributes:
        frames: N evenly spaced frames per video (the reference's 32), or None to use ``every``.
        every: every K-th frame when ``frames`` is None, capped at ``max_frames``.
        max_frames: cap for ``every``.
        faces_per_frame: keep the K most confident faces of each frame (1 = the reference recipe).
        margin: box enlargement (fraction of the box height; twice on top), as the model card says.
        size: crop side in pixels.
        detector_max_side, min_face_size, min_confidence: the detector settings (``shared.faces``).
    """

    frames: int | None = 32
    every: int | None = None
    max_frames: int | None = None
    faces_per_frame: int = 1
    margin: float = 0.2
    size: int = 224
    detector_max_side: int = 640
    min_face_size: int = 40
    min_confidence: float = 0.9


#: ``AnalyzeOptions`` fields that do not change which faces the face stage finds (verdict band, audio)
_NOT_FACE_STAGE = frozenset(
    {"uncertain_low", "uncertain_high", "max_audio_seconds", "voice_budget_s", "decode_threads"}
)


@dataclass(frozen=True)
class AnalysisSettings:
    """``deepfake analyze``'s face stage (``shared.faces.stage``), as ``AnalyzeOptions`` and the video
    model's preprocessing set it. Part of the cache key.

    Attributes:
        stage: every ``AnalyzeOptions`` field that shapes the face stage (sampling, detector, interpolation),
            taken from the options themselves so a new option cannot be left out of the key.
        margin, size: the crop, from the video model's card.
    """

    stage: dict[str, Any]
    margin: float = 0.2
    size: int = 224

    @classmethod
    def from_options(cls, options: AnalyzeOptions, prep: VideoPreprocessing) -> AnalysisSettings:
        stage = {k: v for k, v in asdict(options).items() if k not in _NOT_FACE_STAGE}
        return cls(stage=stage, margin=prep.margin, size=prep.input_size)

    def analyze_options(self) -> AnalyzeOptions:
        from shared.analysis import AnalyzeOptions

        return AnalyzeOptions(**self.stage)


@dataclass
class FaceEntry:
    """The cached faces of one file.

    ``track_ids``: each face's track (``AnalysisSettings`` entries); the reference recipe has no tracks,
    and its faces (the most confident of each frame) count as one track, id 0. ``frames_with_faces``: how
    many of the ``frames_sampled`` frames had a face (what ``shared.scoring.min_track_faces`` needs).
    """

    path: Path
    faces: np.ndarray
    frame_indices: np.ndarray
    times: np.ndarray
    boxes: np.ndarray
    confidences: np.ndarray
    frames_sampled: int
    error: str | None = None
    track_ids: np.ndarray | None = None
    frames_with_faces: int | None = None

    def __post_init__(self) -> None:
        if self.track_ids is None:
            self.track_ids = np.zeros(len(self.frame_indices), dtype=np.int64)
        if self.frames_with_faces is None:
            self.frames_with_faces = len(set(self.frame_indices.tolist()))

    def __len__(self) -> int:
        return int(self.faces.shape[0])


class FaceCache:
    """Extract-once face storage (see the module docstring).

    Args:
        root: cache folder (created).
        settings: the reference recipe (:class:`ExtractionSettings`, the default) or analyze's face stage
            (:class:`AnalysisSettings`).
        detector: a ``shared.faces.FaceDetector``-like object (``detect(frames)``); built on first use
            from ``settings`` when None.
    """

    def __init__(self, root: Path, settings: ExtractionSettings | AnalysisSettings | None = None, *,
                 detector: Any = None) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.settings = settings or ExtractionSettings()
        self._detector = detector

    # --- keys and lookup -----------------------------------------------------------------------------
    def key(self, path: Path) -> str:
        path = Path(path).resolve()
        try:
            stat = path.stat()
        except OSError:
            raise InvalidArgument(f"face cache: {path} does not exist") from None
        fields: dict[str, Any] = {"v": CACHE_VERSION, "path": str(path), "size": stat.st_size,
                                  "mtime": stat.st_mtime_ns, "settings": asdict(self.settings)}
        if isinstance(self.settings, AnalysisSettings):
            fields["recipe"] = "analyze"  # (reference keys stay as they were: existing caches stay valid)
        ident = json.dumps(fields, sort_keys=True)
        return hashlib.sha256(ident.encode()).hexdigest()[:32]

    def entry_dir(self, path: Path) -> Path:
        key = self.key(path)
        return self.root / key[:2] / key

    def get(self, path: Path) -> FaceEntry | None:
        """The cached entry of ``path``, or None when it has not been extracted yet."""
        folder = self.entry_dir(path)
        if not (folder / INFO_FILE).is_file():
            return None
        info = json.loads((folder / INFO_FILE).read_text())
        faces = np.load(folder / FACES_FILE, mmap_mode="r")
        return FaceEntry(
            path=Path(path),
            faces=faces,
            frame_indices=np.asarray(info["frame_indices"], dtype=np.int64),
            times=np.asarray(info["times"], dtype=np.float64),
            boxes=np.asarray(info["boxes"], dtype=np.float64).reshape(-1, 4),
            confidences=np.asarray(info["confidences"], dtype=np.float64),
            frames_sampled=int(info["frames_sampled"]),
            error=info.get("error"),
            track_ids=np.asarray(info["track_ids"], dtype=np.int64) if "track_ids" in info else None,
            frames_with_faces=info.get("frames_with_faces"),
        )

    # --- extraction ----------------------------------------------------------------------------------
    @property
    def detector(self) -> Any:
        if self._detector is None:
            from shared.faces import get_detector

            s = self.settings  # the reference recipe keeps MTCNN (its cache key names these settings)
            assert isinstance(s, ExtractionSettings), "analyze's face stage builds its own detector"
            self._detector = get_detector(s.detector_max_side, s.min_face_size, s.min_confidence)
        return self._detector

    def _frames_of(self, path: Path) -> list[tuple[int, float, np.ndarray]]:
        kind = media_kind(path)
        if kind == "image":
            from shared.media.image import load_image

            return [(0, 0.0, load_image(path))]
        if kind != "video":
            raise InvalidArgument(f"face cache: {path.name} is not a video or an image")
        from shared.media.probe import open_media
        from shared.media.video import iter_frames, sample_frame_indices

        source = open_media(path)
        if source.video is None:
            raise InvalidArgument(f"face cache: {path.name} has no video stream")
        s = self.settings
        assert isinstance(s, ExtractionSettings)
        indices = sample_frame_indices(
            source.video.frame_count,
            frames=s.frames if s.frames else None,
            every=None if s.frames else (s.every or 1),
            max_frames=None if s.frames else s.max_frames,
        )
        return [(f.index, f.time_s, f.rgb) for f in iter_frames(source, indices)]

    def _extract(self, path: Path) -> dict[str, Any]:
        if isinstance(self.settings, AnalysisSettings):
            return self._extract_as_analyze(path, self.settings)
        from shared.faces import crop_face_scale_policy

        s = self.settings
        frames = self._frames_of(path)
        detections = self.detector.detect([rgb for _, _, rgb in frames])
        crops, rows = [], []
        for (index, time_s, rgb), found in zip(frames, detections, strict=True):
            best = sorted(found, key=lambda d: -d.confidence)[: s.faces_per_frame]
            for det in best:
                crops.append(crop_face_scale_policy(rgb, det.box, margin=s.margin, size=s.size))
                rows.append((index, time_s, [float(v) for v in det.box], float(det.confidence)))
        faces = np.stack(crops) if crops else np.zeros((0, s.size, s.size, 3), np.uint8)
        return {
            "faces": faces,
            "info": {
                "frame_indices": [r[0] for r in rows],
                "times": [r[1] for r in rows],
                "boxes": [r[2] for r in rows],
                "confidences": [r[3] for r in rows],
                "frames_sampled": len(frames),
            },
        }

    def _extract_as_analyze(self, path: Path, s: AnalysisSettings) -> dict[str, Any]:
        """The faces ``deepfake analyze`` would score: its own face stage, run by the face detector."""
        from shared.media.probe import open_media
        from shared.modelcard import VideoPreprocessing
        from shared.pipeline import make_products

        if media_kind(path) not in ("video", "image"):
            raise InvalidArgument(f"face cache: {path.name} is not a video or an image")
        with open_media(path) as source:
            if source.facts.kind == "video" and source.video is None:
                raise InvalidArgument(f"face cache: {path.name} has no video stream")
            prep = VideoPreprocessing(margin=s.margin, input_size=s.size)
            prepared = make_products(source, ["face_tracks"], s.analyze_options(), face_crop=prep)["face_tracks"]
        faces = prepared.faces
        return {
            "faces": prepared.crops,
            "info": {
                "frame_indices": [f.frame_index for f in faces],
                "times": [f.time_s for f in faces],
                "boxes": [[float(v) for v in f.box] for f in faces],
                "confidences": [float(f.confidence) for f in faces],
                "track_ids": [int(f.track_id) for f in faces],
                "frames_sampled": len(prepared.frames),
                "frames_with_faces": sum(1 for fr in prepared.frames if fr.faces),
            },
        }

    def _write(self, path: Path, faces: np.ndarray, info: dict[str, Any]) -> None:
        folder = self.entry_dir(path)
        folder.parent.mkdir(parents=True, exist_ok=True)
        stat = Path(path).stat()
        info = {**info, "source": str(Path(path).resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
                "settings": asdict(self.settings), "version": CACHE_VERSION}
        with atomic_folder(folder) as tmp:
            np.save(tmp / FACES_FILE, np.ascontiguousarray(faces, dtype=np.uint8))
            (tmp / INFO_FILE).write_text(json.dumps(info))

    def extract(self, path: Path, *, force: bool = False) -> FaceEntry:
        """Faces of ``path``: from the cache, or extracted now and stored.

        A file that cannot be decoded is stored as an entry with no faces and its error message, so a
        resumed run does not try it again (``force=True`` retries).
        """
        path = Path(path)
        if not force:
            cached = self.get(path)
            if cached is not None:
                return cached
        try:
            out = self._extract(path)
            self._write(path, out["faces"], out["info"])
        except DeepfakeError as exc:
            empty = np.zeros((0, self.settings.size, self.settings.size, 3), np.uint8)
            self._write(path, empty, {"frame_indices": [], "times": [], "boxes": [], "confidences": [],
                                      "frames_sampled": 0, "error": exc.message})
        entry = self.get(path)
        assert entry is not None
        return entry

    def extract_all(
        self,
        paths: Iterable[Path],
        *,
        progress: bool = True,
        on_entry: Callable[[FaceEntry], None] | None = None,
    ) -> dict[Path, FaceEntry]:
        """Extract every file not yet cached (resumable), with a progress bar; returns all entries."""
        from tqdm import tqdm

        paths = list(paths)
        todo = sum(self.get(p) is None for p in paths)
        out: dict[Path, FaceEntry] = {}
        bar = tqdm(total=len(paths), initial=len(paths) - todo, desc="faces", unit="file", disable=not progress)
        for p in paths:
            cached = self.get(p)
            entry = cached if cached is not None else self.extract(p)
            if cached is None:
                bar.update(1)
            out[Path(p)] = entry
            if on_entry:
                on_entry(entry)
        bar.close()
        return out
