"""The built-in products (``shared.dataflow``): what the probe kept, the faces, the speech.

| product | made from | for |
|---|---|---|
| ``media`` | the probe (:class:`~shared.media.probe.MediaSource`: facts, the one open file) | everything |
| ``image`` | the probe's decoded still (:class:`~shared.media.image.StillImage`) | faces, provenance |
| ``container_tags`` | the probe's read of the container (:class:`~shared.media.probe.ContainerTags`) | provenance |
| ``face_tracks`` | frames decoded once, faces found, followed and cropped (:class:`PreparedFaces`) | faces |
| ``waveform_16k`` | the audio track decoded once, mono 16 kHz (:class:`Waveform`) | voice |
| ``speech_activity`` | silero-vad over ``waveform_16k`` (:class:`~shared.vad.SpeechActivity`) | voice |

A new product is one :func:`~shared.dataflow.register_provider` call here (or in the module of the kind
of evidence that introduces it).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from shared.analysis import RunContext
from shared.dataflow import ProductContext, Provider, register_provider
from shared.errors import BadInput, NoAudioStream
from shared.faces.stage import FaceStage, PreparedFaces

#: every audio model here takes 16 kHz (the cards say so; the voice check refuses another rate)
WAVEFORM_RATE = 16000
NO_AUDIO_TRACK = "the file has no audio track"

__all__ = ["NO_AUDIO_TRACK", "WAVEFORM_RATE", "PreparedFaces", "Waveform"]


@dataclass
class Waveform:
    """The audio track, decoded once: mono float32 at ``rate``, or why there is none."""

    samples: np.ndarray | None
    rate: int
    reason: str | None = None
    #: False when the file has no audio track at all (then voice is not applicable, rather than missing)
    has_track: bool = True

    @property
    def duration_s(self) -> float:
        return 0.0 if self.samples is None else len(self.samples) / float(self.rate)


def _media(inputs: dict[str, Any], context: ProductContext, run: RunContext) -> dict[str, Any]:
    return {"media": context.source}


def _image(inputs: dict[str, Any], context: ProductContext, run: RunContext) -> dict[str, Any]:
    still = context.source.still
    if still is not None:
        run.notes.extend(f"picture: {note}" for note in still.notes)
    return {"image": still}


def _container_tags(inputs: dict[str, Any], context: ProductContext, run: RunContext) -> dict[str, Any]:
    return {"container_tags": context.source.container_tags}


def _face_tracks(inputs: dict[str, Any], context: ProductContext, run: RunContext) -> dict[str, Any]:
    """The face stage: crops cut at the face model's input size and margin (``context.face_crop``); with
    ``face_verification`` every detection is confirmed by the face mesh first (``shared.faces.verify``)."""
    from shared.faces import get_detector_by_name

    detector = get_detector_by_name(run.options.detector, run.options)
    verified = None
    if run.options.face_verification:
        from shared.faces.landmarks import get_face_mesh
        from shared.faces.verify import VerifiedDetector

        crop = context.face_crop  # the mesh checks the very crop the stage keeps
        detector = verified = VerifiedDetector(detector, get_face_mesh(), margin=crop.margin, size=crop.input_size)
    stage = FaceStage(detector, run.options, context.face_crop, run)
    if context.source.facts.kind == "image":
        faces = stage.run_image(inputs["image"].rgb)
    else:
        faces = stage.run_video(context.source)
    note = verified.count.note() if verified is not None else None
    if note:
        run.notes.append(note)
    return {"face_tracks": faces}


def _waveform(inputs: dict[str, Any], context: ProductContext, run: RunContext) -> dict[str, Any]:
    source = context.source
    facts = source.facts
    if not facts.audio_codec:
        return {"waveform_16k": Waveform(None, WAVEFORM_RATE, NO_AUDIO_TRACK, has_track=False)}
    from shared.media.audio import load_audio

    t = time.perf_counter()
    limit = run.options.max_audio_seconds
    try:
        with source.reader() as reader:
            samples = load_audio(source.path, WAVEFORM_RATE, max_seconds=limit, reader=reader)
    except NoAudioStream:
        return {"waveform_16k": Waveform(None, WAVEFORM_RATE, NO_AUDIO_TRACK, has_track=False)}
    except BadInput as exc:
        if facts.kind == "audio":
            raise  # the file IS the audio: unusable input
        reason = f"the audio track could not be decoded ({exc.message})"
        return {"waveform_16k": Waveform(None, WAVEFORM_RATE, reason)}
    finally:
        run.clock.add("load_audio", t)
    if facts.duration_s and facts.duration_s > limit:
        run.notes.append(f"only the first {limit:g} s of audio were analysed")
    return {"waveform_16k": Waveform(samples, WAVEFORM_RATE)}


def _speech_activity(inputs: dict[str, Any], context: ProductContext, run: RunContext) -> dict[str, Any]:
    wave: Waveform | None = inputs["waveform_16k"]
    if wave is None or wave.samples is None or not len(wave.samples):
        return {"speech_activity": None}
    from shared.vad import get_speech_detector

    t = time.perf_counter()
    activity = get_speech_detector().activity(wave.samples, wave.rate)
    run.clock.add("speech_activity", t)
    return {"speech_activity": activity}


_ALL = frozenset({"video", "image", "audio"})
for _provider in (
    Provider("media", ("media",), (), _ALL, _media),
    Provider("image", ("image",), (), frozenset({"image"}), _image),
    Provider("container_tags", ("container_tags",), (), frozenset({"video", "audio"}), _container_tags),
    Provider("face_stage", ("face_tracks",), ("image",), frozenset({"video", "image"}), _face_tracks),
    Provider("audio_decode", ("waveform_16k",), (), frozenset({"video", "audio"}), _waveform),
    Provider("voice_activity", ("speech_activity",), ("waveform_16k",), frozenset({"video", "audio"}), _speech_activity),
):
    register_provider(_provider)
