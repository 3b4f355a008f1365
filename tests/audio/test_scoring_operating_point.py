"""The shipped AASIST card's operating point on the real speech of ../shared/media: at most 5 % called fake.

The code path is the one ``deepfake analyze`` runs for the audio section: ``score_audio`` with the card's
aggregation (``default_aggregation``), then the band the card gives (``band_for``: its operating point).
Each file is scored up to the operating point's ``max_seconds``, the length it was measured on; the
window scores are computed once per session (a few minutes on 2 cores).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from shared.audio_scoring import AudioResult, AudioScorer, default_aggregation, score_audio
from shared.modelcard import ModelCard
from shared.scoring import Band, band_for


@pytest.fixture(scope="session")
def aasist_real_speech(aasist_model_dir: Path, shared_media: Path) -> tuple[ModelCard, list[tuple[str, AudioResult]]]:
    """The AASIST card made at import time, and every bona fide file of the manifest scored with it."""
    from shared.datasets.base import REAL
    from shared.datasets.manifest import read_manifest
    from shared.media.audio import load_audio

    scorer = AudioScorer.from_folder(aasist_model_dir)
    point = scorer.card.operating_point
    assert point is not None, "the AASIST card carries no operating point"
    results = []
    for sample in read_manifest(shared_media / "manifest-audio.csv").samples:
        if sample.label != REAL:
            continue
        wave = load_audio(sample.path, scorer.prep.sample_rate, max_seconds=point.max_seconds)
        results.append((sample.source, score_audio(scorer, wave)))
    return scorer.card, results


def test_the_card_written_at_import_carries_the_registry_operating_point(aasist_model_dir: Path) -> None:
    from shared.registry import get_published

    card = ModelCard.load(aasist_model_dir)
    assert card.operating_point == get_published("AASIST").operating_point
    assert card.operating_point is not None and default_aggregation(card) == card.operating_point.aggregation
    band = band_for(card, Band.around(0.35, 0.65))
    assert (band.fake_at, band.real_below) == (card.operating_point.fake_at, card.operating_point.real_below)
    assert "real recordings called fake" in band.describe()


def test_at_most_5_percent_of_real_speech_is_called_fake(aasist_real_speech: tuple[ModelCard, list]) -> None:
    card, results = aasist_real_speech
    point = card.operating_point
    assert point is not None
    band = band_for(card, Band.around(0.35, 0.65))
    scored = [(source, r) for source, r in results if r.status == "analyzed"]
    assert len(scored) >= 220  # 229 of the 230 real recordings are long enough to judge
    scores = [r.score for _, r in scored]
    assert max(scores) - min(scores) > 0.1  # the model really scored them (spread guard)
    called = Counter(source for source, r in scored if band.verdict(r.score) == "fake")
    files = Counter(source for source, _ in scored)
    pooled = sum(called.values()) / len(scored)
    assert pooled <= 0.05, f"{sum(called.values())} of {len(scored)} real recordings called fake"
    for source, n in files.items():
        assert called[source] / n <= 0.05, f"{source}: {called[source]} of {n} called fake"
    # the card's numbers are what this code path measures (thresholds lie midway between files)
    recorded = {name: (r.called, r.files) for name, r in point.false_fake.items()}
    assert recorded == {**{s: (called[s], files[s]) for s in files}, "pooled": (sum(called.values()), len(scored))}
