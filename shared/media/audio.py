"""Audio decoding: any audio file, or the audio track of a video, to a mono float32 waveform.

``load_audio`` decodes with PyAV (FFmpeg), so wav, flac, mp3, ogg/opus, m4a/aac and the audio streams of
mp4/mkv/webm/mov videos all take the same path. The first audio stream is decoded, resampled to the
requested rate by FFmpeg's swresample (channel layout kept), and then downmixed to mono by averaging
the channels (the same as ``librosa.load(mono=True)``; swresample's own downmix would apply centre/
surround mix levels instead). Samples are returned as float32 in [-1, 1] without any normalisation,
which is what AASIST was trained on (``soundfile.read`` of 16-bit FLAC).

The resampler outputs *packed* float (``flt``: one buffer, channels interleaved), never planar
(``fltp``): PyAV 18's ``AudioFrame.planes`` walks FFmpeg's ``extended_data`` array until it finds a NULL
pointer, and for planar audio with 8 or more channels that array has no NULL after the last channel,
so ``to_ndarray()`` read past it and crashed the process (SIGSEGV) on any 7.1 AAC or 10-channel WAV.
A packed frame has one plane whatever the channel count. Tested over 1-24 channels, planar and packed
codecs, in ``tests/pipeline/test_media_audio.py``.

Every way a file can be unusable becomes a ``shared.errors`` type with a stable code: missing
(``media_not_found``), empty (``empty_media``), not media (``unsupported_media``), damaged
(``corrupt_media``), no audio stream (``no_audio_stream``). Non-finite samples (NaN, infinity: only
float formats can hold them) are ``corrupt_media`` too: no decoder produces them from real sound, and
each one would otherwise make the audio scorer drop its window as "silent", so a handful of NaNs could
turn a spoofed voice into "no speech found".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from shared.errors import CorruptMedia, EmptyMedia, InvalidArgument, NoAudioStream, UnsupportedMedia

DEFAULT_SAMPLE_RATE = 16000
#: swresample's own limit (SWR_CH_MAX): more channels cannot be resampled, so they are refused up front
MAX_AUDIO_CHANNELS = 64


def load_audio(
    path: str | Path,
    sample_rate: int = DEFAULT_SAMPLE_RATE,
    *,
    max_seconds: float | None = None,
    reader: BinaryIO | None = None,
) -> np.ndarray:
    """Decode the first audio stream of ``path`` to a mono float32 waveform at ``sample_rate``.

    Args:
        path: an audio file (wav, flac, mp3, ...) or a video file with an audio track.
        sample_rate: the output rate in Hz (16 kHz for every audio model here).
        max_seconds: stop decoding after this much audio (``None``: the whole stream). Bounds memory for
            very long inputs.
        reader: read the bytes from this open stream (a view of an analysis' one open of the file,
            ``MediaSource.reader()``) instead of opening ``path``; ``path`` then only names the file.

    Returns:
        float32 array of shape ``(samples,)``, values as decoded (no normalisation).

    Raises:
        MediaNotFound, EmptyMedia, UnsupportedMedia, CorruptMedia: the file cannot be used.
        NoAudioStream: the file is valid media but has no audio stream (e.g. a silent video).
        EmptyMedia: the audio stream decodes to no samples at all.
        CorruptMedia: a decoded sample is NaN or infinite (the message gives the first one's time).
        UnsupportedMedia: more than ``MAX_AUDIO_CHANNELS`` channels.
    """

    # One place decides "missing / empty / not media / damaged" for every kind of input.
    from shared.media.probe import _check_path, _open_container

    if sample_rate <= 0:
        raise InvalidArgument(f"sample rate must be positive, got {sample_rate}")
    path = Path(path)
    if reader is None:
        _check_path(path)
    container = _open_container(path, reader=reader)
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
        _check_channels(stream.codec_context.channels or 0, path)
        waveform = _decode(container, stream, sample_rate, max_seconds, path)
    finally:
        container.close()
    if waveform.size == 0:
        raise EmptyMedia(f"{path.name}: the audio stream contains no samples")
    return waveform


def _check_channels(channels: int, path: Path) -> None:
    if channels > MAX_AUDIO_CHANNELS:
        raise UnsupportedMedia(
            f"{path.name}: the audio has {channels} channels; at most {MAX_AUDIO_CHANNELS} can be decoded"
        )


def _mono(frame: Any, path: Path) -> np.ndarray:
    """One packed ``flt`` frame -> its channels averaged, float32 ``(samples,)``."""
    channels = int(frame.layout.nb_channels)
    if frame.format.is_planar or channels < 1:  # the resampler was asked for packed audio: never planar
        raise CorruptMedia(
            f"{path.name}: the audio decoder produced {channels} channel(s) in an unusable layout"
        )
    _check_channels(channels, path)  # a stream may change its layout part-way
    interleaved = frame.to_ndarray().reshape(-1, channels)  # (samples, channels); one plane, so no crash
    if channels == 1:
        return interleaved[:, 0]
    # float64 sum: 24 channels near full scale must not overflow into "infinity" in float32
    return interleaved.mean(axis=1, dtype=np.float64).astype(np.float32)


def _decode(
    container: Any, stream: Any, sample_rate: int, max_seconds: float | None, path: Path
) -> np.ndarray:
    import av

    limit = None if max_seconds is None else max(int(round(max_seconds * sample_rate)), 1)
    chunks: list[np.ndarray] = []
    total = 0
    # Packed float output (see the module docstring: planar frames with >= 8 channels crash PyAV).
    resampler: Any = None
    source_format: tuple[str, str, int] | None = None

    def take(frames: list[Any]) -> None:
        nonlocal total
        for frame in frames:
            mono = _mono(frame, path)
            if not mono.size:
                continue
            finite = np.isfinite(mono)
            if not finite.all():
                at = (total + int(np.argmin(finite))) / sample_rate
                raise CorruptMedia(
                    f"{path.name}: the audio contains samples that are not numbers (NaN or infinity), "
                    f"first at {at:.2f} s; the file is damaged or was tampered with"
                )
            chunks.append(mono)
            total += mono.size

    try:
        for frame in container.decode(stream):
            layout = (frame.format.name, frame.layout.name, int(frame.sample_rate))
            if layout != source_format:
                # A stream that changes its layout or rate part-way (concatenated ADTS, spliced
                # broadcasts): flush the old resampler and start a new one; PyAV's refuses such frames.
                if resampler is not None:
                    take(resampler.resample(None))
                resampler = av.AudioResampler(format="flt", rate=sample_rate)  # layout kept
                source_format = layout
            frame.pts = None  # the resampler keeps its own timeline; gaps in input pts must not matter
            take(resampler.resample(frame))
            if limit is not None and total >= limit:
                break
        if resampler is not None:
            take(resampler.resample(None))  # flush the resampler's delay line
    except av.error.FFmpegError as exc:
        if total == 0:
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
