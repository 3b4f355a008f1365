"""Audio file scores and operating points measured on labelled media (``deepfake audio evaluate-media``).

Three steps, each a function of the one before, so the expensive first one runs once:

1. :func:`score_files`: every file of a manifest through ``shared.audio_scoring.score_audio`` (the very
   code ``deepfake analyze`` runs: windows, silence skipped, voice activity), keeping each scored window's
   uncalibrated log-odds and speech fraction (:class:`ScoredFile`). :func:`save_windows` /
   :func:`load_windows` keep them in a JSON file.
2. :func:`compare_aggregations`: each file score of ``shared.scoring.AUDIO_AGGREGATIONS`` by pooled and
   per-source EER, and by pooled EER with each source left out, all on the same files (those every
   method could score). :func:`choose_aggregation` picks the method that wins the most leave-one-source-out
   folds, so the choice is not fitted to one source.
3. :func:`choose_operating_point`: the ``fake`` and ``real`` thresholds of one file score, chosen on the
   real and spoofed recordings of every source (:func:`thresholds_on`), measured in-sample and
   leave-one-source-out (each source's real recordings against a fake point chosen without that source).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from shared.datasets.base import Sample
from shared.errors import DeepfakeError, InvalidArgument
from shared.modelcard import Calibration, MeasuredRate, OperatingPoint
from shared.scoring import AUDIO_AGGREGATIONS, aggregate_audio, calibrated, logit, sigmoid

POOLED = "pooled"
WINDOWS_FORMAT = 1


@dataclass
class ScoredFile:
    """One labelled file's scored windows (in time order).

    Attributes:
        path, source, label, attack: from the manifest (label 1 = spoof).
        duration_s: seconds scored.
        log_odds: uncalibrated log-odds of "fake" per scored window.
        speech: speech fraction per scored window (``shared.vad``).
        starts_s: start of each scored window.
        silent_windows: windows skipped as silence.
    """

    path: str
    source: str
    label: int
    duration_s: float
    log_odds: np.ndarray
    speech: np.ndarray
    starts_s: np.ndarray
    silent_windows: int = 0
    attack: str | None = None

    def score(self, method: str, calibration: Calibration | None = None) -> float | None:
        """The file score of ``method`` (``None`` when the method has no window to use).

        The window probabilities are rounded to float32 first, as ``AudioScorer.score_windows`` and the
        audio service return them, so this is the score ``deepfake analyze`` reports, to the bit.
        """
        probs = sigmoid(calibrated(self.log_odds, calibration)).astype(np.float32)
        return aggregate_audio(probs, method, self.speech).score


@dataclass
class Skipped:
    path: str
    reason: str


class _Recorder:
    """Scores windows uncalibrated and keeps their log-odds (float64: probabilities near 1 stay apart)."""

    def __init__(self, scorer: Any) -> None:
        self.scorer = scorer
        self.card = scorer.card.model_copy(update={"calibration": None, "operating_point": None})
        self.last = np.zeros(0)

    def score_windows(self, windows: np.ndarray) -> np.ndarray:
        self.last = np.asarray(self.scorer.window_log_odds(windows), dtype=np.float64)
        return sigmoid(self.last)


def score_files(
    scorer: Any,
    samples: Sequence[Sample],
    *,
    max_seconds: float | None,
    speech_detector: Any | None = None,
    progress: bool = False,
) -> tuple[list[ScoredFile], list[Skipped]]:
    """Score every sample as ``deepfake analyze`` does; keep the windows' log-odds and speech fractions.

    Args:
        scorer: an ``AudioScorer`` (needs ``window_log_odds``).
        samples: labelled audio files.
        max_seconds: score only the first seconds of each file (``None``: all of it).
        speech_detector: a ``shared.vad.SpeechDetector`` (``None``: the process-wide one).
        progress: show a progress bar on stderr.
    """
    import sys

    from tqdm import tqdm

    from shared.audio_scoring import score_audio
    from shared.media.audio import load_audio

    recorder = _Recorder(scorer)
    rate = scorer.card.preprocessing.sample_rate
    files, skipped = [], []
    for sample in tqdm(samples, desc="scoring", unit="file", disable=not progress, file=sys.stderr):
        try:
            wave = load_audio(sample.path, rate, max_seconds=max_seconds)
            recorder.last = np.zeros(0)
            # "mean" uses every scored window, so a file with no speech still keeps its windows here.
            result = score_audio(recorder, wave, aggregation="mean", speech_detector=speech_detector)
        except DeepfakeError as exc:
            skipped.append(Skipped(str(sample.path), exc.message))
            continue
        if result.status != "analyzed":
            skipped.append(Skipped(str(sample.path), result.reason or result.status))
            continue
        files.append(
            ScoredFile(
                path=str(sample.path),
                source=sample.source,
                label=int(sample.label),
                attack=sample.attack,
                duration_s=result.duration_s,
                log_odds=recorder.last.copy(),
                speech=np.array([w.speech_fraction for w in result.segments], dtype=np.float64),
                starts_s=np.array([w.start_s for w in result.segments], dtype=np.float64),
                silent_windows=result.silent_windows,
            )
        )
    return files, skipped


def save_windows(path: Path, files: Sequence[ScoredFile], skipped: Sequence[Skipped], meta: dict[str, Any]) -> Path:
    """Write the scored windows (and what was skipped) as JSON, for re-analysis without re-scoring."""
    doc = {
        "format": WINDOWS_FORMAT,
        "meta": meta,
        "files": [
            {
                "path": f.path, "source": f.source, "label": f.label, "attack": f.attack,
                "duration_s": f.duration_s, "silent_windows": f.silent_windows,
                "log_odds": f.log_odds.tolist(), "speech": f.speech.tolist(), "starts_s": f.starts_s.tolist(),
            }
            for f in files
        ],
        "skipped": [{"path": s.path, "reason": s.reason} for s in skipped],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc) + "\n")
    return path


def load_windows(path: Path) -> tuple[list[ScoredFile], list[Skipped], dict[str, Any]]:
    """Read what :func:`save_windows` wrote."""
    doc = json.loads(Path(path).read_text())
    if doc.get("format") != WINDOWS_FORMAT:
        raise InvalidArgument(f"{path}: not a windows file of format {WINDOWS_FORMAT}")
    files = [
        ScoredFile(
            path=f["path"], source=f["source"], label=int(f["label"]), attack=f.get("attack"),
            duration_s=float(f["duration_s"]), silent_windows=int(f["silent_windows"]),
            log_odds=np.asarray(f["log_odds"], dtype=np.float64), speech=np.asarray(f["speech"], dtype=np.float64),
            starts_s=np.asarray(f["starts_s"], dtype=np.float64),
        )
        for f in doc["files"]
    ]
    return files, [Skipped(**s) for s in doc.get("skipped", [])], dict(doc.get("meta", {}))


def first_window_only(files: Sequence[ScoredFile]) -> tuple[list[ScoredFile], list[Skipped]]:
    """What scoring only the first window's length of each file gives, from files scored for longer.

    Exact for the log-odds: a file cut to one window length is that one window (tiled the same way when
    shorter). A file whose first window was skipped as silence would be silent throughout when cut, so
    it becomes a skipped file, as in a real run. (The speech fraction of the window may differ in its last
    32 ms frame, which the cut pads with zeros.)
    """
    kept, skipped = [], []
    for f in files:
        if f.starts_s.size == 0 or f.starts_s[0] != 0.0:
            skipped.append(Skipped(f.path, "the audio is silent"))
            continue
        kept.append(
            ScoredFile(path=f.path, source=f.source, label=f.label, attack=f.attack, duration_s=f.duration_s,
                       log_odds=f.log_odds[:1], speech=f.speech[:1], starts_s=f.starts_s[:1], silent_windows=0)
        )
    return kept, skipped


# --- step 2: which file score -------------------------------------------------------------------------
def eer_percent(labels: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray) -> float:
    """EER in % (``nan`` when one class is missing)."""
    from shared.evaluation.metrics import equal_error_rate

    y = np.asarray(labels)
    if y.size == 0 or len(set(y.tolist())) < 2:
        return math.nan
    return 100.0 * equal_error_rate(y, np.asarray(scores, dtype=np.float64))[0]


@dataclass
class AggregationRow:
    """One file score's EERs (%) on the common files."""

    method: str
    pooled: float
    per_source: dict[str, float]
    without_source: dict[str, float]


