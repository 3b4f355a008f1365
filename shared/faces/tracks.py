"""Faces in successive analysed frames linked into tracks (one track per person), and boxes between detections.

Sparse sampling is the hard case: a ten-minute video sampled 300 times has frames two seconds apart, and a
tracker that ends a track after two seconds unseen turns one person into 300 one-face "people" (and the faces
verdict, the most suspicious person's, into the most suspicious of 300 single noisy faces). So a track lives
on for a number of *analysed frames* as well as seconds, and a link that overlaps or moves little must also
look like the same person (a colour descriptor of the face: a cut to someone else standing where the last
person stood starts a new track).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU between boxes ``a`` (N, 4) and ``b`` (M, 4) -> (N, M)."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod((rb - lt).clip(0), axis=-1)
    area_a = np.prod(a[:, 2:] - a[:, :2], axis=-1)
    area_b = np.prod(b[:, 2:] - b[:, :2], axis=-1)
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)


#: hue x saturation bins of the appearance descriptor
_HUE_BINS, _SAT_BINS = 16, 8


def face_appearance(rgb: np.ndarray, box: np.ndarray) -> np.ndarray:
    """A colour descriptor of the face in ``box``: the hue-saturation histogram (L1-normalised) of the
    box's central part, which holds skin, hair line and eyes rather than background.

    Cheap (a 32x32 downscale) and insensitive to small shifts and scale; it tells people apart by skin tone,
    hair and lighting, not by identity: enough to refuse linking two different people across a cut."""
    import cv2

    h, w = rgb.shape[:2]
    x1, y1, x2, y2 = np.asarray(box, dtype=np.float64)
    cx, cy, bw, bh = (x1 + x2) / 2, (y1 + y2) / 2, (x2 - x1) * 0.6, (y2 - y1) * 0.6
    left, right = int(max(0, cx - bw / 2)), int(min(w, cx + bw / 2))
    top, bottom = int(max(0, cy - bh / 2)), int(min(h, cy + bh / 2))
    hist = np.zeros(_HUE_BINS * _SAT_BINS, np.float64)
    if right - left < 2 or bottom - top < 2:
        return hist
    patch = cv2.resize(np.ascontiguousarray(rgb[top:bottom, left:right]), (32, 32), interpolation=cv2.INTER_AREA)
    hsv = cv2.cvtColor(patch, cv2.COLOR_RGB2HSV)
    raw = cv2.calcHist([hsv], [0, 1], None, [_HUE_BINS, _SAT_BINS], [0, 180, 0, 256]).reshape(-1)
    return raw / max(float(raw.sum()), 1e-9)


def reduced_frame(rgb: np.ndarray) -> np.ndarray:
    """The frame averaged over k x k blocks (k whole, about 180 rows left), the last < k rows and columns
    dropped: OpenCV's area resize is a plain block average when the factor is whole, several times faster
    on a 1080p frame than a resize straight to 64 pixels (measured: 15 ms a frame for the two descriptors,
    5 ms after this). A frame already this small is returned as it is, so the face stage reduces each
    frame once for both descriptors."""
    import cv2

    h, w = rgb.shape[:2]
    k = max(1, min(h, w) // 180)
    if k == 1:
        return np.ascontiguousarray(rgb)
    whole = np.ascontiguousarray(rgb[: h - h % k, : w - w % k])
    return cv2.resize(whole, (w // k, h // k), interpolation=cv2.INTER_AREA)


def frame_appearance(rgb: np.ndarray) -> np.ndarray:
    """The hue-saturation histogram of a whole frame (64x64 downscale): what a cut to another scene changes."""
    import cv2

    small = cv2.resize(reduced_frame(rgb), (64, 64), interpolation=cv2.INTER_AREA)
    hsv = cv2.cvtColor(small, cv2.COLOR_RGB2HSV)
    raw = cv2.calcHist([hsv], [0, 1], None, [_HUE_BINS, _SAT_BINS], [0, 180, 0, 256]).reshape(-1)
    return raw / max(float(raw.sum()), 1e-9)


def frame_thumbnail(rgb: np.ndarray) -> np.ndarray:
    """A 64x36 grey thumbnail of a frame (float32, 0-255): what moves, not only what colours there are."""
    import cv2

    small = cv2.resize(reduced_frame(rgb), (64, 36), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(small, cv2.COLOR_RGB2GRAY).astype(np.float32)


def appearance_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Histogram intersection of two descriptors: 1 = same colours, 0 = none in common."""
    if not a.any() or not b.any():
        return 1.0  # no pixels to compare (a box at the border): no evidence either way
    return float(np.minimum(a, b).sum())


