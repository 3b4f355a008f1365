"""UnivFD's import (``deepfake generated import-univfd``) against an independent reference: open_clip's own
CLIP ViT-L/14 (QuickGELU, as OpenAI's) on random weights, its ``encode_image`` followed by the linear layer,
which is what UnivFD's ``CLIPModel.forward`` computes. The checkpoint handed to the import is that model's
``visual.*`` state dict, which open_clip names exactly as OpenAI's checkpoints do."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from shared.errors import CheckpointMismatch

#: generated and real, PNG and JPEG (pictures of ../shared/media/aiimage)
PICTURES = ["ai_midjourney_001.png", "real_camera-exif_001.jpg", "real_voc-png_001.png"]
#: measured on these pictures with seed 0 (OpenVINO 2026.4.1 f32 against open_clip 3.3.0 on torch 2.9.1 f32):
#: max |d logit| 1.8e-6 on logits 0.53 to 1.96, embedding cosine >= 0.9999999. The same weights in a tower
#: with plain GELU instead of OpenAI's QuickGELU move the logits by up to 0.031: the tolerance sits between
LOGIT_TOLERANCE = 1e-4
EMBEDDING_MIN_COSINE = 0.99999


@pytest.fixture(scope="module")
def reference_and_folder(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, torch.Tensor, torch.Tensor, Path]:
    open_clip = pytest.importorskip("open_clip")
    from shared.cli import main

    torch.manual_seed(0)
    reference = open_clip.create_model("ViT-L-14", pretrained=None, force_quick_gelu=True).eval()
    visual = {k: v for k, v in reference.state_dict().items() if k.startswith("visual.")}
    weight, bias = torch.randn(1, 768) * 0.05, torch.randn(1)
    scratch = tmp_path_factory.mktemp("univfd")
    torch.save(visual, scratch / "ViT-L-14.pt")
    torch.save({"weight": weight, "bias": bias}, scratch / "fc_weights.pth")
    del visual
    folder = scratch / "model"
    code = main(["generated", "import-univfd", "--clip", str(scratch / "ViT-L-14.pt"),
                 "--fc", str(scratch / "fc_weights.pth"), "--out", str(folder)])
    assert code == 0
    (scratch / "ViT-L-14.pt").unlink()  # 1.2 GB: not kept beyond the import
    return reference.visual, weight, bias, folder


def _decoded(path: Path) -> np.ndarray:
    from shared.media.image import decode_still

    with open(path, "rb") as stream:
        return decode_still(stream, path.name).rgb


@pytest.mark.slow
def test_the_ir_matches_open_clip_encode_image_and_the_linear_layer(
    reference_and_folder: tuple[Any, torch.Tensor, torch.Tensor, Path], shared_media: Path
) -> None:
    from shared.evidence.generated import PictureScorer
    from shared.runtime import compile_model

    tower, weight, bias, folder = reference_and_folder
    scorer = PictureScorer.from_folder(folder)
    batch = np.stack([scorer.pixels(_decoded(shared_media / "aiimage" / name)) for name in PICTURES])
    with torch.no_grad():
        features = tower(torch.from_numpy(batch))  # open_clip's encode_image is model.visual(image)
        expected = (features @ weight.T + bias).reshape(-1).numpy()
    got = compile_model(folder).infer(batch)
    logits, embedding = got["logit"].reshape(-1), got["embedding"]
    assert np.abs(logits - scorer.logits(batch)).max() == 0.0  # the scorer reads the same output
    assert np.abs(logits - expected).max() <= LOGIT_TOLERANCE, (logits, expected)
    reference = features.numpy()
    cosine = (embedding * reference).sum(1) / np.linalg.norm(embedding, axis=1) / np.linalg.norm(reference, axis=1)
    assert cosine.min() >= EMBEDDING_MIN_COSINE
    assert np.abs(np.linalg.norm(embedding, axis=1) / np.linalg.norm(reference, axis=1) - 1).max() < 1e-4
    # the pictures differ: a tower that ignored its input would pass the checks above only by chance
    assert np.ptp(expected) > 10 * LOGIT_TOLERANCE


@pytest.mark.slow
def test_the_card_carries_the_licence_and_judges_nothing_without_a_point(
    reference_and_folder: tuple[Any, torch.Tensor, torch.Tensor, Path],
) -> None:
    from shared.modelcard import ImagePreprocessing, ModelCard

    card = ModelCard.load(reference_and_folder[3])
    assert card.kind == "generated" and card.name == "univfd" and card.inference_precision == "f32"
    assert card.operating_point is None and card.calibration is None
    assert isinstance(card.preprocessing, ImagePreprocessing)
    assert card.preprocessing.mean == pytest.approx((0.48145466, 0.4578275, 0.40821073))
    assert card.notes is not None and "MIT" in card.notes and "UniversalFakeDetect" in card.notes
    assert set(card.source.files or {}) == {"ViT-L-14.pt", "fc_weights.pth"}  # type: ignore[union-attr]


@pytest.mark.slow
def test_the_setting_switches_the_check_to_the_folder(
    reference_and_folder: tuple[Any, torch.Tensor, torch.Tensor, Path], shared_media: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    from shared.cli import main
    from shared.evidence.generated import model_spec
    from shared.settings import get_analyze_settings

    folder = reference_and_folder[3]
    monkeypatch.setenv("DEEPFAKE_GENERATED_MODEL", str(folder))
    get_analyze_settings.cache_clear()
    try:
        assert model_spec() == str(folder)
        assert main(["generated", "score", str(shared_media / "aiimage" / PICTURES[0])]) == 0
        assert capsys.readouterr().out.strip().endswith("[univfd]")
    finally:
        get_analyze_settings.cache_clear()
        from shared.evidence.generated import load_picture_scorer

        load_picture_scorer.cache_clear()  # the compiled ViT-L/14 would otherwise stay for the whole session


def test_an_fc_file_of_another_shape_is_refused(tmp_path: Path) -> None:
    from shared.evidence.generated.univfd import read_fc

    torch.save({"weight": torch.zeros(2, 768), "bias": torch.zeros(2)}, tmp_path / "fc.pth")
    with pytest.raises(CheckpointMismatch, match="weight \\(1, 768\\)"):
        read_fc(tmp_path / "fc.pth")


def test_a_checkpoint_without_the_vit_l14_tower_is_refused(tmp_path: Path) -> None:
    from shared.evidence.generated.univfd import read_clip_visual

    torch.save({"visual.conv1.weight": torch.zeros(768, 3, 32, 32)}, tmp_path / "b32.pt")
    with pytest.raises(CheckpointMismatch, match="visual.conv1.weight"):
        read_clip_visual(tmp_path / "b32.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointMismatch, match="neither a TorchScript archive nor a state dict"):
        read_clip_visual(tmp_path / "junk.pt")


def test_a_torchscript_checkpoint_is_read_by_its_keys(tmp_path: Path) -> None:
    """OpenAI publishes its CLIP checkpoints as TorchScript archives: the same keys come out of one."""
    from shared.evidence.generated.univfd import read_clip_visual

    class Visual(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = torch.nn.Conv2d(3, 1024, 14, bias=False)
            self.class_embedding = torch.nn.Parameter(torch.zeros(1024))
            self.positional_embedding = torch.nn.Parameter(torch.zeros(257, 1024))
            self.proj = torch.nn.Parameter(torch.zeros(1024, 768))
            self.transformer = torch.nn.Module()
            self.transformer.resblocks = torch.nn.ModuleList(torch.nn.LayerNorm(4) for _ in range(24))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x

    class Clip(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.visual = Visual()
            self.logit_scale = torch.nn.Parameter(torch.ones(()))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.visual(x)

    torch.jit.save(torch.jit.script(Clip()), str(tmp_path / "ViT-L-14.pt"))
    visual = read_clip_visual(tmp_path / "ViT-L-14.pt")
    assert "logit_scale" not in visual and visual["visual.proj"].shape == (1024, 768)
    assert "visual.transformer.resblocks.23.weight" in visual