@dataclass
class AggregationTable:
    """Every aggregation compared on the same files.

    Attributes:
        rows: one per method, in ``AUDIO_AGGREGATIONS`` order.
        sources: the sources of the common files.
        files: how many files every method scored.
        dropped: files some method could not score (e.g. no speech window), by path.
        fold_winners: held-out source -> the method with the lowest pooled EER on the other sources.
    """

    rows: list[AggregationRow]
    sources: list[str]
    files: int
    dropped: list[str]
    fold_winners: dict[str, str] = field(default_factory=dict)

    def row(self, method: str) -> AggregationRow:
        return next(r for r in self.rows if r.method == method)


def compare_aggregations(
    files: Sequence[ScoredFile],
    methods: Sequence[str] = AUDIO_AGGREGATIONS,
    calibration: Calibration | None = None,
) -> AggregationTable:
    """Pooled, per-source and leave-one-source-out pooled EER of each method, on the files all methods score."""
    scores = {m: [f.score(m, calibration) for f in files] for m in methods}
    common = [i for i in range(len(files)) if all(scores[m][i] is not None for m in methods)]
    dropped = [files[i].path for i in range(len(files)) if i not in set(common)]
    y = np.array([files[i].label for i in common])
    src = np.array([files[i].source for i in common], dtype=object)
    sources = sorted(set(src.tolist()))
    rows = []
    for m in methods:
        s = np.array([scores[m][i] for i in common], dtype=np.float64)
        rows.append(
            AggregationRow(
                method=m,
                pooled=eer_percent(y, s),
                per_source={name: eer_percent(y[src == name], s[src == name]) for name in sources},
                without_source={name: eer_percent(y[src != name], s[src != name]) for name in sources},
            )
        )
    table = AggregationTable(rows=rows, sources=sources, files=len(common), dropped=dropped)
    for name in sources:
        # ties go to the earlier method in AUDIO_AGGREGATIONS order (the simpler one)
        table.fold_winners[name] = min(rows, key=lambda r: r.without_source[name]).method
    return table