@dataclass
class _Track:
    box: np.ndarray
    time_s: float
    frame_no: int  # the analysed frame (update call) it was last seen on
    appearance: np.ndarray | None


class FaceTracker:
    """Links faces in successive analysed frames into tracks (one track per person), incrementally.

    Greedy matching, best pairs first: a face continues the track whose last box overlaps it most
    (IoU >= ``min_iou``) or, failing that, whose last box centre is within ``max_centre_shift`` box
    sizes of its own plus ``shift_per_second`` box sizes per second since the track was last seen (at
    most ``max_shift`` box sizes), with a box of similar size. When appearances are given, a link also
    needs colour similarity >= ``min_similarity`` (:func:`appearance_similarity`).

    A track ends when it was unseen for ``max_gap_s`` seconds *and* on the last ``max_missed`` analysed
    frames: the second rule keeps one person one track however far apart the sampled frames are. Two
    faces of one frame never share a track. Every track ends at a cut to another scene.

    The cut by layout (``min_cut_difference``, frames at most ``max_cut_gap_s`` apart) was measured on the
    24 videos of ``../shared/media`` (video/ and talking/, every 2nd frame): thumbnails 8 frames apart within a
    clip differ by at most 27.8 grey levels (2520 pairs; median 2.5), the last frame of one clip against the
    first of another by 42.8 or more in 95 % of 506 pairs (the closer ones are clips cut from one recording).
    The two colour thresholds were measured on the videos of ``../shared/media`` (frames about 2 s apart):
    a person's face against itself on the next analysed frame >= 0.52 (25 tracks; median 0.94), different
    people median 0.35; a whole frame against the next one of its clip >= 0.69 (113 pairs, loop boundaries
    included), against the first frame of another clip median 0.25 (7 % of 446 pairs >= 0.5).
    """

    def __init__(
        self,
        *,
        min_iou: float = 0.3,
        max_centre_shift: float = 0.6,
        shift_per_second: float = 1.5,
        max_shift: float = 2.0,
        max_gap_s: float = 2.0,
        max_missed: int = 2,
        min_similarity: float = 0.4,
        min_scene_similarity: float = 0.5,
        max_cut_gap_s: float = 0.35,
        min_cut_difference: float = 30.0,
    ) -> None:
        self.min_iou = min_iou
        self.max_centre_shift = max_centre_shift
        self.shift_per_second = shift_per_second
        self.max_shift = max_shift
        self.max_gap_s = max_gap_s
        self.max_missed = max_missed
        self.min_similarity = min_similarity
        self.min_scene_similarity = min_scene_similarity
        self.max_cut_gap_s = max_cut_gap_s
        self.min_cut_difference = min_cut_difference
        self._last_scene: np.ndarray | None = None
        self._last_thumbnail: tuple[float, np.ndarray] | None = None
        self._tracks: list[_Track] = []
        self._frame_no = -1

    def _live(self, track: _Track, t: float) -> bool:
        return t - track.time_s <= self.max_gap_s or self._frame_no - track.frame_no <= self.max_missed

    def update(
        self,
        boxes: list[np.ndarray],
        t: float,
        appearances: list[np.ndarray] | None = None,
        scene: np.ndarray | None = None,
        thumbnail: np.ndarray | None = None,
    ) -> list[int]:
        """Track ids for the boxes of the frame at time ``t`` (same order); new faces get new ids.

        ``appearances``: one :func:`face_appearance` per box, or None to link by position alone.
        ``scene``: the frame's :func:`frame_appearance`; when it differs from the previous analysed frame's
        by more than ``min_scene_similarity`` allows, the video cut to another scene and every track ends
        (two people filmed at one place of the picture in two shots are two people).
        ``thumbnail``: the frame's :func:`frame_thumbnail`; frames at most ``max_cut_gap_s`` apart whose
        thumbnails differ by ``min_cut_difference`` grey levels or more on average are a cut too (two studio
        shots in the same colours: the colour rule cannot see that cut, the picture's layout can)."""
        self._frame_no += 1
        tracks = self._tracks
        if appearances is not None and len(appearances) != len(boxes):
            raise ValueError(f"{len(boxes)} boxes but {len(appearances)} appearances")
        frame_ids = [-1] * len(boxes)
        cut = (
            scene is not None
            and self._last_scene is not None
            and appearance_similarity(scene, self._last_scene) < self.min_scene_similarity
        )
        if (
            thumbnail is not None
            and self._last_thumbnail is not None
            and t - self._last_thumbnail[0] <= self.max_cut_gap_s
            and float(np.abs(thumbnail - self._last_thumbnail[1]).mean()) >= self.min_cut_difference
        ):
            cut = True
        if scene is not None:
            self._last_scene = scene
        if thumbnail is not None:
            self._last_thumbnail = (t, thumbnail)
        live = [] if cut else [k for k, tr in enumerate(tracks) if self._live(tr, t)]
        if boxes and live:
            allowed = np.array(
                [min(self.max_centre_shift + self.shift_per_second * (t - tracks[k].time_s), self.max_shift) for k in live]
            )
            cur = np.stack([np.asarray(b, dtype=np.float64) for b in boxes])
            prev = np.stack([tracks[k].box for k in live])
            iou = box_iou(cur, prev)
            cur_c = (cur[:, :2] + cur[:, 2:]) / 2
            prev_c = (prev[:, :2] + prev[:, 2:]) / 2
            cur_size = np.maximum(cur[:, 2] - cur[:, 0], cur[:, 3] - cur[:, 1])
            prev_size = np.maximum(prev[:, 2] - prev[:, 0], prev[:, 3] - prev[:, 1])
            shift = np.linalg.norm(cur_c[:, None] - prev_c[None], axis=-1) / np.maximum(prev_size[None], 1e-9)
            ratio = cur_size[:, None] / np.maximum(prev_size[None], 1e-9)
            # One affinity: overlap first (>= 1); centre closeness (in (0, 1]) second; -1 = no link.
            near = (shift <= allowed[None, :]) & (ratio >= 0.6) & (ratio <= 1 / 0.6)
            affinity = np.where(iou >= self.min_iou, 1.0 + iou, np.where(near, 1.0 / (1.0 + shift), -1.0))
            if appearances is not None:
                for ci in range(len(boxes)):
                    for pj, k in enumerate(live):
                        known = tracks[k].appearance
                        if known is not None and appearance_similarity(appearances[ci], known) < self.min_similarity:
                            affinity[ci, pj] = -1.0  # looks like someone else: never the same person
            taken_cur: set[int] = set()
            taken_prev: set[int] = set()
            for flat in np.argsort(-affinity, axis=None):
                ci, pj = np.unravel_index(flat, affinity.shape)
                if affinity[ci, pj] <= 0:
                    break
                if ci in taken_cur or pj in taken_prev:
                    continue
                taken_cur.add(int(ci))
                taken_prev.add(int(pj))
                frame_ids[int(ci)] = live[int(pj)]
        for ci, box in enumerate(boxes):
            seen = appearances[ci] if appearances is not None else None
            if frame_ids[ci] < 0:
                frame_ids[ci] = len(tracks)
                tracks.append(_Track(np.asarray(box, dtype=np.float64), t, self._frame_no, seen))
            else:
                track = tracks[frame_ids[ci]]
                track.box, track.time_s, track.frame_no = np.asarray(box, dtype=np.float64), t, self._frame_no
                if seen is not None:
                    # A slow average: lighting drifts over a long take, one odd frame does not redefine a person.
                    track.appearance = seen if track.appearance is None else 0.8 * track.appearance + 0.2 * seen
        return frame_ids


def link_tracks(
    boxes_per_frame: list[list[np.ndarray]], times: list[float], **tracker_options: float
) -> list[list[int]]:
    """Track ids for every face of every frame (see :class:`FaceTracker` for the rules)."""
    tracker = FaceTracker(**tracker_options)  # type: ignore[arg-type]
    return [tracker.update(boxes, t) for boxes, t in zip(boxes_per_frame, times, strict=True)]


def interpolate_box(before: np.ndarray, after: np.ndarray, t0: float, t1: float, t: float) -> np.ndarray:
    """The box of a face at time ``t`` between two detections of it (linear in time)."""
    w = 0.0 if t1 <= t0 else (t - t0) / (t1 - t0)
    return (1.0 - w) * np.asarray(before, dtype=np.float64) + w * np.asarray(after, dtype=np.float64)
