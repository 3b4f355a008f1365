"""Scores to verdicts: the one place for sigmoid, calibration, the uncertainty band and file-level aggregation.

Pure numpy and pydantic, no torch. Everything that turns model outputs into a score a reader sees calls
this module: the pipeline (``deepfake analyze`` and the services), ``deepfake evaluate`` and
``deepfake audio evaluate-media``, so that a threshold or calibration measured by one means the same in the
others.

* **Probabilities**: ``sigmoid`` of a log-odds, after the card's Platt calibration when it has one
  (``calibrated``/``fake_probability``).
* **Band**: a :class:`Band` knows its two thresholds. A score ``>= fake_at`` is ``fake``, ``< real_below``
  is ``real``, anything in between ``uncertain``. :func:`band_for` picks the band a model's verdicts use:
  the card's measured ``operating_point`` when it has one, else the settings band moved by the card's
  ``decision_threshold`` (the pipeline's rule before operating points existed).
* **Audio file score** (:func:`aggregate_audio`): one of :data:`AUDIO_AGGREGATIONS` over the scored
  (non-silent) windows in time order. The ``speech_*`` methods use only windows that the voice activity
  detector (``shared.vad``) found to be mostly speech. Which one ships as the default was measured
  (``DEFAULT_AUDIO_AGGREGATION``, table in ``docs/audio-models.md``).
* **Video score** (:func:`aggregate_tracks`): per face track, ``sigmoid(calibrated mean logit)``; a track
  counts when it was seen often enough (:func:`min_track_faces`); the video score is that of the most
  suspicious counted track. This is what ``deepfake analyze`` reports.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np

from shared.errors import InvalidArgument
from shared.modelcard import Calibration, ModelCard, OperatingPoint
from shared.report import Band as ReportBand
from shared.report import Thresholds
from shared.schema_base import Verdict

AudioAggregation = Literal[
    "first", "mean", "median", "max", "speech_first", "speech_mean", "speech_median", "speech_max"
]
AUDIO_AGGREGATIONS: tuple[str, ...] = get_args(AudioAggregation)
AUDIO_AGGREGATION_HELP = {
    "first": "the first scored window (the official AASIST protocol: first 64,600 samples)",
    "mean": "mean fake probability of all scored windows",
    "median": "median fake probability of all scored windows",
    "max": "the most suspicious window",
    "speech_first": "the first window that is mostly speech",
    "speech_mean": "mean over the windows that are mostly speech",
    "speech_median": "median over the windows that are mostly speech",
    "speech_max": "the most suspicious window that is mostly speech",
}
#: the file score shipped by default; chosen by pooled and leave-one-source-out EER (docs/audio-models.md)
DEFAULT_AUDIO_AGGREGATION: AudioAggregation = "first"
#: a window is "mostly speech" when at least this fraction of its 32 ms frames is speech (shared.vad)
MIN_SPEECH_FRACTION = 0.5
_ABOVE_ONE = float(np.nextafter(1.0, 2.0))


# --- probabilities -------------------------------------------------------------------------------
def sigmoid(x: np.ndarray | float) -> np.ndarray:
    """Logistic function, float64; the tanh form never overflows."""
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, dtype=np.float64)))


def logit(p: np.ndarray | float, eps: float = 1e-12) -> np.ndarray:
    """Inverse of :func:`sigmoid`, float64, with ``p`` clipped to ``[eps, 1 - eps]`` so 0 and 1 stay finite."""
    q = np.clip(np.asarray(p, dtype=np.float64), eps, 1.0 - eps)
    return np.log(q) - np.log1p(-q)


def calibrated(log_odds: np.ndarray | float, calibration: Calibration | None) -> np.ndarray:
    """Platt scaling ``a * z + b`` of a log-odds (unchanged without a calibration), float64."""
    z = np.asarray(log_odds, dtype=np.float64)
    return z if calibration is None else calibration.a * z + calibration.b


def fake_probability(log_odds: np.ndarray | float, card: ModelCard | None) -> np.ndarray:
    """Fake probability of a log-odds with ``card``'s calibration (if any), float64."""
    return sigmoid(calibrated(log_odds, card.calibration if card is not None else None))


