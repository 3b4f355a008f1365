"""Parity of our five ICPR2020 networks with an independent reference, in PyTorch and in the FP32 IR.

The reference (``reference_icpr.py``) is ``efficientnet_pytorch`` B4 with the AutoAtt/ST heads written
from the reference README, and timm's legacy Xception. Both sides get the same weights through a
checkpoint file in the published layout: random, with BatchNorm statistics set from the faces so the
logits differ clearly between faces (asserted, so the comparison could fail).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from fixtures_models import FaceSet, build_calibrated_model, faces_to_tensor, generated_faces
from reference_icpr import build_reference

from shared.models.icpr import ARCHITECTURES, import_checkpoint, load_published, save_published_checkpoint
from shared.video_scoring import FaceScorer

ATOL = 1e-3
torch.set_num_threads(2)


@dataclass
class Outputs:
    n_real: int
    reference: np.ndarray
    ours_torch: np.ndarray
    ours_ir: np.ndarray
    ref_attention: np.ndarray | None
    ir_attention: np.ndarray | None


@pytest.fixture(scope="module")
def parity_faces(icpr_faces: FaceSet) -> tuple[np.ndarray, int]:
    """Real crops (when ../shared is present) followed by 6 generated ones; returns (faces, n_real)."""
    generated = generated_faces(6).faces
    if icpr_faces.source == "generated":
        return generated, 0
    return np.concatenate([icpr_faces.faces, generated]), len(icpr_faces.faces)


@pytest.fixture(scope="module", params=ARCHITECTURES)
def outputs(request, parity_faces, tmp_path_factory) -> tuple[str, Outputs]:
    architecture = request.param
    faces, n_real = parity_faces
    model = build_calibrated_model(architecture, faces, seed=1, spread_on=n_real or None)
    folder = tmp_path_factory.mktemp(architecture)
    checkpoint = save_published_checkpoint(model, folder / f"{architecture}.pth")
    del model
    x = faces_to_tensor(faces)

    reference = build_reference(architecture)
    reference.load_state_dict(torch.load(checkpoint, weights_only=True)["net"], strict=True)
    ours = load_published(architecture, checkpoint)
    with torch.no_grad():
        ref_logits, ref_att = reference(x)
        our_logits = ours(x)
    import_checkpoint(architecture, checkpoint, folder / "ir")
    scores = FaceScorer.from_folder(folder / "ir").score(faces)
    return architecture, Outputs(
        n_real=n_real,
        reference=ref_logits.numpy(),
        ours_torch=our_logits.numpy(),
        ours_ir=scores.logits,
        ref_attention=None if ref_att is None else ref_att[:, 0].numpy(),
        ir_attention=scores.attention,
    )


def _subset(out: Outputs, which: str) -> slice:
    if which == "real":
        if out.n_real == 0:
            pytest.skip("no real face crops: ../shared/media is absent on this machine")
        return slice(0, out.n_real)
    return slice(out.n_real, None)


@pytest.mark.parametrize("which", ["real", "generated"])
def test_logits_differ_clearly_between_faces(outputs, which) -> None:
    _, out = outputs
    logits = out.reference[_subset(out, which)]
    # Nearly constant outputs would let a wrong network pass a 1e-3 comparison: demand a spread of at
    # least 500 times the tolerance.
    assert np.ptp(logits) > 500 * ATOL, logits


@pytest.mark.parametrize("which", ["real", "generated"])
def test_pytorch_matches_reference(outputs, which) -> None:
    arch, out = outputs
    s = _subset(out, which)
    np.testing.assert_allclose(out.ours_torch[s], out.reference[s], atol=ATOL, rtol=0, err_msg=arch)


@pytest.mark.parametrize("which", ["real", "generated"])
def test_fp32_ir_matches_reference(outputs, which) -> None:
    arch, out = outputs
    s = _subset(out, which)
    np.testing.assert_allclose(out.ours_ir[s], out.reference[s], atol=ATOL, rtol=0, err_msg=arch)


def test_attention_map_matches_reference(outputs) -> None:
    arch, out = outputs
    if "AutoAtt" not in arch:
        assert out.ir_attention is None and out.ref_attention is None
        return
    assert out.ir_attention.shape == (len(out.reference), 28, 28)
    np.testing.assert_allclose(out.ir_attention, out.ref_attention, atol=ATOL, rtol=0)
    assert out.ref_attention.std() > 0.05  # a map that varies, so the comparison means something


def test_dynamic_padding_would_not_match(icpr_faces: FaceSet, tmp_path: Path) -> None:
    """The padding trap: timm's input-dependent "same" padding differs from the reference at 224, not at 380.

    Shows that the parity comparison is sensitive to the one difference that matters here.
    """
    from timm.layers import Conv2dSame

    from shared.models.icpr import Conv2dStaticSame

    faces = icpr_faces.faces[:4]
    model = build_calibrated_model("EfficientNetB4", icpr_faces.faces, seed=2)
    reference = build_reference("EfficientNetB4")
    checkpoint = save_published_checkpoint(model, tmp_path / "b4.pth")
    reference.load_state_dict(torch.load(checkpoint, weights_only=True)["net"])
    dynamic = load_published("EfficientNetB4", checkpoint)
    for name, module in list(dynamic.named_modules()):
        if isinstance(module, Conv2dStaticSame):
            swap = Conv2dSame(
                module.in_channels,
                module.out_channels,
                module.kernel_size,
                module.stride,
                groups=module.groups,
                bias=False,
            )
            swap.load_state_dict(module.state_dict())
            parent, _, child = name.rpartition(".")
            setattr(dynamic.get_submodule(parent), child, swap)
    x224 = faces_to_tensor(faces)
    x380 = torch.nn.functional.interpolate(x224, size=(380, 380), mode="bilinear", align_corners=False)
    with torch.no_grad():
        assert (dynamic(x224) - reference(x224)[0]).abs().max() > 10 * ATOL
        assert (dynamic(x380) - reference(x380)[0]).abs().max() < ATOL
        assert (model(x224) - reference(x224)[0]).abs().max() < ATOL
