"""Voice evidence: the speech of an audio file or of a video's audio track, scored window by window."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared.analysis import RunContext
from shared.errors import ModelContractError
from shared.evidence.base import Evidence, model_info
from shared.evidence.registry import register_evidence
from shared.findings import FindingWords, percent
from shared.media.probe import MediaSource
from shared.modelcard import AudioPreprocessing
from shared.products import NO_AUDIO_TRACK, WAVEFORM_RATE, Waveform
from shared.report import Artifact, AudioSection, AudioSegment, AudioStretch, Finding, SectionStatus
from shared.scoring import report_band_for, unmeasured_reason, verdict_for
from shared.stages import SCORING_AUDIO
from shared.vad import SpeechActivity


@dataclass
class PreparedVoice:
    """The decoded waveform (the ``waveform_16k`` product, or why there is none) and the speech found in it."""

    wave: Waveform
    activity: SpeechActivity | None = None


def coverage_words(windows_scored: int, windows_total: int, window_s: float) -> str:
    """How much of the recording the voice model heard, in words (the section's ``coverage``)."""
    length = f"{window_s:.0f}-second"
    if windows_scored >= windows_total:
        if windows_total == 1:
            return "the voice was checked on the whole recording"
        return f"the voice was checked on all {windows_total} {length} stretches of the recording that have sound"
    return (
        f"the voice was checked on {windows_scored} of the recording's {windows_total} {length} stretches with "
        "sound, spread over its speech (more where more is said), to keep a long recording quick to check"
    )


@register_evidence
class VoiceEvidence(Evidence):
    """Speech in audio files and video soundtracks, scored by the audio model (``model_role`` "audio")."""

    name = "voice"
    section = "audio"
    media_kinds = frozenset({"video", "audio"})
    needs = ("waveform_16k", "speech_activity")
    model_role = "audio"
    page_panel = "voice"
    required_for = frozenset({"audio"})
    words = FindingWords(
        label="Voice",
        fake="likely synthetic (cloned or generated)",
        real="no sign of a synthetic voice",
        unit="recordings",
        nothing="no usable speech",
        means_fake="the voice model scores the speech past the point where it calls a voice synthetic",
    )
    #: below this measured catch rate a "no conclusion" or "real" voice finding says it plainly
    WEAK_CATCH_RATE = 0.5

    def based_on(self, result: Any) -> str | None:
        """Which stretches of audio the verdict rests on (the counted windows), and which it leaves out."""
        if not isinstance(result, AudioSection) or not result.segments:
            return None
        counted = [s for s in result.segments if s.counted]
        if not counted:
            return None
        spans = ", ".join(f"{s.start_s:.1f}-{s.end_s:.1f} s" for s in counted[:6])
        more = f" and {len(counted) - 6} more" if len(counted) > 6 else ""
        left = len(result.segments) - len(counted)
        rest = f"; {left} later stretch(es) are shown but not counted" if left else ""
        if result.coverage and (result.windows_scored or 0) < (result.windows_total or 0):
            rest += f"; {result.coverage}"
        if len(counted) == 1:
            return f"one stretch of speech, {spans}{rest}"
        return f"{len(counted)} stretches of speech, {spans}{more}{rest}"

    def finding(self, result: Any) -> Finding | None:
        finding = super().finding(result)
        if finding is not None and finding.verdict == "not_applicable" and getattr(result, "score", None) is not None:
            # speech was scored, but the model has no measured point to judge it at (unmeasured_reason)
            headline = "scored, but not judged"
            reason = getattr(result, "reason", None)
            text = f"{finding.label}: {headline}" + (f" ({reason})" if reason else "")
            return finding.model_copy(update={"headline": headline, "text": text})
        band = getattr(result, "band", None)
        catch = getattr(band, "catch_rate", None)
        if finding is not None and finding.verdict in ("real", "uncertain") and catch is not None and catch < self.WEAK_CATCH_RATE:
            # the measured operating point catches few synthetic voices unlike its training data: say so
            weak = (
                f"this model caught only {percent(catch)} of synthetic voices in tests on speech unlike its training "
                "data: it cannot tell cloned voices from real ones reliably on such speech"
            )
            finding = finding.model_copy(update={"does_not_prove": weak, "text": f"{finding.text} - {weak}"})
        return finding

    @classmethod
    def needs_model(cls, source: MediaSource) -> bool:
        return super().needs_model(source) and bool(source.facts.audio_codec)

    def prepare(self, products: dict[str, Any], run: RunContext) -> PreparedVoice:
        """The track's 16 kHz waveform and speech activity (products), or why there is none."""
        if self.not_run is not None:  # the model could not be had: nothing was decoded for it
            return PreparedVoice(Waveform(None, WAVEFORM_RATE, self.not_run))
        card = self.card
        prep = card.preprocessing if card is not None else None
        if isinstance(prep, AudioPreprocessing) and prep.sample_rate != WAVEFORM_RATE:
            raise ModelContractError(
                f"the voice model {card.name if card else ''} takes {prep.sample_rate} Hz audio; the voice check "
                f"gives every model {WAVEFORM_RATE} Hz"
            )
        return PreparedVoice(products["waveform_16k"], products["speech_activity"])

    def score(self, prepared: PreparedVoice, run: RunContext) -> Any:
        if self.scorer is None or prepared.wave.samples is None:
            return None
        from shared.audio_scoring import score_audio

        run.progress(SCORING_AUDIO.name, 0.0)
        t = time.perf_counter()
        result = score_audio(
            self.scorer,
            prepared.wave.samples,
            activity=prepared.activity,
            progress=lambda share: run.progress(SCORING_AUDIO.name, share),
            budget_s=run.options.voice_budget_s,
        )
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
        if prepared.wave.samples is None:
            reason = prepared.wave.reason or NO_AUDIO_TRACK
            status: SectionStatus = "not_available" if prepared.wave.has_track else "not_applicable"
            reasons.append(f"voice: {reason}")
            return AudioSection(status=status, model=model, verdict="not_applicable", reason=reason)
        duration = round(prepared.wave.duration_s, 3)
        if scored is None:
            reason = self.unavailable or "audio analysis is not available (no audio model)"
            reasons.append(f"voice: {reason}")
            return AudioSection(
                status="not_available", model=model, verdict="not_applicable", duration_s=duration, reason=reason
            )
        if scored.not_applicable:
            reasons.append(f"voice: {scored.not_applicable}")
            return AudioSection(
                status="not_applicable",
                model=model,
                verdict="not_applicable",
                duration_s=duration,
                reason=str(scored.not_applicable),
            )
        overall = float(scored.score)
        unmeasured = unmeasured_reason(card, "recordings")
        band = None if unmeasured is not None else report_band_for(card, run.options.thresholds)
        if unmeasured is not None:
            reasons.append(f"voice: {unmeasured}")
        coverage = coverage_words(scored.windows_scored, scored.windows_total, scored.window_s)
        section = AudioSection(
            status="analyzed",
            model=model,
            score=round(overall, 4),
            verdict="not_applicable" if band is None else verdict_for(overall, band),
            reason=unmeasured,
            band=band,
            duration_s=duration,
            aggregation=scored.aggregation,
            silent_windows=scored.silent_windows,
            non_speech_windows=scored.non_speech_windows,
            speech_s=scored.speech_s,
            windows_total=scored.windows_total,
            windows_scored=scored.windows_scored,
            scored_stretches=[
                AudioStretch(start_s=round(float(t.start_s), 3), end_s=round(float(t.end_s), 3))
                for t in scored.scored_stretches
            ],
            coverage=coverage,
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
        if scored.sampled:
            reasons.append(f"voice: {coverage}")
        skipped = scored.silent_windows + scored.non_speech_windows
        if skipped:
            reasons.append(
                f"voice: {scored.silent_windows} silent stretch(es) not scored, {scored.non_speech_windows} "
                "scored stretch(es) mostly without speech"
            )
        if card is not None and card.training_data:
            reasons.append(
                f"the voice model {card.name} was trained on {card.training_data}; speech from other "
                "sources (other languages, microphones, generators) is scored less reliably"
            )
        return section

    def write_artifacts(
        self, folder: Path | None, prepared: PreparedVoice, scored: Any, section: Any, *, heatmaps: Path | None = None
    ) -> list[Artifact]:
        if folder is None or prepared.wave.samples is None:
            return []
        from shared.media.render import spectrogram_artifact

        return spectrogram_artifact(folder, prepared.wave.samples, prepared.wave.rate)
