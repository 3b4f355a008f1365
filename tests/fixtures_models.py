"""Cross-area fixtures for video models: real face crops, a test-made checkpoint and its IR folder.

- ``icpr_faces``: uint8 (N, 224, 224, 3) RGB face crops with 0/1 labels (real/fake) — cut from the real
  labelled media in ``../shared/media`` when present (MTCNN boxes, the reference "scale" crop policy),
  otherwise made from scikit-image's public-domain astronaut photo so a fresh machine still tests
  something. Crops are cached on disk (pytest's cache folder) keyed by the media files.
- ``video_checkpoint``: an ``EfficientNetAutoAttB4`` checkpoint in the published layout
  (``torch.load(f)["net"]``) with random weights whose BatchNorm statistics were set from those faces
  and whose classifier is scaled so logits spread over several units: outputs differ clearly between faces.
- ``video_model_dir``: its FP32 OpenVINO model folder, made by ``shared.models.icpr.import_checkpoint``.

All are session-scoped and built once per test session.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

FACE_SIZE = 224
FRAMES_PER_VIDEO = 3
VIDEO_TEST_ARCH = "EfficientNetAutoAttB4"


@dataclass(frozen=True)
class FaceSet:
    faces: np.ndarray  # uint8 (N, 224, 224, 3) RGB
    labels: np.ndarray  # int (N,): 1 = fake, 0 = real
    source: str  # "shared media" or "generated"
    names: tuple[str, ...]


def crop_scale_policy(
    rgb: np.ndarray, box: tuple[float, float, float, float], size: int = FACE_SIZE
) -> np.ndarray:
    """The reference's "scale" crop, test-side: box enlarged (20% of its height, 40% on top), square of
    side max(h, w) centred on it, clamped to the frame, resized to ``size`` (bilinear)."""
    import cv2

    x0, y0, x1, y1 = box
    h = y1 - y0
    y0, y1 = y0 - 0.4 * h, y1 + 0.2 * h
    x0, x1 = x0 - 0.2 * h, x1 + 0.2 * h
    side = max(y1 - y0, x1 - x0)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    H, W = rgb.shape[:2]
    side = min(side, H, W)
    left = int(round(min(max(cx - side / 2, 0), W - side)))
    top = int(round(min(max(cy - side / 2, 0), H - side)))
    crop = rgb[top : top + int(side), left : left + int(side)]
    return cv2.resize(crop, (size, size), interpolation=cv2.INTER_LINEAR)


def _square_resize(rgb: np.ndarray, size: int = FACE_SIZE) -> np.ndarray:
    """Centre square of an image that is already a face crop, resized to ``size`` (bilinear)."""
    import cv2

    h, w = rgb.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    return cv2.resize(rgb[top : top + side, left : left + side], (size, size), interpolation=cv2.INTER_LINEAR)


def _faces_from_shared_media(media: Path) -> FaceSet:
    import cv2
    import torch
    from facenet_pytorch import MTCNN

    torch.set_num_threads(min(2, torch.get_num_threads()))
    rows = list(csv.DictReader(open(media / "manifest-visual.csv")))
    detector = MTCNN(keep_all=False, device="cpu", min_face_size=40, post_process=False)
    faces, labels, names = [], [], []
    for row in rows:
        path = media / row["path"]
        label = 1 if row["label"] == "fake" else 0
        if row["path"].startswith("image/"):
            rgb = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
            faces.append(_square_resize(rgb))  # these images are face crops already
            labels.append(label)
            names.append(row["path"])
            continue
        cap = cv2.VideoCapture(str(path))
        n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        for index in np.linspace(0, max(n - 1, 0), FRAMES_PER_VIDEO + 2).astype(int)[1:-1]:
            cap.set(cv2.CAP_PROP_POS_FRAMES, int(index))
            ok, frame = cap.read()
            if not ok:
                continue
            rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
            scale = 640 / max(rgb.shape[:2])
            boxes, _ = detector.detect(cv2.resize(rgb, None, fx=scale, fy=scale))
            if boxes is None:
                continue
            faces.append(crop_scale_policy(rgb, tuple(float(v) / scale for v in boxes[0])))
            labels.append(label)
            names.append(f"{row['path']}#{index}")
        cap.release()
    return FaceSet(np.stack(faces), np.asarray(labels), "shared media", tuple(names))


def generated_faces(n: int = 12) -> FaceSet:
    """Face crops from scikit-image's astronaut photo (public domain): shifted, scaled, flipped, tinted."""
    from skimage import data

    img = data.astronaut()  # 512×512 RGB; the face is around rows 30-230, cols 140-330
    rng = np.random.default_rng(0)
    faces = []
    for i in range(n):
        side = int(rng.integers(170, 260))
        top, left = int(rng.integers(0, 60)), int(rng.integers(110, 190))
        crop = _square_resize(img[top : top + side, left : left + side])
        if i % 2:
            crop = crop[:, ::-1]
        tint = rng.uniform(0.9, 1.1, size=3)
        faces.append(np.clip(crop.astype(np.float32) * tint, 0, 255).astype(np.uint8))
    labels = np.arange(n) % 2
    return FaceSet(np.stack(faces), labels, "generated", tuple(f"astronaut-{i}" for i in range(n)))


