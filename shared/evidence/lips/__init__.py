"""Lips against voice: does the mouth of a face on screen move with the speech of the soundtrack?

What it measures, per face track (products only: ``face_tracks``, ``face_landmarks``, ``waveform_16k``,
``speech_activity``, ``media``; nothing is decoded again):

1. **Mouth opening** per analysed frame: the inner-lip gap over the distance between the eyes' outer corners
   (MediaPipe's face mesh, ``shared.faces.landmarks``), on frames where the mesh sees a face (presence
   >= :data:`MIN_PRESENCE`) that is not turned away (:data:`MAX_TURN`), on faces at least
   :data:`MIN_FACE_PX` tall. Its slow drift (over :data:`DETREND_S`) is removed.
2. **Speech envelope**: the amplitude (square root of the energy) of 300-3000 Hz every 10 ms (where speech energy lives), slow drift
   removed the same way, placed on the container's clock with the audio stream's own start time
   (``MediaSource.audio_start_s``) and the video's (``VideoIndex.start_s``), so a file whose sound starts
   late (a re-mux with ``-itsoffset``) is measured as it plays, not by counting samples.
3. **Offset and sync**: the correlation of the two over lags of +-:data:`MAX_LAG_S` (positive: the sound
   comes after the picture); the best lag is the offset, its correlation the sync. Alone a correlation
   means little on a few seconds, so it is compared with a **null**: the same mouth against the same
   soundtrack moved far away (circularly, by at least :data:`NULL_MIN_SHIFT_S`), best lag searched the same
   way. ``sync`` is how many null spreads the real peak stands above the null's mean; the track's
   ``score`` is the normal tail probability of that (about 0.5 when the lips follow the voice no better
   than chance, near 0 when they clearly do). Higher = lips and voice disagree.
4. **The speaker** is the best-synced track; the section's score is the speaker's. The verdict uses the
   measured operating point (``shared/evidence/lips/operating_point.json``, measured by
   ``python -m shared.evidence.lips.evaluation``), and only when the speaker's track holds at least its
   ``min_speech_s`` of speech with a visible face: below that, the check abstains (``not_applicable``) and
   still reports the offset and sync it found.

**SyncNet, the learned option**: when ``DEEPFAKE_LIPS_MODEL`` names a folder written by ``deepfake models
import-syncnet``, the same products are scored by SyncNet instead (``shared.evidence.lips.syncnet``: its authors'
offset and confidence per window), and the section judges nothing, since no operating point was measured
for it (``docs/lips.md``).

What it does not prove: a lip-synced fake (Wav2Lip, HyperLips) moves the mouth *to* the voice, so it passes
this check by construction; a good sync says the mouth follows the voice, not that either is genuine. A poor
sync over a short stretch happens on real footage too (a face turned, a hand over the mouth, a voice off
screen), which is why the verdict needs enough speech.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from shared.analysis import RunContext
from shared.dataflow import ProductContext, Provider, register_provider
from shared.evidence.base import Evidence
from shared.evidence.registry import register_evidence
from shared.faces.landmarks import FaceLandmarks
from shared.faces.stage import PreparedFaces
from shared.media.probe import MediaSource
from shared.modelcard import OperatingPoint
from shared.products import NO_AUDIO_TRACK, Waveform
from shared.report import LipsCurve, LipsSection, LipsTrack
from shared.scoring import Band, report_band, verdict_for
from shared.vad import SpeechActivity

#: the face mesh must be at least this sure a crop holds a face
MIN_PRESENCE = 0.5
#: faces turned further than this (nose off the middle of the eyes, over the eye distance) are skipped
MAX_TURN = 0.25
#: faces smaller than this (detector box height, frame pixels) show too few pixels of lip
MIN_FACE_PX = 64.0
#: analysed frames further apart than this cannot follow syllables (about 4 per second)
MAX_FRAME_STEP_S = 0.15
#: a track needs this many usable frames, and this much speech over them, to be measured at all
MIN_USABLE_FRAMES = 25
MIN_MEASURE_SPEECH_S = 3.0
#: lags searched for the offset, and the step (sound after picture is positive)
MAX_LAG_S = 0.7
LAG_STEP_S = 0.01
#: slow drift removed from both signals (head nods, loudness changes), and the null's shifts
DETREND_S = 1.0
NULL_MIN_SHIFT_S = 2.0
NULL_STEP_S = 0.1
MIN_NULL_SPREAD = 0.03
MAX_NULL_SHIFTS = 60
#: the speech envelope: band, window and hop
BAND_HZ = (300.0, 3000.0)
ENVELOPE_WINDOW_S = 0.025
ENVELOPE_HOP_S = 0.01
#: windows of the envelope computed at once (4096: 41 s of audio, 13 MB of frames)
ENVELOPE_CHUNK = 4096
#: sync strength above which a large offset is reported as sound and picture apart (not as a fake)
STRONG_SYNC = 3.0
MUXING_OFFSET_MS = 250.0
#: measured by ``python -m shared.evidence.lips.evaluation`` (its table beside it: ``operating_point.measured.json``)
OPERATING_POINT_FILE = Path(__file__).with_name("operating_point.json")


# --- the landmarks product ------------------------------------------------------------------------------
def _face_landmarks(inputs: dict[str, Any], context: ProductContext, run: RunContext) -> dict[str, Any]:
    """The face mesh on every face crop of ``face_tracks`` (same order as its ``faces``)."""
    from shared.faces.landmarks import get_face_mesh

    faces: PreparedFaces | None = inputs["face_tracks"]
    if faces is None or not len(faces.faces):
        return {"face_landmarks": None}
    t = time.perf_counter()
    landmarks = get_face_mesh().landmarks(faces.crops)
    run.clock.add("face_landmarks", t)
    return {"face_landmarks": landmarks}


register_provider(
    Provider("face_mesh", ("face_landmarks",), ("face_tracks",), frozenset({"video", "image"}), _face_landmarks)
)


# --- the operating point ------------------------------------------------------------------------------
class LipsOperatingPoint(BaseModel):
    """Where the lips verdict changes, and how much speech it needs before it says anything."""

    min_speech_s: float = Field(description="speech with a visible face below which the check abstains")
    point: OperatingPoint


def load_lips_operating_point() -> LipsOperatingPoint:
    return LipsOperatingPoint.model_validate_json(OPERATING_POINT_FILE.read_text())


# --- the signals ----------------------------------------------------------------------------------------
@dataclass
class MouthSignal:
    """One face track's mouth opening over time, on the container's clock.

    Attributes:
        track_id: the face stage's track id.
        times_s: float64 ``(N,)`` frame times (container clock), increasing.
        opening: float64 ``(N,)``; NaN where the face was unusable (no face, turned away).
        face_px: median face height (detector box) in frame pixels.
    """

    track_id: int
    times_s: np.ndarray
    opening: np.ndarray
    face_px: float

    @property
    def usable(self) -> np.ndarray:
        return np.isfinite(self.opening)


@dataclass
class Envelope:
    """Speech envelope every ``hop_s`` from ``start_s`` (container clock)."""

    start_s: float
    hop_s: float
    values: np.ndarray

    @property
    def end_s(self) -> float:
        return self.start_s + self.hop_s * (len(self.values) - 1)

    def at(self, times_s: np.ndarray) -> np.ndarray:
        """Linearly interpolated values at ``times_s``; NaN outside the audio."""
        pos = (np.asarray(times_s, np.float64) - self.start_s) / self.hop_s
        out = np.interp(pos.reshape(-1), np.arange(len(self.values)), self.values).reshape(pos.shape)
        out[(pos < 0) | (pos > len(self.values) - 1)] = np.nan
        return out

    def circular(self, times_s: np.ndarray, shift_s: float) -> np.ndarray:
        """Values at ``times_s + shift_s`` wrapped around the audio's span (the null's far-away soundtrack)."""
        span = self.hop_s * len(self.values)
        wrapped = self.start_s + np.mod(np.asarray(times_s, np.float64) + shift_s - self.start_s, span)
        return self.at(np.minimum(wrapped, self.end_s))


def _detrend(values: np.ndarray, times_s: np.ndarray, span_s: float) -> np.ndarray:
    """``values`` minus their mean over +-span/2 around each time (NaNs ignored, kept)."""
    finite = np.isfinite(values)
    out = np.full(values.shape, np.nan)
    if not finite.any():
        return out
    t, v = times_s[finite], values[finite]
    csum = np.concatenate([[0.0], np.cumsum(v)])
    lo = np.searchsorted(t, t - span_s / 2, side="left")
    hi = np.searchsorted(t, t + span_s / 2, side="right")
    out[finite] = v - (csum[hi] - csum[lo]) / np.maximum(hi - lo, 1)
    return out


def speech_envelope(samples: np.ndarray, rate: int, start_s: float) -> Envelope:
    """Amplitude of :data:`BAND_HZ` every :data:`ENVELOPE_HOP_S`, drift removed (``start_s``: container clock)."""
    window, hop = int(round(ENVELOPE_WINDOW_S * rate)), int(round(ENVELOPE_HOP_S * rate))
    audio = np.asarray(samples, np.float64)
    if audio.size < window:
        return Envelope(start_s, hop / rate, np.zeros(0))
    count = 1 + (audio.size - window) // hop
    windows = np.lib.stride_tricks.sliding_window_view(audio, window)[::hop][:count]
    taper = np.hanning(window)
    freqs = np.fft.rfftfreq(window, 1.0 / rate)
    band = (freqs >= BAND_HZ[0]) & (freqs <= BAND_HZ[1])
    energy = np.empty(count)
    # A few thousand windows at a time: ten minutes at once held 600 MB of frames and spectra (measured:
    # the analysis of a 10-minute video peaked at 1465 MB there); each window's energy is its own, the same
    # numbers either way.
    for start in range(0, count, ENVELOPE_CHUNK):
        spectrum = np.abs(np.fft.rfft(windows[start : start + ENVELOPE_CHUNK] * taper, axis=1)) ** 2
        # the square root (an amplitude): log energy let near-silent gaps dominate and recovered a +300 ms
        # re-mux on fewer clips (python -m shared.evidence.lips.evaluation, docs/lips.md)
        energy[start : start + ENVELOPE_CHUNK] = np.sqrt(spectrum[:, band].sum(axis=1))
    # centred on each window's middle
    times = (np.arange(count) * hop + window / 2) / rate
    return Envelope(start_s + window / 2 / rate, hop / rate, _detrend(energy, times, DETREND_S))


def mouth_signals(faces: PreparedFaces, landmarks: FaceLandmarks, video_start_s: float) -> list[MouthSignal]:
    """Each track's mouth opening over its frames (unusable frames NaN), drift removed."""
    opening = landmarks.mouth_opening()
    ok = (landmarks.presence >= MIN_PRESENCE) & (landmarks.turn() <= MAX_TURN)
    out = []
    for tid, members in sorted(faces.by_track().items()):
        times = np.array([faces.faces[n].time_s for n in members], np.float64) + video_start_s
        values = np.where(ok[members], opening[members], np.nan)
        heights = [float(faces.faces[n].box[3] - faces.faces[n].box[1]) for n in members]
        out.append(MouthSignal(tid, times, _detrend(values, times, DETREND_S), float(np.median(heights))))
    return out


