"""The AntiDeepfake import (``deepfake models import-voice-ssl``) against an independent reference:
``transformers``' own ``Wav2Vec2Model`` with the flags of the published MMS-300M front end (layer-norm feature
extractor, convolution bias, pre-norm "stable" layers), small sizes and random weights, followed by the
authors' head (mean over frames, one linear layer) on the window brought to zero mean and unit variance.

The checkpoint handed to the import is that model's state dict renamed to fairseq's names under
``m_ssl.model.`` (the renaming below is written from the two libraries' module names, not from the code under
test, which uses fairseq's names as they are), with the keys only pre-training used added so the import
must drop them, and the positional convolution's ``weight_g`` drawn away from its initial value: a
weight-normalization mistake (the norm over the wrong axes) then shows in the logits.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from shared.errors import CheckpointMismatch, InvalidArgument

transformers = pytest.importorskip("transformers", reason="transformers (the dev extra) is the parity reference")

from shared.models.aasist import WINDOW_SAMPLES  # noqa: E402
from shared.models.voice_ssl import VoiceSSLConfig, import_checkpoint  # noqa: E402

#: float32 OpenVINO against float32 torch on 2 layers: measured max |d logit| is printed by the test; the
#: logits themselves spread over several units (the spread guard below), so 1e-4 catches any wrong wiring
LOGIT_TOLERANCE = 1e-4
VARIANT = "mms-300m-anti-deepfake"
LICENCE = "CC-BY-NC-SA-4.0"
TINY = VoiceSSLConfig(
    conv_layers=((32, 10, 5),) + ((32, 3, 2),) * 4 + ((32, 2, 2),) * 2,
    embed_dim=64,
    ffn_dim=128,
    heads=4,
    layers=2,
    conv_pos=128,
    conv_pos_groups=16,
)


def _hf_config() -> Any:
    return transformers.Wav2Vec2Config(
        conv_dim=tuple(c for c, _, _ in TINY.conv_layers),
        conv_kernel=tuple(k for _, k, _ in TINY.conv_layers),
        conv_stride=tuple(s for _, _, s in TINY.conv_layers),
        feat_extract_norm="layer",
        conv_bias=True,
        do_stable_layer_norm=True,
        hidden_size=TINY.embed_dim,
        intermediate_size=TINY.ffn_dim,
        num_attention_heads=TINY.heads,
        num_hidden_layers=TINY.layers,
        num_conv_pos_embeddings=TINY.conv_pos,
        num_conv_pos_embedding_groups=TINY.conv_pos_groups,
        hidden_act="gelu",
        feat_extract_activation="gelu",
        apply_spec_augment=False,
        layerdrop=0.0,
    )


def _to_fairseq(name: str) -> str | None:
    """``transformers``' Wav2Vec2Model key → fairseq's (None: a key fairseq's model does not have)."""
    rules = [
        ("feature_extractor.conv_layers.{i}.conv.", "feature_extractor.conv_layers.{i}.0."),
        ("feature_extractor.conv_layers.{i}.layer_norm.", "feature_extractor.conv_layers.{i}.2.1."),
    ]
    for i in range(len(TINY.conv_layers)):
        for hf, fs in rules:
            if name.startswith(hf.format(i=i)):
                return fs.format(i=i) + name.removeprefix(hf.format(i=i))
    fixed = {
        "feature_projection.layer_norm.weight": "layer_norm.weight",
        "feature_projection.layer_norm.bias": "layer_norm.bias",
        "feature_projection.projection.weight": "post_extract_proj.weight",
        "feature_projection.projection.bias": "post_extract_proj.bias",
        "encoder.pos_conv_embed.conv.parametrizations.weight.original0": "encoder.pos_conv.0.weight_g",
        "encoder.pos_conv_embed.conv.parametrizations.weight.original1": "encoder.pos_conv.0.weight_v",
        "encoder.pos_conv_embed.conv.weight_g": "encoder.pos_conv.0.weight_g",
        "encoder.pos_conv_embed.conv.weight_v": "encoder.pos_conv.0.weight_v",
        "encoder.pos_conv_embed.conv.bias": "encoder.pos_conv.0.bias",
        "encoder.layer_norm.weight": "encoder.layer_norm.weight",
        "encoder.layer_norm.bias": "encoder.layer_norm.bias",
        "masked_spec_embed": None,
    }
    if name in fixed:
        return fixed[name]
    layer = {
        "attention.q_proj": "self_attn.q_proj",
        "attention.k_proj": "self_attn.k_proj",
        "attention.v_proj": "self_attn.v_proj",
        "attention.out_proj": "self_attn.out_proj",
        "layer_norm": "self_attn_layer_norm",
        "final_layer_norm": "final_layer_norm",
        "feed_forward.intermediate_dense": "fc1",
        "feed_forward.output_dense": "fc2",
    }
    head, _, rest = name.partition("encoder.layers.")
    if not head and rest:
        index, _, tail = rest.partition(".")
        module, _, param = tail.rpartition(".")
        return f"encoder.layers.{index}.{layer[module]}.{param}"
    raise AssertionError(f"no fairseq name for {name}")


def _pretraining_keys(generator: torch.Generator) -> dict[str, torch.Tensor]:
    """What the published files hold beside the network (fairseq's pre-training parts): must be dropped."""
    dim = TINY.embed_dim
    shapes = {
        "quantizer.vars": (1, 640, 384),
        "quantizer.weight_proj.weight": (640, TINY.conv_layers[-1][0]),
        "quantizer.weight_proj.bias": (640,),
        "project_q.weight": (48, 768),
        "project_q.bias": (48,),
        "final_proj.weight": (48, dim),
        "final_proj.bias": (48,),
        "mask_emb": (dim,),
    }
    return {f"m_ssl.model.{k}": torch.randn(s, generator=generator) for k, s in shapes.items()}


@pytest.fixture(scope="module")
def reference_and_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, torch.nn.Linear, Path]:
    from safetensors.torch import save_file

    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(1)
    reference = transformers.Wav2Vec2Model(_hf_config()).eval()
    state = {}
    with torch.no_grad():
        for name, tensor in reference.state_dict().items():
            if name.endswith("original0") or name.endswith("weight_g"):  # weight_g: far from its initial norm
                value = torch.rand(tensor.shape, generator=generator) * 2 + 0.5
            elif "layer_norm" in name and name.endswith("weight"):
                value = 1 + 0.2 * torch.randn(tensor.shape, generator=generator)
            elif name.endswith("bias"):
                value = 0.1 * torch.randn(tensor.shape, generator=generator)
            else:
                value = tensor.clone()
            state[name] = value
        reference.load_state_dict(state)
    head = torch.nn.Linear(TINY.embed_dim, 2)
    with torch.no_grad():
        head.weight.copy_(torch.randn(2, TINY.embed_dim, generator=generator))
        head.bias.copy_(torch.tensor([0.3, -0.2]))
    fairseq = {}
    for name, tensor in state.items():
        renamed = _to_fairseq(name)
        if renamed is not None:
            fairseq[f"m_ssl.model.{renamed}"] = tensor.contiguous()
    fairseq.update(_pretraining_keys(generator))
    fairseq["proj_fc.weight"] = head.weight.detach().clone()
    fairseq["proj_fc.bias"] = head.bias.detach().clone()
    path = tmp_path_factory.mktemp("antideepfake") / "model.safetensors"
    save_file(fairseq, str(path))
    return reference, head, path