# --- the band --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Band:
    """Two thresholds on a fake probability and where they came from.

    Attributes:
        fake_at: scores at or above it are ``fake``.
        real_below: scores below it are ``real``; in between ``uncertain``.
        source: where the band comes from, for the report ("the settings", "the model card's operating
            point", ...).
        operating_point: the card's measured point when the band is one.
    """

    fake_at: float
    real_below: float
    source: str = "the settings"
    operating_point: OperatingPoint | None = None

    def __post_init__(self) -> None:
        # fake_at may sit just above 1 (nothing is fake): the legacy band [low, 1.0] keeps 1.0 uncertain.
        if not (0.0 <= self.real_below <= 1.0 and self.real_below <= self.fake_at <= _ABOVE_ONE):
            raise InvalidArgument(
                f"a band needs 0 <= real_below <= fake_at <= 1, got {self.real_below} and {self.fake_at}"
            )

    @classmethod
    def around(cls, low: float, high: float, *, source: str = "the settings") -> Band:
        """The legacy band ``[low, high]`` with both bounds uncertain (``> high`` fake, ``< low`` real)."""
        return cls(fake_at=float(np.nextafter(high, np.inf)), real_below=low, source=source)

    @classmethod
    def from_operating_point(cls, point: OperatingPoint, *, source: str) -> Band:
        return cls(fake_at=point.fake_at, real_below=point.real_below, source=source, operating_point=point)

    def verdict(self, score: float | None) -> Verdict:
        """``fake`` / ``real`` / ``uncertain``, or ``not_applicable`` without a score."""
        if score is None or (isinstance(score, float) and math.isnan(score)):
            return "not_applicable"
        if score >= self.fake_at:
            return "fake"
        if score < self.real_below:
            return "real"
        return "uncertain"

    def describe(self) -> str:
        """One line: the thresholds, where they come from, and what they were measured to do."""
        if self.operating_point is not None:
            return self.operating_point.describe()
        return f"'fake' at score >= {self.fake_at:.6g}, 'real' below {self.real_below:.6g} ({self.source})"


def verdict_for(score: float | None, band: Band | Thresholds) -> Verdict:
    """Map a fake probability to a verdict: the one verdict rule (:meth:`Band.verdict`) for every section.

    Args:
        score: fake probability, or ``None`` when nothing was scored.
        band: a :class:`Band`; or the report's ``Band``/``Thresholds``: a model card's measured operating
            point (``source == "model_card"``) calls ``fake`` at its fake point and above, as ``deepfake
            evaluate`` measured it; a configured band keeps both bounds uncertain.
    """
    if isinstance(band, Band):
        return band.verdict(score)
    low, high = float(band.uncertain_low), float(band.uncertain_high)
    if isinstance(band, ReportBand) and band.source == "model_card":
        return Band(fake_at=high, real_below=low).verdict(score)
    return Band.around(low, high).verdict(score)


def band_for(card: ModelCard | None, default: Band) -> Band:
    """The band a model's verdicts use.

    The card's ``operating_point`` when it has one (measured on labelled data, see the model card).
    Otherwise ``default`` (the settings band around 0.5) moved by the card's ``decision_threshold``
    when that is not 0.5 (a calibrated or retrained model), keeping its width.
    """
    if card is not None and card.operating_point is not None:
        return Band.from_operating_point(card.operating_point, source=f"the operating point of the {card.name} card")
    shift = (card.decision_threshold - 0.5) if card is not None else 0.0
    if shift == 0.0:
        return default
    return Band(
        fake_at=min(max(default.fake_at + shift, 0.0), 1.0),
        real_below=min(max(default.real_below + shift, 0.0), 1.0),
        source=f"{default.source}, moved to the {card.name} card's decision threshold {card.decision_threshold:g}"  # type: ignore[union-attr]
        ,
    )


# --- audio: windows -> file score ----------------------------------------------------------------------
@dataclass(frozen=True)
class AudioFileScore:
    """The file score of one aggregation.

    Attributes:
        score: fake probability of the file, ``None`` when the aggregation had no window to use.
        method: the aggregation (one of ``AUDIO_AGGREGATIONS``).
        windows_used: indices (into the scored windows) the score was computed from.
        reason: why there is no score, when there is none.
    """

    score: float | None
    method: str
    windows_used: tuple[int, ...]
    reason: str | None = None


def check_aggregation(method: str) -> AudioAggregation:
    """``method`` if it is a known aggregation, else ``InvalidArgument`` listing the known ones."""
    if method not in AUDIO_AGGREGATIONS:
        raise InvalidArgument(f"unknown audio aggregation {method!r}; known: {', '.join(AUDIO_AGGREGATIONS)}")
    return method  # type: ignore[return-value]


