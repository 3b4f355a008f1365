"""Self-supervised voice models: NII's AntiDeepfake (wav2vec 2.0 front end → mean pool → one linear layer).

The published AntiDeepfake checkpoints (``nii-yamagishilab/mms-300m-anti-deepfake`` and ``-nda`` on Hugging
Face, Ge et al., ASRU 2025; weights CC BY-NC-SA 4.0) are a fairseq ``Wav2Vec2Model`` with MMS-300M's
configuration, post-trained for deepfake detection, under the key prefix ``m_ssl.model.``, plus ``proj_fc``
(a linear layer from the 1024 mean-pooled features to 2 logits). Written here in plain torch from the fairseq
wav2vec 2.0 description (no fairseq, no ``transformers``: ``transformers`` is only the parity reference in
``tests/models/test_voice_ssl.py``). Parameter names are fairseq's, so the file loads with strict key and
shape checking after the keys that only pre-training used are dropped (``DROPPED``).

The network, in evaluation mode (dropout, masking and layer drop are off):

* 7 convolutions over the raw waveform (512 channels; kernels 10, 3, 3, 3, 3, 2, 2; strides 5, 2, 2, 2, 2,
  2, 2: one frame per 20 ms), each with a bias, a layer norm over channels and GELU
  (fairseq ``extractor_mode="layer_norm"``, ``conv_bias=True``);
* a layer norm over the 512 channels, then a linear projection to 1024 (``post_extract_proj``);
* a grouped convolution as relative position (kernel 128, 16 groups, weight normalization over the kernel
  axis: ``weight = weight_g * weight_v / ||weight_v||``, the norm taken per kernel tap over the other two
  axes; the last output frame is cut because the kernel is even), GELU, added to its input;
* 24 pre-norm transformer layers (``layer_norm_first=True``: layer norm → attention → residual, layer norm
  → 4096 GELU → 1024 → residual), then a final layer norm;
* the mean over frames (``AdaptiveAvgPool1d(1)`` in the authors' code) and ``proj_fc``.

Input: each window is normalized to zero mean and unit variance (``layer_norm`` over its samples, eps 1e-5,
as the authors' data loader does for each whole test file) inside the IR, so the scorer feeds raw samples.
Output: ``(N, 2)`` logits; **class 0 is fake, class 1 is real** (the authors' labels), so the card's
``bonafide_index`` is 1.

``import_checkpoint`` turns a user's ``model.safetensors`` into a model folder; the licence must be accepted
by name first (``shared.registry.check_licence_accepted``).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from shared.errors import CheckpointMismatch, InvalidArgument
from shared.fsutil import sha256_file
from shared.models.checkpoint import check_keys

if TYPE_CHECKING:
    from shared.modelcard import ModelCard
    from shared.registry import PublishedModel

#: prefix of the wav2vec 2.0 keys in the authors' checkpoints (``Model.m_ssl.model``)
SSL_PREFIX = "m_ssl.model."
#: keys only pre-training used (codebook quantizer, its projection, the contrastive head, the mask
#: embedding): present in the published files, never used for scoring, dropped before the strict check
DROPPED = (
    f"{SSL_PREFIX}quantizer.",
    f"{SSL_PREFIX}project_q.",
    f"{SSL_PREFIX}final_proj.",
    f"{SSL_PREFIX}mask_emb",
)
#: fake is class 0, real (bona fide) class 1 in the authors' training labels and evaluation script
BONAFIDE_INDEX = 1
LAYER_NORM_EPS = 1e-5


@dataclass(frozen=True)
class VoiceSSLConfig:
    """The sizes of a fairseq wav2vec 2.0 front end with a layer-norm feature extractor and pre-norm layers."""

    #: (channels, kernel, stride) of each waveform convolution
    conv_layers: tuple[tuple[int, int, int], ...] = ((512, 10, 5),) + ((512, 3, 2),) * 4 + ((512, 2, 2),) * 2
    embed_dim: int = 1024
    ffn_dim: int = 4096
    heads: int = 16
    layers: int = 24
    conv_pos: int = 128
    conv_pos_groups: int = 16
    classes: int = 2


#: MMS-300M (fairseq ``mms_300m`` in the authors' ``W2V_configs.py``): 24 layers, 1024 wide, 16 heads
MMS_300M = VoiceSSLConfig()


class _ConvBlock(nn.Module):
    """Convolution with bias → layer norm over channels → GELU (fairseq key names ``0`` and ``2.1``)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int) -> None:
        super().__init__()
        # fairseq's Sequential(conv, dropout, Sequential(TransposeLast, LayerNorm, TransposeLast), GELU):
        # the indices are part of the key names (conv_layers.i.0.weight, conv_layers.i.2.1.weight)
        self.add_module("0", nn.Conv1d(c_in, c_out, kernel, stride=stride, bias=True))
        self.add_module("2", nn.Sequential(nn.Identity(), nn.LayerNorm(c_out, eps=LAYER_NORM_EPS)))

    def forward(self, x: Tensor) -> Tensor:
        conv: nn.Conv1d = getattr(self, "0")
        norm: nn.LayerNorm = getattr(self, "2")[1]
        x = conv(x)
        x = norm(x.transpose(1, 2)).transpose(1, 2)
        return F.gelu(x)


