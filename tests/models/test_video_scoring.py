"""FaceScorer: the faces → logits (+ attention) contract, on the test-made model folder."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from shared.errors import InvalidArgument
from shared.models.icpr import load_published
from shared.video_scoring import FaceScorer


@pytest.fixture(scope="module")
def scorer(video_model_dir):
    return FaceScorer.from_folder(video_model_dir, batch_size=4)


def test_scorer_reads_its_card(scorer: FaceScorer) -> None:
    assert scorer.card.architecture == "EfficientNetAutoAttB4"
    assert scorer.card.preprocessing.outputs == ["logit", "attention"]
    assert scorer.input_size == 224 and scorer.has_attention


def test_scores_match_pytorch_and_vary_between_faces(scorer, video_checkpoint, icpr_faces) -> None:
    from fixtures_models import faces_to_tensor

    faces = icpr_faces.faces
    out = scorer.score(faces)  # batch_size 4: several internal batches, one ragged
    assert out.logits.dtype == np.float32 and out.logits.shape == (len(faces),)
    assert out.attention is not None and out.attention.dtype == np.float32
    assert out.attention.shape == (len(faces), 28, 28)
    assert 0.0 <= out.attention.min() and out.attention.max() <= 1.0
    # The fixture model must separate faces clearly, or tests built on it could not fail.
    assert np.ptp(out.logits) > 2.0
    model = load_published("EfficientNetAutoAttB4", video_checkpoint)
    with torch.no_grad():
        ref, att = model.forward_with_attention(faces_to_tensor(faces))
    np.testing.assert_allclose(out.logits, ref.numpy(), atol=1e-3, rtol=0)
    np.testing.assert_allclose(out.attention, att[:, 0].numpy(), atol=1e-3, rtol=0)
    np.testing.assert_allclose(out.probabilities, torch.sigmoid(ref).numpy(), atol=1e-4)


def test_zero_faces_give_empty_arrays(scorer) -> None:
    out = scorer.score(np.zeros((0, 224, 224, 3), np.uint8))
    assert out.logits.shape == (0,) and out.attention.shape == (0, 28, 28)


@pytest.mark.parametrize(
    "faces, message",
    [
        (np.zeros((2, 224, 224, 3), np.float32), "uint8"),
        (np.zeros((2, 112, 112, 3), np.uint8), "(N, 224, 224, 3)"),
        (np.zeros((224, 224, 3), np.uint8), "(N, 224, 224, 3)"),
    ],
)
def test_bad_faces_are_refused_clearly(scorer, faces, message) -> None:
    with pytest.raises(InvalidArgument) as info:
        scorer.score(faces)
    assert message in info.value.message
