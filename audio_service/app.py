"""The audio inference service (``uvicorn audio_service.app:app``, port 8002 by default).

Serves the model folder named by ``DEEPFAKE_AUDIO_MODEL`` (a registry name or a folder, resolved by
``shared.weights.resolve_model``) through ``shared.audio_scoring.AudioScorer``: the same scorer
``deepfake analyze`` runs in-process. ``POST /v1/infer`` takes ``{"windows": float32 (N, samples)}`` at the
card's sample rate and answers ``{"probs": float32 (N,)}`` (fake probability per window).
"""

from __future__ import annotations

import numpy as np

from shared.inference_app import LoadedModel, create_inference_app, resolve_model_folder
from shared.roles import get_role
from shared.settings import get_audio_service_settings, get_model_settings

INPUT = "windows"


def load_audio_model() -> LoadedModel:
    """Resolve and compile the speech model once per process (called from lifespan)."""
    from shared.audio_scoring import AudioScorer

    settings = get_audio_service_settings()
    models = get_model_settings()
    folder = resolve_model_folder(get_role("audio").model_spec(models))
    scorer = AudioScorer.from_folder(folder, hint=settings.performance_hint, threads=models.inference_threads)

    def infer(tensors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {"probs": np.asarray(scorer.score_windows(tensors[INPUT]), dtype=np.float32)}

    prep = scorer.card.preprocessing
    return LoadedModel(
        folder=scorer.folder,
        card=scorer.card,
        infer=infer,
        input_name=INPUT,
        extra={"sample_rate": prep.sample_rate, "window_samples": prep.window_samples},  # type: ignore[union-attr]
    )


app = create_inference_app(
    title="Deepfake audio inference service",
    load=load_audio_model,
    max_batch=lambda: get_audio_service_settings().max_batch,
    max_body_bytes=lambda: int(get_audio_service_settings().max_body_mb * 1024 * 1024),
)