class _FeatureExtractor(nn.Module):
    def __init__(self, config: VoiceSSLConfig) -> None:
        super().__init__()
        blocks, c_in = [], 1
        for c_out, kernel, stride in config.conv_layers:
            blocks.append(_ConvBlock(c_in, c_out, kernel, stride))
            c_in = c_out
        self.conv_layers = nn.ModuleList(blocks)

    def forward(self, wave: Tensor) -> Tensor:
        x = wave.unsqueeze(1)  # (N, 1, samples)
        for block in self.conv_layers:
            x = block(x)
        return x  # (N, channels, frames)


class _WeightNormConv(nn.Module):
    """The positional convolution with fairseq's weight normalization (``nn.utils.weight_norm(dim=2)``):
    ``weight_g`` (1, 1, K) and ``weight_v`` (C, C / groups, K), the norm of ``weight_v`` taken per kernel tap."""

    def __init__(self, channels: int, kernel: int, groups: int) -> None:
        super().__init__()
        self.groups = groups
        self.padding = kernel // 2
        self.weight_g = nn.Parameter(torch.ones(1, 1, kernel))
        self.weight_v = nn.Parameter(torch.empty(channels, channels // groups, kernel))
        self.bias = nn.Parameter(torch.zeros(channels))
        nn.init.normal_(self.weight_v, std=math.sqrt(4.0 / (kernel * channels)))

    def forward(self, x: Tensor) -> Tensor:
        norm = self.weight_v.pow(2).sum(dim=(0, 1), keepdim=True).sqrt()
        weight = self.weight_g * self.weight_v / norm
        return F.conv1d(x, weight, self.bias, padding=self.padding, groups=self.groups)


class _PositionalConv(nn.Module):
    def __init__(self, config: VoiceSSLConfig) -> None:
        super().__init__()
        self.add_module("0", _WeightNormConv(config.embed_dim, config.conv_pos, config.conv_pos_groups))
        self.trim = 1 if config.conv_pos % 2 == 0 else 0  # fairseq SamePad: an even kernel gives one frame too many

    def forward(self, x: Tensor) -> Tensor:  # (N, C, T)
        y = getattr(self, "0")(x)
        if self.trim:
            y = y[:, :, : -self.trim]
        return F.gelu(y)


class _SelfAttention(nn.Module):
    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.head_dim = dim // heads
        self.scaling = self.head_dim**-0.5
        self.q_proj = nn.Linear(dim, dim)
        self.k_proj = nn.Linear(dim, dim)
        self.v_proj = nn.Linear(dim, dim)
        self.out_proj = nn.Linear(dim, dim)

    def forward(self, x: Tensor) -> Tensor:  # (N, T, C)
        n, t, c = x.shape
        q = (self.q_proj(x) * self.scaling).view(n, t, self.heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(n, t, self.heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(n, t, self.heads, self.head_dim).transpose(1, 2)
        attn = torch.softmax(q @ k.transpose(-1, -2), dim=-1)
        return self.out_proj((attn @ v).transpose(1, 2).reshape(n, t, c))


class _EncoderLayer(nn.Module):
    """fairseq ``TransformerSentenceEncoderLayer`` with ``layer_norm_first=True`` (pre-norm)."""

    def __init__(self, config: VoiceSSLConfig) -> None:
        super().__init__()
        self.self_attn = _SelfAttention(config.embed_dim, config.heads)
        self.self_attn_layer_norm = nn.LayerNorm(config.embed_dim, eps=LAYER_NORM_EPS)
        self.fc1 = nn.Linear(config.embed_dim, config.ffn_dim)
        self.fc2 = nn.Linear(config.ffn_dim, config.embed_dim)
        self.final_layer_norm = nn.LayerNorm(config.embed_dim, eps=LAYER_NORM_EPS)

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.self_attn(self.self_attn_layer_norm(x))
        return x + self.fc2(F.gelu(self.fc1(self.final_layer_norm(x))))


class _Encoder(nn.Module):
    def __init__(self, config: VoiceSSLConfig) -> None:
        super().__init__()
        self.pos_conv = _PositionalConv(config)
        self.layers = nn.ModuleList(_EncoderLayer(config) for _ in range(config.layers))
        self.layer_norm = nn.LayerNorm(config.embed_dim, eps=LAYER_NORM_EPS)

    def forward(self, x: Tensor) -> Tensor:  # (N, T, C)
        x = x + self.pos_conv(x.transpose(1, 2)).transpose(1, 2)
        for layer in self.layers:
            x = layer(x)
        return self.layer_norm(x)  # layer_norm_first: the encoder's norm comes last


class Wav2Vec2(nn.Module):
    """fairseq ``Wav2Vec2Model`` in evaluation with ``features_only=True, mask=False``: waveform → (N, T, C)."""

    def __init__(self, config: VoiceSSLConfig) -> None:
        super().__init__()
        self.feature_extractor = _FeatureExtractor(config)
        self.layer_norm = nn.LayerNorm(config.conv_layers[-1][0], eps=LAYER_NORM_EPS)
        self.post_extract_proj = nn.Linear(config.conv_layers[-1][0], config.embed_dim)
        self.encoder = _Encoder(config)

    def forward(self, wave: Tensor) -> Tensor:
        features = self.layer_norm(self.feature_extractor(wave).transpose(1, 2))
        return self.encoder(self.post_extract_proj(features))


class _SSL(nn.Module):
    def __init__(self, config: VoiceSSLConfig) -> None:
        super().__init__()
        self.model = Wav2Vec2(config)


class AntiDeepfake(nn.Module):
    """wav2vec 2.0 → mean over frames → ``proj_fc``; keys ``m_ssl.model.*`` and ``proj_fc.*`` as published.

    ``forward`` takes the window already normalized (the authors' ``Model.forward``); ``WindowNormExport``
    adds the per-window normalization for the IR.
    """

    def __init__(self, config: VoiceSSLConfig = MMS_300M) -> None:
        super().__init__()
        self.config = config
        self.m_ssl = _SSL(config)
        self.proj_fc = nn.Linear(config.embed_dim, config.classes)

    def forward(self, wave: Tensor) -> Tensor:
        return self.proj_fc(self.m_ssl.model(wave).mean(dim=1))


class WindowNormExport(nn.Module):
    """The IR's graph: ``waveform`` (N, samples) → per-window layer norm → ``AntiDeepfake`` → ``logits`` (N, 2)."""

    def __init__(self, model: AntiDeepfake) -> None:
        super().__init__()
        self.model = model

    def forward(self, waveform: Tensor) -> Tensor:
        normed = F.layer_norm(waveform, waveform.shape[-1:], eps=LAYER_NORM_EPS)
        return self.model(normed)


# --- the published variants ----------------------------------------------------------------------------
def variants() -> dict[str, PublishedModel]:
    """The AntiDeepfake checkpoints this importer knows (``shared.registry.USER_SUPPLIED``), by name."""
    from shared.registry import USER_SUPPLIED

    return {name: e for name, e in USER_SUPPLIED.items() if e.importer == __name__}


def read_safetensors(path: Path) -> dict[str, Tensor]:
    """Every tensor of a ``.safetensors`` file (the format holds no code, so reading it runs nothing).

    Raises:
        CheckpointMismatch: missing or not a safetensors file.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise CheckpointMismatch(f"checkpoint {path} does not exist")
    try:
        return dict(load_file(str(path)))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointMismatch(f"{path} is not a readable safetensors file ({exc})") from None


def select_keys(tensors: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """The tensors the network uses: every key but the pre-training ones (``DROPPED``)."""
    return {k: v for k, v in tensors.items() if not k.startswith(DROPPED)}


def load_antideepfake(path: Path, config: VoiceSSLConfig = MMS_300M) -> AntiDeepfake:
    """Build the network and load ``path`` into it strictly (every key, every shape, nothing extra).

    Raises:
        CheckpointMismatch: naming the first missing, unexpected and mis-shaped keys.
    """
    model = AntiDeepfake(config).eval()
    state = select_keys(read_safetensors(path))
    expected = {k: v.shape for k, v in model.state_dict().items()}
    check_keys(
        expected,
        state,
        header=(
            f"{Path(path).name} is not an AntiDeepfake wav2vec 2.0 checkpoint of this size "
            f"({config.layers} layers, {config.embed_dim} wide; fairseq keys {SSL_PREFIX}* and proj_fc.*)"
        ),
    )
    model.load_state_dict(state, strict=True)
    return model


def import_checkpoint(
    checkpoint: Path,
    out_dir: Path,
    *,
    variant: str,
    accept_licence: str | None,
    config: VoiceSSLConfig = MMS_300M,
) -> ModelCard:
    """Convert a user's AntiDeepfake ``model.safetensors`` into a model folder (FP32 IR + ``model.json``).

    Args:
        checkpoint: the ``model.safetensors`` downloaded by the user from the authors' page.
        out_dir: the model folder to write (replaced atomically).
        variant: which published checkpoint it is (``variants()``): its card's name, data and figures.
        accept_licence: must name the weights' licence (``CC-BY-NC-SA-4.0``); checked before the file is read.
        config: the network's sizes (MMS-300M; the tests use a tiny one).

    Returns:
        The card written next to the IR. The IR takes ``waveform`` float32 ``(N, 64600)`` (batch dynamic)
        and returns ``logits`` ``(N, 2)``, class 0 fake.

    Raises:
        InvalidArgument: an unknown variant, or the licence not accepted.
        CheckpointMismatch: the file is missing, unreadable, or does not fit the network.
    """
    from shared.modelcard import ModelCard, SourceInfo
    from shared.models.aasist import WINDOW_SAMPLES, waveform_windows
    from shared.registry import check_licence_accepted
    from shared.runtime import export_ir

    known = variants()
    if variant not in known:
        raise InvalidArgument(f"unknown AntiDeepfake variant {variant!r}; known: {', '.join(sorted(known))}")
    entry = known[variant]
    check_licence_accepted(entry, accept_licence)
    checkpoint = Path(checkpoint)
    model = load_antideepfake(checkpoint, config)
    card = ModelCard(
        name=entry.name,
        architecture=entry.architecture
        if config == MMS_300M
        else f"{entry.architecture} (sizes: {config.layers} layers, {config.embed_dim} wide)",
        kind="audio",
        # the windows AASIST hears (64600 samples, hop 32300), so both models are scored and timed alike
        preprocessing=waveform_windows(output="logits2", bonafide_index=BONAFIDE_INDEX, window_norm="layer_norm"),
        decision_threshold=0.5,
        training_data=entry.training_data,
        reported_metrics=dict(entry.reported_metrics),
        source=SourceInfo(file=checkpoint.name, sha256=sha256_file(checkpoint)),
        licence=entry.licence,
        # nothing measured here yet: `deepfake audio evaluate-media --write-card` adds the measured point
        operating_point=None,
        notes=(
            "Our own torch implementation of fairseq wav2vec 2.0 (MMS-300M) with the authors' mean pooling and "
            "linear layer, converted to OpenVINO. Each 64600-sample window (4.04 s at 16 kHz, hop 32300) is "
            "normalized to zero mean and unit variance inside the IR; the authors normalized each whole file. "
            "Fake probability = softmax of the two logits for class 0 (fake); class 1 is real. Clips shorter "
            "than one window are tiled like AASIST's; the authors scored them as they are. Pre-training keys "
            "dropped at import: " + ", ".join(k.removeprefix(SSL_PREFIX) + "*" for k in DROPPED) + "."
        ),
    )
    example = torch.zeros(1, WINDOW_SAMPLES)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        with torch.no_grad():
            traced = torch.jit.trace(WindowNormExport(model).eval(), example, check_trace=False)
        export_ir(traced, example, Path(out_dir), card, output_names=["logits"], input_shapes=[[-1, WINDOW_SAMPLES]])
    return card


def random_model(config: VoiceSSLConfig = MMS_300M, *, seed: int = 0) -> Any:
    """The network with random weights (benchmarks: its cost does not depend on the weights)."""
    torch.manual_seed(seed)
    return WindowNormExport(AntiDeepfake(config).eval()).eval()
