"""Voice activity: speech probability per 32 ms frame, per audio window and per sample region (silero-vad).

The model is Silero VAD v6 as shipped inside the ``silero-vad`` wheel (MIT licence): its batched
"sequence" ONNX export (``silero_vad/data/silero_vad_16k_sequence.onnx``) compiled by OpenVINO. Nothing
is downloaded and torch is never imported: the file is found through the package's install location
without importing the package (whose ``__init__`` imports torch).

How the model is fed (the wheel's ``sequence_vad.py``, reproduced here in numpy): 16 kHz audio is cut into
frames of 512 samples (the last one zero-padded); each frame is prefixed with the last 64 samples of the
previous frame (zeros for the first), and the LSTM state is carried from one block of up to 512 frames to
the next. One probability per frame comes back. Measured on a 13.3 s LibriSpeech clip: max |Δ| 8e-7
against the wheel's own TorchScript model (``tests/audio/test_scoring_vad.py`` checks it), 0.03 s.

Why the detectors need it: AASIST was trained on speech; silence, music or noise windows say nothing
about a voice and (out of domain) often look "fake". Windows with too little speech can be left out of
the file score (``shared.scoring``'s ``speech_*`` aggregations) and are counted in the report.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from shared.errors import InvalidArgument
from shared.registry import get_packaged

VAD_SAMPLE_RATE = 16000
FRAME_SAMPLES = 512
CONTEXT_SAMPLES = 64
BLOCK_FRAMES = 512
STATE_SIZE = 128
#: a frame is speech when its probability reaches this (silero-vad's own default threshold)
SPEECH_THRESHOLD = 0.5
#: a window counts as speech when at least this fraction of its frames is speech
MIN_SPEECH_FRACTION = 0.5
#: its entry in ``shared.registry.PACKAGED``: where the file is, and the precision and threads it runs with
SILERO_VAD = "silero-vad"


def silero_model_path() -> Path:
    """The ONNX file inside the installed ``silero-vad`` wheel, found without importing the package.

    Raises:
        ModelUnavailable: the package is not installed, or its wheel lacks the file.
    """
    return get_packaged(SILERO_VAD).locate()


def frame_blocks(waveform: np.ndarray) -> list[np.ndarray]:
    """Blocks of ``(frames, 64 + 512)`` float32 rows: each 512-sample frame with the previous 64 in front."""
    audio = np.ascontiguousarray(waveform, dtype=np.float32).reshape(-1)
    count = (audio.size + FRAME_SAMPLES - 1) // FRAME_SAMPLES
    frames = np.zeros((count, FRAME_SAMPLES), dtype=np.float32)
    frames.reshape(-1)[: audio.size] = audio
    context = np.zeros((count, CONTEXT_SAMPLES), dtype=np.float32)
    if count > 1:
        context[1:] = frames[:-1, -CONTEXT_SAMPLES:]
    rows = np.concatenate([context, frames], axis=1)
    return [rows[i : i + BLOCK_FRAMES] for i in range(0, count, BLOCK_FRAMES)]


@dataclass(frozen=True)
class SpeechActivity:
    """Per-frame speech probabilities of one waveform, and the questions asked of them.

    Attributes:
        probabilities: float32 ``(frames,)``; frame ``k`` covers samples ``[512 k, 512 (k + 1))``.
        samples: length of the waveform they were computed on.
        threshold: frame probability at which a frame counts as speech.
    """

    probabilities: np.ndarray
    samples: int
    threshold: float = SPEECH_THRESHOLD

    def _frames(self, start: int, end: int) -> np.ndarray:
        if not 0 <= start < end or start >= self.samples:
            raise InvalidArgument(f"no samples in [{start}, {end}) of a {self.samples}-sample waveform")
        first = start // FRAME_SAMPLES
        last = (min(end, self.samples) + FRAME_SAMPLES - 1) // FRAME_SAMPLES
        return self.probabilities[first:last]

    def speech_fraction(self, start: int, end: int) -> float:
        """Fraction of the frames overlapping samples ``[start, end)`` that are speech."""
        return float(np.mean(self._frames(start, end) >= self.threshold))

    def speech_probability(self, start: int, end: int) -> float:
        """Mean speech probability of the frames overlapping samples ``[start, end)``."""
        return float(np.mean(self._frames(start, end)))

    def window_fractions(self, starts: list[int], ends: list[int]) -> np.ndarray:
        """``speech_fraction`` of each window, float64 ``(N,)``."""
        return np.array([self.speech_fraction(s, e) for s, e in zip(starts, ends, strict=True)])

    @property
    def speech_seconds(self) -> float:
        """Seconds of frames called speech."""
        return float(np.sum(self.probabilities >= self.threshold)) * FRAME_SAMPLES / VAD_SAMPLE_RATE


class SpeechDetector:
    """Silero VAD compiled with OpenVINO. Thread-safe (each call makes its own infer request)."""

    def __init__(self, compiled: Any, path: Path) -> None:
        self._compiled = compiled
        self.path = path

    @classmethod
    def from_package(cls) -> SpeechDetector:
        """Compile the model shipped in the ``silero-vad`` wheel, as its registry entry says (f32, one thread).

        Raises:
            ModelUnavailable: silero-vad is not installed.
        """
        from shared.runtime import compile_model

        model = compile_model(get_packaged(SILERO_VAD))
        return cls(model.compiled, model.path)

    def frame_probabilities(self, waveform: np.ndarray, sample_rate: int = VAD_SAMPLE_RATE) -> np.ndarray:
        """Speech probability per 512-sample frame, float32 ``(ceil(samples / 512),)``.

        Raises:
            InvalidArgument: not a 16 kHz mono waveform.
        """
        if sample_rate != VAD_SAMPLE_RATE:
            raise InvalidArgument(f"the voice activity detector takes 16 kHz audio, got {sample_rate} Hz")
        wave = np.asarray(waveform, dtype=np.float32)
        if wave.ndim != 1:
            raise InvalidArgument(f"expected a mono waveform (samples,), got shape {tuple(wave.shape)}")
        request = self._compiled.create_infer_request()
        h = np.zeros((1, 1, STATE_SIZE), np.float32)
        c = np.zeros((1, 1, STATE_SIZE), np.float32)
        out = []
        for block in frame_blocks(wave):
            result = request.infer({"input": block, "h": h, "c": c})
            out.append(np.array(result["speech_probs"], dtype=np.float32).reshape(-1))
            h, c = np.array(result["hn"]), np.array(result["cn"])
        return np.concatenate(out) if out else np.zeros(0, np.float32)

    def activity(self, waveform: np.ndarray, sample_rate: int = VAD_SAMPLE_RATE) -> SpeechActivity:
        """``frame_probabilities`` wrapped with the questions the scorer asks."""
        probs = self.frame_probabilities(waveform, sample_rate)
        return SpeechActivity(probabilities=probs, samples=int(np.asarray(waveform).shape[0]))


@lru_cache(maxsize=1)
def get_speech_detector() -> SpeechDetector:
    """One compiled detector per process."""
    return SpeechDetector.from_package()
