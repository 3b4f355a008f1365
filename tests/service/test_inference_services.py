"""The inference services in-process (TestClient runs their lifespan: the model folder is compiled there),
and the worker's remote scorers against them: same numbers as the in-process scorers."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient

from shared import wire


@pytest.fixture(scope="module")
def video_app(video_model_dir, tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("DEEPFAKE_VIDEO_MODEL", str(video_model_dir))
    mp.setenv("DEEPFAKE_CACHE_DIR", str(tmp_path_factory.mktemp("svc-cache")))
    mp.setenv("DEEPFAKE_VIDEO_SERVICE_MAX_BATCH", "40")
    from shared import settings

    settings.get_model_settings.cache_clear()
    settings.get_video_service_settings.cache_clear()
    from video_service.app import app

    with TestClient(app) as client:
        yield client
    mp.undo()
    settings.get_model_settings.cache_clear()
    settings.get_video_service_settings.cache_clear()


def faces(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, 224, 224, 3), dtype=np.uint8)


def test_queued_scorer_equals_face_scorer(video_model_dir) -> None:
    from shared.runtime import compile_model
    from shared.video_scoring import FaceScorer
    from video_service.queued import QueuedFaceScorer

    plain = FaceScorer.from_folder(video_model_dir, hint="THROUGHPUT", batch_size=4)
    queued = QueuedFaceScorer(plain, compile_model(video_model_dir, hint="THROUGHPUT").compiled)
    batch = faces(11)  # 3 batches of 4: the last one short
    a, b = plain.score(batch), queued.score(batch)
    np.testing.assert_array_equal(a.logits, b.logits)
    assert (a.attention is None) == (b.attention is None)
    if a.attention is not None:
        np.testing.assert_array_equal(a.attention, b.attention)


def test_infer_round_trip_and_model_info(video_app, video_model_dir) -> None:
    from shared.video_scoring import FaceScorer

    batch = faces(5, seed=1)
    r = video_app.post("/v1/infer", content=wire.encode({"faces": batch}),
                       headers={"content-type": wire.CONTENT_TYPE})
    assert r.status_code == 200 and r.headers["content-type"] == wire.CONTENT_TYPE
    out = wire.decode(r.content)
    local = FaceScorer.from_folder(video_model_dir).score(batch)
    np.testing.assert_allclose(out["logits"], local.logits, rtol=1e-4, atol=1e-4)

    info = video_app.get("/v1/model").json()
    assert info["kind"] == "video" and info["max_batch"] == 40
    assert len(info["sha256"]["model.bin"]) == 64 and info["card"]["name"] == info["name"]
    assert video_app.get("/healthz").json()["status"] == "ok"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"not a tensor message", "invalid_argument"),
        (wire.encode({"crops": faces(1)}), "invalid_argument"),  # wrong name
        (wire.encode({"faces": faces(1)[:, :100]}), "invalid_argument"),  # wrong shape
        (wire.encode({"faces": faces(1).astype(np.float32)}), "invalid_argument"),  # wrong dtype
        (wire.encode({"faces": faces(41)}), "invalid_argument"),  # over max_batch
    ],
    ids=["garbage", "wrong-name", "wrong-shape", "wrong-dtype", "too-many"],
)
def test_bad_bodies_are_422_with_the_error_body(video_app, body: bytes, code: str) -> None:
    r = video_app.post("/v1/infer", content=body, headers={"content-type": wire.CONTENT_TYPE})
    assert r.status_code == 422 and r.json()["error"]["code"] == code


def test_remote_face_scorer_matches_local(video_app, video_model_dir) -> None:
    """The worker's RemoteFaceScorer over the service equals FaceScorer in-process (chunked by max_batch)."""
    from preprocess_worker.remote import RemoteFaceScorer
    from shared.video_scoring import FaceScorer

    remote = RemoteFaceScorer("http://testserver", retries=0, http=video_app)  # the TestClient is an httpx.Client
    assert remote.card.name == video_app.get("/v1/model").json()["name"] and remote._client.max_batch == 40

    batch = faces(45, seed=2)  # two chunks of at most 40
    got = remote.score(batch)
    want = FaceScorer.from_folder(video_model_dir).score(batch)
    np.testing.assert_allclose(got.logits, want.logits, rtol=1e-4, atol=1e-4)
    assert got.logits.shape == (45,)
