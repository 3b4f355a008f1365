"""The video inference service (``uvicorn video_service.app:app``, port 8001 by default).

Serves the model folder named by ``DEEPFAKE_VIDEO_MODEL`` (a registry name or a folder, resolved by
``shared.weights.resolve_model``) through ``shared.video_scoring.FaceScorer``: the same scorer
``deepfake analyze`` runs in-process. ``POST /v1/infer`` takes ``{"faces": uint8 (N, S, S, 3)}`` and
answers ``{"logits": float32 (N,)}`` plus ``{"attention": float32 (N, h, w)}`` for AutoAtt models.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from shared.ensemble import is_ensemble_folder
from shared.errors import ConfigurationError
from shared.inference_app import LoadedModel, create_inference_app, resolve_model_folder
from shared.roles import get_role
from shared.settings import get_model_settings, get_video_service_settings

INPUT = "faces"


def load_face_model() -> LoadedModel:
    """Resolve and compile the face model once per process (called from lifespan)."""
    from shared.video_scoring import FaceScorer

    settings = get_video_service_settings()
    models = get_model_settings()
    folder = resolve_model_folder(get_role("video").model_spec(models))
    if is_ensemble_folder(folder):
        raise ConfigurationError(
            f"{folder.name}: the video service serves one model; an ensemble runs in-process "
            "(deepfake analyze --video-model ICPR2020_ensemble_DFDC)"
        )
    scorer: Any = FaceScorer.from_folder(folder, hint=settings.performance_hint, threads=models.inference_threads)
    if settings.async_infer:
        from shared.runtime import compile_model
        from video_service.queued import QueuedFaceScorer

        # the same compiled model (compile_model caches per folder, hint and threads), batches on every stream
        compiled = compile_model(folder, hint=settings.performance_hint, threads=models.inference_threads)
        scorer = QueuedFaceScorer(scorer, compiled.compiled)

    def infer(tensors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        scores = scorer.score(tensors[INPUT])
        out = {"logits": scores.logits}
        if scores.attention is not None:
            out["attention"] = scores.attention
        return out

    return LoadedModel(
        folder=scorer.folder,
        card=scorer.card,
        infer=infer,
        input_name=INPUT,
        extra={"input_size": scorer.input_size, "attention": scorer.has_attention,
               "infer_requests": getattr(scorer, "jobs", 1)},
    )


app = create_inference_app(
    title="Deepfake video inference service",
    load=load_face_model,
    max_batch=lambda: get_video_service_settings().max_batch,
    max_body_bytes=lambda: int(get_video_service_settings().max_body_mb * 1024 * 1024),
)
