"""The generated-picture check measured on labelled pictures (``deepfake generated evaluate-media``).

Reads a manifest (``../shared/media/manifest-aiimage.csv``: ``file``, ``label`` ``ai``/``real``, ``family``,
``format``), scores every picture the way ``deepfake analyze`` does (``shared.evidence.generated``: the
decoded upright picture, the card's preprocessing, the model on OpenVINO) and reports:

- AUC with a bootstrap interval (pictures resampled within each class);
- the operating point: ``fake_at`` is the lowest score that calls at most ``rate`` of the real photographs
  generated (all kinds pooled: the kinds hold 1 to 59 pictures, too few to hold each to 5 %), ``real_below``
  the highest score that calls at most ``rate`` of the generated pictures real, capped at ``fake_at``;
  false alarms and catches per kind of photograph and per generator family; and, for each kind of
  photograph, the false alarms of a point chosen without it (how far the rate moves on an unseen kind);
- whether the score learns the file instead of the picture: every picture of both classes re-encoded to
  JPEG quality 90 without metadata (``jpeg90``), and also resized to 512 pixels on the short side first
  (``jpeg90_512``), scored again: AUC of each, and how far each picture's score moved. Beside them, the AUC
  that the file format, the pixel count and the file size alone reach on this set (how much a model could
  learn from them).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from shared.errors import BadInput, InvalidArgument
from shared.evaluation.audio_media import _fake_point, _real_point
from shared.modelcard import MeasuredRate, OperatingPoint

#: each kind of re-encoding compared with the file as it is
VARIANTS = ("as_is", "jpeg90", "jpeg90_512")


@dataclass(frozen=True)
class Picture:
    file: Path
    generated: bool
    family: str
    format: str
    size_bytes: int


@dataclass
class Scored:
    """Scores of the usable pictures under each variant, and the pictures that could not be judged."""

    pictures: list[Picture]
    scores: dict[str, np.ndarray]
    skipped: list[tuple[str, str]] = field(default_factory=list)
    seconds_per_picture: float = 0.0

    @property
    def labels(self) -> np.ndarray:
        return np.array([p.generated for p in self.pictures], dtype=bool)


def read_manifest(manifest: Path, folder: Path | None = None) -> list[Picture]:
    """The pictures a manifest lists (``file``, ``label`` ai/real, ``family``, ``format``).

    Raises:
        InvalidArgument: a row without those columns, an unknown label, or a listed file that is missing.
    """
    folder = folder or manifest.parent / manifest.stem.removeprefix("manifest-")
    out = []
    with open(manifest, newline="") as handle:
        for row in csv.DictReader(handle):
            if row.get("label") not in ("ai", "real") or not row.get("file") or not row.get("family"):
                raise InvalidArgument(f"{manifest}: a row needs file, label (ai or real) and family: {row}")
            path = folder / row["file"]
            if not path.is_file():
                raise InvalidArgument(f"{manifest} lists {row['file']}, which is not in {folder}")
            out.append(Picture(path, row["label"] == "ai", row["family"], row.get("format", ""), path.stat().st_size))
    if not out:
        raise InvalidArgument(f"{manifest} lists no pictures")
    return out


def variant_rgb(rgb: np.ndarray, variant: str) -> np.ndarray:
    """The upright picture re-encoded as ``variant`` says (metadata never survives: only pixels are written)."""
    from PIL import Image

    if variant == "as_is":
        return rgb
    image = Image.fromarray(rgb)
    if variant == "jpeg90_512":
        scale = 512 / min(image.size)
        image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))), Image.Resampling.LANCZOS)
    elif variant != "jpeg90":
        raise InvalidArgument(f"unknown variant {variant!r}; known: {', '.join(VARIANTS)}")
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    buffer.seek(0)
    return np.asarray(Image.open(buffer).convert("RGB"), dtype=np.uint8)


def score_pictures(
    pictures: Sequence[Picture], scorer: Any, variants: Sequence[str] = VARIANTS,
    progress: Callable[[int, int], None] | None = None,
) -> Scored:
    """Every picture decoded as ``deepfake analyze`` decodes it, refused for the same reasons, and scored
    (calibrated probability generated) under each variant."""
    import time

    from shared.evidence.generated import unusable_reason
    from shared.media.image import decode_still

    kept, skipped = [], []
    scores: dict[str, list[float]] = {v: [] for v in variants}
    model_seconds = 0.0
    for i, picture in enumerate(pictures):
        try:
            with open(picture.file, "rb") as stream:
                still = decode_still(stream, picture.file.name)
                reason = unusable_reason(still, scorer.prep.min_side)
                rgb = still.rgb
                still.pil.close()
        except BadInput as exc:  # deepfake analyze refuses the file too: counted as not judged, with why
            reason = f"refused: {exc.message}"
        if reason is not None:
            skipped.append((picture.file.name, reason))
            continue
        kept.append(picture)
        for variant in variants:
            pixels = scorer.pixels(variant_rgb(rgb, variant))
            t = time.perf_counter()
            logit = scorer.logits(pixels[None])
            if variant == "as_is":
                model_seconds += time.perf_counter() - t
            scores[variant].append(float(scorer.probability(logit)[0]))
        if progress is not None:
            progress(i + 1, len(pictures))
    return Scored(kept, {v: np.asarray(s) for v, s in scores.items()}, skipped, model_seconds / max(1, len(kept)))


def auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Probability that a generated picture scores above a real one (ties count half)."""
    pos, neg = scores[labels], scores[~labels]
    if not len(pos) or not len(neg):
        raise InvalidArgument("AUC needs both generated and real pictures")
    greater = (pos[:, None] > neg[None, :]).mean()
    ties = (pos[:, None] == neg[None, :]).mean()
    return float(greater + 0.5 * ties)