def speech_windows(speech_fractions: np.ndarray, min_fraction: float = MIN_SPEECH_FRACTION) -> np.ndarray:
    """Boolean mask of the windows that are mostly speech."""
    return np.asarray(speech_fractions, dtype=np.float64) >= min_fraction


def aggregate_audio(
    probabilities: Sequence[float] | np.ndarray,
    method: str,
    speech_fractions: Sequence[float] | np.ndarray | None = None,
    *,
    min_speech_fraction: float = MIN_SPEECH_FRACTION,
) -> AudioFileScore:
    """File score from the scored windows' fake probabilities (in time order).

    Args:
        probabilities: fake probability of each scored window.
        method: one of ``AUDIO_AGGREGATIONS``.
        speech_fractions: fraction of speech frames per window (``shared.vad``); needed by ``speech_*``.
        min_speech_fraction: a window with at least this fraction of speech is "mostly speech".

    Raises:
        InvalidArgument: unknown method, or a ``speech_*`` method without speech fractions.
    """
    check_aggregation(method)
    p = np.asarray(probabilities, dtype=np.float64).reshape(-1)
    index = np.arange(p.size)
    if method.startswith("speech_"):
        if speech_fractions is None:
            raise InvalidArgument(f"the {method} aggregation needs the speech fraction of each window (shared.vad)")
        fractions = np.asarray(speech_fractions, dtype=np.float64).reshape(-1)
        if fractions.shape != p.shape:
            raise InvalidArgument(f"{fractions.size} speech fractions for {p.size} windows")
        index = index[speech_windows(fractions, min_speech_fraction)]
        if not index.size:
            return AudioFileScore(None, method, (), reason="no window is mostly speech")
    if not index.size:
        return AudioFileScore(None, method, (), reason="no window was scored")
    base = method.removeprefix("speech_")
    chosen = p[index]
    if base == "first":
        used: tuple[int, ...] = (int(index[0]),)
        value = float(chosen[0])
    elif base == "max":
        used = (int(index[int(np.argmax(chosen))]),)
        value = float(chosen.max())
    else:
        used = tuple(int(i) for i in index)
        value = float(np.mean(chosen) if base == "mean" else np.median(chosen))
    return AudioFileScore(value, method, used)


# --- video: face logits -> tracks -> video score ---------------------------------------------------------
@dataclass(frozen=True)
class TrackScore:
    """One face track's score.

    Attributes:
        track_id: the tracker's id.
        members: indices of the track's faces in the scored face list, in time order.
        mean_logit: mean of the faces' (uncalibrated) logits.
        score: ``sigmoid(calibrated mean logit)``.
        counted: long enough to count towards the video score.
    """

    track_id: int
    members: tuple[int, ...]
    mean_logit: float
    score: float
    counted: bool


@dataclass(frozen=True)
class VideoScore:
    """Tracks and the video score (the most suspicious counted track), as ``deepfake analyze`` reports."""

    tracks: tuple[TrackScore, ...]
    worst: TrackScore
    min_faces: int

    @property
    def score(self) -> float:
        return self.worst.score


def min_track_faces(frames_analyzed: int, frames_with_faces: int) -> int:
    """Faces a track needs to count.

    A face seen in one frame of many is more often a detector mistake than a person: tracks must appear
    in at least 2 analysed frames and in 10 % of the frames with faces (any track counts when at most 2
    frames were analysed).
    """
    if frames_analyzed <= 2:
        return 1
    return max(2, math.ceil(0.1 * frames_with_faces))