def _reference_logits(reference: Any, head: torch.nn.Linear, windows: np.ndarray) -> np.ndarray:
    """What the authors' ``Model.forward`` computes on a window their loader normalized."""
    with torch.no_grad():
        wave = torch.from_numpy(windows)
        wave = torch.nn.functional.layer_norm(wave, wave.shape[-1:])
        hidden = reference(wave).last_hidden_state
        return head(hidden.mean(dim=1)).numpy()


def _windows() -> np.ndarray:
    rng = np.random.default_rng(3)
    t = np.arange(WINDOW_SAMPLES) / 16000
    tone = 0.3 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 3 * t))
    chirp = 0.1 * np.sin(2 * np.pi * (100 + 400 * t) * t)
    noise = 0.05 * rng.standard_normal(WINDOW_SAMPLES)
    return np.stack([tone, chirp + noise, 0.002 * rng.standard_normal(WINDOW_SAMPLES)]).astype(np.float32)


def test_the_imported_ir_matches_transformers_with_the_authors_head(
    reference_and_file: tuple[Any, torch.nn.Linear, Path], tmp_path: Path
) -> None:
    from shared.audio_scoring import AudioScorer
    from shared.modelcard import AudioPreprocessing, ModelCard
    from shared.runtime import compile_model

    reference, head, path = reference_and_file
    folder = tmp_path / "model"
    card = import_checkpoint(path, folder, variant=VARIANT, accept_licence=LICENCE, config=TINY)
    windows = _windows()
    expected = _reference_logits(reference, head, windows)
    # spread guard: logits that barely move between such different windows could hide a wiring mistake
    assert np.ptp(expected[:, 0] - expected[:, 1]) > 0.5, expected
    got = next(iter(compile_model(folder).infer(windows).values()))
    print(f"max |d logit| {np.abs(got - expected).max():.2e} on logits {expected.min():.2f} to {expected.max():.2f}")
    np.testing.assert_allclose(got, expected, atol=LOGIT_TOLERANCE, rtol=0)
    # class 0 is fake: the scorer's fake probability is the reference's softmax of class 0
    scorer = AudioScorer.from_folder(folder)
    fake = torch.softmax(torch.from_numpy(expected).double(), dim=1)[:, 0].numpy()
    np.testing.assert_allclose(scorer.score_windows(windows), fake, atol=1e-4)
    saved = ModelCard.load(folder)
    assert saved == card and saved.licence is not None and saved.licence.startswith(LICENCE)
    assert isinstance(saved.preprocessing, AudioPreprocessing) and saved.preprocessing.window_norm == "layer_norm"
    assert saved.preprocessing.bonafide_index == 1 and saved.operating_point is None
    import hashlib

    assert saved.source is not None and saved.source.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert saved.reported_metrics["In-the-Wild_EER_percent_arena"] == 4.8


