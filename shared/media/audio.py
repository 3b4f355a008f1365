"""Audio decoding: any audio file, or the audio track of a video, to a mono float32 waveform.

``load_audio`` decodes with PyAV (FFmpeg), so wav, flac, mp3, ogg/opus, m4a/aac and the audio streams of
mp4/mkv/webm/mov videos all take the same path. The first audio stream is decoded, resampled to the
requested rate by FFmpeg's swresample (channel layout kept), and then downmixed to mono by averaging
the channels (the same as ``librosa.load(mono=True)``; swresample's own downmix would apply centre/
surround mix levels instead). Samples are returned as float32 in [-1, 1] without any normalisation,
which is what AASIST was trained on (``soundfile.read`` of 16-bit FLAC).

Every way a file can be unusable becomes a ``shared.errors`` type with a stable code: missing
(``media_not_found``), empty (``empty_media``), not media (``unsupported_media``), damaged
(``corrupt_media``), no audio stream (``no_audio_stream``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from shared.errors import CorruptMedia, EmptyMedia, InvalidArgument, NoAudioStream, UnsupportedMedia

DEFAULT_SAMPLE_RATE = 16000


def load_audio(
    path: str | Path,
    sample_rate: int = DEFAULT_SAMPLE_RATE,
    *,
    max_seconds: float | None = None,
) -> np.ndarray:
    """Decode the first audio stream of ``path`` to a mono float32 waveform at ``sample_rate``.

    Args:
        path: an audio file (wav, flac, mp3, ...) or a video file with an audio track.
        sample_rate: the output rate in Hz (16 kHz for every audio model here).
        max_seconds: stop decoding after this much audio (``None``: the whole stream). Bounds memory for
            very long inputs.

    Returns:
        float32 array of shape ``(samples,)``, values as decoded (no normalisation).

    Raises:
        MediaNotFound, EmptyMedia, UnsupportedMedia, CorruptMedia: the file cannot be used.
        NoAudioStream: the file is valid media but has no audio stream (e.g. a silent video).
        EmptyMedia: the audio stream decodes to no samples at all.
    """

    # One place decides "missing / empty / not media / damaged" for every kind of input.
    from shared.media.probe import _check_path, _open_container

    if sample_rate <= 0:
        raise InvalidArgument(f"sample rate must be positive, got {sample_rate}")
    path = Path(path)
    _check_path(path)
    container = _open_container(path)
    try:
        if container.format.name == "tty":
            # FFmpeg's ANSI-art demuxer accepts any text file as "video": it is not media.
            raise UnsupportedMedia(f"{path.name}: a text file, not audio or video")
        if not container.streams.audio:
            kinds = sorted({s.type for s in container.streams}) or ["none"]
            raise NoAudioStream(f"{path.name}: has no audio stream (streams found: {', '.join(kinds)})")
        stream = container.streams.audio[0]
        if stream.codec_context is None or not stream.codec_context.name:
            raise UnsupportedMedia(f"{path.name}: the audio codec cannot be decoded here")
        waveform = _decode(container, stream, sample_rate, max_seconds, path)
    finally:
        container.close()
    if waveform.size == 0:
        raise EmptyMedia(f"{path.name}: the audio stream contains no samples")
    return waveform


def _decode(
    container: Any, stream: Any, sample_rate: int, max_seconds: float | None, path: Path
) -> np.ndarray:
    import av

    limit = None if max_seconds is None else max(int(round(max_seconds * sample_rate)), 1)
    resampler = av.AudioResampler(format="fltp", rate=sample_rate)  # keeps the channel layout
    chunks: list[np.ndarray] = []
    total = 0

    def take(frames: list[Any]) -> None:
        nonlocal total
        for frame in frames:
            planes = frame.to_ndarray()  # (channels, samples) float32, planar
            if planes.size:
                chunks.append(planes.mean(axis=0, dtype=np.float32) if planes.shape[0] > 1 else planes[0])
                total += planes.shape[1]

    decoded_any = False
    try:
        for frame in container.decode(stream):
            decoded_any = True
            frame.pts = None  # the resampler keeps its own timeline; gaps in input pts must not matter
            take(resampler.resample(frame))
            if limit is not None and total >= limit:
                break
        take(resampler.resample(None))  # flush the resampler's delay line
    except av.error.FFmpegError as exc:
        if not decoded_any:
            raise CorruptMedia(
                f"{path.name}: the audio stream cannot be decoded ({exc}); the file may be damaged"
            ) from None
        # A file damaged near its end: keep what decoded cleanly (players do the same).
    except (ValueError, UnicodeDecodeError) as exc:
        raise CorruptMedia(f"{path.name}: the audio stream cannot be decoded ({exc})") from None
    if not chunks:
        return np.zeros(0, dtype=np.float32)
    waveform = np.concatenate(chunks).astype(np.float32, copy=False)
    if limit is not None:
        waveform = waveform[:limit]
    # Clip decoder overshoot (lossy codecs can exceed full scale slightly); the models expect [-1, 1].
    return np.clip(waveform, -1.0, 1.0)
