"""Pictures that explain a report: face thumbnails, attention heatmap overlays, a mel spectrogram (PNG).

Written only on request (the pipeline's ``artifacts_dir`` for the web page, ``--heatmaps DIR`` for the
CLI). Names are plain file names so a service can serve them from a per-job folder.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from shared.report import Artifact, Track

#: at most this many tracks get pictures (the most suspicious first)
MAX_TRACK_ARTIFACTS = 8


def _write_png(path: Path, rgb: np.ndarray) -> None:
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR)):
        raise OSError(f"could not write {path}")


def heatmap_overlay(face: np.ndarray, attention: np.ndarray, alpha: float = 0.45) -> np.ndarray:
    """Blend an attention map in [0, 1] (any size) over an RGB face crop as a JET colour map."""
    import cv2

    height, width = face.shape[:2]
    att = cv2.resize(np.asarray(attention, dtype=np.float32), (width, height), interpolation=cv2.INTER_LINEAR)
    colour = cv2.applyColorMap((att.clip(0, 1) * 255).astype(np.uint8), cv2.COLORMAP_JET)
    colour = cv2.cvtColor(colour, cv2.COLOR_BGR2RGB)
    return (
        (face.astype(np.float32) * (1 - alpha) + colour.astype(np.float32) * alpha)
        .clip(0, 255)
        .astype(np.uint8)
    )


def _mel_filterbank(sample_rate: int, n_fft: int, n_mels: int) -> np.ndarray:
    """Triangular filters on the HTK mel scale, unnormalised (torchaudio's ``MelSpectrogram`` defaults)."""

    def hz_to_mel(f: np.ndarray) -> np.ndarray:
        return 2595.0 * np.log10(1.0 + f / 700.0)

    freqs = np.linspace(0, sample_rate / 2, n_fft // 2 + 1)
    mel_points = np.linspace(hz_to_mel(np.array(0.0)), hz_to_mel(np.array(sample_rate / 2)), n_mels + 2)
    hz_points = 700.0 * (10 ** (mel_points / 2595.0) - 1.0)
    down = (freqs[None, :] - hz_points[:-2, None]) / np.diff(hz_points)[:-1, None]
    up = (hz_points[2:, None] - freqs[None, :]) / np.diff(hz_points)[1:, None]
    return np.maximum(0.0, np.minimum(down, up))  # (n_mels, n_fft // 2 + 1)


def mel_spectrogram_image(
    wave: np.ndarray, sample_rate: int, *, n_mels: int = 80, max_width: int = 1200
) -> np.ndarray:
    """Log-mel power spectrogram of a waveform as an RGB picture (low frequencies at the bottom).

    25 ms Hann windows every 10 ms (n_fft 512 at 16 kHz), 80 mel bands, the top 80 dB shown. Plain
    numpy: the page's picture must not need torch on the inference path.
    """
    import cv2

    n_fft, win, hop = 512, int(0.025 * sample_rate), int(0.010 * sample_rate)
    x = np.asarray(wave, dtype=np.float32)
    pad = n_fft // 2
    x = np.pad(x, (pad, pad), mode="reflect") if len(x) > pad else np.pad(x, (pad, pad))
    window = np.zeros(n_fft, np.float32)
    offset = (n_fft - win) // 2
    window[offset : offset + win] = np.hanning(win + 1)[:-1]
    frames = np.lib.stride_tricks.sliding_window_view(x, n_fft)[::hop] * window
    power = np.abs(np.fft.rfft(frames, axis=-1)) ** 2  # (T, n_fft // 2 + 1)
    spec = _mel_filterbank(sample_rate, n_fft, n_mels) @ power.T  # (n_mels, T)
    db = 10 * np.log10(spec + 1e-10)
    db = np.clip(db, db.max() - 80, None)
    norm = ((db - db.min()) / max(float(db.max() - db.min()), 1e-6) * 255).astype(np.uint8)[::-1]
    if norm.shape[1] > max_width:
        norm = cv2.resize(norm, (max_width, norm.shape[0]), interpolation=cv2.INTER_AREA)
    norm = cv2.resize(norm, (norm.shape[1], n_mels * 3), interpolation=cv2.INTER_NEAREST)
    return np.asarray(cv2.cvtColor(cv2.applyColorMap(norm, cv2.COLORMAP_MAGMA), cv2.COLOR_BGR2RGB))


def _most_suspicious_face(faces: Sequence[Any], logits: np.ndarray | None, track_id: int) -> int | None:
    members = [n for n, f in enumerate(faces) if f.track_id == track_id]
    if not members:
        return None
    if logits is None:
        return max(members, key=lambda n: faces[n].confidence)
    return max(members, key=lambda n: float(logits[n]))


def face_artifacts(
    folder: Path,
    faces: Sequence[Any],
    crops: np.ndarray,
    logits: np.ndarray | None,
    attention: np.ndarray | None,
    tracks: Sequence[Track],
) -> list[Artifact]:
    """Per track (most suspicious first): its most suspicious face and, for attention models, its heatmap."""
    folder.mkdir(parents=True, exist_ok=True)
    out: list[Artifact] = []
    ranked = sorted(tracks, key=lambda tr: -tr.score)[:MAX_TRACK_ARTIFACTS]
    track_ids = [tr.id for tr in ranked] or sorted({f.track_id for f in faces})[:MAX_TRACK_ARTIFACTS]
    for tid in track_ids:
        n = _most_suspicious_face(faces, logits, tid)
        if n is None:
            continue
        name = f"track{tid}_face.png"
        _write_png(folder / name, crops[n])
        out.append(Artifact(name=name, kind="face_thumbnail", track_id=tid))
        if attention is not None and len(attention) > n:
            name = f"track{tid}_heatmap.png"
            _write_png(folder / name, heatmap_overlay(crops[n], attention[n]))
            out.append(Artifact(name=name, kind="heatmap_overlay", track_id=tid))
    return out


def spectrogram_artifact(folder: Path, waveform: np.ndarray, sample_rate: int) -> list[Artifact]:
    """The mel spectrogram of the analysed audio (nothing for less than 25 ms)."""
    if len(waveform) < 400:
        return []
    folder.mkdir(parents=True, exist_ok=True)
    name = "audio_mel.png"
    _write_png(folder / name, mel_spectrogram_image(waveform, sample_rate))
    return [Artifact(name=name, kind="mel_spectrogram")]


def write_heatmaps(
    folder: Path, faces: Sequence[Any], crops: np.ndarray, attention: np.ndarray | None
) -> list[Path]:
    """Every scored face's attention overlay, named ``frame<index>_track<id>.png`` (``--heatmaps DIR``)."""
    if attention is None:
        return []
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for n, face in enumerate(faces):
        path = folder / f"frame{face.frame_index:06d}_track{face.track_id}.png"
        _write_png(path, heatmap_overlay(crops[n], attention[n]))
        written.append(path)
    return written