def collect_faces(media: Path | None, cache_dir: Path | None = None) -> FaceSet:
    """Real face crops from ``media`` (cached in ``cache_dir``), or generated ones when it is ``None``."""
    if media is None:
        return generated_faces()
    key = hashlib.sha256()
    for p in sorted(media.rglob("*")):
        if p.suffix.lower() in {".mp4", ".png", ".jpg", ".csv"}:
            key.update(f"{p.relative_to(media)}:{p.stat().st_size}".encode())
    key.update(f"v1:{FRAMES_PER_VIDEO}".encode())
    cached = cache_dir / f"faces-{key.hexdigest()[:16]}.npz" if cache_dir else None
    if cached and cached.is_file():
        z = np.load(cached)
        return FaceSet(z["faces"], z["labels"], "shared media", tuple(z["names"].tolist()))
    faces = _faces_from_shared_media(media)
    if cached:
        cached.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cached, faces=faces.faces, labels=faces.labels, names=np.asarray(faces.names))
    return faces


def faces_to_tensor(faces: np.ndarray):  # -> torch.Tensor
    """uint8 NHWC faces → normalized float NCHW tensor with the ICPR2020 ImageNet normalization."""
    import torch

    from shared.models.icpr import IMAGENET_MEAN, IMAGENET_STD

    x = torch.from_numpy(faces).float().div(255).permute(0, 3, 1, 2)
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return ((x - mean) / std).contiguous()


def build_calibrated_model(architecture: str, faces: np.ndarray, seed: int = 0, spread_on: int | None = None):
    """Random ``architecture`` whose BatchNorm statistics come from ``faces`` and whose logits spread.

    Plain random init gives nearly constant outputs (activations collapse without data statistics), which
    would hide mistakes: the BatchNorm affine parameters are randomized, the running statistics set from
    one train-mode pass over (up to 24 of) the faces, and the final linear layer set along the first principal
    component of its input features over the faces, scaled so the logits' interquartile range is 3 (none beyond ±8).
    ``spread_on=n`` computes that direction and scale on the first ``n`` faces only (e.g. the real ones, so
    that generated outliers do not squash their spread).
    """
    import torch

    from shared.models import create_model

    torch.manual_seed(seed)
    model = create_model(architecture)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
                module.weight.uniform_(0.7, 1.3)
                module.bias.uniform_(-0.1, 0.1)
                module.reset_running_stats()
                module.momentum = None  # cumulative average: one pass sets the statistics exactly
        x = faces_to_tensor(faces[:24])
        model.train()
        model(x)
        model.eval()
        for module in model.modules():
            if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
                module.momentum = 0.1
        # The logit is read along the first principal component of the head's input features: the direction
        # in which the faces differ most, so numerical noise (float32 reordering, INT8) is not amplified
        # the way rescaling a random direction would. Scaled so the interquartile range is 3, centred.
        head = _final_linear(model)
        captured: list[torch.Tensor] = []
        hook = head.register_forward_hook(lambda _m, inputs, _out: captured.append(inputs[0]))
        model(x)
        hook.remove()
        feats = captured[0].double()[:spread_on]
        centred = feats - feats.mean(0)
        direction = torch.linalg.svd(centred, full_matrices=False).Vh[0]
        proj = centred @ direction
        q25, q50, q75 = (
            float(v) for v in torch.quantile(proj, torch.tensor([0.25, 0.5, 0.75], dtype=proj.dtype))
        )
        # ... with no face beyond ±8 (published models' logits live in that range; agreement is absolute)
        scale = min(3.0 / max(q75 - q25, 1e-12), 8.0 / max(float((proj - q50).abs().max()), 1e-12))
        head.weight.copy_((direction * scale).float().view_as(head.weight))
        head.bias.fill_(float(-(feats.mean(0) @ direction) * scale - q50 * scale))
    return model


def _final_linear(model):  # -> torch.nn.Linear
    import torch

    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear) and m.out_features == 1]
    # The ST models also carry feat_ext.classifier (unused); the head that produces the logit is the last.
    return linears[-1]


@pytest.fixture(scope="session")
def icpr_faces(request: pytest.FixtureRequest) -> FaceSet:
    """Real labelled face crops from ../shared/media (or generated ones when absent)."""
    try:
        media: Path | None = request.getfixturevalue("shared_media")
    except pytest.skip.Exception:  # ../shared absent: fall back to generated faces
        media = None
    if media is not None and not (media / "manifest-visual.csv").is_file():
        media = None
    cache_plugin = getattr(request.config, "cache", None)  # absent under -p no:cacheprovider (CI)
    cache = Path(str(cache_plugin.mkdir("deepfake-faces"))) if cache_plugin else None
    return collect_faces(media, cache)


@pytest.fixture(scope="session")
def video_checkpoint(icpr_faces: FaceSet, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A test-made EfficientNetAutoAttB4 checkpoint in the published layout (``{"net": state_dict}``)."""
    from shared.models.icpr import save_published_checkpoint

    model = build_calibrated_model(VIDEO_TEST_ARCH, icpr_faces.faces, seed=0)
    path = tmp_path_factory.mktemp("video-checkpoint") / "EfficientNetAutoAttB4_test.pth"
    return save_published_checkpoint(model, path)


@pytest.fixture(scope="session")
def video_model_dir(video_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The FP32 OpenVINO model folder of ``video_checkpoint`` (model.xml, model.bin, model.json)."""
    from shared.models.icpr import import_checkpoint

    out = tmp_path_factory.mktemp("video-model") / "EfficientNetAutoAttB4_test"
    import_checkpoint(VIDEO_TEST_ARCH, video_checkpoint, out)
    return out
