"""Scoring a labelled dataset with a model folder, then writing the evaluation (``deepfake evaluate``).

Video: faces come from the face cache (found once per file and kept): with the CLI's cache
(``AnalysisSettings``) they are the faces of ``deepfake analyze``'s own face stage, with its sampling,
detector, face tracks and interpolated frames; the model scores every face; a video's score is
``shared.scoring.aggregate_tracks`` over those tracks, sigmoid(calibrated mean logit) of the most
suspicious counted track: exactly the score ``analyze`` reports. (A reference-recipe cache, the most
confident face per frame, is one track.) Calibration is fitted on the uncalibrated log-odds of that same
track, so the map it writes into the card is the map ``analyze`` then applies to that quantity. Metrics are
reported per video and per frame (each face carries its video's label). Videos where no face was found are
counted and listed, not scored.

Audio: every file is decoded to 16 kHz mono (``shared.media.audio.load_audio``) and scored exactly as
``deepfake analyze`` scores it (``shared.audio_scoring.score_audio``: windows, silence skipped, voice
activity), and its file score is the card's aggregation (``shared.audio_scoring.default_aggregation``:
the operating point's, else the shipped default) computed by ``shared.scoring.aggregate_audio`` from the
windows' (calibrated) probabilities. Files too short, silent or without speech (for the ``speech_*``
aggregations) are counted and listed, not scored. Metrics per file, per source and per attack (each
attack against all real files).

Threshold: ``card`` (the model's own decision threshold), a number, or a method (``eer``, ``youden``,
``f1``) applied to the validation split when the data has one with both classes, else to the evaluated
data itself (then marked as optimistic). Calibration (``calibrate=True``): Platt scaling fitted on the
validation split's uncalibrated logits (per video / per audio window, as the services apply it);
``save_calibration=True`` writes it, and a threshold chosen on validation data, into ``model.json``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from shared.datasets.base import Sample
from shared.errors import InvalidArgument
from shared.evaluation.metrics import (
    THRESHOLD_METHODS,
    Threshold,
    both_classes,
    choose_threshold,
    fit_platt,
    per_attack_metrics,
)
from shared.evaluation.report import ScoredSet, write_evaluation
from shared.faces.budget import choose_and_score
from shared.modelcard import Calibration, ModelCard
from shared.scoring import VideoScore, aggregate_tracks, calibrated, sigmoid

MEL_EXAMPLES_PER_CLASS = 2


@dataclass
class EvalOptions:
    out_dir: Path
    threshold: str = "card"
    calibrate: bool = False
    save_calibration: bool = False
    progress: bool = True
    data_info: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Scored:
    """Per unit (video / audio file): uncalibrated logits of its parts (faces / windows)."""

    sample: Sample
    logits: np.ndarray
    detail: dict[str, Any] = field(default_factory=dict)


def _card_info(folder: Path, card: ModelCard) -> dict[str, Any]:
    return {"folder": str(folder), "name": card.name, "architecture": card.architecture, "version": card.version,
            "training_data": card.training_data, "decision_threshold": card.decision_threshold,
            "calibration": card.calibration.model_dump() if card.calibration else None}


def _apply(cal: Calibration | None, z: np.ndarray) -> np.ndarray:
    return calibrated(z, cal)


def _pick_threshold(spec: str, card: ModelCard, val: tuple[np.ndarray, np.ndarray] | None,
                    test: tuple[np.ndarray, np.ndarray]) -> Threshold:
    if spec == "card":
        return Threshold(card.decision_threshold, "card", "the model card (fixed before this evaluation)")
    try:
        value = float(spec)
    except ValueError:
        value = None
    if value is not None:
        if not 0 <= value <= 1:
            raise InvalidArgument(f"--threshold {spec}: a fixed threshold must be a probability in [0, 1]")
        return Threshold(value, "fixed", "the command line")
    if spec not in THRESHOLD_METHODS:
        raise InvalidArgument(f"--threshold {spec!r}: expected card, eer, youden, f1 or a number in [0, 1]")
    if val is not None and both_classes(val[0]):
        return choose_threshold(val[0], val[1], spec, chosen_on="the validation split")
    return choose_threshold(test[0], test[1], spec,
                            chosen_on="the evaluated data itself (no validation split: optimistic)")


def _save_card(folder: Path, card: ModelCard, cal: Calibration | None, threshold: Threshold) -> None:
    update: dict[str, Any] = {}
    if cal is not None:
        update["calibration"] = cal
        if card.operating_point is not None:
            # its thresholds were measured on the scores before this calibration: they no longer apply
            update["operating_point"] = None
    if threshold.chosen_on == "the validation split":
        update["decision_threshold"] = threshold.value
    if update:
        card.model_copy(update=update).save(folder)


# --- video -------------------------------------------------------------------------------------------
def _score_videos(samples: list[Sample], scorer: Any, cache: Any, progress: bool) -> tuple[list[_Scored], list[dict]]:
    from tqdm import tqdm

    scored, skipped = [], []
    entries = cache.extract_all([s.path for s in samples], progress=progress)
    for s in tqdm(samples, desc="scoring", unit="file", disable=not progress):
        entry = entries[Path(s.path)]
        if entry.error or len(entry) == 0:
            skipped.append({"id": s.id, "path": str(s.path), "reason": entry.error or "no face found"})
            continue
        # The faces analysis would score (one rule, ``shared.faces.budget``): every face of the reference
        # recipe and of --frames N, else the budget per person.
        faces = entry.faces

        def score(idx: list[int], faces: np.ndarray = faces) -> np.ndarray:
            return np.asarray(scorer.score(np.ascontiguousarray(faces[idx])).logits, np.float64)

        logit_of = choose_and_score(entry.track_ids, entry.times, _faces_budget(cache.settings), score, scorer.card)
        picked = sorted(logit_of)
        logits = np.array([logit_of[i] for i in picked], np.float64)
        scored.append(_Scored(s, logits, {"frames": entry.frame_indices[picked].tolist(), "entry": entry, "picked": picked}))
    return scored, skipped


def _faces_budget(settings: Any) -> int | None:
    """Faces per track that ``deepfake analyze`` scores with these face-stage settings (None: all)."""
    from shared.datasets.facecache import AnalysisSettings

    if not isinstance(settings, AnalysisSettings) or settings.stage.get("frames") is not None:
        return None
    return int(settings.stage.get("faces_per_track", settings.analyze_options().faces_per_track))


def _video_score(u: _Scored, card: ModelCard | None) -> VideoScore:
    """The video score ``deepfake analyze`` reports for these faces and tracks (``card``: its calibration)."""
    entry = u.detail["entry"]
    ids, counts = np.unique(entry.track_ids, return_counts=True)
    return aggregate_tracks(u.logits, entry.track_ids[u.detail["picked"]], card, frames_analyzed=entry.frames_sampled,
                            frames_with_faces=entry.frames_with_faces,
                            seen=dict(zip(ids.tolist(), counts.tolist(), strict=True)))


def evaluate_video(model_dir: Path, test: list[Sample], val: list[Sample], cache: Any,
                   options: EvalOptions) -> dict[str, Any]:
    """Evaluate a video model folder on ``test`` (``val`` for threshold/calibration; may be empty)."""
    from shared.video_scoring import FaceScorer

    scorer = FaceScorer.from_folder(model_dir)
    card = scorer.card
    test = [s for s in test if s.kind in ("video", "image")]
    val = [s for s in val if s.kind in ("video", "image")]
    if not test:
        raise InvalidArgument("no video or image files to evaluate in the chosen split")
    scored, skipped = _score_videos(test, scorer, cache, options.progress)
    if not scored:
        raise InvalidArgument(f"no face was found in any of the {len(test)} files; nothing to evaluate")
    val_scored = _score_videos(val, scorer, cache, options.progress)[0] if (val and (
        options.calibrate or options.threshold not in ("card",))) else []

    def video_logit(u: _Scored) -> float:
        # the uncalibrated log-odds of the track analyze would report (what a calibration is fitted on)
        return _video_score(u, None).worst.mean_logit

    def p_videos(units: list[_Scored], cal: Calibration | None) -> np.ndarray:
        with_cal = card.model_copy(update={"calibration": cal})
        return np.array([_video_score(u, with_cal).score for u in units])

    cal = card.calibration
    new_cal = None
    if options.calibrate:
        vy = np.array([u.sample.label for u in val_scored])
        if not val_scored or not both_classes(vy):
            raise InvalidArgument("--calibrate needs a validation split with real and fake videos that have faces")
        a, b = fit_platt([video_logit(u) for u in val_scored], vy)
        new_cal = Calibration(a=a, b=b, fitted_on=f"{options.data_info.get('name', 'data')} validation split, "
                                                  f"{len(val_scored)} videos (mean face logit of the "
                                                  "track analyze reports)")
    use = new_cal or cal
    y = np.array([u.sample.label for u in scored])
    p_video = p_videos(scored, use)
    val_pair = None
    if val_scored:
        val_pair = (np.array([u.sample.label for u in val_scored]), p_videos(val_scored, use))
    threshold = _pick_threshold(options.threshold, card, val_pair, (y, p_video))
    # per frame: each face's own probability (the same calibration map as the video score)
    frame_ids, frame_y, frame_p, frame_g = [], [], [], []
    for u in scored:
        for k, (f, z) in enumerate(zip(u.detail["frames"], u.logits, strict=True)):
            frame_ids.append(f"{u.sample.id}#{f}:{k}")
            frame_y.append(u.sample.label)
            frame_p.append(float(sigmoid(_apply(use, np.array([z])))[0]))
            frame_g.append(u.sample.source)
    levels = {
        "video": ScoredSet([u.sample.id for u in scored], y, p_video, [u.sample.source for u in scored]),
        "frame": ScoredSet(frame_ids, np.array(frame_y), np.array(frame_p), frame_g),
    }
    compare = None
    if new_cal is not None:
        compare = {"video": p_videos(scored, cal)}
    result = write_evaluation(
        options.out_dir, levels, threshold, title=f"Evaluation of {card.name} (video)",
        model_info=_card_info(model_dir, card), data_info=options.data_info,
        calibrated=compare, calibrated_name="before calibration",
        calibration=new_cal.model_dump() if new_cal else None,
        extra={"skipped": skipped, "per_attack": {"video": per_attack_metrics(
            y, p_video, [u.sample.attack for u in scored], threshold)}},
    )
    if options.save_calibration:
        _save_card(Path(model_dir), card, new_cal, threshold)
    return result


# --- audio -------------------------------------------------------------------------------------------
def _score_audio_files(samples: list[Sample], scorer: Any, progress: bool) -> tuple[list[Any], list[dict]]:
    from shared.evaluation.audio_media import score_files

    files, skipped = score_files(scorer, samples, max_seconds=None, progress=progress)
    by_path = {str(s.path): s for s in samples}
    return [_Scored(by_path[f.path], f.log_odds, {"file": f}) for f in files], [
        {"id": by_path[s.path].id, "path": s.path, "reason": s.reason} for s in skipped
    ]


def _with_file_score(
    scored: list[_Scored], skipped: list[dict], method: str
) -> list[_Scored]:
    """Keep the files the aggregation can score; list the others (no window is mostly speech) as skipped."""
    kept = []
    for u in scored:
        if u.detail["file"].score(method) is None:
            skipped.append({"id": u.sample.id, "path": str(u.sample.path), "reason": f"{method}: no window is mostly speech"})
        else:
            kept.append(u)
    return kept


def _file_probability(cal: Calibration | None, u: _Scored, method: str) -> float:
    """The file score ``deepfake analyze`` reports: ``method`` over the windows' (calibrated) probabilities."""
    score = u.detail["file"].score(method, cal)
    assert score is not None  # _with_file_score kept only files it scores
    return float(score)


