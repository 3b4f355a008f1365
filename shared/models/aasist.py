"""AASIST and AASIST-L (Jung et al., arXiv 2110.01200): spectro-temporal graph attention on raw audio.

Written from the architecture description in ``../shared/reference/aasist/ARCHITECTURE.md`` (no code
was copied). Module and parameter names follow the published state_dicts so that the official
``AASIST.pth`` / ``AASIST-L.pth`` (clovaai/aasist, MIT) load with strict key and shape checking.

Input: float32 ``(B, samples)`` raw 16 kHz mono waveform in [-1, 1] (64,600 samples in the official
evaluation). Output: ``(B, 2)`` logits; column 1 is bona fide (higher = more genuine).

Eval-mode facts this implementation relies on (all in ARCHITECTURE.md):

* the sinc filter bank is fixed, not in the state_dict, and rebuilt here bit-exactly (``sinc_filter_bank``);
* encoder ``bn1`` exists for loading but is never applied (the official forward discards its result);
* graph pooling keeps the top-k nodes in descending-score order, and the two branches are merged
  node-by-rank, so the order is part of the computation.

``import_checkpoint`` turns a published checkpoint into a model folder (OpenVINO IR + ``model.json``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from shared.fsutil import sha256_file
from shared.models._registry import register_model

if TYPE_CHECKING:
    from shared.modelcard import AudioPreprocessing, ModelCard
    from shared.registry import PublishedModel

SAMPLE_RATE = 16000
#: the official evaluation input length (≈ 4.04 s at 16 kHz)
WINDOW_SAMPLES = 64600
#: hop between scoring windows: half a window, so every sample is seen by two windows (documented in
#: docs/audio-models.md and carried by each model's ``model.json``)
HOP_SAMPLES = 32300
BONAFIDE_INDEX = 1


@dataclass(frozen=True)
class AasistConfig:
    """The ``model_config`` values that differ between the published models (ARCHITECTURE.md §0)."""

    sinc_filters: int = 70
    sinc_taps: int = 129
    #: [c_in, c_out] of encoder blocks 0..5
    blocks: tuple[tuple[int, int], ...] = ((1, 32), (32, 32), (32, 64), (64, 64), (64, 64), (64, 64))
    gat_dims: tuple[int, int] = (64, 32)
    #: keep ratios of pool_S, pool_T and the four hetero pools
    pool_ratios: tuple[float, float, float] = (0.5, 0.7, 0.5)
    #: temperatures of GAT_layer_S, GAT_layer_T and every HS-GAL
    temperatures: tuple[float, float, float] = (2.0, 2.0, 100.0)


AASIST_CONFIG = AasistConfig()
AASIST_L_CONFIG = AasistConfig(
    blocks=((1, 32), (32, 32), (32, 24), (24, 24), (24, 24), (24, 24)),
    gat_dims=(24, 32),
    pool_ratios=(0.4, 0.5, 0.7),
)


# --- front end ---------------------------------------------------------------------------------------
def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    return 2595.0 * np.log10(1.0 + hz / 700.0)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)


#: SELU's constants, as ``torch.nn.functional.selu`` uses them
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def selu(x: Tensor, inplace: bool = False) -> Tensor:
    """SELU; in a traced export it is written ``scale * ELU(x, alpha)``, the same function.

    OpenVINO's CPU plugin runs SELU with a reference kernel on plain layouts, so each SELU also costs two
    layout reorders: together 175 of the 373 ms of one AASIST window on one thread (its performance
    counters, a Xeon with AMX). ELU is fused into the convolution before it: 229 ms a window, and the
    logits of the shared speech clips moved by at most 3.7e-6 (float rounding). Training and eager
    scoring keep ``F.selu``.
    """
    if torch.jit.is_tracing():
        return F.elu(x, SELU_ALPHA) * SELU_SCALE
    return F.selu(x, inplace=inplace)


def sinc_filter_bank(n_filters: int = 70, taps: int = 129, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """The fixed mel-spaced band-pass sinc filters of AASIST's front end, float32 ``(n_filters, taps)``.

    Band edges are equally spaced in mel between the lowest and highest bin of a 512-point FFT grid.
    Each filter is the difference of two ideal low-passes, windowed by a symmetric Hamming window.

    The precision follows the published filters exactly (ARCHITECTURE.md §2.1 step 5): tap positions and
    the sinc argument are float32, the band amplitude factor multiplies in float64, the ideal response
    is rounded to float32 and the window multiply is float32. A float64-only recipe would differ by up
    to 1.5e-7, which ``first_bn`` then amplifies about 120-fold.
    """
    grid_hz = int(sample_rate / 2) * np.linspace(0.0, 1.0, 257)
    grid_mel = _hz_to_mel(grid_hz)
    edges = _mel_to_hz(np.linspace(grid_mel.min(), grid_mel.max(), n_filters + 1))
    half = (taps - 1) / 2
    positions = np.arange(-half, half + 1, dtype=np.float32)
    window = np.hamming(taps).astype(np.float32)
    rate = np.float32(sample_rate)

    def lowpass(cutoff: float) -> np.ndarray:
        # float32 argument (as float32 tensor times a scalar would give), float64 amplitude
        argument = (np.float32(2.0 * cutoff) * positions) / rate
        return (2.0 * cutoff / sample_rate) * np.sinc(argument).astype(np.float64)

    bank = np.empty((n_filters, taps), dtype=np.float32)
    for i in range(n_filters):
        ideal = (lowpass(float(edges[i + 1])) - lowpass(float(edges[i]))).astype(np.float32)
        bank[i] = window * ideal
    return bank


class SincConv(nn.Module):
    """Fixed sinc filter bank (``conv_time``): no parameters and no state_dict entries.

    Only the filters that survive the front end's 3x3 max-pool are computed: with 70 filters the pool
    keeps floor(70/3)*3 = 69 rows, so the last filter never reaches the network (exact, not approximate).
    """

    filters: Tensor

    def __init__(self, n_filters: int, taps: int) -> None:
        super().__init__()
        kept = (n_filters // 3) * 3
        bank = torch.from_numpy(sinc_filter_bank(n_filters, taps)[:kept]).unsqueeze(1)
        self.register_buffer("filters", bank, persistent=False)

    def forward(self, waveform: Tensor) -> Tensor:
        return F.conv1d(waveform.unsqueeze(1), self.filters)


# --- encoder -----------------------------------------------------------------------------------------
class ResidualBlock(nn.Module):
    """One encoder block: conv(2x3) -> BN -> SELU -> conv(2x3), plus a shortcut, then a 1x3 time max-pool."""

    def __init__(self, c_in: int, c_out: int, *, first: bool) -> None:
        super().__init__()
        #: eval-mode fast path (``_forward_inference``); ``AASIST.set_fast_inference`` switches it
        self.fast_inference = True
        if not first:
            # Present in the published weights, but the official forward never uses its output.
            self.bn1 = nn.BatchNorm2d(c_in)
        self.conv1 = nn.Conv2d(c_in, c_out, kernel_size=(2, 3), padding=(1, 1))
        self.bn2 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, kernel_size=(2, 3), padding=(0, 1))
        self.conv_downsample = (
            nn.Conv2d(c_in, c_out, kernel_size=(1, 3), padding=(0, 1)) if c_in != c_out else None
        )

    def forward(self, x: Tensor) -> Tensor:
        if (
            self.fast_inference
            and not self.training
            and not torch.jit.is_tracing()
            and not torch.is_grad_enabled()
        ):
            return self._forward_inference(x)
        out = self.conv2(selu(self.bn2(self.conv1(x))))
        shortcut = x if self.conv_downsample is None else self.conv_downsample(x)
        return F.max_pool2d(out + shortcut, kernel_size=(1, 3))

    def _forward_inference(self, x: Tensor) -> Tensor:
        """The same function with ``bn2`` folded into ``conv1`` and in-place element-wise steps.

        Block 0 runs at the full 23 x 21,490 resolution and is most of the model's time: one pass
        over its 32-channel maps saved (BN) and two fewer allocations (SELU, residual add) are
        measurable. Differences from the plain path are float rounding only (about 1e-5 on the logits).
        """
        bn = self.bn2
        assert bn.running_mean is not None and bn.running_var is not None and self.conv1.bias is not None
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        weight = self.conv1.weight * scale.reshape(-1, 1, 1, 1)
        bias = (self.conv1.bias - bn.running_mean) * scale + bn.bias
        out = F.conv2d(x, weight.contiguous(memory_format=torch.channels_last), bias, padding=(1, 1))
        out = self.conv2(selu(out, inplace=True))
        out += x if self.conv_downsample is None else self.conv_downsample(x)
        return F.max_pool2d(out, kernel_size=(1, 3))


# --- graph layers ------------------------------------------------------------------------------------
def _pair_products(x: Tensor) -> Tensor:
    """(B, N, D) -> (B, N, N, D) with [b, i, j] = x_i * x_j."""
    return x.unsqueeze(2) * x.unsqueeze(1)


def _batch_norm_nodes(bn: nn.BatchNorm1d, h: Tensor) -> Tensor:
    """BatchNorm1d over the feature axis of (B, N, F), the same statistics for every node."""
    batch, nodes, features = h.shape
    return bn(h.reshape(batch * nodes, features)).reshape(batch, nodes, features)


class GraphAttention(nn.Module):
    """Graph attention layer on a fully connected graph (``GAT_layer_S`` / ``GAT_layer_T``)."""

    def __init__(self, in_dim: int, out_dim: int, temperature: float) -> None:
        super().__init__()
        self.att_proj = nn.Linear(in_dim, out_dim)
        self.att_weight = nn.Parameter(torch.empty(out_dim, 1))
        self.proj_with_att = nn.Linear(in_dim, out_dim)
        self.proj_without_att = nn.Linear(in_dim, out_dim)
        self.bn = nn.BatchNorm1d(out_dim)
        self.temperature = temperature
        nn.init.xavier_normal_(self.att_weight)

    def forward(self, x: Tensor) -> Tensor:
        logits = torch.matmul(torch.tanh(self.att_proj(_pair_products(x))), self.att_weight)
        attention = torch.softmax(logits.squeeze(-1) / self.temperature, dim=-1)  # over neighbours j
        h = self.proj_with_att(torch.matmul(attention, x)) + self.proj_without_att(x)
        return selu(_batch_norm_nodes(self.bn, h))


class HeteroGraphAttention(nn.Module):
    """HS-GAL: attention over temporal (type 1) and spectral (type 2) nodes plus a master node.

    Node pairs use one of three attention vectors by type (T-T, S-S, and a shared one for both cross
    directions); the master attends to every node, one way, and gets neither BN nor SELU.
    """

    def __init__(self, in_dim: int, out_dim: int, temperature: float) -> None:
        super().__init__()
        self.proj_type1 = nn.Linear(in_dim, in_dim)
        self.proj_type2 = nn.Linear(in_dim, in_dim)
        self.att_proj = nn.Linear(in_dim, out_dim)
        self.att_projM = nn.Linear(in_dim, out_dim)
        self.att_weight11 = nn.Parameter(torch.empty(out_dim, 1))
        self.att_weight22 = nn.Parameter(torch.empty(out_dim, 1))
        self.att_weight12 = nn.Parameter(torch.empty(out_dim, 1))
        self.att_weightM = nn.Parameter(torch.empty(out_dim, 1))
        self.proj_with_att = nn.Linear(in_dim, out_dim)
        self.proj_without_att = nn.Linear(in_dim, out_dim)
        self.proj_with_attM = nn.Linear(in_dim, out_dim)
        self.proj_without_attM = nn.Linear(in_dim, out_dim)
        self.bn = nn.BatchNorm1d(out_dim)
        self.temperature = temperature
        for weight in (self.att_weight11, self.att_weight22, self.att_weight12, self.att_weightM):
            nn.init.xavier_normal_(weight)

    def forward(self, x_t: Tensor, x_s: Tensor, master: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        n_t, n_s = x_t.shape[1], x_s.shape[1]
        x = torch.cat([self.proj_type1(x_t), self.proj_type2(x_s)], dim=1)

        # Node-node attention logits under each of the three type vectors, then pick per pair.
        hidden = torch.tanh(self.att_proj(_pair_products(x)))  # (B, N, N, out)
        vectors = torch.cat([self.att_weight11, self.att_weight22, self.att_weight12], dim=1)
        by_type = torch.matmul(hidden, vectors)  # (B, N, N, 3)
        is_t = torch.arange(n_t + n_s, device=x.device) < n_t
        pair_type = torch.where(
            is_t.unsqueeze(1) & is_t.unsqueeze(0),
            0,
            torch.where(~is_t.unsqueeze(1) & ~is_t.unsqueeze(0), 1, 2),
        )
        logits = torch.gather(by_type, 3, pair_type.expand(by_type.shape[:3]).unsqueeze(-1)).squeeze(-1)
        attention = torch.softmax(logits / self.temperature, dim=-1)

        # Master update from the type-projected nodes and the old master.
        master_logits = torch.matmul(torch.tanh(self.att_projM(x * master)), self.att_weightM)  # (B, N, 1)
        master_attention = torch.softmax(master_logits / self.temperature, dim=1)
        pooled = torch.matmul(master_attention.transpose(1, 2), x)  # (B, 1, in)
        new_master = self.proj_with_attM(pooled) + self.proj_without_attM(master)

        h = self.proj_with_att(torch.matmul(attention, x)) + self.proj_without_att(x)
        h = selu(_batch_norm_nodes(self.bn, h))
        return h[:, :n_t], h[:, n_t:], new_master


class GraphPool(nn.Module):
    """Keep the top ``ratio`` of nodes by a learned sigmoid score, gated by that score.

    The kept nodes stay in descending-score order (``torch.topk``): the branches are later merged node by
    rank, so re-sorting them by index would change the result.
    """

    def __init__(self, ratio: float, dim: int) -> None:
        super().__init__()
        self.ratio = ratio
        self.proj = nn.Linear(dim, 1)

    def kept(self, nodes: int) -> int:
        return max(int(nodes * self.ratio), 1)

    def forward(self, h: Tensor) -> Tensor:
        scores = torch.sigmoid(self.proj(h))  # (B, N, 1)
        _, index = torch.topk(scores, self.kept(h.shape[1]), dim=1)
        return torch.gather(h * scores, 1, index.expand(-1, -1, h.shape[2]))


# --- the network -------------------------------------------------------------------------------------
class AASIST(nn.Module):
    """AASIST / AASIST-L (eval-mode behaviour of the published models; dropout layers are omitted
    because every one of them is the identity at inference and none holds state)."""

    def __init__(self, config: AasistConfig = AASIST_CONFIG) -> None:
        super().__init__()
        self.config = config
        d_enc = config.blocks[-1][1]
        d_gat, d_hs = config.gat_dims
        t_s, t_t, t_h = config.temperatures
        r_s, r_t, r_h = config.pool_ratios

        self.conv_time = SincConv(config.sinc_filters, config.sinc_taps)
        self.first_bn = nn.BatchNorm2d(1)
        self.encoder = nn.Sequential(
            *[
                nn.Sequential(ResidualBlock(c_in, c_out, first=i == 0))
                for i, (c_in, c_out) in enumerate(config.blocks)
            ]
        )
        self.pos_S = nn.Parameter(torch.randn(1, config.sinc_filters // 3, d_enc))
        self.master1 = nn.Parameter(torch.randn(1, 1, d_gat))
        self.master2 = nn.Parameter(torch.randn(1, 1, d_gat))

        self.GAT_layer_S = GraphAttention(d_enc, d_gat, t_s)
        self.GAT_layer_T = GraphAttention(d_enc, d_gat, t_t)
        self.HtrgGAT_layer_ST11 = HeteroGraphAttention(d_gat, d_hs, t_h)
        self.HtrgGAT_layer_ST12 = HeteroGraphAttention(d_hs, d_hs, t_h)
        self.HtrgGAT_layer_ST21 = HeteroGraphAttention(d_gat, d_hs, t_h)
        self.HtrgGAT_layer_ST22 = HeteroGraphAttention(d_hs, d_hs, t_h)

        self.pool_S = GraphPool(r_s, d_gat)
        self.pool_T = GraphPool(r_t, d_gat)
        self.pool_hS1 = GraphPool(r_h, d_hs)
        self.pool_hT1 = GraphPool(r_h, d_hs)
        self.pool_hS2 = GraphPool(r_h, d_hs)
        self.pool_hT2 = GraphPool(r_h, d_hs)

        self.out_layer = nn.Linear(5 * d_hs, 2)
        self.fast_inference = True

    def set_fast_inference(self, enabled: bool) -> AASIST:
        """Switch the eval-mode fast path (folded BN, channels-last encoder) on or off; for comparisons."""
        self.fast_inference = enabled
        for module in self.modules():
            if isinstance(module, ResidualBlock):
                module.fast_inference = enabled
        return self

    def front_end(self, waveform: Tensor) -> Tensor:
        """(B, samples) -> (B, 1, 23, time): |sinc conv|, 3x3 max-pool, BN, SELU."""
        x = self.conv_time(waveform).unsqueeze(1).abs()
        return selu(self.first_bn(F.max_pool2d(x, kernel_size=(3, 3))))

    def _branch(
        self,
        t: Tensor,
        s: Tensor,
        master: Tensor,
        first: HeteroGraphAttention,
        second: HeteroGraphAttention,
        pool_s: GraphPool,
        pool_t: GraphPool,
    ) -> tuple[Tensor, Tensor, Tensor]:
        t, s, master = first(t, s, master)
        s = pool_s(s)
        t = pool_t(t)
        t_aug, s_aug, master_aug = second(t, s, master)
        return t + t_aug, s + s_aug, master + master_aug

    def forward_hidden(self, waveform: Tensor) -> tuple[Tensor, Tensor]:
        """Return ``(last_hidden (B, 160), logits (B, 2))`` like the official ``forward``."""
        x = self.front_end(waveform)
        if self.fast_inference and not self.training and not torch.jit.is_tracing():
            # oneDNN's convolutions are about twice as fast on channels-last maps on CPU; the layout is
            # invisible to the maths (the exported IR keeps the plain graph: OpenVINO picks its own).
            x = x.contiguous(memory_format=torch.channels_last)
        e = self.encoder(x).abs()  # (B, D, 23, T)
        e_s = e.amax(dim=3).transpose(1, 2) + self.pos_S  # spectral nodes (B, 23, D)
        e_t = e.amax(dim=2).transpose(1, 2)  # temporal nodes (B, T, D)
        out_s = self.pool_S(self.GAT_layer_S(e_s))
        out_t = self.pool_T(self.GAT_layer_T(e_t))

        t1, s1, m1 = self._branch(
            out_t,
            out_s,
            self.master1,
            self.HtrgGAT_layer_ST11,
            self.HtrgGAT_layer_ST12,
            self.pool_hS1,
            self.pool_hT1,
        )
        t2, s2, m2 = self._branch(
            out_t,
            out_s,
            self.master2,
            self.HtrgGAT_layer_ST21,
            self.HtrgGAT_layer_ST22,
            self.pool_hS2,
            self.pool_hT2,
        )
        t = torch.maximum(t1, t2)
        s = torch.maximum(s1, s2)
        master = torch.maximum(m1, m2)

        hidden = torch.cat(
            [t.abs().amax(dim=1), t.mean(dim=1), s.abs().amax(dim=1), s.mean(dim=1), master.squeeze(1)], dim=1
        )
        return hidden, self.out_layer(hidden)

    def forward(self, waveform: Tensor) -> Tensor:
        """(B, samples) float32 waveform -> (B, 2) logits; column ``BONAFIDE_INDEX`` is bona fide."""
        return self.forward_hidden(waveform)[1]


@register_model("AASIST")
def aasist() -> AASIST:
    """AASIST (297,866 parameters)."""
    return AASIST(AASIST_CONFIG)


@register_model("AASIST-L")
def aasist_l() -> AASIST:
    """AASIST-L (85,306 parameters)."""
    return AASIST(AASIST_L_CONFIG)


# --- checkpoint -> model folder ----------------------------------------------------------------------
def load_aasist(architecture: str, checkpoint: Path) -> AASIST:
    """Build ``architecture`` ("AASIST" / "AASIST-L") and load a published state_dict strictly, in eval mode.

    Raises:
        UnknownModel: an architecture that is not an AASIST variant.
        CheckpointMismatch: an unreadable file, or keys/shapes that do not match.
    """
    from shared.errors import UnknownModel
    from shared.models import create_model
    from shared.models.checkpoint import load_state_dict_strict, read_checkpoint

    if architecture not in ("AASIST", "AASIST-L"):
        raise UnknownModel(f"{architecture!r} is not an AASIST architecture (AASIST, AASIST-L)")
    model = create_model(architecture)
    state = read_checkpoint(Path(checkpoint))
    load_state_dict_strict(model, state, source=str(checkpoint))
    return model.eval()


def waveform_windows(**layout: Any) -> AudioPreprocessing:
    """The card's ``preprocessing`` of a model that hears the raw waveform in the official evaluation windows.

    AASIST's windows (``WINDOW_SAMPLES`` at ``SAMPLE_RATE``, hop ``HOP_SAMPLES``, nothing under 1.5 s
    judged) are every waveform model's here (``MelCNN`` too); ``layout`` is the model's own output layout
    (``output``, ``bonafide_index``, ``frontend``).
    """
    from shared.modelcard import AudioPreprocessing

    return AudioPreprocessing(
        sample_rate=SAMPLE_RATE,
        window_samples=WINDOW_SAMPLES,
        hop_samples=HOP_SAMPLES,
        min_seconds=1.5,
        input="waveform",
        **layout,
    )


def import_checkpoint(
    architecture: str, checkpoint: Path, out_dir: Path, *, published: PublishedModel | None = None
) -> ModelCard:
    """Convert an AASIST / AASIST-L checkpoint into a model folder (FP32 OpenVINO IR + ``model.json``).

    Args:
        architecture: "AASIST" or "AASIST-L".
        checkpoint: the official ``.pth`` (a plain state_dict) or one trained in the same layout.
        out_dir: the model folder to write (replaced atomically).
        published: the ``shared.registry.PublishedModel`` the file came from, if any; its name,
            training data, reported metrics, licence, address and measured operating point go into
            the card.

    Returns:
        The ``ModelCard`` written next to the IR. The IR takes ``waveform`` float32 ``(N, 64600)``
        (batch dynamic, length fixed: the graph sizes depend on it) and returns ``logits`` ``(N, 2)``.
    """
    from shared.modelcard import ModelCard, SourceInfo
    from shared.runtime import export_ir

    checkpoint = Path(checkpoint)
    model = load_aasist(architecture, checkpoint)
    sha = sha256_file(checkpoint)
    url = None
    if published is not None:
        from shared.settings import get_model_settings

        base = getattr(get_model_settings(), published.base_url_setting, "")
        url = base.rstrip("/") + "/" + published.file if base else None
    card = ModelCard(
        name=published.name if published is not None else checkpoint.stem,
        architecture=architecture,
        kind="audio",
        preprocessing=waveform_windows(output="logits2", bonafide_index=BONAFIDE_INDEX),
        decision_threshold=0.5,
        training_data=(
            published.training_data if published is not None else "ASVspoof 2019 LA (train split), assumed"
        ),
        reported_metrics=dict(published.reported_metrics) if published is not None else {},
        source=SourceInfo(file=checkpoint.name, sha256=sha, url=url),
        # measured for the published weights only: a retrained checkpoint needs its own
        operating_point=published.operating_point if published is not None else None,
        notes=(
            "Our own implementation of AASIST (clovaai/aasist, MIT licence). Fake probability = softmax of the "
            "two logits, P(spoof) = 1 - P(bonafide). Windows of 64600 samples (4.04 s) at 16 kHz, hop 32300; "
            "clips shorter than one window are tiled like the official evaluation loader."
            + (
                f" Licence of the weights: {published.licence}."
                if published is not None and published.licence
                else ""
            )
        ),
    )
    example = torch.zeros(1, WINDOW_SAMPLES)
    with warnings.catch_warnings():
        # The node counts of the graph pools become constants of the IR; that is intended, because
        # the input length is pinned to one window.
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        # Trace once here without the tracer's self-check (which re-runs the network several times and
        # tripled the conversion time); the golden tests check the IR against the official outputs.
        with torch.no_grad():
            traced = torch.jit.trace(WaveformExport(model).eval(), example, check_trace=False)
        export_ir(
            traced,
            example,
            Path(out_dir),
            card,
            output_names=["logits"],
            input_shapes=[[-1, WINDOW_SAMPLES]],
        )
    return card


class WaveformExport(nn.Module):
    """Names the IR's input ``waveform`` and makes its batch dimension dynamic at conversion time.

    Every audio model that takes the raw waveform is exported through it (AASIST here, ``MelCNN``).
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, waveform: Tensor) -> Tensor:
        return self.model(waveform)