def choose_aggregation(table: AggregationTable) -> str:
    """The method that wins the most leave-one-source-out folds; ties broken by the lower pooled EER."""
    wins = {r.method: 0 for r in table.rows}
    for method in table.fold_winners.values():
        wins[method] += 1
    return min(table.rows, key=lambda r: (-wins[r.method], r.pooled)).method


# --- step 3: the operating point -------------------------------------------------------------------------
@dataclass(frozen=True)
class FileScores:
    """File scores with labels and sources (one aggregation)."""

    scores: np.ndarray
    labels: np.ndarray
    sources: np.ndarray

    @classmethod
    def of(cls, files: Sequence[ScoredFile], method: str, calibration: Calibration | None = None) -> FileScores:
        kept = [(f.score(method, calibration), f) for f in files]
        kept = [(s, f) for s, f in kept if s is not None]
        return cls(
            scores=np.array([s for s, _ in kept], dtype=np.float64),
            labels=np.array([f.label for _, f in kept], dtype=np.int64),
            sources=np.array([f.source for _, f in kept], dtype=object),
        )

    def subset(self, keep: np.ndarray) -> FileScores:
        return FileScores(self.scores[keep], self.labels[keep], self.sources[keep])


#: log-odds margin beyond the outermost score when no neighbour bounds a threshold
EDGE_MARGIN = 0.5
#: the smallest distance from 0 or 1 that float64 keeps apart (log-odds up to about ±34.5)
_EPS = 1e-15


def _between(lower: float, upper: float) -> float:
    """Midway between two probabilities in log-odds, so small numeric changes move no file across it."""
    return float(sigmoid((logit(lower, _EPS) + logit(upper, _EPS)) / 2.0))


def _fake_point(scores: np.ndarray, rate: float) -> float:
    """A threshold with exactly ``min(floor(rate * n), n)`` of ``scores`` at or above it (ties aside).

    It lies midway (in log-odds) between the highest score that must stay below it and the next higher
    one; above the highest score by ``EDGE_MARGIN`` when none may reach it.
    """
    allowed = int(math.floor(rate * len(scores) + 1e-9))
    ordered = np.sort(scores)[::-1]
    if allowed >= len(ordered):
        return 0.0
    if allowed == 0:
        return float(sigmoid(logit(ordered[0], _EPS) + EDGE_MARGIN))
    return _between(ordered[allowed], ordered[allowed - 1])


def _real_point(scores: np.ndarray, rate: float) -> float:
    """A threshold with ``floor(rate * n)`` of ``scores`` below it, midway between its neighbours."""
    allowed = int(math.floor(rate * len(scores) + 1e-9))
    ordered = np.sort(scores)
    if allowed >= len(ordered):
        return 1.0
    if allowed == 0:
        return float(sigmoid(logit(ordered[0], _EPS) - EDGE_MARGIN))
    return _between(ordered[allowed - 1], ordered[allowed])


