"""Pictures that explain a report: face thumbnails, attention heatmap overlays, a mel spectrogram (PNG).

Written only on request (the pipeline's ``artifacts_dir`` for the web page, ``--heatmaps DIR`` for the
CLI). Names are plain file names so a service can serve them from a per-job folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from shared.report import Artifact, Report

if TYPE_CHECKING:
    from shared.pipeline import Prepared, Scores

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


def mel_spectrogram_image(
    wave: np.ndarray, sample_rate: int, *, n_mels: int = 80, max_width: int = 1200
) -> np.ndarray:
    """Log-mel spectrogram of a waveform as an RGB picture (low frequencies at the bottom)."""
    import cv2
    import torch
    import torchaudio

    mel = torchaudio.transforms.MelSpectrogram(
        sample_rate=sample_rate, n_fft=512, win_length=400, hop_length=160, n_mels=n_mels
    )
    with torch.inference_mode():
        spec = mel(torch.from_numpy(np.asarray(wave, dtype=np.float32)))
    db = 10 * np.log10(spec.numpy() + 1e-10)
    db = np.clip(db, db.max() - 80, None)
    norm = ((db - db.min()) / max(float(db.max() - db.min()), 1e-6) * 255).astype(np.uint8)[::-1]
    if norm.shape[1] > max_width:
        norm = cv2.resize(norm, (max_width, norm.shape[0]), interpolation=cv2.INTER_AREA)
    norm = cv2.resize(norm, (norm.shape[1], n_mels * 3), interpolation=cv2.INTER_NEAREST)
    return cv2.cvtColor(cv2.applyColorMap(norm, cv2.COLORMAP_MAGMA), cv2.COLOR_BGR2RGB)


def _most_suspicious_face(prepared: Prepared, scores: Scores, track_id: int) -> int | None:
    members = [n for n, f in enumerate(prepared.faces) if f.track_id == track_id]
    if not members:
        return None
    if scores.face_logits is None:
        return max(members, key=lambda n: prepared.faces[n].confidence)
    return max(members, key=lambda n: float(scores.face_logits[n]))  # type: ignore[index]


def write_artifacts(folder: Path, prepared: Prepared, scores: Scores, report: Report) -> list[Artifact]:
    """Per track: its most suspicious face and, for attention models, the heatmap over it; the mel."""
    folder.mkdir(parents=True, exist_ok=True)
    out: list[Artifact] = []
    tracks = sorted(report.video.tracks, key=lambda tr: -tr.score)[:MAX_TRACK_ARTIFACTS]
    track_ids = [tr.id for tr in tracks] or sorted({f.track_id for f in prepared.faces})[:MAX_TRACK_ARTIFACTS]
    for tid in track_ids:
        n = _most_suspicious_face(prepared, scores, tid)
        if n is None:
            continue
        name = f"track{tid}_face.png"
        _write_png(folder / name, prepared.crops[n])
        out.append(Artifact(name=name, kind="face_thumbnail", track_id=tid))
        if scores.attention is not None and len(scores.attention) > n:
            name = f"track{tid}_heatmap.png"
            _write_png(folder / name, heatmap_overlay(prepared.crops[n], scores.attention[n]))
            out.append(Artifact(name=name, kind="heatmap_overlay", track_id=tid))
    if prepared.audio is not None and len(prepared.audio) >= 400:
        name = "audio_mel.png"
        _write_png(folder / name, mel_spectrogram_image(prepared.audio, prepared.audio_sample_rate or 16000))
        out.append(Artifact(name=name, kind="mel_spectrogram"))
    return out


def write_heatmaps(folder: Path, prepared: Prepared, scores: Scores) -> list[Path]:
    """Every scored face's attention overlay, named ``frame<index>_track<id>.png`` (``--heatmaps DIR``)."""
    if scores.attention is None:
        return []
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for n, face in enumerate(prepared.faces):
        path = folder / f"frame{face.frame_index:06d}_track{face.track_id}.png"
        _write_png(path, heatmap_overlay(prepared.crops[n], scores.attention[n]))
        written.append(path)
    return written
