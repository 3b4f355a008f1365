"""16 kHz waveform → windows → fake probabilities: the one place an audio model folder is run.

Windowing (the numbers come from the model's ``model.json``; for AASIST: 64,600-sample windows, hop 32,300):

* A clip no longer than one window is **tiled** to the window length (repeated end to end and cut), as
  the official AASIST evaluation loader does; it gives one segment covering the clip.
* A longer clip is cut into windows starting every ``hop`` samples (half a window for AASIST, so every
  sample is heard by two windows); when the last regular window stops short of the end, one more
  window is aligned to the end, so the tail is always scored.
* Windows whose level is below ``SILENCE_DBFS`` are not scored (speech detectors say nothing about
  silence); they appear in no segment and do not count towards the file's score.
* **Budget for long recordings** (:func:`window_budget`, :func:`choose_windows`): a recording with up to
  ``budget_s`` (60 s by default, ``DEEPFAKE_VOICE_BUDGET_S``) of speech has every non-silent window scored,
  exactly as before the budget existed. Beyond that, the voice model hears ``B = W * sqrt(speech / budget_s)``
  windows (``W``: the windows of a ``budget_s``-long clip, 29 for AASIST), chosen evenly over the file's
  speech (more where there is more speech), always including the first window and the first window
  that is mostly speech. The file score is then the same aggregation over the scored windows; the
  ``first`` and ``speech_first`` aggregations (AASIST's operating points use ``first``) read a window that
  is always scored, so their verdicts do not change with the budget at all.

Scores:

* Per window: fake probability. For a 2-logit model (``output="logits2"``), P(spoof) = softmax of the two
  logits = sigmoid(logit_spoof − logit_bonafide); for a 1-logit model (``output="logit"``), sigmoid(logit).
  When the card has a Platt calibration the log-odds are mapped through it first (``shared.scoring``).
* Per window, speech: the fraction of its 32 ms frames that silero-vad (``shared.vad``) calls speech.
  Windows with less than half speech are scored and shown, but counted as ``non_speech_windows``.
* Per file: one of ``shared.scoring.AUDIO_AGGREGATIONS`` over the scored windows. The default is the
  card's operating point's aggregation (its thresholds were measured on that file score), else
  ``shared.scoring.DEFAULT_AUDIO_AGGREGATION``, chosen by measurement (``docs/audio-models.md``). The most
  suspicious window is reported as ``max_score``.

Not applicable (no score, a reason instead): audio shorter than the card's ``min_seconds`` (1.5 s), silent
throughout, or (for the ``speech_*`` aggregations) no window that is mostly speech.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
from pydantic import BaseModel, Field

from shared.errors import InvalidArgument, ModelContractError
from shared.modelcard import AudioPreprocessing, ModelCard
from shared.report import AudioStretch
from shared.scoring import (
    DEFAULT_AUDIO_AGGREGATION,
    MIN_SPEECH_FRACTION,
    AudioAggregation,
    aggregate_audio,
    calibrated,
    check_aggregation,
    sigmoid,
)

#: a window quieter than this (RMS, dB relative to full scale) counts as silence
SILENCE_DBFS = -60.0
#: windows per inference call. OpenVINO keeps the intermediate tensors of the largest batch it has run:
#: AASIST held 1.36 GB more than the loaded model after a batch of 8 four-second windows, 350 MB after 2,
#: 180 MB after 1, at 278, 288 and 297 ms per window on 2 cores (idle): one window at a time keeps a long
#: video's analysis within its memory target for 7 % more time on the voice
DEFAULT_BATCH = 1
#: seconds of speech whose every window is scored; beyond, the budget grows as its square root (see
#: ``window_budget``). One minute keeps every clip of the test sets and most social-media clips whole.
DEFAULT_BUDGET_S = 60.0


class AudioScorerLike(Protocol):
    """What ``score_audio`` needs: the local ``AudioScorer`` or a remote client with the same contract."""

    card: ModelCard

    def score_windows(self, windows: np.ndarray) -> np.ndarray: ...


class AudioWindow(BaseModel):
    """One scored window of a file."""

    start_s: float
    end_s: float
    score: float = Field(description="fake (spoof) probability of this window")
    speech_fraction: float | None = Field(
        None, description="fraction of the window's 32 ms frames that are speech (silero-vad)"
    )
    counted: bool = Field(True, description="the file score was computed from this window (among others)")


class AudioResult(BaseModel):
    """The audio verdict material for one file (the pipeline turns it into the report's audio section)."""

    status: Literal["analyzed", "not_applicable"]
    reason: str | None = Field(None, description="why there is no score, when there is none")
    score: float | None = Field(None, description="file fake probability (see aggregation)")
    max_score: float | None = Field(None, description="fake probability of the most suspicious window")
    aggregation: str = Field(DEFAULT_AUDIO_AGGREGATION, description="how the windows became the file score")
    duration_s: float = Field(description="seconds of audio given to the scorer")
    window_s: float
    hop_s: float
    segments: list[AudioWindow] = Field(default_factory=list, description="the scored windows, in time order")
    silent_windows: int = Field(0, description="windows skipped as silence (not scored)")
    non_speech_windows: int = Field(
        0, description=f"scored windows with less than {MIN_SPEECH_FRACTION:g} of speech frames"
    )
    speech_s: float | None = Field(None, description="seconds of speech found by the voice activity detector")
    windows_total: int = Field(0, description="windows with sound (not silent): the ones that could be scored")
    windows_scored: int = Field(0, description="windows the voice model scored (all of them up to the budget)")
    scored_stretches: list[AudioStretch] = Field(
        default_factory=list, description="the stretches the scored windows cover, overlapping windows merged"
    )

    @property
    def sampled(self) -> bool:
        """True when the budget left some windows with sound unscored."""
        return self.windows_scored < self.windows_total

    @property
    def not_applicable(self) -> str | None:
        """The reason when the audio could not be judged, else ``None``."""
        return self.reason if self.status == "not_applicable" else None


def fake_log_odds(outputs: np.ndarray, prep: AudioPreprocessing) -> np.ndarray:
    """Model outputs → log-odds of "fake" per window, float64 (N,).

    ``logits2``: logit of the spoof class minus logit of the bona fide class (softmax over two classes is
    the sigmoid of this difference). ``logit``: the fake logit itself.
    """
    outputs = np.asarray(outputs, dtype=np.float64)
    if prep.output == "logits2":
        if outputs.ndim != 2 or outputs.shape[1] != 2 or prep.bonafide_index not in (0, 1):
            raise InvalidArgument(
                f"expected (N, 2) logits with bonafide_index 0/1, got shape {outputs.shape}"
            )
        bona = outputs[:, prep.bonafide_index]
        return outputs[:, 1 - prep.bonafide_index] - bona
    return outputs.reshape(-1)


@dataclass
class AudioScorer:
    """A compiled audio model folder.

    ``score_windows`` is the contract shared with the audio inference service: float32 ``(N, samples)`` at
    the card's sample rate → fake probability ``(N,)``.
    """

    folder: Path
    card: ModelCard
    compiled: object
    batch_size: int = DEFAULT_BATCH

    @classmethod
    def from_folder(
        cls, folder: str | Path, *, hint: str = "LATENCY", threads: int | None = None
    ) -> AudioScorer:
        """Compile ``folder`` (model.xml + model.bin + model.json) once per process.

        Raises:
            ModelUnavailable: not a model folder.
            InvalidArgument: the folder holds a video model.
        """
        from shared.runtime import compile_model
        from shared.settings import get_model_settings

        if threads is None:
            threads = get_model_settings().inference_threads
        compiled = compile_model(Path(folder), hint=hint, threads=threads)
        if compiled.card.kind != "audio" or not isinstance(compiled.card.preprocessing, AudioPreprocessing):
            raise InvalidArgument(f"{folder} holds a {compiled.card.kind} model, not an audio model")
        return cls(folder=Path(folder), card=compiled.card, compiled=compiled)

    @property
    def prep(self) -> AudioPreprocessing:
        assert isinstance(self.card.preprocessing, AudioPreprocessing)
        return self.card.preprocessing

    def _check(self, windows: np.ndarray) -> np.ndarray:
        windows = np.asarray(windows)
        if windows.ndim != 2 or windows.shape[1] != self.prep.window_samples:
            raise InvalidArgument(
                f"audio windows must have shape (N, {self.prep.window_samples}), got {tuple(windows.shape)}"
            )
        return np.ascontiguousarray(windows, dtype=np.float32)

    def window_log_odds(self, windows: np.ndarray) -> np.ndarray:
        """Uncalibrated log-odds of "fake" per window, float64 (N,) (for EER and calibration fitting)."""
        windows = self._check(windows)
        outputs = []
        for start in range(0, len(windows), self.batch_size):
            result = self.compiled.infer(windows[start : start + self.batch_size])  # type: ignore[attr-defined]
            outputs.append(next(iter(result.values())))
        if not outputs:
            return np.zeros(0, dtype=np.float64)
        return fake_log_odds(np.concatenate(outputs), self.prep)

    def score_windows(self, windows: np.ndarray) -> np.ndarray:
        """Fake probability per window, float32 (N,), calibrated when the card says so."""
        return sigmoid(calibrated(self.window_log_odds(windows), self.card.calibration)).astype(np.float32)


@dataclass(frozen=True)
class Windows:
    """Where the windows of one clip start (samples) and the span of the clip each one covers."""

    starts: list[int]
    ends: list[int]
    tiled: bool


def plan_windows(length: int, window: int, hop: int) -> Windows:
    """Window start/end positions for a clip of ``length`` samples (see the module docstring)."""
    if window <= 0 or hop <= 0:
        raise InvalidArgument(f"window and hop must be positive, got {window} and {hop}")
    if length <= window:
        return Windows(starts=[0], ends=[length], tiled=length < window)
    starts = list(range(0, length - window + 1, hop))
    if starts[-1] + window < length:
        starts.append(length - window)
    return Windows(starts=starts, ends=[s + window for s in starts], tiled=False)


def tile_to(clip: np.ndarray, length: int) -> np.ndarray:
    """Repeat ``clip`` end to end and keep the first ``length`` samples (the official eval padding)."""
    repeats = length // len(clip) + 1
    return np.tile(clip, repeats)[:length]


def _dbfs(x: np.ndarray) -> float:
    rms = float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if x.size else 0.0
    return 20.0 * np.log10(rms) if rms > 0 else -np.inf


def make_windows(waveform: np.ndarray, prep: AudioPreprocessing) -> tuple[np.ndarray, Windows]:
    """Cut (or tile) a waveform into the model's windows: float32 ``(N, window_samples)`` and their spans."""
    plan = plan_windows(len(waveform), prep.window_samples, prep.hop_samples)
    if plan.tiled:
        return tile_to(waveform, prep.window_samples)[None, :].astype(np.float32), plan
    rows = [waveform[s : s + prep.window_samples] for s in plan.starts]
    return np.stack(rows).astype(np.float32, copy=False), plan


def window_budget(speech_s: float, prep: AudioPreprocessing, budget_s: float | None = DEFAULT_BUDGET_S) -> int | None:
    """How many windows the voice model scores in a recording with ``speech_s`` seconds of speech.

    ``W``, the windows of a ``budget_s``-long clip (29 for AASIST at 60 s), up to ``budget_s`` of speech;
    beyond, ``ceil(W * sqrt(speech_s / budget_s))``: 10 minutes of speech get 92 windows instead of 297,
    an hour 225 instead of 1,783.

    Why the square root, between a fixed number and all of them: the cost of the voice check then grows
    as the square root of the length, while the gap between two scored windows grows only as the square
    root too (10 minutes of speech: one 4 s window every 6.5 s of speech; an hour: every 16 s), so a
    long stretch of cloned voice is still heard. And for a file score taken over many windows (``max``)
    the chances of a false alarm grow with the number of windows scored: they then grow slower than the
    recording.

    Returns:
        The number of windows, or ``None`` for no budget (``budget_s`` 0 or ``None``: every window).
    """
    if not budget_s or budget_s <= 0:
        return None
    full = len(plan_windows(round(budget_s * prep.sample_rate), prep.window_samples, prep.hop_samples).starts)
    return math.ceil(full * math.sqrt(max(speech_s, budget_s) / budget_s))


def budget_seconds(speech_s: float, budget_s: float | None = DEFAULT_BUDGET_S) -> float:
    """Seconds of speech the budget lets the voice model hear: ``speech_s`` up to ``budget_s``, then
    ``budget_s * sqrt(speech_s / budget_s)`` (the seconds-counterpart of :func:`window_budget`, whatever the
    model's windows; the progress bar weighs the voice check by it)."""
    if not budget_s or budget_s <= 0 or speech_s <= budget_s:
        return speech_s
    return budget_s * math.sqrt(speech_s / budget_s)


def choose_windows(
    speech_fractions: np.ndarray, budget: int | None, *, min_speech_fraction: float = MIN_SPEECH_FRACTION
) -> list[int]:
    """Which of ``N`` windows with sound (in time order) the voice model scores: at most ``budget``.

    All of them when they fit. Otherwise: the first window and the first one that is mostly speech
    (the ``first`` and ``speech_first`` aggregations read them, so their file scores never depend on the
    budget), then windows evenly spaced over the recording's speech - the ``k``-th at the point where
    ``(k + 1/2) / m`` of the windows' speech lies before it - so a minute full of speech gets more
    windows than a minute of music; if speech is too scarce to fill the budget that way, the windows with
    the most speech, then the rest spread evenly in time.

    Args:
        speech_fractions: each window's fraction of speech frames (``shared.vad``), float ``(N,)``.
        budget: the most windows to score (:func:`window_budget`); ``None``: all.

    Returns:
        Indices into the ``N`` windows, ascending.
    """
    weights = np.asarray(speech_fractions, dtype=np.float64).reshape(-1)
    count = weights.size
    if budget is None or budget >= count:
        return list(range(count))
    chosen = {0}
    speech = np.flatnonzero(weights >= min_speech_fraction)
    if speech.size:
        chosen.add(int(speech[0]))
    slots = max(budget - len(chosen), 0)
    if slots:
        if weights.sum() <= 0:  # sound but no speech anywhere: spread over time
            weights = np.ones(count)
        mass = np.cumsum(weights)
        targets = (np.arange(slots) + 0.5) * mass[-1] / slots
        chosen.update(int(i) for i in np.minimum(np.searchsorted(mass, targets, side="left"), count - 1))
    missing = budget - len(chosen)
    if missing > 0:  # several targets fell in one window: the most speech first, then spread in time
        rest = np.array(sorted(set(range(count)) - chosen))
        voiced = rest[weights[rest] > 0]
        voiced = voiced[np.argsort(-weights[voiced], kind="stable")][:missing]
        chosen.update(int(i) for i in voiced)
        missing -= voiced.size
        if missing > 0:
            quiet = np.array(sorted(set(range(count)) - chosen))
            picks = np.round(np.linspace(0, quiet.size - 1, missing)).astype(int)
            chosen.update(int(i) for i in quiet[picks])
    return sorted(chosen)


def merge_stretches(spans: list[tuple[float, float]]) -> list[AudioStretch]:
    """Overlapping or touching spans (seconds, in time order) merged into stretches."""
    out: list[AudioStretch] = []
    for start, end in spans:
        if out and start <= out[-1].end_s + 1e-9:
            out[-1].end_s = max(out[-1].end_s, end)
        else:
            out.append(AudioStretch(start_s=start, end_s=end))
    return out


def default_aggregation(card: ModelCard) -> AudioAggregation:
    """The card's operating point's aggregation (its thresholds apply to it), else the shipped default."""
    if card.operating_point is not None:
        return check_aggregation(card.operating_point.aggregation)
    return DEFAULT_AUDIO_AGGREGATION


#: windows per call of the voice model when progress is followed (AASIST: about 4 s of audio each)
PROGRESS_CHUNK_WINDOWS = 2


def score_audio(
    scorer: AudioScorerLike,
    waveform: np.ndarray,
    *,
    aggregation: str | None = None,
    speech_detector: Any | None = None,
    activity: Any | None = None,
    progress: Callable[[float], None] | None = None,
    budget_s: float | None = None,
) -> AudioResult:
    """Score a mono waveform at the scorer's sample rate: per-window segments and a file score.

    Args:
        scorer: an ``AudioScorer`` (or anything with ``card`` and ``score_windows``).
        waveform: float32 mono samples at ``scorer.card.preprocessing.sample_rate``.
        aggregation: one of ``shared.scoring.AUDIO_AGGREGATIONS``; ``None``: ``default_aggregation(card)``.
        speech_detector: a ``shared.vad.SpeechDetector``; ``None``: the process-wide one (silero-vad must
            be installed: voice activity is part of every result).
        activity: the waveform's ``shared.vad.SpeechActivity`` when already found (the pipeline's
            ``speech_activity`` product); ``None``: found here with ``speech_detector``.
        progress: called with the share of windows scored (0..1); the windows are then scored a few
            at a time so a long recording's bar moves.
        budget_s: every window is scored up to this many seconds of speech; beyond, a budget that grows
            as the square root of the speech (:func:`window_budget`, :func:`choose_windows`). ``None``
            or 0: every window (what evaluations that record every window want).

    Returns:
        An ``AudioResult``: ``status="analyzed"`` with segments and scores, or ``"not_applicable"`` with
        a reason (too short, silent, no speech).

    Raises:
        InvalidArgument: not an audio model, not a mono waveform, an unknown aggregation.
        ModelUnavailable: silero-vad is not installed.
    """
    prep = scorer.card.preprocessing
    if not isinstance(prep, AudioPreprocessing):
        raise InvalidArgument(f"model {scorer.card.name} is not an audio model")
    method = check_aggregation(aggregation) if aggregation is not None else default_aggregation(scorer.card)
    waveform = np.asarray(waveform, dtype=np.float32)
    if waveform.ndim != 1:
        raise InvalidArgument(f"expected a mono waveform (samples,), got shape {tuple(waveform.shape)}")
    rate = prep.sample_rate
    duration = len(waveform) / rate
    common: dict[str, Any] = {
        "duration_s": round(duration, 3),
        "window_s": round(prep.window_samples / rate, 4),
        "hop_s": round(prep.hop_samples / rate, 4),
        "aggregation": method,
    }
    if duration < prep.min_seconds:
        return AudioResult(
            status="not_applicable",
            reason=f"the audio is too short to judge ({duration:.2f} s; at least {prep.min_seconds:g} s needed)",
            **common,
        )
    if _dbfs(waveform) < SILENCE_DBFS:
        return AudioResult(status="not_applicable", reason="the audio is silent", **common)

    plan = plan_windows(len(waveform), prep.window_samples, prep.hop_samples)
    spans = list(zip(plan.starts, plan.ends, strict=True))
    # A tiled window repeats the whole clip, which was already found not silent.
    loud = [plan.tiled or _dbfs(waveform[s:e]) >= SILENCE_DBFS for s, e in spans]
    audible = [i for i, ok in enumerate(loud) if ok]
    if not audible:
        return AudioResult(
            status="not_applicable", reason="the audio is silent", silent_windows=len(spans), **common
        )
    if activity is None:
        if speech_detector is None:
            from shared.vad import get_speech_detector

            speech_detector = get_speech_detector()
        activity = speech_detector.activity(waveform, rate)
    audible_fractions = activity.window_fractions([spans[i][0] for i in audible], [spans[i][1] for i in audible])
    picked = choose_windows(audible_fractions, window_budget(activity.speech_seconds, prep, budget_s))
    keep = [audible[j] for j in picked]
    fractions = audible_fractions[picked]
    # only the scored windows are cut: a 10-minute file's 296 AASIST windows would take 76 MB
    if plan.tiled:
        windows = tile_to(waveform, prep.window_samples)[None, :].astype(np.float32)
    else:
        windows = np.stack([waveform[spans[i][0] : spans[i][1]] for i in keep]).astype(np.float32, copy=False)
    if progress is None:
        scores = np.asarray(scorer.score_windows(windows), dtype=np.float64).reshape(-1)
    else:
        parts = []
        for start in range(0, len(keep), PROGRESS_CHUNK_WINDOWS):
            chunk = windows[start : start + PROGRESS_CHUNK_WINDOWS]
            parts.append(np.asarray(scorer.score_windows(chunk), dtype=np.float64).reshape(-1))
            progress(min(start + PROGRESS_CHUNK_WINDOWS, len(keep)) / len(keep))
        scores = np.concatenate(parts)
    if len(scores) != len(keep):  # our model broke its contract: not the user's file
        raise ModelContractError(f"the audio model returned {len(scores)} scores for {len(keep)} windows")
    file_score = aggregate_audio(scores, method, fractions)
    used = set(file_score.windows_used)
    segments = [
        AudioWindow(
            start_s=spans[i][0] / rate,
            end_s=spans[i][1] / rate,
            score=float(p),
            speech_fraction=round(float(f), 4),
            counted=n in used,
        )
        for n, (i, p, f) in enumerate(zip(keep, scores, fractions, strict=True))
    ]
    counts: dict[str, Any] = {
        "segments": segments,
        "silent_windows": len(spans) - len(audible),
        "non_speech_windows": int(np.sum(fractions < MIN_SPEECH_FRACTION)),
        "speech_s": round(activity.speech_seconds, 3),
        "max_score": float(np.max(scores)),
        "windows_total": len(audible),
        "windows_scored": len(keep),
        "scored_stretches": merge_stretches([(spans[i][0] / rate, spans[i][1] / rate) for i in keep]),
    }
    if file_score.score is None:
        return AudioResult(
            status="not_applicable", reason=f"no speech found in the audio ({file_score.reason})", **counts, **common
        )
    return AudioResult(status="analyzed", score=file_score.score, **counts, **common)
