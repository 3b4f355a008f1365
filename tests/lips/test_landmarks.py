"""The face mesh (``shared.faces.landmarks``): the wheel's TFLite file run by OpenVINO at f32, against the
TFLite interpreter itself (``ai-edge-litert``, another runtime reading the same file) on real face crops,
and geometric facts that hold on any upright real face."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shared.analysis import AnalyzeOptions
from shared.faces.landmarks import EYE_OUTER, INPUT_SIZE, NOSE_TIP, FaceMesh, get_face_mesh
from shared.registry import get_packaged

#: f32 OpenVINO against the TFLite interpreter: the same arithmetic in another order (measured: about 1e-4 px)
PIXEL_TOLERANCE = 0.01
PRESENCE_TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def real_crops(shared_media: Path) -> np.ndarray:
    """224x224 face crops of a real talking clip, cut by the face stage (5 frames)."""
    from shared.pipeline import make_products

    clip = shared_media / "talking" / "real_hyperlips_input_01.mp4"
    made = make_products(clip, ["face_tracks"], AnalyzeOptions.from_settings(frames=5))
    crops = made["face_tracks"].crops
    assert len(crops) >= 4
    return crops


def _litert(file: Path, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    litert = pytest.importorskip(
        "ai_edge_litert.interpreter", reason="the reference TFLite interpreter: pip install --no-deps ai-edge-litert==2.3.0"
    )
    import cv2

    interpreter = litert.Interpreter(model_path=str(file))
    interpreter.allocate_tensors()
    (inp,) = interpreter.get_input_details()
    outputs = interpreter.get_output_details()
    points, presence = [], []
    for crop in crops:
        face = cv2.resize(crop, (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
        interpreter.set_tensor(inp["index"], face[None])
        interpreter.invoke()
        got = {int(np.prod(o["shape"])): interpreter.get_tensor(o["index"]).reshape(-1) for o in outputs}
        points.append(got[1404].reshape(468, 3) * (crop.shape[0] / INPUT_SIZE))
        presence.append(1.0 / (1.0 + np.exp(-float(got[1][0]))))
    return np.stack(points), np.asarray(presence)


def test_openvino_f32_matches_the_tflite_interpreter(real_crops: np.ndarray) -> None:
    entry = get_packaged("face-mesh")
    assert entry.inference_precision == "f32"
    mesh = get_face_mesh()
    got = mesh.landmarks(real_crops)
    want_points, want_presence = _litert(entry.locate(), real_crops)
    # spread guard: the points cover the face, so a constant output could not pass
    assert float(np.ptp(want_points[:, :, 0])) > 50
    assert np.max(np.abs(got.points[:, :, :2] - want_points[:, :, :2])) <= PIXEL_TOLERANCE
    assert np.max(np.abs(got.presence - want_presence)) <= PRESENCE_TOLERANCE


def test_landmarks_sit_where_a_face_has_them(real_crops: np.ndarray) -> None:
    lm = get_face_mesh().landmarks(real_crops)
    assert (lm.presence > 0.9).all()  # these crops are faces
    p = lm.points
    side = real_crops.shape[1]
    eyes_y = p[:, list(EYE_OUTER), 1].mean(axis=1)
    mouth_y = p[:, [13, 14], 1].mean(axis=1)
    assert (eyes_y < p[:, NOSE_TIP, 1]).all() and (p[:, NOSE_TIP, 1] < mouth_y).all()  # eyes, nose, mouth downwards
    assert (p[:, EYE_OUTER[0], 0] < p[:, EYE_OUTER[1], 0]).all()  # the subject's right eye on the image's left
    eye_distance = lm.eye_distance()
    assert ((eye_distance > 0.2 * side) & (eye_distance < 0.7 * side)).all()
    opening = lm.mouth_opening()
    assert ((opening >= 0) & (opening < 0.5)).all()
    assert (lm.turn() < 0.25).all()  # a frontal interview face


def test_a_crop_without_a_face_scores_low_presence() -> None:
    flat = np.full((2, 224, 224, 3), 128, np.uint8)
    flat[1] = np.linspace(0, 255, 224, dtype=np.uint8)[None, :, None]
    assert (get_face_mesh().landmarks(flat).presence < 0.5).all()


def test_the_packaged_file_is_pinned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dataclasses import replace

    from shared.errors import ModelUnavailable

    entry = get_packaged("face-mesh")
    assert entry.sha256 is not None
    with pytest.raises(ModelUnavailable, match="sha256"):
        replace(entry, sha256="0" * 64).locate()


def test_rejects_crops_that_are_not_square() -> None:
    with pytest.raises(ValueError, match="square"):
        FaceMesh.from_package().landmarks(np.zeros((1, 100, 120, 3), np.uint8))


def test_a_crop_seen_again_is_recalled_not_run_again() -> None:
    # Verification and the face_landmarks product hand the mesh the same crops of every detected face: the
    # second time they are recalled, equal to what a fresh mesh (nothing remembered) computes.
    from shared.runtime import compile_model

    compiled = compile_model(get_packaged("face-mesh")).compiled
    runs = []

    class Counting:  # the compiled model, counting the inferences made through it
        outputs = compiled.outputs

        def create_infer_request(self):  # noqa: ANN202
            request = compiled.create_infer_request()

            class Request:
                def infer(self, inputs):  # noqa: ANN001, ANN202
                    runs.append(1)
                    return request.infer(inputs)

                def get_output_tensor(self, i):  # noqa: ANN001, ANN202
                    return request.get_output_tensor(i)

            return Request()

    rng = np.random.default_rng(3)
    crops = rng.integers(0, 256, (3, 224, 224, 3), dtype=np.uint8)
    mesh = FaceMesh(Counting())
    first = mesh.landmarks(crops[:2])
    assert len(runs) == 2
    again = mesh.landmarks(crops)  # two seen, one new
    assert len(runs) == 3
    fresh = FaceMesh(compiled).landmarks(crops)
    np.testing.assert_array_equal(again.points, fresh.points)
    np.testing.assert_array_equal(again.presence, fresh.presence)
    np.testing.assert_array_equal(first.points, fresh.points[:2])
