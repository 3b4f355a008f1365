"""SyncNet, the learned option of the lips check: the same face crops and soundtrack, scored as its authors do.

Used by ``shared.evidence.lips`` when the setting ``DEEPFAKE_LIPS_MODEL`` names a model folder written by
``deepfake models import-syncnet`` (``shared.evidence.lips.syncnet_import``). OpenVINO only: no torch here.

What it does, following ``joonson/syncnet_python`` (``SyncNetInstance.evaluate`` and ``run_pipeline.py``),
with the recipe read from the model card (``shared.modelcard.SyncNetPreprocessing``):

1. **Pictures**: the face stage's crops (``face_tracks``; nothing is decoded again), placed on a 25 fps grid
   per track (nearest analysed frame, as the authors' ``ffmpeg -r 25`` does), so every frame must have been
   analysed: ``--every 1`` (at most 25 fps needs every frame; a 30 fps video gives a frame within half a
   slot of each). Each slot's crop is the authors' square around the detector box (its top at the box's
   top, ``2 (1 + 0.4) s`` a side for a box of half-size ``s``, sizes and centres median-smoothed over 13
   frames), cut from the face stage's own crop by one affine resampling, in BGR, 0-255; where the authors'
   square reaches past our crop (about the lowest seventh, below the chin) it is filled with their padding
   grey (110). The detector differs (theirs is S3FD), so the crops are close to theirs, not identical.
   Frames where the face mesh sees no face (``face_landmarks``, presence < 0.5) break the track.
2. **Sound**: MFCCs (python_speech_features' recipe, written here in numpy: 13 coefficients every 10 ms of
   16 kHz sound in 16-bit units), on the file's clock (``MediaSource.audio_start_s``), 20 of them (0.2 s)
   from each slot's time.
3. **Windows**: each run of consecutive usable slots (cut into pieces of at most :data:`MAX_WINDOW_S`) is
   scored as the authors score a face track: embeddings of 5 frames and of their 0.2 s of sound; for each
   picture window, distances to the sound windows shifted by -15..+15 frames (zero embeddings past the
   window's ends, as in their ``calc_pdist``); the offset is where the mean distance is smallest, the
   confidence is the median of the mean distances minus that smallest. A track's offset and confidence pool
   all its windows' distances.
4. **The speaker** is the track with the highest confidence (how the authors pick the active speaker).

Their offset counts frames the other way round (positive: the sound comes *before* the picture); the report
keeps the lips section's convention (positive: the sound comes after) and gives milliseconds.

No verdict: the card has no operating point measured on labelled clips, so the section shows the offset and
confidence and judges nothing, saying why (the rule for any model folder without a measured point,
``shared.scoring.unmeasured_reason``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from shared.errors import ModelContractError
from shared.modelcard import ModelCard, SyncNetPreprocessing

#: a run of usable frames is scored in windows of at most this long (several readings on a long track)
MAX_WINDOW_S = 10.0
#: a window needs this many picture windows (5-frame stacks) to be scored: the authors' pipeline keeps face
#: tracks of at least 100 frames; 1 s is the least that still leaves the +-15-frame search some room
MIN_WINDOWS = 25
#: frames averaged for the crop's size and centre (the authors' median filter)
SMOOTH_FRAMES = 13
#: embeddings computed per inference call
BATCH = 16


# --- sound ---------------------------------------------------------------------------------------------
def _mel_filters(prep: SyncNetPreprocessing) -> np.ndarray:
    """python_speech_features' triangular mel filters ``(nfilt, nfft // 2 + 1)`` from 0 Hz to half the rate."""
    def hz2mel(hz: np.ndarray | float) -> np.ndarray:
        return 2595.0 * np.log10(1.0 + np.asarray(hz, np.float64) / 700.0)

    mels = np.linspace(hz2mel(0.0), hz2mel(prep.sample_rate / 2), prep.nfilt + 2)
    hz = 700.0 * (10.0 ** (mels / 2595.0) - 1.0)
    bins = np.floor((prep.nfft + 1) * hz / prep.sample_rate)
    filters = np.zeros((prep.nfilt, prep.nfft // 2 + 1))
    for j in range(prep.nfilt):
        lo, mid, hi = bins[j], bins[j + 1], bins[j + 2]
        for i in range(int(lo), int(mid)):
            filters[j, i] = (i - lo) / (mid - lo)
        for i in range(int(mid), int(hi)):
            filters[j, i] = (hi - i) / (hi - mid)
    return filters


def _dct_ortho(count: int, keep: int) -> np.ndarray:
    """The orthonormal DCT-II as a ``(keep, count)`` matrix (scipy's ``dct(type=2, norm='ortho')``)."""
    n = np.arange(count)
    k = np.arange(keep)[:, None]
    matrix = np.cos(np.pi * k * (2 * n + 1) / (2 * count))
    matrix[0] *= math.sqrt(1.0 / count)
    matrix[1:] *= math.sqrt(2.0 / count)
    return matrix


def mfcc(samples: np.ndarray, prep: SyncNetPreprocessing) -> np.ndarray:
    """MFCCs ``(frames, numcep)`` float64 of ``samples`` (in the units the card names: 16-bit sample values),
    python_speech_features' ``mfcc`` with its defaults: frame ``i`` starts at sample ``i * hop``; the last
    frame is zero-padded."""
    signal = np.asarray(samples, np.float64).reshape(-1)
    window = int(math.floor(prep.mfcc_window_s * prep.sample_rate + 0.5))
    hop = int(math.floor(prep.mfcc_hop_s * prep.sample_rate + 0.5))
    if signal.size == 0:
        return np.zeros((0, prep.numcep))
    emphasised = np.append(signal[0], signal[1:] - prep.preemphasis * signal[:-1])
    count = 1 if emphasised.size <= window else 1 + int(math.ceil((emphasised.size - window) / hop))
    padded = np.concatenate([emphasised, np.zeros((count - 1) * hop + window - emphasised.size)])
    frames = np.lib.stride_tricks.sliding_window_view(padded, window)[::hop][:count]
    power = np.abs(np.fft.rfft(frames, prep.nfft)) ** 2 / prep.nfft
    tiny = np.finfo(np.float64).eps
    energy = power.sum(axis=1)
    energy = np.where(energy == 0, tiny, energy)
    banks = power @ _mel_filters(prep).T
    banks = np.where(banks == 0, tiny, banks)
    cepstra = np.log(banks) @ _dct_ortho(prep.nfilt, prep.numcep).T
    lifter = 1 + (prep.ceplifter / 2.0) * np.sin(np.pi * np.arange(prep.numcep) / prep.ceplifter)
    cepstra = cepstra * lifter
    cepstra[:, 0] = np.log(energy)
    return cepstra


def to_sample_units(wave: np.ndarray, prep: SyncNetPreprocessing) -> np.ndarray:
    """float samples in [-1, 1] → the 16-bit values the authors' ``wavfile.read`` gives (rounded, clipped)."""
    return np.clip(np.round(np.asarray(wave, np.float64) * prep.sample_scale), -prep.sample_scale, prep.sample_scale - 1)


# --- pictures ------------------------------------------------------------------------------------------
def _smooth(values: np.ndarray, span: int) -> np.ndarray:
    """Running median over ``span`` values, the ends repeated (the authors' ``medfilt`` pads with zeros,
    which shrinks the first and last boxes; repeating the ends keeps them)."""
    if values.size < 2:
        return values.astype(np.float64)
    half = span // 2
    padded = np.concatenate([np.repeat(values[:1], half), values, np.repeat(values[-1:], half)])
    return np.median(np.lib.stride_tricks.sliding_window_view(padded, span), axis=1)


def syncnet_crop(
    crop: np.ndarray, region: tuple[float, float, float, float], centre: tuple[float, float], half: float,
    prep: SyncNetPreprocessing,
) -> np.ndarray:
    """The authors' face square, cut from one face-stage crop, BGR ``uint8`` ``(S, S, 3)``.

    Args:
        crop: the face stage's RGB crop (any square size).
        region: ``(left, top, right, bottom)`` in frame pixels that ``crop`` shows.
        centre: the detector box's centre ``(x, y)`` in frame pixels.
        half: the box's half-size ``s`` (its larger side over 2), frame pixels.
        prep: the card's recipe (crop scale, size, padding grey).
    """
    import cv2

    left, top, right, bottom = region
    size = prep.crop_size
    sx, sy = crop.shape[1] / max(right - left, 1e-6), crop.shape[0] / max(bottom - top, 1e-6)
    side = 2.0 * half * (1.0 + prep.crop_scale)
    x0, y0 = centre[0] - half * (1.0 + prep.crop_scale), centre[1] - half
    step = side / size
    # output pixel (u, v) reads the crop at ((x0 + u step - left) sx, (y0 + v step - top) sy)
    matrix = np.array([[step * sx, 0.0, (x0 - left) * sx], [0.0, step * sy, (y0 - top) * sy]], np.float64)
    bgr = np.ascontiguousarray(crop[:, :, ::-1])
    pad = (prep.pad_value,) * 3
    return cv2.warpAffine(
        bgr, matrix, (size, size), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_CONSTANT, borderValue=pad,
    )


# --- the model -----------------------------------------------------------------------------------------
class SyncNetScorer:
    """SyncNet's two networks compiled in this process. Thread-safe (one infer request per call)."""

    def __init__(self, audio: Any, lip: Any, card: ModelCard) -> None:
        if not isinstance(card.preprocessing, SyncNetPreprocessing) or set(card.networks or []) != {"audio", "lip"}:
            raise ModelContractError(f"{card.name} is not a SyncNet model folder (deepfake models import-syncnet)")
        self._audio, self._lip = audio, lip
        self.card = card
        self.prep: SyncNetPreprocessing = card.preprocessing

    @classmethod
    def from_folder(cls, folder: Path) -> SyncNetScorer:
        """Compile both networks of a folder written by ``deepfake models import-syncnet``.

        Raises:
            ModelUnavailable: not a model folder, or not one with an ``audio`` and a ``lip`` network.
            ModelContractError: a model folder of another kind.
        """
        from shared.runtime import check_model_folder, compile_model

        card = check_model_folder(Path(folder))
        if set(card.networks or []) != {"audio", "lip"}:
            raise ModelContractError(f"{folder} is a {card.kind} model folder, not SyncNet's (deepfake models import-syncnet)")
        audio = compile_model(Path(folder), network="audio")
        lip = compile_model(Path(folder), network="lip")
        return cls(audio.compiled, lip.compiled, card)

    @staticmethod
    def _run(compiled: Any, batch: np.ndarray) -> np.ndarray:
        out = []
        request = compiled.create_infer_request()
        for start in range(0, len(batch), BATCH):
            part = np.ascontiguousarray(batch[start : start + BATCH], dtype=np.float32)
            result = request.infer({0: part})
            out.append(np.asarray(result[compiled.output("embedding")], np.float32))
        return np.concatenate(out) if out else np.zeros((0, 0), np.float32)

    def audio_embeddings(self, mfcc_windows: np.ndarray) -> np.ndarray:
        """``(N, 1, 13, 20)`` MFCC windows → ``(N, 1024)``."""
        return self._run(self._audio, mfcc_windows)

    def lip_embeddings(self, stacks: np.ndarray) -> np.ndarray:
        """``(N, 3, 5, 224, 224)`` BGR 0-255 frame stacks → ``(N, 1024)``."""
        return self._run(self._lip, stacks)


@lru_cache(maxsize=2)
def load_syncnet_scorer(folder: str) -> SyncNetScorer:
    """The SyncNet of ``folder``, compiled once per process."""
    return SyncNetScorer.from_folder(Path(folder))


# --- offset and confidence -----------------------------------------------------------------------------
def shifted_distances(lip: np.ndarray, audio: np.ndarray, max_shift: int) -> np.ndarray:
    """``(T, 2 max_shift + 1)``: distance of picture window ``i`` to sound window ``i + k - max_shift``, zero
    embeddings past the ends; torch's ``pairwise_distance`` (``|a - b + 1e-6|``), as the authors' ``calc_pdist``."""
    count, dim = lip.shape
    padded = np.concatenate([np.zeros((max_shift, dim)), audio.astype(np.float64), np.zeros((max_shift, dim))])
    windows = np.lib.stride_tricks.sliding_window_view(padded, (2 * max_shift + 1, dim))[:count, 0]
    return np.linalg.norm(lip.astype(np.float64)[:, None, :] - windows + 1e-6, axis=2)


@dataclass(frozen=True)
class SyncReading:
    """The authors' three numbers for a stretch of frames.

    Attributes:
        offset_frames: their offset (positive: the sound comes *before* the picture), in video frames.
        confidence: median of the mean distances over the shifts, minus the smallest.
        min_distance: the smallest mean distance.
    """

    offset_frames: int
    confidence: float
    min_distance: float

    def offset_ms(self, fps: float) -> int:
        """The lips section's convention: positive = the sound comes after the picture."""
        return int(round(-1000.0 * self.offset_frames / fps))


def reading(distances: np.ndarray, max_shift: int) -> SyncReading:
    """Offset, confidence and smallest distance from ``shifted_distances`` rows (the authors' evaluate)."""
    mean = distances.mean(axis=0)
    best = int(np.argmin(mean))
    return SyncReading(max_shift - best, float(np.median(mean) - mean[best]), float(mean[best]))


# --- per track -----------------------------------------------------------------------------------------
@dataclass
class SyncNetWindow:
    """One run of consecutive usable frames (at most :data:`MAX_WINDOW_S`), scored."""

    start_s: float
    end_s: float
    reading: SyncReading
    #: ``shifted_distances`` rows, kept to pool a track's windows
    distances: np.ndarray = field(repr=False)


@dataclass
class SyncNetTrack:
    track_id: int
    face_px: float
    speech_s: float
    windows: list[SyncNetWindow] = field(default_factory=list)
    overall: SyncReading | None = None
    reason: str | None = None


@dataclass
class SyncNetLips:
    """What SyncNet found on every face track, or why nothing was scored."""

    card: ModelCard
    tracks: list[SyncNetTrack]
    reason: str | None = None

    @property
    def speaker(self) -> SyncNetTrack | None:
        scored = [t for t in self.tracks if t.overall is not None]
        return max(scored, key=lambda t: t.overall.confidence) if scored else None  # type: ignore[union-attr]


def _runs(filled: np.ndarray) -> list[tuple[int, int]]:
    """``[start, end)`` of each run of True in ``filled``."""
    edges = np.diff(np.concatenate([[0], filled.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist(), strict=True))


def score_track(
    scorer: SyncNetScorer,
    crops: np.ndarray,
    times_s: np.ndarray,
    boxes: np.ndarray,
    usable: np.ndarray,
    regions: np.ndarray,
    cepstra: np.ndarray,
    audio_start_s: float,
) -> list[SyncNetWindow]:
    """SyncNet's windows on one track (its frames in time order, container clock)."""
    prep = scorer.prep
    slot = 1.0 / prep.fps
    slots = times_s[0] + slot * np.arange(int(math.floor((times_s[-1] - times_s[0]) / slot + 1e-6)) + 1)
    nearest = np.clip(np.searchsorted(times_s, slots), 1, len(times_s) - 1) if len(times_s) > 1 else np.zeros(len(slots), int)
    if len(times_s) > 1:
        left = nearest - 1
        nearest = np.where(np.abs(times_s[left] - slots) <= np.abs(times_s[nearest] - slots), left, nearest)
    close = np.abs(times_s[nearest] - slots) <= slot / 2 + 1e-3
    first_mfcc = np.round((slots - audio_start_s) / prep.mfcc_hop_s).astype(int)
    heard = (first_mfcc >= 0) & (first_mfcc + prep.mfcc_frames <= len(cepstra))
    filled = close & usable[nearest] & heard
    half = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]) / 2.0
    cx, cy = (boxes[:, 0] + boxes[:, 2]) / 2.0, (boxes[:, 1] + boxes[:, 3]) / 2.0
    half, cx, cy = (_smooth(v, SMOOTH_FRAMES) for v in (half, cx, cy))
    max_slots = int(round(MAX_WINDOW_S * prep.fps))
    windows = []
    for start, end in _runs(filled):
        for lo in range(start, end, max_slots):
            hi = min(lo + max_slots, end)
            if hi - lo - prep.frames < MIN_WINDOWS:
                continue
            frames = np.stack([
                syncnet_crop(crops[n], tuple(regions[n]), (cx[n], cy[n]), float(half[n]), prep)
                for n in nearest[lo:hi]
            ])
            # the authors' evaluate: windows i in range(0, T - 5), pictures i..i+4, sound from i's time; the
            # float stacks are built one batch at a time (10 s of them at once would be about 740 MB)
            count = hi - lo - prep.frames
            lips = np.concatenate([
                scorer.lip_embeddings(np.stack([
                    frames[i : i + prep.frames].transpose(3, 0, 1, 2).astype(np.float32)  # (3, 5, S, S)
                    for i in range(first, min(first + BATCH, count))
                ]))
                for first in range(0, count, BATCH)
            ])
            sound = np.stack([
                cepstra[first_mfcc[lo + i] : first_mfcc[lo + i] + prep.mfcc_frames].T[None] for i in range(count)
            ])
            voice = scorer.audio_embeddings(sound)
            distances = shifted_distances(lips, voice, prep.max_offset_frames)
            found = reading(distances, prep.max_offset_frames)
            windows.append(SyncNetWindow(float(slots[lo]), float(slots[hi - 1] + slot), found, distances))
    return windows


@dataclass(frozen=True)
class AbstainRules:
    """When the lips check abstains, as ``shared.evidence.lips`` (the kind of evidence) sets it: handed in
    by it, so both ways of measuring abstain alike and this module does not import the kind back."""

    min_presence: float  # the face mesh's face presence below which a frame is unusable
    min_face_px: float  # faces smaller than this (box height, frame pixels) are refused
    min_speech_s: float  # speech with the face visible below which a track is not measured
    speech_seconds: Any  # (activity, times_s, audio_start_s, step_s) -> seconds of speech at those frames


def examine(
    scorer: SyncNetScorer,
    faces: Any,
    landmarks: Any,
    wave: Any,
    activity: Any,
    source: Any,
    *,
    rules: AbstainRules,
) -> SyncNetLips:
    """SyncNet on every face track (the same products and the same reasons to abstain as the face-mesh signal)."""
    from shared.faces.crop import enlarge_box, scale_crop_region
    from shared.modelcard import VideoPreprocessing
    from shared.products import NO_AUDIO_TRACK

    prep = scorer.prep
    card = scorer.card
    if wave is None or wave.samples is None or not wave.samples.size:
        return SyncNetLips(card, [], (wave.reason if wave is not None else None) or NO_AUDIO_TRACK)
    if activity is None or activity.speech_seconds < rules.min_speech_s:
        heard = 0.0 if activity is None else activity.speech_seconds
        return SyncNetLips(card, [], f"too little speech to follow lips ({heard:.1f} s heard)")
    if faces is None or landmarks is None or not len(faces.faces) or source.video is None:
        return SyncNetLips(card, [], "no face was found in the video")
    if wave.rate != prep.sample_rate:
        raise ModelContractError(f"SyncNet takes {prep.sample_rate} Hz sound, the soundtrack was decoded at {wave.rate} Hz")
    audio_start = source.audio_start_s or 0.0
    video_start = source.video.start_s
    cepstra = mfcc(to_sample_units(wave.samples, prep), prep)
    width, height = int(source.facts.width or 0), int(source.facts.height or 0)
    margin = VideoPreprocessing().margin  # the face stage cuts every crop with the face models' margin
    present = landmarks.presence >= rules.min_presence
    tracks = []
    for tid, members in sorted(faces.by_track().items()):
        times = np.array([faces.faces[n].time_s for n in members], np.float64) + video_start
        boxes = np.array([faces.faces[n].box[:4] for n in members], np.float64)
        face_px = float(np.median(boxes[:, 3] - boxes[:, 1]))
        steps = np.diff(times)
        step = float(np.median(steps)) if steps.size else math.inf
        usable = present[members]
        per_frame = step if math.isfinite(step) else 0.0
        speech = rules.speech_seconds(activity, times[usable], audio_start, per_frame) if usable.any() else 0.0
        track = SyncNetTrack(tid, face_px, speech)
        tracks.append(track)
        if face_px < rules.min_face_px:
            track.reason = f"the face is too small ({face_px:.0f} pixels tall) to follow its lips"
        elif step > 1.0 / prep.fps + 1e-3:
            track.reason = (
                f"the analysed frames are {step:.2f} s apart; SyncNet reads every frame at {prep.fps:g} frames "
                "a second (analyse with --every 1, and DEEPFAKE_MAX_FRAMES large enough to cover the whole video)"
            )
        elif speech < rules.min_speech_s:
            track.reason = f"too little speech while this face was visible ({speech:.1f} s)"
        if track.reason:
            continue
        regions = []
        for n in members:
            box = enlarge_box(faces.faces[n].box, margin, (height, width))
            r = scale_crop_region(box, width, height, faces.crops.shape[1])
            regions.append((round(r.left), round(r.top), round(r.right), round(r.bottom)))
        track.windows = score_track(
            scorer, faces.crops[members], times, boxes, usable, np.asarray(regions, np.float64), cepstra, audio_start
        )
        if not track.windows:
            track.reason = (
                f"no stretch of at least {(MIN_WINDOWS + prep.frames) / prep.fps:.1f} s with the face seen in every "
                "frame and sound under it"
            )
            continue
        pooled = np.concatenate([w.distances for w in track.windows])
        track.overall = reading(pooled, prep.max_offset_frames)
    if not any(t.overall is not None for t in tracks):
        reasons = sorted({t.reason for t in tracks if t.reason})
        return SyncNetLips(card, tracks, "; ".join(reasons) or "no face was seen long enough")
    return SyncNetLips(card, tracks)


def build_section(prepared: SyncNetLips, reasons: list[str]) -> Any:
    """The lips section with SyncNet's offset and confidence, and no verdict (its card has no measured point)."""
    from shared.evidence.base import model_info
    from shared.report import LipsSection, LipsTrack, LipsWindow

    fps = prepared.card.preprocessing.fps if isinstance(prepared.card.preprocessing, SyncNetPreprocessing) else 25.0
    tracks = [
        LipsTrack(
            track_id=t.track_id,
            speech_s=round(t.speech_s, 2),
            face_px=round(t.face_px, 1),
            offset_ms=None if t.overall is None else t.overall.offset_ms(fps),
            confidence=None if t.overall is None else round(t.overall.confidence, 4),
            windows=[
                LipsWindow(
                    start_s=round(w.start_s, 3), end_s=round(w.end_s, 3), offset_ms=w.reading.offset_ms(fps),
                    confidence=round(w.reading.confidence, 4),
                )
                for w in t.windows
            ],
            reason=t.reason,
        )
        for t in prepared.tracks
    ]
    model = model_info(prepared.card)
    speaker = prepared.speaker
    if speaker is None or speaker.overall is None:
        reason = prepared.reason or "nothing could be measured"
        reasons.append(f"lips: {reason}")
        return LipsSection(status="not_applicable", verdict="not_applicable", reason=reason, tracks=tracks, model=model)
    found = speaker.overall
    offset_ms = found.offset_ms(fps)
    if prepared.card.operating_point is None:
        reason = (
            f"the {prepared.card.name} model (SyncNet) has no operating point measured on labelled clips: its "
            "offset and confidence are shown, but it judges nothing"
        )
    else:  # a point written into the card by hand: nothing here has measured how to read it
        reason = "SyncNet's offset and confidence are shown; the lips check has no measured rule to judge with them"
    reasons.append(
        f"lips: {reason}; face {speaker.track_id}'s lips and the voice line up best at {offset_ms} ms "
        f"(SyncNet confidence {found.confidence:.2f})"
    )
    return LipsSection(
        status="analyzed",
        verdict="not_applicable",
        reason=reason,
        model=model,
        speaker_track=speaker.track_id,
        offset_ms=offset_ms,
        confidence=round(found.confidence, 4),
        speech_s=round(speaker.speech_s, 2),
        tracks=tracks,
    )
