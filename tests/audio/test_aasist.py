"""AASIST / AASIST-L: our implementation against the official golden vectors, in PyTorch and OpenVINO."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from shared.errors import CheckpointMismatch, UnknownModel
from shared.models import create_model
from shared.models.aasist import load_aasist, sinc_filter_bank

MODELS = ["AASIST", "AASIST-L"]
PARAMETERS = {"AASIST": 297_866, "AASIST-L": 85_306}


@pytest.fixture(scope="module")
def golden(shared_reference: Path) -> Path:
    return shared_reference / "aasist" / "golden"


@pytest.fixture(scope="module")
def golden_inputs(golden: Path) -> np.ndarray:
    return np.load(golden / "inputs.npy")


def _checkpoint(shared_weights: Path, name: str) -> Path:
    return shared_weights / "aasist" / f"{name}.pth"


@pytest.mark.parametrize("name", MODELS)
def test_parameter_count_matches_the_paper(name: str) -> None:
    model = create_model(name)
    assert sum(p.numel() for p in model.parameters()) == PARAMETERS[name]
    assert len(model.state_dict()) == 229


@pytest.mark.parametrize("name", MODELS)
def test_state_dict_keys_and_shapes_match_the_reference_table(name: str, shared_reference: Path) -> None:
    rows = (shared_reference / "aasist" / f"keys_{name}.tsv").read_text().splitlines()[1:]
    expected = {}
    for row in rows:
        key, shape, _ = row.split("\t")
        expected[key] = () if shape == "(scalar)" else tuple(int(d) for d in shape.split("x"))
    ours = {k: tuple(v.shape) for k, v in create_model(name).state_dict().items()}
    assert ours == expected


def test_sinc_filter_bank_is_bit_exact(golden: Path) -> None:
    official = np.load(golden / "intermediates_common.npz")["sinc_filters"]
    ours = sinc_filter_bank()
    assert ours.dtype == np.float32 and ours.shape == (70, 129)
    np.testing.assert_array_equal(ours, official)


def test_front_end_matches_the_official_pooled_output(golden: Path, golden_inputs: np.ndarray) -> None:
    common = np.load(golden / "intermediates_common.npz")
    model = create_model("AASIST").eval()
    with torch.no_grad():
        pooled = torch.nn.functional.max_pool2d(
            model.conv_time(torch.from_numpy(golden_inputs[:1])).unsqueeze(1).abs(), (3, 3)
        )
    np.testing.assert_allclose(pooled.numpy(), common["frontend_pooled_row0"], rtol=0, atol=1e-6)


POOLS = ("pool_S", "pool_T", "pool_hS1", "pool_hT1", "pool_hS2", "pool_hT2")


@pytest.fixture(scope="module", params=MODELS)
def pytorch_run(request: pytest.FixtureRequest, shared_weights: Path, golden_inputs: np.ndarray) -> dict:
    """One forward of the golden batch per model, recording which nodes every graph pool kept."""
    name = request.param
    model = load_aasist(name, _checkpoint(shared_weights, name))
    kept: dict[str, np.ndarray] = {}

    def recorder(pool_name: str):
        def record(module, inputs, output) -> None:  # noqa: ANN001
            scores = torch.sigmoid(module.proj(inputs[0])).squeeze(-1)
            kept[pool_name] = torch.topk(scores, output.shape[1], dim=1).indices.numpy()

        return record

    for pool_name in POOLS:
        getattr(model, pool_name).register_forward_hook(recorder(pool_name))
    with torch.no_grad():
        hidden, logits = model.forward_hidden(torch.from_numpy(golden_inputs))
    return {"name": name, "hidden": hidden.numpy(), "logits": logits.numpy(), "kept": kept}


def test_pytorch_reproduces_official_logits(pytorch_run: dict, golden: Path) -> None:
    name = pytorch_run["name"]
    reference = np.load(golden / f"intermediates_{name}.npz")
    np.testing.assert_allclose(
        pytorch_run["logits"], np.load(golden / f"outputs_{name}.npy"), rtol=0, atol=1e-4
    )
    np.testing.assert_allclose(pytorch_run["hidden"], reference["last_hidden"], rtol=0, atol=1e-4)


def test_graph_pools_keep_the_official_node_order(pytorch_run: dict, golden: Path) -> None:
    """Every pool selects the same nodes in the same (descending-score) order as the official code."""
    reference = np.load(golden / f"intermediates_{pytorch_run['name']}.npz")
    assert set(pytorch_run["kept"]) == set(POOLS)
    # Row 4 (all zeros) has exact ties among bit-identical nodes; their order is immaterial there.
    rows = [0, 1, 2, 3, 5]
    for pool_name, ours in pytorch_run["kept"].items():
        np.testing.assert_array_equal(ours[rows], reference[f"{pool_name}_topk_idx"][rows], err_msg=pool_name)


def test_wrong_checkpoint_is_refused_without_loading(shared_weights: Path) -> None:
    with pytest.raises(CheckpointMismatch, match="wrong shape"):
        load_aasist("AASIST", _checkpoint(shared_weights, "AASIST-L"))


def test_unreadable_checkpoint_and_unknown_architecture(tmp_path: Path) -> None:
    bad = tmp_path / "garbage.pth"
    bad.write_bytes(b"not a torch file")
    with pytest.raises(CheckpointMismatch):
        load_aasist("AASIST", bad)
    with pytest.raises(UnknownModel):
        load_aasist("AASIST-XL", bad)


@pytest.mark.parametrize("fixture", ["aasist_model_dir", "aasist_l_model_dir"])
def test_openvino_ir_reproduces_official_logits(
    fixture: str, request: pytest.FixtureRequest, golden: Path, golden_inputs: np.ndarray
) -> None:
    from shared.runtime import compile_model

    folder: Path = request.getfixturevalue(fixture)
    compiled = compile_model(folder)
    assert [port.get_any_name() for port in compiled.compiled.inputs] == ["waveform"]
    assert list(compiled.compiled.inputs[0].get_partial_shape())[1] == 64600
    name = compiled.card.name
    expected = np.load(golden / f"outputs_{name}.npy")
    batch = compiled.infer(golden_inputs)["logits"]
    np.testing.assert_allclose(batch, expected, rtol=0, atol=1e-3)
    single = compiled.infer(golden_inputs[1:2])["logits"]  # dynamic batch: one window at a time
    np.testing.assert_allclose(single, expected[1:2], rtol=0, atol=1e-3)
    # SELU is exported as scale * ELU (shared.models.aasist.selu): OpenVINO runs SELU with a slow
    # reference kernel between layout reorders, ELU fused into the convolution before it
    from shared.runtime import read_ir

    ops = {op.get_type_name() for op in read_ir(folder).get_ops()}
    assert "Selu" not in ops and "Elu" in ops, sorted(ops)


@pytest.mark.parametrize("fixture", ["aasist_model_dir", "aasist_l_model_dir"])
def test_model_card_describes_the_published_model(fixture: str, request: pytest.FixtureRequest) -> None:
    folder: Path = request.getfixturevalue(fixture)
    card = json.loads((folder / "model.json").read_text())
    assert card["kind"] == "audio"
    assert card["architecture"] == card["name"]
    pre = card["preprocessing"]
    assert pre["sample_rate"] == 16000 and pre["window_samples"] == 64600
    assert pre["output"] == "logits2" and pre["bonafide_index"] == 1 and pre["input"] == "waveform"
    assert 0 < pre["hop_samples"] <= 64600
    assert "ASVspoof 2019 LA" in card["training_data"]
    from shared.registry import get_published

    assert card["source"]["sha256"] == get_published(card["name"]).sha256
    assert card["source"]["url"].endswith(f"/{card['name']}.pth")
    assert "ASVspoof2019_LA_eval_EER_percent" in card["reported_metrics"]


@pytest.mark.parametrize("name", MODELS)
def test_fast_inference_path_equals_the_plain_path(name: str) -> None:
    """The eval fast path (folded BN, channels-last) is the same function as the plain forward."""
    torch.manual_seed(0)
    model = create_model(name).eval()
    for module in model.modules():  # non-trivial BN statistics, so the fold is really exercised
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
    x = torch.randn(2, 16_000) * 0.1
    with torch.no_grad():
        fast = model.set_fast_inference(True)(x)
        plain = model.set_fast_inference(False)(x)
    torch.testing.assert_close(fast, plain, atol=1e-4, rtol=0)


def test_registry_fetch_converts_the_published_file_from_a_seeded_cache(shared_weights: Path) -> None:
    """``shared.weights.fetch`` (sha256-pinned cache) dispatches to our importer for the AASIST entries."""
    import shutil

    from shared import weights
    from shared.modelcard import ModelCard

    weights.downloads_dir().mkdir(parents=True, exist_ok=True)
    shutil.copy(_checkpoint(shared_weights, "AASIST-L"), weights.downloads_dir() / "AASIST-L.pth")
    folder = weights.resolve_model("AASIST-L", progress=False)
    card = ModelCard.load(folder)
    assert card.name == "AASIST-L" and card.kind == "audio" and card.preprocessing.hop_samples == 32300
    assert weights.fetch("AASIST-L", progress=False) == folder  # served from the cache the second time