@dataclass(frozen=True)
class Thresholds:
    """A fake point and a real point (``real_below <= fake_at``)."""

    fake_at: float
    real_below: float


def thresholds_on(data: FileScores, rate: float) -> Thresholds:
    """The fake and real points chosen on ``data``.

    ``fake_at``: the lowest score at which at most ``rate`` of the real recordings *of every source* are
    called fake (the strictest source decides, so no single source carries the rate). ``real_below``: the
    highest score below which at most ``rate`` of the spoofed recordings of every source are called real,
    capped at ``fake_at``; in between the verdict is ``uncertain``.

    Raises:
        InvalidArgument: no real recordings to choose the fake point on.
    """
    real = data.labels == 0
    if not real.any():
        raise InvalidArgument("the fake point needs real recordings to be chosen on")
    fake_at = max(_fake_point(data.scores[real & (data.sources == s)], rate) for s in set(data.sources[real]))
    spoof = data.labels == 1
    spoof_sources = set(data.sources[spoof])
    real_below = min((_real_point(data.scores[spoof & (data.sources == s)], rate) for s in spoof_sources), default=fake_at)
    return Thresholds(fake_at=fake_at, real_below=min(real_below, fake_at))


def _rates(data: FileScores, label: int, test: Callable[[np.ndarray], np.ndarray]) -> dict[str, MeasuredRate]:
    out = {}
    chosen = data.labels == label
    for name in [*sorted(set(data.sources[chosen])), POOLED]:
        keep = chosen if name == POOLED else chosen & (data.sources == name)
        out[name] = MeasuredRate(called=int(np.sum(test(data.scores[keep]))), files=int(np.sum(keep)))
    return out


@dataclass
class OperatingPointStudy:
    """The chosen point and the leave-one-source-out check behind it.

    Attributes:
        thresholds: chosen on all sources.
        held_out: held-out bona fide source -> (the point chosen on the other sources, the held-out
            real recordings it called fake, the held-out spoofed recordings it caught).
    """

    thresholds: Thresholds
    held_out: dict[str, tuple[Thresholds, MeasuredRate, MeasuredRate | None]]


def study_operating_point(data: FileScores, rate: float) -> OperatingPointStudy:
    """Thresholds on all sources, and for each source with real recordings: chosen without it, measured on it."""
    held_out = {}
    for name in sorted(set(data.sources[data.labels == 0])):
        others = data.subset(data.sources != name)
        if not np.any(others.labels == 0):
            continue
        point = thresholds_on(others, rate)
        mine = data.subset(data.sources == name)
        real, spoof = mine.scores[mine.labels == 0], mine.scores[mine.labels == 1]
        caught = MeasuredRate(called=int(np.sum(spoof >= point.fake_at)), files=len(spoof)) if len(spoof) else None
        held_out[name] = (point, MeasuredRate(called=int(np.sum(real >= point.fake_at)), files=len(real)), caught)
    return OperatingPointStudy(thresholds=thresholds_on(data, rate), held_out=held_out)


def choose_operating_point(
    files: Sequence[ScoredFile],
    method: str,
    *,
    rate: float = 0.05,
    max_seconds: float | None,
    chosen_on: str,
    measured_with: str | None = None,
    calibration: Calibration | None = None,
) -> tuple[OperatingPoint, OperatingPointStudy]:
    """The card's operating point for the file score ``method``, with its measured rates.

    Returns:
        The ``OperatingPoint`` to store in the model card, and the study (per-fold thresholds) behind it.
    """
    data = FileScores.of(files, method, calibration)
    study = study_operating_point(data, rate)
    t = study.thresholds
    point = OperatingPoint(
        fake_at=t.fake_at,
        real_below=t.real_below,
        aggregation=method,
        max_seconds=max_seconds,
        chosen_on=chosen_on,
        rule=(
            f"fake_at: lowest score calling at most {100 * rate:g} % of the real recordings of every source fake; "
            f"real_below: highest score calling at most {100 * rate:g} % of the spoofed recordings of every source "
            "real (capped at fake_at)"
        ),
        target_false_fake_rate=rate,
        false_fake=_rates(data, 0, lambda s: s >= t.fake_at),
        false_fake_held_out={name: rates[1] for name, rates in study.held_out.items()},
        catch=_rates(data, 1, lambda s: s >= t.fake_at),
        missed_as_real=_rates(data, 1, lambda s: s < t.real_below),
        measured_with=measured_with,
    )
    return point, study
