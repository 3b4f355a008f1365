"""From scored samples to the evaluation folder: metrics.json, scores.csv, every plot, report.html.

``write_evaluation`` is the one function both ``deepfake evaluate video`` and ``deepfake evaluate audio``
end in; it does not know how the scores were obtained. A *level* is a unit of scoring: ``video`` and
``frame`` for video models, ``file`` for audio. The first level is the headline one.
"""

from __future__ import annotations

import base64
import csv
import html
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from shared.evaluation import plots
from shared.evaluation.metrics import Threshold, binary_metrics, both_classes, grouped_metrics

METRICS_FILE = "metrics.json"
SCORES_FILE = "scores.csv"
HTML_FILE = "report.html"


@dataclass
class ScoredSet:
    """Scores of one level: ids, labels (1 = fake), fake probabilities and a group name per sample."""

    ids: list[str]
    labels: np.ndarray
    scores: np.ndarray
    groups: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.labels = np.asarray(self.labels, dtype=np.int64)
        self.scores = np.asarray(self.scores, dtype=np.float64)
        if not self.groups:
            self.groups = ["all"] * len(self.ids)


def _png_data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.4f}"
    return html.escape(str(value))


_TABLE_KEYS = ["n", "n_real", "n_fake", "auc", "eer", "log_loss", "accuracy", "balanced_accuracy", "precision",
               "recall", "f1", "average_precision", "brier"]


def _metrics_table(rows: Mapping[str, Mapping[str, Any]]) -> str:
    head = "".join(f"<th>{k}</th>" for k in ["", *_TABLE_KEYS])
    body = "".join(
        "<tr><th>" + html.escape(name) + "</th>" + "".join(f"<td>{_fmt(m.get(k))}</td>" for k in _TABLE_KEYS) + "</tr>"
        for name, m in rows.items()
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def render_html(result: Mapping[str, Any], images: Mapping[str, Path], *, title: str) -> str:
    """One self-contained page: every image inlined as base64, no external request."""
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title>",
        "<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}"
        "table{border-collapse:collapse;margin:1em 0;font-size:13px}td,th{border:1px solid #ccc;padding:3px 7px;"
        "text-align:right}th{background:#f4f4f4}figure{display:inline-block;margin:.5em;vertical-align:top}"
        "figcaption{font-size:12px;color:#555;text-align:center}pre{background:#f7f7f7;padding:1em;"
        "font-size:12px;overflow:auto}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p>Generated {html.escape(result['generated'])}. Label convention: fake (spoof) = positive class; "
        "scores are fake probabilities.</p>",
    ]
    thr = result["threshold"]
    parts.append(
        f"<p><b>Decision threshold</b> {thr['value']:.4g} — method <code>{html.escape(thr['method'])}</code>, "
        f"chosen on {html.escape(thr['chosen_on'])}.</p>"
    )
    parts.append("<h2>Metrics</h2>")
    parts.append(_metrics_table(result["levels"]))
    for level, per_group in result.get("per_group", {}).items():
        if len(per_group) > 1:
            parts.append(f"<h3>Per group ({html.escape(level)} level)</h3>")
            parts.append(_metrics_table(per_group))
    for level, per_attack in (result.get("per_attack") or {}).items():
        parts.append(f"<h3>Per attack ({html.escape(level)} level; each attack against all real samples)</h3>")
        parts.append(_metrics_table(per_attack))
    if result.get("calibration"):
        parts.append("<h3>Calibration</h3><pre>" + html.escape(json.dumps(result["calibration"], indent=2)) + "</pre>")
    parts.append("<h2>Plots</h2>")
    for caption, path in images.items():
        parts.append(
            f"<figure><img src='{_png_data_uri(path)}' alt='{html.escape(caption)}'>"
            f"<figcaption>{html.escape(caption)}</figcaption></figure>"
        )
    parts.append("<h2>Model and data</h2><pre>")
    parts.append(html.escape(json.dumps({"model": result.get("model"), "data": result.get("data")}, indent=2)))
    parts.append("</pre></body></html>\n")
    return "".join(parts)