def test_the_ir_normalizes_each_window_itself(reference_and_file: tuple[Any, torch.nn.Linear, Path], tmp_path: Path) -> None:
    """The scorer feeds raw samples: a window, and the same window louder and shifted, score alike."""
    from shared.models.voice_ssl import load_antideepfake
    from shared.runtime import compile_model

    _, _, path = reference_and_file
    folder = tmp_path / "model"
    import_checkpoint(path, folder, variant=VARIANT, accept_licence=LICENCE, config=TINY)
    window = _windows()[:1]
    moved = (20 * window + 0.5).astype(np.float32)
    # guard: the network without the normalization does tell them apart, so this test can fail
    bare = load_antideepfake(path, TINY)
    with torch.no_grad():
        apart = bare(torch.from_numpy(window)) - bare(torch.from_numpy(moved))
    assert apart.abs().max().item() > 0.05, apart
    infer = compile_model(folder).infer
    quiet, loud = (next(iter(infer(w).values())) for w in (window, moved))
    # layer norm's eps (1e-5 on a variance of 0.05 against 20 ** 2 times that) leaves a trace of the level
    np.testing.assert_allclose(quiet, loud, atol=1e-3)


def test_import_refuses_without_the_licence_and_reads_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from shared.cli import main

    missing = tmp_path / "absent.safetensors"  # never opened: the refusal comes first
    for extra in ([], ["--accept-licence", "MIT"]):
        code = main(["models", "import-voice-ssl", str(missing), "--out", str(tmp_path / "m"), *extra])
        err = capsys.readouterr().err
        assert code != 0 and "CC-BY-NC-SA-4.0" in err and "--accept-licence" in err and "non-commercial" in err
        assert not (tmp_path / "m").exists()
    with pytest.raises(InvalidArgument, match="--accept-licence CC-BY-NC-SA-4.0"):
        import_checkpoint(missing, tmp_path / "m", variant=VARIANT, accept_licence=None, config=TINY)


