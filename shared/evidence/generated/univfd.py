"""UnivFD (Ojha, Li and Lee, CVPR 2023) in its published layout → one OpenVINO model folder.

UnivFD detects generated pictures with one linear layer on the image features of OpenAI's CLIP ViT-L/14
(``CLIPModel.forward``: ``fc(clip.encode_image(x))``: the projected 768-value features, not normalized).
Its authors publish two files, converted here as they are:

- the OpenAI CLIP ViT-L/14 checkpoint (``ViT-L-14.pt``, a TorchScript archive, or a state dict saved by
  ``torch.save``): only its image tower is used, keys ``visual.*`` in OpenAI's layout
  (``visual.conv1.weight``, ``visual.transformer.resblocks.N...``, ``visual.proj``);
- ``fc_weights.pth``: the linear layer's state dict, ``weight`` (1, 768) and ``bias`` (1,).

The image tower is rebuilt with timm's ``vit_large_patch14_clip_quickgelu_224`` (OpenAI's ViT-L/14 uses
QuickGELU) and filled by timm's own ``checkpoint_filter_fn``, which maps OpenAI's keys (``proj`` becomes a
bias-free ``head``). The IR returns the log-odds that the picture is generated (``logit``) beside the CLIP
features (``embedding``); it is exported by the project's one export path (``shared.runtime.export_ir``)
and runs at f32. ``tests/models/test_univfd.py`` checks it against open_clip's own ViT-L/14 on random
weights.

What the card does not carry: an operating point. None was measured on this runtime, so the generated
kind shows this model's score and judges nothing with it (``shared.evidence.generated``). Its preprocessing
is CLIP's (short side to 224 bicubic, centre crop, CLIP mean/std), the recipe the check feeds every model;
the authors' own evaluation script (``validate.py``) centre-crops 224 pixels without resizing, so on pictures
much larger than 224 the two see different things.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shared.errors import CheckpointMismatch
from shared.fsutil import sha256_file
from shared.modelcard import ImagePreprocessing, ModelCard, SourceInfo
from shared.registry import manifest_sha256

ARCHITECTURE = "clip-vit-l14-linear-probe"
#: timm's ViT-L/14 CLIP image tower with OpenAI's activation (QuickGELU)
TIMM_TOWER = "vit_large_patch14_clip_quickgelu_224"
#: CLIP's own normalization (openai/CLIP)
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
WIDTH = 1024  # the tower's token width
EMBED_DIM = 768  # CLIP ViT-L/14's projected image features, what the linear layer reads
LAYERS = 24
LICENCE = (
    "Licences: UnivFD code and fc_weights.pth: MIT (WisconsinAIVision/UniversalFakeDetect, LICENSE); "
    "CLIP ViT-L/14 weights: MIT (openai/CLIP). Check the authors' repositories before redistributing."
)
TRAINING_DATA = (
    "a linear layer fitted by the UnivFD authors on frozen CLIP ViT-L/14 features of ProGAN pictures and "
    "real LSUN photographs (20 classes, the training set of Wang et al. 2020); CLIP itself was trained by "
    "OpenAI on 400 million image-text pairs"
)


def read_clip_visual(path: Path) -> dict[str, Any]:
    """The ``visual.*`` tensors of an OpenAI CLIP checkpoint: a TorchScript archive (how OpenAI publishes
    ``ViT-L-14.pt``) or a plain state dict (``torch.save``, read with ``weights_only=True``).

    Raises:
        CheckpointMismatch: not readable as either, or no ViT-L/14 image tower in OpenAI's layout.
    """
    import torch

    path = Path(path)
    state: Any = None
    try:
        # OpenAI's own file is TorchScript: loading it deserializes weights and code, and runs nothing
        state = torch.jit.load(str(path), map_location="cpu").state_dict()
    except (RuntimeError, ValueError):
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception:  # an unreadable or unsafe pickle: say which file, not torch's internals
            raise CheckpointMismatch(
                f"{path}: neither a TorchScript archive nor a state dict (OpenAI's ViT-L-14.pt is the former)"
            ) from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise CheckpointMismatch(f"{path}: expected a state dict, got {type(state).__name__}")
    visual = {k: v for k, v in state.items() if isinstance(k, str) and k.startswith("visual.")}
    expected = {
        "visual.conv1.weight": (WIDTH, 3, 14, 14),
        "visual.class_embedding": (WIDTH,),
        "visual.positional_embedding": (257, WIDTH),
        "visual.proj": (WIDTH, EMBED_DIM),
    }
    for key, shape in expected.items():
        found = tuple(visual[key].shape) if key in visual else None
        if found != shape:
            raise CheckpointMismatch(
                f"{path}: not CLIP ViT-L/14's image tower in OpenAI's layout ({key}: expected {shape}, found {found})"
            )
    layers = {k.split(".")[3] for k in visual if k.startswith("visual.transformer.resblocks.")}
    if len(layers) != LAYERS:
        raise CheckpointMismatch(f"{path}: {len(layers)} transformer blocks, ViT-L/14 has {LAYERS}")
    return {k: v.float() for k, v in visual.items()}


def read_fc(path: Path) -> tuple[Any, Any]:
    """UnivFD's linear layer from ``fc_weights.pth``: ``weight`` (1, 768), ``bias`` (1,).

    Raises:
        CheckpointMismatch: not a state dict with those two tensors.
    """
    import torch

    try:
        state = torch.load(Path(path), map_location="cpu", weights_only=True)
    except Exception:  # as above: torch's own message names pickle internals, not the problem
        raise CheckpointMismatch(f"{path}: not a state dict saved by torch.save (UnivFD's fc_weights.pth is one)") from None
    weight = state.get("weight") if isinstance(state, dict) else None
    bias = state.get("bias") if isinstance(state, dict) else None
    if weight is None or bias is None or tuple(weight.shape) != (1, EMBED_DIM) or tuple(bias.shape) != (1,):
        shapes = {k: tuple(v.shape) for k, v in state.items()} if isinstance(state, dict) else type(state).__name__
        raise CheckpointMismatch(f"{path}: expected UnivFD's fc weights (weight (1, 768), bias (1,)), found {shapes}")
    return weight.float(), bias.float()


def build_univfd(visual: dict[str, Any], weight: Any, bias: Any) -> Any:
    """The image tower (timm, filled by its OpenAI-CLIP key converter) and the linear layer, as one
    ``torch.nn.Module``: pixels ``(N, 3, 224, 224)`` → ``(logit (N,), embedding (N, 768))``."""
    import timm
    import torch
    from timm.models.vision_transformer import VisionTransformer, checkpoint_filter_fn

    tower = timm.create_model(TIMM_TOWER, pretrained=False, num_classes=EMBED_DIM)
    assert isinstance(tower, VisionTransformer)  # what checkpoint_filter_fn converts for
    converted = checkpoint_filter_fn(visual, tower)
    missing, unexpected = tower.load_state_dict(converted, strict=False)
    if missing or unexpected:
        raise CheckpointMismatch(f"the CLIP image tower does not fit timm's ViT-L/14: missing {missing}, unexpected {unexpected}")

    class UnivFD(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.tower = tower
            self.fc = torch.nn.Linear(EMBED_DIM, 1)
            with torch.no_grad():
                self.fc.weight.copy_(weight)
                self.fc.bias.copy_(bias)

        def forward(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            features = self.tower(pixels)  # = CLIP's encode_image: ln_post on the class token, then proj
            return self.fc(features).reshape(-1), features

    return UnivFD().eval()


def import_univfd(clip_path: Path, fc_path: Path, out_dir: Path, *, name: str = "univfd") -> ModelCard:
    """Convert UnivFD's two published files into a model folder the generated kind can use.

    Raises:
        CheckpointMismatch: a file is not what UnivFD publishes (see :func:`read_clip_visual`, :func:`read_fc`).
    """
    import torch

    from shared.runtime import export_ir, forget_compiled

    clip_path, fc_path = Path(clip_path), Path(fc_path)
    model = build_univfd(read_clip_visual(clip_path), *read_fc(fc_path))
    files = {clip_path.name: sha256_file(clip_path), fc_path.name: sha256_file(fc_path)}
    card = ModelCard(
        name=name,
        architecture=ARCHITECTURE,
        kind="generated",
        precision="FP32",
        preprocessing=ImagePreprocessing(mean=CLIP_MEAN, std=CLIP_STD),
        training_data=TRAINING_DATA,
        reported_metrics={
            "source": "Ojha, Li and Lee, 'Towards Universal Fake Image Detectors that Generalize Across "
            "Generative Models', CVPR 2023 (their figures are on their own test sets, not measured here)",
        },
        source=SourceInfo(file=f"{clip_path.name} + {fc_path.name}", sha256=manifest_sha256(files), files=files),
        notes=(
            "UnivFD: one linear layer on CLIP ViT-L/14 image features, run on OpenVINO at f32. No operating "
            "point was measured for it here, so its score is shown but judges nothing. Fed with CLIP's "
            "preprocessing (short side to 224, centre crop); the authors' evaluation centre-crops 224 pixels "
            "without resizing. " + LICENCE
        ),
    )
    example = torch.zeros(1, 3, 224, 224)
    out_dir = Path(out_dir)
    with torch.no_grad():
        export_ir(model, example, out_dir, card, output_names=["logit", "embedding"], input_shapes=[[-1, 3, 224, 224]])
    forget_compiled(out_dir)
    return card