def evaluate_audio(model_dir: Path, test: list[Sample], val: list[Sample], options: EvalOptions) -> dict[str, Any]:
    """Evaluate an audio model folder on ``test`` (``val`` for threshold/calibration; may be empty)."""
    from shared.audio_scoring import AudioScorer, default_aggregation
    from shared.media.audio import load_audio

    scorer = AudioScorer.from_folder(model_dir)
    card = scorer.card
    method = default_aggregation(card)
    if not test:
        raise InvalidArgument("no audio files to evaluate in the chosen split")
    scored, skipped = _score_audio_files(test, scorer, options.progress)
    scored = _with_file_score(scored, skipped, method)
    if not scored:
        raise InvalidArgument(f"none of the {len(test)} files could be scored (too short, silent, no speech or unreadable)")
    val_scored, val_skipped = _score_audio_files(val, scorer, options.progress) if (val and (
        options.calibrate or options.threshold != "card")) else ([], [])
    val_scored = _with_file_score(val_scored, val_skipped, method)
    cal = card.calibration
    new_cal = None
    if options.calibrate:
        vy = np.array([u.sample.label for u in val_scored])
        if not val_scored or not both_classes(vy):
            raise InvalidArgument("--calibrate needs a validation split with real and fake files")
        z = np.concatenate([u.logits for u in val_scored])
        zy = np.concatenate([np.full(len(u.logits), u.sample.label) for u in val_scored])
        a, b = fit_platt(z, zy)
        new_cal = Calibration(a=a, b=b, fitted_on=f"{options.data_info.get('name', 'data')} validation split, "
                                                  f"{len(val_scored)} files ({len(z)} windows)")
    use = new_cal or cal
    y = np.array([u.sample.label for u in scored])
    p = np.array([_file_probability(use, u, method) for u in scored])
    val_pair = None
    if val_scored:
        val_pair = (np.array([u.sample.label for u in val_scored]),
                    np.array([_file_probability(use, u, method) for u in val_scored]))
    threshold = _pick_threshold(options.threshold, card, val_pair, (y, p))
    levels = {"file": ScoredSet([u.sample.id for u in scored], y, p, [u.sample.source for u in scored])}
    compare = {"file": np.array([_file_probability(cal, u, method) for u in scored])} if new_cal else None
    # mel examples: the most and least convincing file of each class
    order = np.argsort(p)
    examples = []
    rate = card.preprocessing.sample_rate  # type: ignore[union-attr]
    for label, name in ((0, "real"), (1, "fake")):
        idx = [i for i in order if y[i] == label]
        picks = ([idx[0], idx[-1]] if len(idx) > 1 else idx)[:MEL_EXAMPLES_PER_CLASS]
        for i in picks:
            u = scored[i]
            wave = load_audio(u.sample.path, rate, max_seconds=6.0)
            examples.append((f"{name}: {u.sample.path.name[:48]} ({u.sample.source}), score {p[i]:.2f}", wave))
    info = _card_info(model_dir, card)
    info["aggregation"] = method
    result = write_evaluation(
        options.out_dir, levels, threshold, title=f"Evaluation of {card.name} (audio)",
        model_info=info, data_info=options.data_info,
        calibrated=compare, calibrated_name="before calibration",
        calibration=new_cal.model_dump() if new_cal else None, mel_examples=examples, sample_rate=rate,
        extra={"skipped": skipped,
               "per_attack": {"file": per_attack_metrics(y, p, [u.sample.attack for u in scored], threshold)}},
    )
    if options.save_calibration:
        _save_card(Path(model_dir), card, new_cal, threshold)
    return result
