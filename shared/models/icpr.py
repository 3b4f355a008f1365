"""The five ICPR2020 face classifiers (Bonettini et al., 2020) on timm backbones.

Architectures (registered by name, ``create_model(name)``):

- ``EfficientNetB4``: EfficientNet-B4 → global average pool → ``Linear(1792, 1)``.
- ``EfficientNetAutoAttB4``: as above, plus a ``Conv2d(56→1, k=1)`` on the output of block 9 (0-based,
  the last block of the 56-channel stage); its sigmoid is multiplied into that output and also returned
  as the attention map (28×28 for a 224×224 face).
- ``EfficientNetB4ST`` / ``EfficientNetAutoAttB4ST``: the network above as ``feat_ext`` (its own classifier
  kept, unused) and a new head ``BatchNorm1d(1792) → Linear(1792, 1)`` on its pooled features.
- ``Xception``: timm's legacy (Cadene) Xception with ``Linear(2048, 1)``.

Every module here returns the fake *logit* of shape ``(N,)``; ``forward_with_attention`` also returns the
attention map ``(N, 1, h, w)`` (``None`` for the models without one).

**Padding.** The published weights were trained on ``efficientnet_pytorch``, whose "same" padding is
computed once for the nominal 380×380 input of B4 and then used at every size. timm's ``tf_`` models
recompute it from the actual input, which at 224×224 pads one stride-2 5×5 convolution by (1, 2) instead
of (2, 2). ``_freeze_same_padding`` replaces every dynamic-padding convolution with one whose padding is
fixed as for 380×380, so our outputs equal the reference at 224.

**Checkpoints.** The published files are ``torch.save({"net": state_dict, ...})`` with the key layout of
the reference code (``efficientnet._blocks.N._depthwise_conv.weight``, ``xception.last_linear.weight``,
...; tables in ``../shared/reference/icpr2020/keys_<name>.tsv``). ``from_published_state_dict`` and
``to_published_state_dict`` translate between that layout and ours, both ways, so training can write
checkpoints the reference code (and this module) reads.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import nn

from shared.errors import CheckpointMismatch, InvalidArgument, UnknownModel
from shared.fsutil import sha256_file
from shared.models._registry import register_model
from shared.models.checkpoint import check_keys, load_state_dict_strict, read_checkpoint

if TYPE_CHECKING:
    import numpy as np

    from shared.modelcard import ModelCard
    from shared.registry import PublishedModel

#: The reference's EfficientNet-B4 padding was computed for this input size (``efficientnet_pytorch``).
B4_NOMINAL_SIZE = 380
#: Block after which the AutoAtt attention is applied (0-based, flat block index of efficientnet_pytorch).
ATTENTION_BLOCK = 9
INPUT_SIZE = 224
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


# --- EfficientNet-B4 with static "same" padding -----------------------------------------------------
class Conv2dStaticSame(nn.Conv2d):
    """A convolution with a fixed, possibly asymmetric, zero padding ``(left, right, top, bottom)``.

    A subclass of ``nn.Conv2d`` so its parameters keep their names (``weight``) and it exports to
    OpenVINO as a plain pad + convolution.
    """

    def __init__(self, *args: Any, static_pad: tuple[int, int, int, int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.static_pad = static_pad

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if any(self.static_pad):
            x = F.pad(x, self.static_pad)
        return self._conv_forward(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", static_pad={self.static_pad}"


def _same_pad(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """TensorFlow "same" padding (before, after) for one spatial dimension of length ``size``."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def _freeze_same_padding(backbone: nn.Module, image_size: int) -> None:
    """Replace timm's dynamic "same"-padding convolutions by static ones computed for ``image_size``.

    In timm's EfficientNet the only dynamic-padding convolutions are the strided ones (the stem and the
    first depthwise convolution of some stages); they appear in ``named_modules`` in execution order and
    nothing else changes the spatial size, so walking them in order tracks each one's input size.
    """
    from timm.layers import Conv2dSame

    size = image_size
    replacements = []
    for name, module in backbone.named_modules():
        if isinstance(module, Conv2dSame):
            (kh, kw), (sh, sw), (dh, dw) = module.kernel_size, module.stride, module.dilation
            if kh != kw or sh != sw or dh != dw:
                raise ValueError(f"non-square convolution {name}: static padding not derived for it")
            before, after = _same_pad(size, kh, sh, dh)
            replacements.append((name, module, (before, after, before, after)))
            size = math.ceil(size / sh)
        elif isinstance(module, nn.Conv2d) and module.stride != (1, 1):
            raise ValueError(f"strided convolution {name} with fixed padding: cannot track its input size")
    for name, old, pad in replacements:
        new = Conv2dStaticSame(
            old.in_channels,
            old.out_channels,
            old.kernel_size,
            stride=old.stride,
            padding=0,
            dilation=old.dilation,
            groups=old.groups,
            bias=old.bias is not None,
            static_pad=pad,
        )
        new.load_state_dict(old.state_dict())
        parent_name, _, child = name.rpartition(".")
        parent = backbone.get_submodule(parent_name) if parent_name else backbone
        setattr(parent, child, new)