def write_scores_csv(path: Path, levels: Mapping[str, ScoredSet]) -> Path:
    with Path(path).open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["level", "id", "label", "score", "group"])
        for level, scored in levels.items():
            for i, y, s, g in zip(scored.ids, scored.labels, scored.scores, scored.groups, strict=True):
                writer.writerow([level, i, int(y), f"{s:.6f}", g])
    return Path(path)


def write_evaluation(
    out_dir: Path,
    levels: Mapping[str, ScoredSet],
    threshold: Threshold,
    *,
    title: str,
    model_info: Mapping[str, Any],
    data_info: Mapping[str, Any],
    calibrated: Mapping[str, np.ndarray] | None = None,
    calibrated_name: str = "calibrated",
    calibration: Mapping[str, Any] | None = None,
    mel_examples: Sequence[tuple[str, np.ndarray]] | None = None,
    sample_rate: int = 16000,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Write the whole evaluation folder and return what went into ``metrics.json``.

    Args:
        out_dir: created if needed; files in it with the same names are replaced.
        levels: scored sets by level name, the headline level first.
        threshold: the decision threshold used for every threshold-dependent number.
        calibrated: optional other probabilities of the same samples per level (e.g. after Platt
            calibration), reported as ``"<level> (<calibrated_name>)"`` and overlaid on the calibration plot.
        calibration: what was fitted (``shared.modelcard.Calibration`` as a dict), reported as is.
        mel_examples: ``(caption, 16 kHz waveform)`` pairs for the mel-spectrogram figure (audio).
    """
    out_dir = Path(out_dir)
    plot_dir = out_dir / "plots"
    plot_dir.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "model": dict(model_info),
        "data": dict(data_info),
        "threshold": threshold.as_dict(),
        "levels": {},
        "per_group": {},
        "calibration": dict(calibration) if calibration else None,
        **(dict(extra) if extra else {}),
    }
    images: dict[str, Path] = {}
    for level, scored in levels.items():
        m = binary_metrics(scored.labels, scored.scores, threshold)
        result["levels"][level] = m
        groups = sorted(set(scored.groups))
        result["per_group"][level] = grouped_metrics(scored.labels, scored.scores, scored.groups, threshold)
        if calibrated and level in calibrated:
            result["levels"][f"{level} ({calibrated_name})"] = binary_metrics(scored.labels, calibrated[level], threshold)
        y, s = scored.labels, scored.scores
        images[f"Confusion matrix ({level})"] = plots.plot_confusion_matrix(
            m["confusion_matrix"], plot_dir / f"confusion_{level}.png", title=f"Confusion matrix, per {level}",
            threshold=threshold.value,
        )
        curves = {"all": (y, s)}
        if len(groups) > 1:
            curves.update({g: (y[np.array(scored.groups) == g], s[np.array(scored.groups) == g]) for g in groups})
        if both_classes(y):
            images[f"ROC ({level})"] = plots.plot_roc(curves, plot_dir / f"roc_{level}.png", title=f"ROC, per {level}")
            images[f"Precision-recall ({level})"] = plots.plot_precision_recall(
                curves, plot_dir / f"pr_{level}.png", title=f"Precision-recall, per {level}"
            )
        images[f"Calibration ({level})"] = plots.plot_calibration(
            y, s, plot_dir / f"calibration_{level}.png", title=f"Calibration, per {level}",
            extra={calibrated_name: calibrated[level]} if calibrated and level in calibrated else None,
        )
        images[f"Score histogram ({level})"] = plots.plot_score_histograms(
            y, s, plot_dir / f"histogram_{level}.png", title=f"Scores by class, per {level}",
            threshold=threshold.value,
        )
    if mel_examples:
        images["Mel spectrograms"] = plots.plot_mel_examples(
            mel_examples, plot_dir / "mel_examples.png", sample_rate=sample_rate,
            title="Log-mel spectrograms of examples (16 kHz)",
        )
    result["plots"] = {caption: str(path.relative_to(out_dir)) for caption, path in images.items()}
    (out_dir / METRICS_FILE).write_text(json.dumps(result, indent=2, default=_json_default) + "\n")
    write_scores_csv(out_dir / SCORES_FILE, levels)
    (out_dir / HTML_FILE).write_text(render_html(result, images, title=title))
    return result


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