def aggregate_tracks(
    logits: Sequence[float] | np.ndarray,
    track_ids: Sequence[int],
    card: ModelCard | None,
    *,
    frames_analyzed: int,
    frames_with_faces: int,
    seen: dict[int, int] | None = None,
) -> VideoScore:
    """Per-track ``sigmoid(calibrated mean logit)`` and the most suspicious counted track.

    When no track is long enough, the longest track(s) count (so a short clip still gets a score).
    ``seen``: faces per track in the analysed frames when only some were scored (the budget per person,
    ``shared.faces.budget``): whether a track is long enough to count is decided on the frames it was
    *seen* in, not on how many of its faces the model scored.

    Raises:
        InvalidArgument: no faces, or as many ids as logits not given.
    """
    z = np.asarray(logits, dtype=np.float64).reshape(-1)
    if z.size == 0 or z.size != len(track_ids):
        raise InvalidArgument(f"need one track id per face logit and at least one face, got {z.size} and {len(track_ids)}")
    by_track: dict[int, list[int]] = {}
    for n, tid in enumerate(track_ids):
        by_track.setdefault(int(tid), []).append(n)
    need = min_track_faces(frames_analyzed, frames_with_faces)
    length = {tid: (seen or {}).get(tid, len(members)) for tid, members in by_track.items()}
    longest = max(length.values())
    tracks = []
    for tid in sorted(by_track):
        members = by_track[tid]
        mean = float(np.mean(z[members]))
        counted = length[tid] >= need or (longest < need and length[tid] == longest)
        tracks.append(TrackScore(tid, tuple(members), mean, float(fake_probability(mean, card)), counted))
    worst = max((t for t in tracks if t.counted), key=lambda t: t.score)
    return VideoScore(tuple(tracks), worst, need)


def describe_for_people(point: OperatingPoint) -> str:
    """A measured operating point in one line for a report's reader: the two points and what they were
    measured to do, without the development details of ``OperatingPoint.describe`` (data files, rules)."""
    parts = [f"fake at a score of {point.fake_at:.6g} or more, real below {point.real_below:.6g}"]
    pooled = point.false_fake.get("pooled")
    if pooled is not None:
        parts.append(
            f"measured on {pooled.files} real recordings, {100 * pooled.rate:.1f} % were called fake "
            f"(target at most {100 * point.target_false_fake_rate:g} %)"
        )
    if point.false_fake_held_out:
        worst = max(point.false_fake_held_out.values(), key=lambda r: r.rate)
        parts.append(f"on real speech unlike what the points were chosen on, up to {100 * worst.rate:.1f} %")
    caught = point.catch.get("pooled")
    if caught is not None:
        parts.append(f"{100 * caught.rate:.1f} % of {caught.files} synthetic recordings were caught")
    return "; ".join(parts)


# -- the report's band: what every section shows of the band its verdict used -----------------------------
def unmeasured_reason(card: ModelCard | None, labelled: str) -> str | None:
    """Why a model's score judges nothing: its card has no operating point measured on labelled data.

    The one rule for every kind of evidence whose verdict rests on a measured point (the voice check, the
    generated-picture check): without one the score is shown but gives no verdict, because nobody measured
    how often its band calls a real file fake. ``labelled`` names the data in the reader's words
    ("recordings", "pictures"). ``None`` when the card has a point (or there is no card: nothing scored).
    """
    if card is None or card.operating_point is not None:
        return None
    return (
        f"the {card.name} model has no operating point measured on labelled {labelled}: its score is shown, "
        "but it judges nothing"
    )


def report_band_for(card: ModelCard | None, settings_band: Thresholds) -> ReportBand:
    """The band a model's verdicts use, as the report shows it (:func:`band_for`: the card's measured
    operating point when it has one, else the settings' band moved with its decision threshold)."""
    band = band_for(card, Band.around(settings_band.uncertain_low, settings_band.uncertain_high, source="the settings"))
    return report_band(band, settings_band)


def report_band(band: Band, settings_band: Thresholds) -> ReportBand:
    """A :class:`Band` as the report's :class:`~shared.report.Band`."""
    point = band.operating_point
    if point is None:
        moved = band.real_below != settings_band.uncertain_low
        high = settings_band.uncertain_high + (band.real_below - settings_band.uncertain_low)
        return ReportBand(
            uncertain_low=round(band.real_below, 6),
            uncertain_high=round(high, 6),
            source="settings",
            description=f"the configured band{' (moved with the model' + chr(39) + 's decision threshold)' if moved else ''}: "
            f"real below {band.real_below:.2f}, fake above {high:.2f}; no false-alarm rate was measured for it",
        )
    false_fake, caught = point.false_fake.get("pooled"), point.catch.get("pooled")
    return ReportBand(
        uncertain_low=point.real_below,
        uncertain_high=point.fake_at,
        source="model_card",
        description=describe_for_people(point),
        false_alarm_rate=None if false_fake is None else round(false_fake.rate, 4),
        catch_rate=None if caught is None else round(caught.rate, 4),
    )