# --- offset and sync ----------------------------------------------------------------------------------
@dataclass
class SyncResult:
    """How one mouth follows one soundtrack.

    Attributes:
        offset_s: the best lag (sound after picture positive).
        peak: the correlation there.
        null_peaks: the best correlation of the same mouth against the soundtrack moved far away.
        sync: ``(peak - mean(null)) / std(null)``.
        score: normal tail probability of ``sync`` (higher = lips and voice disagree).
        curve: correlation per lag (for the page).
    """

    offset_s: float
    peak: float
    null_peaks: np.ndarray
    sync: float
    score: float
    lags_s: np.ndarray = field(repr=False)
    curve: np.ndarray = field(repr=False)


def _correlations(mouth: np.ndarray, audio_rows: np.ndarray) -> np.ndarray:
    """Pearson r of ``mouth`` (N,) with each row of ``audio_rows`` (L, N), over the entries finite in both."""
    valid = np.isfinite(audio_rows) & np.isfinite(mouth)[None, :]
    count = valid.sum(axis=1)
    m = np.where(valid, mouth[None, :], 0.0)
    a = np.where(valid, audio_rows, 0.0)
    n = np.maximum(count, 1)
    mm, am = m.sum(1) / n, a.sum(1) / n
    cov = (m * a).sum(1) / n - mm * am
    var_m = (m * m).sum(1) / n - mm**2
    var_a = (a * a).sum(1) / n - am**2
    r = cov / np.sqrt(np.maximum(var_m * var_a, 1e-20))
    r[count < MIN_USABLE_FRAMES // 2] = np.nan
    return r


def measure_sync(mouth: MouthSignal, envelope: Envelope) -> SyncResult | None:
    """Offset, sync and score of one mouth against one soundtrack; None when too little overlaps."""
    lags = np.arange(-MAX_LAG_S, MAX_LAG_S + LAG_STEP_S / 2, LAG_STEP_S)
    used = mouth.usable
    if used.sum() < MIN_USABLE_FRAMES:
        return None
    times, values = mouth.times_s[used], mouth.opening[used]
    rows = envelope.at(times[None, :] + lags[:, None])
    curve = _correlations(values, rows)
    if not np.isfinite(curve).any():
        return None
    best = int(np.nanargmax(curve))
    span = envelope.hop_s * len(envelope.values)
    # every NULL_STEP_S, at most MAX_NULL_SHIFTS of them spread evenly: neighbouring shifts give nearly the
    # same peak, and the cap bounds the cost on long files
    count = int((span - 2 * NULL_MIN_SHIFT_S) / NULL_STEP_S) + 1
    shifts = np.linspace(NULL_MIN_SHIFT_S, span - NULL_MIN_SHIFT_S, max(0, min(count, MAX_NULL_SHIFTS)))
    nulls = []
    for shift in shifts:
        null_rows = envelope.circular(times[None, :] + lags[:, None], shift)
        null_curve = _correlations(values, null_rows)
        if np.isfinite(null_curve).any():
            nulls.append(float(np.nanmax(null_curve)))
    null_peaks = np.asarray(nulls)
    if null_peaks.size < 5:
        return None
    # a floor on the spread: on short clips the few far shifts can agree by chance, and a near-zero
    # spread would turn any small difference into an enormous sync
    spread = max(float(np.std(null_peaks)), MIN_NULL_SPREAD)
    sync = (float(curve[best]) - float(np.mean(null_peaks))) / max(spread, 1e-6)
    score = 0.5 * math.erfc(sync / math.sqrt(2.0))
    return SyncResult(float(lags[best]), float(curve[best]), null_peaks, sync, score, lags, curve)


# --- the kind of evidence -----------------------------------------------------------------------------
@dataclass
class TrackLips:
    """One face track's measurement (``result`` None when it could not be measured, with ``reason``)."""

    signal: MouthSignal
    speech_s: float
    result: SyncResult | None
    reason: str | None = None


@dataclass
class PreparedLips:
    """Every track's measurement, or why nothing could be measured."""

    tracks: list[TrackLips]
    reason: str | None = None
    envelope: Envelope | None = None  # the soundtrack's speech envelope (the page's plot)

    @property
    def speaker(self) -> TrackLips | None:
        measured = [t for t in self.tracks if t.result is not None]
        return max(measured, key=lambda t: t.result.sync) if measured else None  # type: ignore[union-attr]


def _speech_seconds(activity: SpeechActivity, times_s: np.ndarray, audio_start_s: float, step_s: float) -> float:
    """Seconds of speech heard at the given frame times (each frame standing for ``step_s``)."""
    from shared.vad import FRAME_SAMPLES, VAD_SAMPLE_RATE

    index = np.floor((times_s - audio_start_s) * VAD_SAMPLE_RATE / FRAME_SAMPLES).astype(int)
    inside = (index >= 0) & (index < len(activity.probabilities))
    speech = activity.probabilities[index[inside]] >= activity.threshold
    return float(speech.sum()) * step_s


def examine(
    faces: PreparedFaces | None,
    landmarks: FaceLandmarks | None,
    wave: Waveform | None,
    activity: SpeechActivity | None,
    source: MediaSource,
) -> PreparedLips:
    """Every face track's mouth against the soundtrack, or the plain reason nothing could be measured."""
    if wave is None or wave.samples is None or not wave.samples.size:
        return PreparedLips([], (wave.reason if wave is not None else None) or NO_AUDIO_TRACK)
    if activity is None or activity.speech_seconds < MIN_MEASURE_SPEECH_S:
        heard = 0.0 if activity is None else activity.speech_seconds
        return PreparedLips([], f"too little speech to follow lips ({heard:.1f} s heard)")
    if faces is None or landmarks is None or not len(faces.faces) or source.video is None:
        return PreparedLips([], "no face was found in the video")
    audio_start = source.audio_start_s or 0.0
    envelope = speech_envelope(wave.samples, wave.rate, audio_start)
    tracks = []
    for signal in mouth_signals(faces, landmarks, source.video.start_s):
        steps = np.diff(signal.times_s)
        step = float(np.median(steps)) if steps.size else math.inf
        usable = signal.usable
        # a face seen on one frame has no frame step: it stands for no time (and is refused below)
        per_frame = step if math.isfinite(step) else 0.0
        speech = _speech_seconds(activity, signal.times_s[usable], audio_start, per_frame) if usable.any() else 0.0
        reason = None
        if signal.face_px < MIN_FACE_PX:
            reason = f"the face is too small ({signal.face_px:.0f} pixels tall) to follow its lips"
        elif len(signal.times_s) < MIN_USABLE_FRAMES:
            reason = f"the face was seen in too few frames ({len(signal.times_s)})"
        elif step > MAX_FRAME_STEP_S:
            reason = (
                f"the analysed frames are {step:.2f} s apart, too far apart to follow lips (analyse with "
                "--every 1 or --every 2)"
            )
        elif usable.sum() < MIN_USABLE_FRAMES:
            reason = "the face was turned away or hidden in most frames"
        elif speech < MIN_MEASURE_SPEECH_S:
            reason = f"too little speech while this face was visible ({speech:.1f} s)"
        result = None if reason else measure_sync(signal, envelope)
        if reason is None and result is None:
            reason = "too little of the face and the speech overlap in time"
        tracks.append(TrackLips(signal, speech, result, reason))
    if not any(t.result is not None for t in tracks):
        reasons = sorted({t.reason for t in tracks if t.reason})
        return PreparedLips(tracks, "; ".join(reasons) or "no face was seen long enough", envelope)
    return PreparedLips(tracks, envelope=envelope)


@register_evidence
class LipsEvidence(Evidence):
    """Mouth movements against the speech of the soundtrack (no model role: the face mesh is a product)."""

    name = "lips"
    section = "lips"
    media_kinds = frozenset({"video"})
    needs = ("media", "face_tracks", "face_landmarks", "waveform_16k", "speech_activity")
    model_role = None
    page_panel = "lips"

    def prepare(self, products: dict[str, Any], run: RunContext) -> PreparedLips | Any:
        source: MediaSource = products["media"]
        if not source.facts.audio_codec:
            return PreparedLips([], NO_AUDIO_TRACK)
        t = time.perf_counter()
        inputs = (
            products.get("face_tracks"),
            products.get("face_landmarks"),
            products.get("waveform_16k"),
            products.get("speech_activity"),
            source,
        )
        syncnet = _syncnet_scorer()
        if isinstance(syncnet, str):
            prepared: Any = PreparedLips([], syncnet)
        elif syncnet is not None:  # the learned option (DEEPFAKE_LIPS_MODEL): shared.evidence.lips.syncnet
            from shared.evidence.lips import syncnet as lips_syncnet

            rules = lips_syncnet.AbstainRules(MIN_PRESENCE, MIN_FACE_PX, MIN_MEASURE_SPEECH_S, _speech_seconds)
            prepared = lips_syncnet.examine(syncnet, *inputs, rules=rules)
        else:
            prepared = examine(*inputs)
        run.clock.add("lips", t)  # with "face_landmarks": what this check adds to an analysis
        return prepared

    def score(self, prepared: PreparedLips, run: RunContext) -> None:
        return None  # measured in prepare: no model

    def skipped_section(self, source: MediaSource) -> LipsSection:
        what = "images have no sound" if source.facts.kind == "image" else "an audio file shows no lips"
        return LipsSection(status="not_applicable", verdict="not_applicable", reason=what)

    def build_section(
        self, source: MediaSource, prepared: PreparedLips | Any, scored: Any, run: RunContext, reasons: list[str]
    ) -> LipsSection:
        if not isinstance(prepared, PreparedLips):  # scored by SyncNet
            from shared.evidence.lips import syncnet as lips_syncnet

            section: LipsSection = lips_syncnet.build_section(prepared, reasons)
            return section
        tracks = [_track_report(t) for t in prepared.tracks]
        speaker = prepared.speaker
        if speaker is None or speaker.result is None:
            reason = prepared.reason or "nothing could be measured"
            reasons.append(f"lips: {reason}")
            return LipsSection(status="not_applicable", verdict="not_applicable", reason=reason, tracks=tracks)
        result = speaker.result
        offset_ms = round(1000 * result.offset_s)
        chosen = load_lips_operating_point()
        band = Band.from_operating_point(chosen.point, source="the lips check's measured operating point")
        common = {
            "score": round(result.score, 4),
            "speaker_track": speaker.signal.track_id,
            "offset_ms": offset_ms,
            "sync": round(result.sync, 3),
            "speech_s": round(speaker.speech_s, 2),
            "min_speech_s": chosen.min_speech_s,
            "tracks": tracks,
            "band": report_band(band, run.options.thresholds),
            "curve": speaker_curve(speaker.signal, prepared.envelope, result.offset_s),
        }
        if result.sync >= STRONG_SYNC and abs(offset_ms) >= MUXING_OFFSET_MS:
            reasons.append(
                f"lips: sound and picture are about {offset_ms} ms apart ({'sound late' if offset_ms > 0 else 'sound early'}): "
                "the lips follow the voice at that delay, which usually means a muxing or editing error, not a fake"
            )
        if speaker.speech_s < chosen.min_speech_s:
            reason = (
                f"only {speaker.speech_s:.1f} s of speech with a visible face; telling a voice that does not belong "
                f"to the face from a real one needs more: below {chosen.min_speech_s:g} s of speech our measurements "
                "found the check not dependable (docs/lips.md), so no verdict"
            )
            reasons.append(f"lips: {reason}; lips and voice line up best at {offset_ms} ms (sync {result.sync:.1f})")
            return LipsSection(status="not_applicable", verdict="not_applicable", reason=reason, **common)
        verdict = verdict_for(result.score, band)
        reasons.append(
            f"lips: the mouth of face {speaker.signal.track_id} follows the voice "
            f"{'poorly' if verdict == 'fake' else 'well' if verdict == 'real' else 'only weakly'} "
            f"(sync {result.sync:.1f}, best at {offset_ms} ms over {speaker.speech_s:.0f} s of speech); "
            "a lip-synced fake moves the mouth to the voice and is not caught by this check"
        )
        return LipsSection(status="analyzed", verdict=verdict, **common)


#: points of the page's plot at most (a long video's signal is thinned evenly)
CURVE_POINTS = 600


def speaker_curve(mouth: MouthSignal, envelope: Envelope | None, offset_s: float) -> LipsCurve | None:
    """The speaker's mouth opening and the voice's envelope at the found offset, on the frames' times, each
    scaled to 0..1 over the plot: what the page draws to show the two moving together (or not)."""
    if envelope is None:
        return None
    used = mouth.usable
    times = mouth.times_s[used]
    # slow drift removed, as the measurement sees it (head nods are not syllables)
    opening = _detrend(mouth.opening[used], times, DETREND_S)
    voice = envelope.at(times + offset_s)
    keep = np.isfinite(opening) & np.isfinite(voice)
    times, opening, voice = times[keep], opening[keep], voice[keep]
    if times.size < 2:
        return None
    if times.size > CURVE_POINTS:
        pick = np.unique(np.linspace(0, times.size - 1, CURVE_POINTS).round().astype(int))
        times, opening, voice = times[pick], opening[pick], voice[pick]

    def unit(v: np.ndarray) -> list[float]:
        low, high = float(np.min(v)), float(np.max(v))
        return [round(float(x), 3) for x in (v - low) / (high - low if high > low else 1.0)]

    return LipsCurve(
        times_s=[round(float(t), 3) for t in times], mouth=unit(opening), voice=unit(voice), offset_ms=round(1000 * offset_s)
    )


def _syncnet_scorer() -> Any:
    """SyncNet when ``DEEPFAKE_LIPS_MODEL`` names its model folder; None when unset; the reason as a string
    when it is set but cannot be used (the section then says so instead of silently using the face mesh)."""
    from shared.errors import ModelContractError, ModelUnavailable
    from shared.evidence import get_kind
    from shared.settings import get_analyze_settings

    folder = get_kind(LipsEvidence.name).model_spec(get_analyze_settings())
    if not folder:
        return None
    from shared.evidence.lips.syncnet import load_syncnet_scorer

    try:
        return load_syncnet_scorer(str(folder))
    except (ModelUnavailable, ModelContractError) as exc:
        return f"the SyncNet model set by DEEPFAKE_LIPS_MODEL cannot be used: {exc.message}"


def _track_report(track: TrackLips) -> LipsTrack:
    result = track.result
    return LipsTrack(
        track_id=track.signal.track_id,
        speech_s=round(track.speech_s, 2),
        face_px=round(track.signal.face_px, 1),
        offset_ms=None if result is None else round(1000 * result.offset_s),
        sync=None if result is None else round(result.sync, 3),
        score=None if result is None else round(result.score, 4),
        reason=track.reason,
    )