def test_a_missing_or_unknown_key_is_refused_by_name(
    reference_and_file: tuple[Any, torch.nn.Linear, Path], tmp_path: Path
) -> None:
    from safetensors.torch import load_file, save_file

    _, _, path = reference_and_file
    tensors = load_file(str(path))
    pos = "m_ssl.model.encoder.pos_conv.0.weight_g"
    broken = {k: v for k, v in tensors.items() if k != pos}
    broken["m_ssl.model.encoder.pos_conv.0.weight"] = tensors[pos]  # a file named the other way
    save_file(broken, str(tmp_path / "broken.safetensors"))
    with pytest.raises(CheckpointMismatch) as caught:
        import_checkpoint(tmp_path / "broken.safetensors", tmp_path / "m", variant=VARIANT, accept_licence=LICENCE, config=TINY)
    message = str(caught.value)
    assert "1 missing keys" in message and pos in message
    assert "1 unexpected keys" in message and "encoder.pos_conv.0.weight" in message
    assert not (tmp_path / "m").exists()
    # the full-size network refuses the tiny file: every shape is named wrong
    with pytest.raises(CheckpointMismatch, match="wrong shape"):
        import_checkpoint(path, tmp_path / "m", variant=VARIANT, accept_licence=LICENCE)


def test_analyze_uses_the_imported_folder_and_judges_only_once_a_point_is_measured(
    reference_and_file: tuple[Any, torch.nn.Linear, Path], shared_media: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`deepfake analyze --audio-model DIR`: the score and the licence without a verdict; then `deepfake audio
    evaluate-media --write-card` measures a point on labelled speech (random weights: the point means nothing,
    the plumbing is what is tested) and the same analysis gives a verdict at it."""
    import csv

    from shared.cli import main
    from shared.report import Report

    _, _, path = reference_and_file
    folder = tmp_path / "model"
    import_checkpoint(path, folder, variant=VARIANT, accept_licence=LICENCE, config=TINY)
    rows = list(csv.DictReader((shared_media / "manifest-audio.csv").open()))
    by_source: dict[str, dict[str, list[str]]] = {}
    for row in rows:
        by_source.setdefault(row["source_repo"], {}).setdefault(row["label"], []).append(row["path"])
    both = [labels for labels in by_source.values() if {"bonafide", "spoof"} <= set(labels)][:2]
    picked = [(p, label) for labels in both for label in ("bonafide", "spoof") for p in labels[label][:2]]
    assert len(picked) == 8
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("path,label\n" + "".join(f"{shared_media / p},{label}\n" for p, label in picked))
    speech = shared_media / picked[0][0]

    def analyze() -> Report:
        code = main(["analyze", str(speech), "--audio-model", str(folder), "--json"])
        captured = capsys.readouterr()
        assert code == 0, captured.err
        return Report.model_validate_json(captured.out)

    report = analyze()
    audio = report.audio
    assert audio.status == "analyzed" and audio.score is not None and audio.verdict == "not_applicable"
    assert audio.reason is not None and "no operating point" in audio.reason and audio.band is None
    assert audio.model is not None and audio.model.licence is not None and audio.model.licence.startswith(LICENCE)
    assert report.verdict == "not_applicable"
    voice = next(f for f in report.findings if f.evidence == "voice")
    assert voice.headline == "scored, but not judged" and "no operating point" in voice.text

    code = main(["audio", "evaluate-media", "--model", str(folder), "--manifest", str(manifest),
                 "--write-card", "--quiet"])  # fmt: skip
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert "wrote the operating point into" in printed.out, printed.out
    # each `deepfake analyze` is a process of its own; here one process runs both, so forget its loaded model
    monkeypatch.setattr("shared.cli.analyze._scorers", {})
    report = analyze()
    audio = report.audio
    assert audio.verdict in ("fake", "real", "uncertain") and audio.band is not None
    assert audio.band.source == "model_card" and audio.reason is None
