"""The published key layout (both ways) and strict refusal of wrong checkpoints."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from shared.errors import CheckpointMismatch, UnknownModel
from shared.models import create_model, list_models
from shared.models.checkpoint import load_state_dict_strict
from shared.models.icpr import (
    ARCHITECTURES,
    from_published_state_dict,
    load_published,
    save_published_checkpoint,
    to_published_state_dict,
)

# Trainable parameter counts from the reference README.
PARAMS = {
    "EfficientNetB4": 17_550_409,
    "EfficientNetAutoAttB4": 17_550_466,
    "EfficientNetB4ST": 17_555_786,
    "EfficientNetAutoAttB4ST": 17_555_843,
    "Xception": 20_809_001,
}


def _key_table(reference: Path, architecture: str) -> dict[str, tuple[int, ...]]:
    rows = (
        line.rstrip("\n").split("\t") for line in (reference / "icpr2020" / f"keys_{architecture}.tsv").open()
    )
    next(rows)
    return {key: tuple(int(d) for d in shape.split("x")) if shape else () for key, shape in rows}


@pytest.fixture(scope="module")
def models() -> dict[str, torch.nn.Module]:
    torch.manual_seed(0)
    return {name: create_model(name).eval() for name in ARCHITECTURES}


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_published_layout_matches_the_key_table(models, architecture, shared_reference) -> None:
    published = to_published_state_dict(models[architecture])
    assert {k: tuple(v.shape) for k, v in published.items()} == _key_table(shared_reference, architecture)
    assert sum(p.numel() for p in models[architecture].parameters()) == PARAMS[architecture]


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_layout_round_trip_is_exact(models, architecture) -> None:
    model = models[architecture]
    back = from_published_state_dict(model, to_published_state_dict(model))
    ours = model.state_dict()
    assert set(back) == set(ours)
    assert all(torch.equal(back[k], ours[k]) for k in ours)


def test_architectures_are_registered_and_unknown_names_list_them() -> None:
    assert set(ARCHITECTURES) <= set(list_models())
    with pytest.raises(UnknownModel) as info:
        create_model("EfficientNetB7")
    assert all(name in info.value.message for name in ARCHITECTURES)


@pytest.fixture(scope="module")
def b4_checkpoint(models, tmp_path_factory) -> Path:
    return save_published_checkpoint(models["EfficientNetB4"], tmp_path_factory.mktemp("ckpt") / "b4.pth")


def test_a_good_checkpoint_loads_exactly(models, b4_checkpoint) -> None:
    loaded = load_published("EfficientNetB4", b4_checkpoint)
    assert not loaded.training
    want = models["EfficientNetB4"].state_dict()
    assert all(torch.equal(v, want[k]) for k, v in loaded.state_dict().items())


def test_checkpoint_of_another_architecture_is_refused_naming_the_keys(b4_checkpoint) -> None:
    with pytest.raises(CheckpointMismatch) as info:
        load_published("EfficientNetAutoAttB4", b4_checkpoint)
    assert "2 missing keys" in info.value.message and "efficientnet.attconv.weight" in info.value.message
    with pytest.raises(CheckpointMismatch, match="unexpected keys .first: efficientnet._conv_stem.weight"):
        load_published("Xception", b4_checkpoint)


def test_renamed_key_and_wrong_shape_are_refused(b4_checkpoint, tmp_path) -> None:
    net = torch.load(b4_checkpoint, weights_only=True)["net"]
    renamed = dict(net)
    renamed["efficientnet._blocks.3._bn1.gamma"] = renamed.pop("efficientnet._blocks.3._bn1.weight")
    torch.save({"net": renamed}, tmp_path / "renamed.pth")
    with pytest.raises(CheckpointMismatch) as info:
        load_published("EfficientNetB4", tmp_path / "renamed.pth")
    assert "efficientnet._blocks.3._bn1.weight" in info.value.message
    assert "efficientnet._blocks.3._bn1.gamma" in info.value.message

    reshaped = dict(net)
    reshaped["classifier.weight"] = torch.zeros(2, 1792)
    with pytest.raises(CheckpointMismatch, match=r"classifier.weight: expected \(1, 1792\), got \(2, 1792\)"):
        load_published("EfficientNetB4", reshaped)


def test_truncated_garbage_and_wrongly_wrapped_files_are_refused(b4_checkpoint, tmp_path) -> None:
    data = b4_checkpoint.read_bytes()
    (tmp_path / "truncated.pth").write_bytes(data[: len(data) // 2])
    (tmp_path / "garbage.pth").write_bytes(b"\x00not a checkpoint" * 100)
    torch.save(torch.load(b4_checkpoint, weights_only=True)["net"], tmp_path / "bare.pth")
    for name, pattern in [
        ("truncated.pth", "not a readable torch file"),
        ("garbage.pth", "not a readable torch file"),
        ("bare.pth", "has no 'net' entry"),
        ("missing.pth", "does not exist"),
    ]:
        with pytest.raises(CheckpointMismatch, match=pattern):
            load_published("EfficientNetB4", tmp_path / name)


def test_refusal_leaves_the_model_untouched(models) -> None:
    model = create_model("EfficientNetB4")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    bad = dict(model.state_dict())
    bad = {k: torch.ones_like(v) for k, v in bad.items()}
    bad["classifier.weight"] = torch.ones(3, 1792)  # one bad shape among hundreds of good tensors
    with pytest.raises(CheckpointMismatch):
        load_state_dict_strict(model, bad)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