def _efficientnet_b4_backbone() -> nn.Module:
    """timm's ``tf_efficientnet_b4`` (TF BatchNorm epsilon, SiLU, SE) without head, padding fixed for 380."""
    import timm

    backbone = timm.create_model("tf_efficientnet_b4", pretrained=False, num_classes=0, drop_rate=0.0)
    _freeze_same_padding(backbone, B4_NOMINAL_SIZE)
    return backbone


class EfficientNetB4Net(nn.Module):
    """EfficientNet-B4 face classifier, optionally with the ICPR2020 auto-attention after block 9."""

    def __init__(self, attention: bool = False) -> None:
        super().__init__()
        backbone: Any = _efficientnet_b4_backbone()
        self.backbone = backbone
        # A plain list (not registered: the blocks already belong to ``backbone``) in execution order,
        # indexed like efficientnet_pytorch's ``_blocks``.
        self.blocks_flat = [block for stage in backbone.blocks for block in stage]
        self.attconv: nn.Conv2d | None = None
        if attention:
            channels = self.blocks_flat[ATTENTION_BLOCK].conv_pwl.out_channels
            self.attconv = nn.Conv2d(channels, 1, kernel_size=1)
        self.classifier = nn.Linear(backbone.num_features, 1)

    @property
    def num_features(self) -> int:
        return int(self.backbone.num_features)

    def feature_map(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Last feature map (N, 1792, h, w) and the attention map (N, 1, h9, w9) or ``None``."""
        b = self.backbone
        x = b.bn1(b.conv_stem(x))
        attention = None
        for index, block in enumerate(self.blocks_flat):
            x = block(x)
            if index == ATTENTION_BLOCK and self.attconv is not None:
                attention = torch.sigmoid(self.attconv(x))
                x = x * attention
        x = b.bn2(b.conv_head(x))
        return x, attention

    def features_with_attention(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        fmap, attention = self.feature_map(x)
        return fmap.mean(dim=(2, 3)), attention

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled features (N, 1792), the input of the classifier."""
        return self.features_with_attention(x)[0]

    def forward_with_attention(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        feats, attention = self.features_with_attention(x)
        return self.classifier(feats)[:, 0], attention

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_with_attention(x)[0]


class SiameseTunedNet(nn.Module):
    """ICPR2020 "ST" model: a triplet-pretrained ``feat_ext`` and a BatchNorm1d → Linear head."""

    def __init__(self, attention: bool = False) -> None:
        super().__init__()
        self.feat_ext = EfficientNetB4Net(attention=attention)
        n = self.feat_ext.num_features
        self.classifier = nn.Sequential(nn.BatchNorm1d(n), nn.Linear(n, 1))

    def forward_with_attention(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        feats, attention = self.feat_ext.features_with_attention(x)
        return self.classifier(feats)[:, 0], attention

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_with_attention(x)[0]


class XceptionNet(nn.Module):
    """timm's legacy (Cadene) Xception with a single-logit head (``last_linear`` in the published files)."""

    def __init__(self) -> None:
        super().__init__()
        import timm

        self.xception = timm.create_model("legacy_xception", pretrained=False, num_classes=1)

    def forward_with_attention(self, x: torch.Tensor) -> tuple[torch.Tensor, None]:
        return self.xception(x)[:, 0], None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.xception(x)[:, 0]


#: every ICPR2020 architecture by name and how it is built (random weights), registered in ``shared.models``
_BUILDERS: dict[str, Callable[[], nn.Module]] = {
    "EfficientNetB4": lambda: EfficientNetB4Net(attention=False),
    "EfficientNetB4ST": lambda: SiameseTunedNet(attention=False),
    "EfficientNetAutoAttB4": lambda: EfficientNetB4Net(attention=True),
    "EfficientNetAutoAttB4ST": lambda: SiameseTunedNet(attention=True),
    "Xception": XceptionNet,
}
ARCHITECTURES = tuple(_BUILDERS)
for _architecture, _build in _BUILDERS.items():
    register_model(_architecture)(_build)


def has_attention(architecture: str) -> bool:
    return "AutoAtt" in _check_architecture(architecture)


def _check_architecture(architecture: str) -> str:
    if architecture not in ARCHITECTURES:
        raise UnknownModel(
            f"unknown ICPR2020 architecture {architecture!r}; known: {', '.join(ARCHITECTURES)}"
        )
    return architecture


# --- published key layout <-> ours -------------------------------------------------------------------
# efficientnet_pytorch block sub-module → timm block sub-module. Blocks without an expansion convolution
# (expand ratio 1, timm's DepthwiseSeparableConv) name their BatchNorms differently from the others.
_B4_BLOCK_DS = {
    "_depthwise_conv": "conv_dw",
    "_bn1": "bn1",
    "_se_reduce": "se.conv_reduce",
    "_se_expand": "se.conv_expand",
    "_project_conv": "conv_pw",
    "_bn2": "bn2",
}
_B4_BLOCK_IR = {
    "_expand_conv": "conv_pw",
    "_bn0": "bn1",
    "_depthwise_conv": "conv_dw",
    "_bn1": "bn2",
    "_se_reduce": "se.conv_reduce",
    "_se_expand": "se.conv_expand",
    "_project_conv": "conv_pwl",
    "_bn2": "bn3",
}
_B4_TOP = {"_conv_stem": "conv_stem", "_bn0": "bn1", "_conv_head": "conv_head", "_bn1": "bn2"}


def _b4_key_map(net: EfficientNetB4Net, published_prefix: str, our_prefix: str) -> dict[str, str]:
    """Published key → our key for one ``EfficientNetB4Net`` (complete: every one of our keys appears)."""
    from timm.models._efficientnet_blocks import DepthwiseSeparableConv

    mapping: dict[str, str] = {}
    ours = net.state_dict()
    stage_of = [(s, i) for s, stage in enumerate(net.backbone.blocks) for i in range(len(stage))]  # type: ignore[arg-type]
    for key in ours:
        mapping_key: str | None = None
        if key.startswith("backbone.blocks."):
            _, _, s, i, rest = key.split(".", 4)
            flat = stage_of.index((int(s), int(i)))
            block = net.blocks_flat[flat]
            table = _B4_BLOCK_DS if isinstance(block, DepthwiseSeparableConv) else _B4_BLOCK_IR
            for theirs, mine in table.items():
                if rest.startswith(mine + "."):
                    mapping_key = f"efficientnet._blocks.{flat}.{theirs}{rest[len(mine) :]}"
                    break
        elif key.startswith("backbone."):
            module, _, param = key[len("backbone.") :].partition(".")
            for theirs, mine in _B4_TOP.items():
                if module == mine:
                    mapping_key = f"efficientnet.{theirs}.{param}"
        elif key.startswith("attconv."):
            mapping_key = "efficientnet." + key
        elif key.startswith("classifier."):
            mapping_key = key
        if mapping_key is None:
            raise AssertionError(f"no published name for {key}")  # a bug in this table, not user input
        mapping[published_prefix + mapping_key] = our_prefix + key
    return mapping


def published_key_map(model: nn.Module) -> dict[str, str]:
    """Published state_dict key → this model's state_dict key, for every key of ``model``."""
    if isinstance(model, EfficientNetB4Net):
        return _b4_key_map(model, "", "")
    if isinstance(model, SiameseTunedNet):
        mapping = _b4_key_map(model.feat_ext, "feat_ext.", "feat_ext.")
        for key in model.classifier.state_dict():
            mapping["classifier." + key] = "classifier." + key
        return mapping
    if isinstance(model, XceptionNet):
        return {
            "xception." + re.sub(r"^fc\.", "last_linear.", key): "xception." + key
            for key in model.xception.state_dict()
        }
    raise TypeError(f"not an ICPR2020 model: {type(model).__name__}")


def from_published_state_dict(model: nn.Module, published: Mapping[str, Any]) -> dict[str, Any]:
    """Rename a published-layout state_dict to ``model``'s layout (unknown keys kept, to be reported)."""
    mapping = published_key_map(model)
    return {mapping.get(key, key): value for key, value in published.items()}


def to_published_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """``model``'s weights in the published layout (what ``torch.load(f)["net"]`` holds), in its order."""
    inverse = {ours: theirs for theirs, ours in published_key_map(model).items()}
    return {inverse[key]: value for key, value in model.state_dict().items()}


def save_published_checkpoint(model: nn.Module, path: Path, **extra: Any) -> Path:
    """Write ``model`` as a checkpoint in the published layout: ``{"net": state_dict, **extra}``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"net": to_published_state_dict(model), **extra}, path)
    return path


def load_published(architecture: str, checkpoint: Path | Mapping[str, Any]) -> nn.Module:
    """Build ``architecture`` and load a published-layout checkpoint into it, strictly, in eval mode.

    Args:
        architecture: one of ``ARCHITECTURES``.
        checkpoint: a checkpoint file (``torch.load(f)["net"]``) or a published-layout state_dict.

    Raises:
        CheckpointMismatch: unreadable/truncated file, or keys/shapes not those of ``architecture``
            (the message names the first mismatches, in the published names). Nothing is half-loaded.
    """
    from shared.models import create_model

    model = create_model(_check_architecture(architecture))
    if isinstance(checkpoint, Mapping):
        published, source = checkpoint, "state_dict"
    else:
        published, source = read_checkpoint(Path(checkpoint), entry="net"), f"checkpoint {checkpoint}"
    expected = published_key_map(model)
    # Check in the published names, so the message speaks the file's language.
    shapes = {theirs: model.state_dict()[ours].shape for theirs, ours in expected.items()}
    check_keys(shapes, published, header=f"{source} is not a {architecture} checkpoint")
    load_state_dict_strict(model, from_published_state_dict(model, published), source=source)
    return model.eval()


# --- import: checkpoint -> OpenVINO IR folder with its card ------------------------------------------
class _ExportWrapper(nn.Module):
    """What goes into the IR: normalized NCHW float32 faces → ``logit`` (N,) [, ``attention`` (N,1,h,w)]."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model: Any = model

    def forward(self, x: torch.Tensor) -> Any:
        logit, attention = self.model.forward_with_attention(x)
        return logit if attention is None else (logit, attention)


def make_card(
    architecture: str,
    *,
    name: str,
    source_file: str,
    source_sha256: str,
    published: PublishedModel | None = None,
    url: str | None = None,
    precision: str = "FP32",
    notes: str | None = None,
) -> ModelCard:
    """The ``model.json`` of an ICPR2020 IR: preprocessing of the reference, provenance, threshold."""
    from shared.modelcard import ModelCard, SourceInfo, VideoPreprocessing

    outputs = ["logit", "attention"] if has_attention(architecture) else ["logit"]
    return ModelCard(
        name=name,
        architecture=architecture,
        kind="video",
        precision=precision,  # type: ignore[arg-type]
        preprocessing=VideoPreprocessing(
            input_size=INPUT_SIZE, mean=IMAGENET_MEAN, std=IMAGENET_STD, crop_policy="scale", outputs=outputs
        ),
        decision_threshold=0.5,
        training_data=published.training_data if published else None,
        reported_metrics=dict(published.reported_metrics) if published else {},
        source=SourceInfo(file=source_file, sha256=source_sha256, url=url),
        notes=notes,
    )


def export_model_ir(model: nn.Module, out_dir: Path, card: ModelCard) -> Path:
    """Export an ICPR2020 ``model`` (eval mode) to an FP32 IR folder with ``card``; batch size dynamic."""
    from shared.runtime import export_ir, forget_compiled

    model = model.eval()
    example = torch.zeros(1, 3, INPUT_SIZE, INPUT_SIZE)
    folder = export_ir(
        _ExportWrapper(model),
        example,
        Path(out_dir),
        card,
        output_names=card.preprocessing.outputs,  # type: ignore[union-attr]
        input_shapes=[[-1, 3, INPUT_SIZE, INPUT_SIZE]],
    )
    forget_compiled(folder)  # a process that compiled the old IR of this folder must not reuse it
    return folder


def import_checkpoint(
    architecture: str,
    checkpoint: Path,
    out_dir: Path,
    *,
    published: PublishedModel | str | None = None,
    int8: bool = False,
    calibration_faces: np.ndarray | Path | None = None,
) -> ModelCard:
    """Convert an ICPR2020 checkpoint (published layout) into a model folder (IR + ``model.json``).

    Args:
        architecture: one of ``ARCHITECTURES``.
        checkpoint: the ``.pth`` file (``torch.load(f)["net"]`` is the state_dict).
        out_dir: the model folder to write (replaced atomically).
        published: the registry entry (or its name) the file is, for training data and reported metrics.
        int8: also quantize (NNCF post-training, calibrated on ``calibration_faces``) and write the INT8
            IR to ``out_dir`` instead of the FP32 one.
        calibration_faces: uint8 (N, 224, 224, 3) RGB face crops or a ``.npy`` file of them.

    Returns:
        The card written to ``out_dir/model.json``.

    Raises:
        CheckpointMismatch: the file is not a checkpoint of ``architecture``.
        InvalidArgument: ``int8`` without calibration faces.
    """
    from shared.registry import get_published

    if isinstance(published, str):
        published = get_published(published)
    if published is not None and published.architecture != architecture:
        raise InvalidArgument(
            f"{published.name} is a {published.architecture} checkpoint, not {architecture}"
        )
    if int8 and calibration_faces is None:
        raise InvalidArgument("INT8 quantization needs calibration face crops (--calibration FACES.npy)")
    checkpoint = Path(checkpoint)
    model = load_published(architecture, checkpoint)
    sha = sha256_file(checkpoint)
    if published is not None and published.sha256 != sha:
        raise CheckpointMismatch(f"{checkpoint} has sha256 {sha}, but {published.name} is {published.sha256}")
    name = published.name if published else checkpoint.stem
    url = None
    if published is not None:
        from shared.settings import get_model_settings

        base = getattr(get_model_settings(), published.base_url_setting)
        url = base.rstrip("/") + "/" + published.file
    card = make_card(
        architecture, name=name, source_file=checkpoint.name, source_sha256=sha, published=published, url=url
    )
    out_dir = Path(out_dir)
    if not int8:
        export_model_ir(model, out_dir, card)
        return card
    import tempfile

    from shared.quantize import quantize_model_folder

    with tempfile.TemporaryDirectory(
        prefix="fp32-", dir=out_dir.parent if out_dir.parent.exists() else None
    ) as tmp:
        fp32 = export_model_ir(model, Path(tmp) / "fp32", card)
        report = quantize_model_folder(fp32, out_dir, calibration_faces)  # type: ignore[arg-type]
    return report.card
