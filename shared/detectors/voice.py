"""Voice evidence: the speech of an audio file or of a video's audio track, scored window by window."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from shared.analysis import RunContext
from shared.detectors import register_detector
from shared.detectors.base import Detector, model_info
from shared.detectors.faces import band_for
from shared.errors import BadInput, NoAudioStream
from shared.media.probe import MediaSource
from shared.modelcard import AudioPreprocessing
from shared.report import Artifact, AudioSection, AudioSegment, SectionStatus, verdict_for
from shared.stages import SCORING_AUDIO

NO_AUDIO_TRACK = "the file has no audio track"


@dataclass
class PreparedVoice:
    """The decoded waveform (mono, at the audio model's rate), or why there is none."""

    waveform: np.ndarray | None
    sample_rate: int
    reason: str | None = None
    #: False when the file has no audio track at all (then the section is not_applicable, not missing)
    has_track: bool = True

    @property
    def duration_s(self) -> float:
        return 0.0 if self.waveform is None else len(self.waveform) / float(self.sample_rate)


@register_detector
class VoiceEvidence(Detector):
    """Speech in audio files and video soundtracks, scored by the audio model (``model_role`` "audio")."""

    name = "voice"
    section = "audio"
    media_kinds = frozenset({"video", "audio"})
    model_role = "audio"
    page_panel = "voice"
    required_for = frozenset({"audio"})

    @classmethod
    def needs_model(cls, source: MediaSource) -> bool:
        return super().needs_model(source) and bool(source.facts.audio_codec)

    def sample_rate(self) -> int:
        card = self.card
        prep = card.preprocessing if card is not None else None
        return prep.sample_rate if isinstance(prep, AudioPreprocessing) else AudioPreprocessing().sample_rate

    def prepare(self, source: MediaSource, run: RunContext) -> PreparedVoice:
        facts = source.facts
        rate = self.sample_rate()
        if not facts.audio_codec:
            return PreparedVoice(None, rate, NO_AUDIO_TRACK, has_track=False)
        if self.scorer is None and self.unavailable is not None:  # the model could not be had: don't decode
            return PreparedVoice(None, rate, self.unavailable)
        from shared.media.audio import load_audio

        t = time.perf_counter()
        limit = run.options.max_audio_seconds
        try:
            wave = load_audio(source.path, rate, max_seconds=limit)
        except NoAudioStream:
            return PreparedVoice(None, rate, NO_AUDIO_TRACK, has_track=False)
        except BadInput as exc:
            if facts.kind == "audio":
                raise  # the file IS the audio: unusable input
            return PreparedVoice(None, rate, f"the audio track could not be decoded ({exc.message})")
        finally:
            run.clock.add("load_audio", t)
        if facts.duration_s and facts.duration_s > limit:
            run.notes.append(f"only the first {limit:g} s of audio were analysed")
        return PreparedVoice(wave, rate)

    def score(self, prepared: PreparedVoice, run: RunContext) -> Any:
        if self.scorer is None or prepared.waveform is None:
            return None
        from shared.audio_scoring import score_audio

        run.progress(SCORING_AUDIO.name, 0.0)
        t = time.perf_counter()
        result = score_audio(self.scorer, prepared.waveform)
        run.clock.add("score_audio", t)
        run.progress(SCORING_AUDIO.name, 1.0)
        return result

    def skipped_section(self, source: MediaSource) -> AudioSection:
        return AudioSection(status="not_applicable", verdict="not_applicable", reason="images have no audio")

    def build_section(
        self, source: MediaSource, prepared: PreparedVoice, scored: Any, run: RunContext, reasons: list[str]
    ) -> AudioSection:
        card = self.card
        model = model_info(card) if card is not None else None
        if prepared.waveform is None:
            reason = prepared.reason or NO_AUDIO_TRACK
            status: SectionStatus = "not_available" if prepared.has_track else "not_applicable"
            reasons.append(f"audio: {reason}")
            return AudioSection(status=status, model=model, verdict="not_applicable", reason=reason)
        duration = round(prepared.duration_s, 3)
        if scored is None:
            reason = self.unavailable or "audio analysis is not available (no audio model)"
            reasons.append(f"audio: {reason}")
            return AudioSection(
                status="not_available", model=model, verdict="not_applicable", duration_s=duration, reason=reason
            )
        if scored.not_applicable:
            reasons.append(f"audio: {scored.not_applicable}")
            return AudioSection(
                status="not_applicable",
                model=model,
                verdict="not_applicable",
                duration_s=duration,
                reason=str(scored.not_applicable),
            )
        band = band_for(card, run.options.thresholds)
        overall = float(scored.score)
        section = AudioSection(
            status="analyzed",
            model=model,
            score=round(overall, 4),
            verdict=verdict_for(overall, band),
            band=band,
            duration_s=duration,
            aggregation=scored.aggregation,
            silent_windows=scored.silent_windows,
            non_speech_windows=scored.non_speech_windows,
            speech_s=scored.speech_s,
            segments=[
                AudioSegment(
                    start_s=round(float(s.start_s), 3),
                    end_s=round(float(s.end_s), 3),
                    score=round(float(s.score), 4),
                    speech_fraction=s.speech_fraction,
                    counted=s.counted,
                )
                for s in scored.segments
            ],
        )
        skipped = scored.silent_windows + scored.non_speech_windows
        if skipped:
            reasons.append(
                f"audio: {scored.silent_windows} silent window(s) not scored, {scored.non_speech_windows} "
                "scored window(s) mostly without speech"
            )
        if band.source == "model_card":
            reasons.append(f"audio: verdict from the model's measured operating point: {band.description}")
        if card is not None and card.training_data:
            reasons.append(
                f"the audio model {card.name} was trained on {card.training_data}; speech from other "
                "sources (other languages, microphones, generators) is scored less reliably"
            )
        return section

    def write_artifacts(
        self, folder: Path | None, prepared: PreparedVoice, scored: Any, section: Any, *, heatmaps: Path | None = None
    ) -> list[Artifact]:
        if folder is None or prepared.waveform is None:
            return []
        from shared.media.render import spectrogram_artifact

        return spectrogram_artifact(folder, prepared.waveform, prepared.sample_rate)