def bootstrap_auc(labels: np.ndarray, scores: np.ndarray, *, rounds: int = 2000, seed: int = 0) -> tuple[float, float]:
    """95 % percentile interval of the AUC, resampling pictures within each class."""
    rng = np.random.default_rng(seed)
    pos, neg = np.flatnonzero(labels), np.flatnonzero(~labels)
    values = []
    for _ in range(rounds):
        idx = np.concatenate([rng.choice(pos, len(pos)), rng.choice(neg, len(neg))])
        values.append(auc(labels[idx], scores[idx]))
    low, high = np.percentile(values, [2.5, 97.5])
    return float(low), float(high)


def _groups(pictures: Sequence[Picture], mask: np.ndarray, called: np.ndarray) -> dict[str, MeasuredRate]:
    out: dict[str, MeasuredRate] = {}
    families = sorted({p.family for p, m in zip(pictures, mask, strict=True) if m})
    for family in families:
        sel = mask & np.array([p.family == family for p in pictures])
        out[family] = MeasuredRate(called=int(called[sel].sum()), files=int(sel.sum()))
    out["pooled"] = MeasuredRate(called=int(called[mask].sum()), files=int(mask.sum()))
    return out


def operating_point(scored: Scored, rate: float, *, chosen_on: str, measured_with: str) -> OperatingPoint:
    """The shipped point chosen on the as-is scores (rule in the module docstring), with its measured rates."""
    labels, scores, pictures = scored.labels, scored.scores["as_is"], scored.pictures
    real, generated = ~labels, labels
    fake_at = _fake_point(scores[real], rate)
    real_below = min(_real_point(scores[generated], rate), fake_at)
    held_out: dict[str, MeasuredRate] = {}
    for kind in sorted({p.family for p in pictures if not p.generated}):
        this = real & np.array([p.family == kind for p in pictures])
        point = _fake_point(scores[real & ~this], rate)
        held_out[kind] = MeasuredRate(called=int((scores[this] >= point).sum()), files=int(this.sum()))
    return OperatingPoint(
        fake_at=fake_at,
        real_below=real_below,
        aggregation="picture",
        chosen_on=chosen_on,
        rule=(
            f"fake_at: lowest score calling at most {100 * rate:g} % of the real photographs generated (all kinds "
            f"pooled); real_below: highest score calling at most {100 * rate:g} % of the generated pictures real "
            "(capped at fake_at)"
        ),
        target_false_fake_rate=rate,
        false_fake=_groups(pictures, real, scores >= fake_at),
        false_fake_held_out=held_out,
        catch=_groups(pictures, generated, scores >= fake_at),
        missed_as_real=_groups(pictures, generated, scores < real_below),
        measured_with=measured_with,
    )


def confound_aucs(pictures: Sequence[Picture]) -> dict[str, float]:
    """AUC that facts of the file alone reach on this set (a model could learn them instead of the picture)."""
    labels = np.array([p.generated for p in pictures])
    facts = {
        "file is PNG": np.array([p.format.upper() == "PNG" for p in pictures], dtype=float),
        "file size (bytes)": np.array([p.size_bytes for p in pictures], dtype=float),
    }
    return {name: auc(labels, values) for name, values in facts.items()}


def summary(scored: Scored, point: OperatingPoint) -> dict[str, Any]:
    """Everything the command prints, as one JSON-able dict."""
    labels = scored.labels
    out: dict[str, Any] = {"pictures": len(scored.pictures), "generated": int(labels.sum()), "real": int((~labels).sum())}
    out["skipped"] = [{"file": f, "reason": r} for f, r in scored.skipped]
    out["auc"] = {}
    for variant, scores in scored.scores.items():
        low, high = bootstrap_auc(labels, scores)
        entry: dict[str, Any] = {"auc": round(auc(labels, scores), 4), "ci95": [round(low, 4), round(high, 4)]}
        if variant != "as_is":
            moved = np.abs(scores - scored.scores["as_is"])
            entry["max_abs_score_change"] = round(float(moved.max()), 4)
            entry["mean_abs_score_change"] = round(float(moved.mean()), 4)
            entry["verdict_changes_at_point"] = int(
                ((scores >= point.fake_at) != (scored.scores["as_is"] >= point.fake_at)).sum()
            )
        out["auc"][variant] = entry
    out["confounds_auc"] = {k: round(v, 4) for k, v in confound_aucs(scored.pictures).items()}
    out["operating_point"] = point.model_dump()
    out["model_seconds_per_picture"] = round(scored.seconds_per_picture, 4)
    return out
