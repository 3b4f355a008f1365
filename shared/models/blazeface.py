"""BlazeFace (MediaPipe's front-camera face detector), our own PyTorch module, for conversion to OpenVINO only.

The ICPR2020 face classifiers were trained and evaluated on faces found by this network (weights converted
to PyTorch by M. Hollemans, Apache-2.0; facts in ``../shared/reference/blazeface/README.md``). Running it
needs no torch: :func:`import_checkpoint` writes an FP32 IR folder whose ``model.json`` carries everything
the runtime (``shared.faces.blazeface``) needs — input size and scaling, score threshold, NMS IoU — and
the anchors (``anchors.npy``) beside the IR, so the artefact is complete on its own.

Network (front model, 128×128 RGB in, scaled to [-1, 1]): the input is zero-padded (left 1, right 2, top 1,
bottom 2), a 5×5 stride-2 convolution and ReLU, then BlazeBlocks (depthwise 3×3 + pointwise 1×1 added to a
skip path, ReLU). ``backbone1`` ends at 88×16×16, ``backbone2`` at 96×8×8; 1×1 heads on each give 2 and 6
anchors per cell: ``raw_scores`` (N, 896, 1) and ``raw_boxes`` (N, 896, 16). Decoding and NMS are numpy
code in the runtime, not part of the IR.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from shared.errors import CheckpointMismatch, InvalidArgument
from shared.fsutil import sha256_file
from shared.models._registry import register_model
from shared.models.checkpoint import load_state_dict_strict, read_checkpoint

if TYPE_CHECKING:
    from shared.modelcard import ModelCard
    from shared.registry import PublishedModel

ARCHITECTURE = "blazeface"
INPUT_SIZE = 128
NUM_ANCHORS = 896
NUM_COORDS = 16
ANCHORS_FILE = "anchors.npy"
SCORE_THRESHOLD = 0.75
NMS_IOU = 0.3
OUTPUTS = ["raw_boxes", "raw_scores"]


class BlazeBlock(nn.Module):
    """Depthwise 3×3 then pointwise 1×1, added to a skip path, then ReLU.

    Stride 2: the depthwise convolution is unpadded and sees the input zero-padded by 2 on the right and
    bottom; the skip is a 2×2 max pool of the unpadded input. When ``out_channels > in_channels`` the skip
    is zero-padded along channels (the extra channels at the end). Keys: ``convs.0`` and ``convs.1``.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        self.stride = stride
        self.channel_pad = out_channels - in_channels
        padding = 0 if stride == 2 else 1
        self.convs = nn.Sequential(
            nn.Conv2d(in_channels, in_channels, 3, stride, padding, groups=in_channels, bias=True),
            nn.Conv2d(in_channels, out_channels, 1, 1, 0, bias=True),
        )
        self.pool = nn.MaxPool2d(2, 2) if stride == 2 else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pool is not None:
            h = F.pad(x, (0, 2, 0, 2))
            x = self.pool(x)
        else:
            h = x
        if self.channel_pad > 0:
            x = F.pad(x, (0, 0, 0, 0, 0, self.channel_pad))
        return F.relu(self.convs(h) + x)


class BlazeFace(nn.Module):
    """The front-camera BlazeFace: ``(N, 3, 128, 128)`` scaled input → ``(raw_boxes, raw_scores)``.

    Returns:
        ``raw_boxes`` float32 ``(N, 896, 16)`` and ``raw_scores`` float32 ``(N, 896, 1)``: 16×16 cells × 2
        anchors (from ``backbone1``), then 8×8 × 6 (from ``backbone2``), in the order of ``anchors.npy``.
    """

    def __init__(self) -> None:
        super().__init__()
        blocks1 = [(24, 24, 1), (24, 28, 1), (28, 32, 2), (32, 36, 1), (36, 42, 1), (42, 48, 2)]
        blocks1 += [(48, 56, 1), (56, 64, 1), (64, 72, 1), (72, 80, 1), (80, 88, 1)]
        # Index 0 is the stem convolution and index 1 its ReLU: the published keys start the blocks at 2.
        self.backbone1 = nn.Sequential(
            nn.Conv2d(3, 24, 5, 2, 0, bias=True), nn.ReLU(), *(BlazeBlock(i, o, s) for i, o, s in blocks1)
        )
        self.backbone2 = nn.Sequential(BlazeBlock(88, 96, 2), *(BlazeBlock(96, 96) for _ in range(4)))
        self.classifier_8 = nn.Conv2d(88, 2, 1, bias=True)
        self.classifier_16 = nn.Conv2d(96, 6, 1, bias=True)
        self.regressor_8 = nn.Conv2d(88, 32, 1, bias=True)
        self.regressor_16 = nn.Conv2d(96, 96, 1, bias=True)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        n = x.shape[0]
        x = F.pad(x, (1, 2, 1, 2))
        x = self.backbone1(x)  # (N, 88, 16, 16)
        h = self.backbone2(x)  # (N, 96, 8, 8)

        def flat(t: torch.Tensor, width: int) -> torch.Tensor:
            return t.permute(0, 2, 3, 1).reshape(n, -1, width)

        scores = torch.cat((flat(self.classifier_8(x), 1), flat(self.classifier_16(h), 1)), dim=1)
        boxes = torch.cat(
            (flat(self.regressor_8(x), NUM_COORDS), flat(self.regressor_16(h), NUM_COORDS)), dim=1
        )
        return boxes, scores


@register_model(ARCHITECTURE)
def blazeface() -> BlazeFace:
    return BlazeFace()


def load_blazeface(checkpoint: Path | Mapping[str, Any]) -> BlazeFace:
    """Our module with the published weights (a plain state_dict), loaded strictly, in eval mode.

    Raises:
        CheckpointMismatch: the file is unreadable or its keys and shapes are not BlazeFace's.
    """
    model = BlazeFace()
    if isinstance(checkpoint, Mapping):
        state, source = checkpoint, "state_dict"
    else:
        state, source = read_checkpoint(Path(checkpoint)), str(checkpoint)
    load_state_dict_strict(model, state, source=source)
    return model.eval()


def load_anchors(path: Path) -> np.ndarray:
    """``anchors.npy``: ``(896, 4)`` (x_centre, y_centre, w, h), normalized to the input.

    Raises:
        CheckpointMismatch: missing, unreadable, or not of that shape.
    """
    try:
        anchors = np.load(Path(path), allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise CheckpointMismatch(f"anchors {path} are not a readable .npy file ({exc})") from None
    if anchors.shape != (NUM_ANCHORS, 4) or not np.issubdtype(anchors.dtype, np.floating):
        raise CheckpointMismatch(
            f"anchors {path} have shape {anchors.shape} ({anchors.dtype}); BlazeFace needs ({NUM_ANCHORS}, 4) floats"
        )
    return anchors


def make_card(
    *,
    name: str,
    source_file: str,
    source_sha256: str,
    anchors_sha256: str,
    published: PublishedModel | None = None,
    url: str | None = None,
) -> ModelCard:
    """The ``model.json`` of a BlazeFace IR: the reference's input scaling, threshold, NMS IoU, anchors."""
    from shared.modelcard import FaceDetectorPreprocessing, ModelCard, SourceInfo

    licence = published.licence if published is not None and published.licence else "Apache-2.0"
    return ModelCard(
        name=name,
        architecture=ARCHITECTURE,
        kind="face_detector",
        preprocessing=FaceDetectorPreprocessing(
            input_size=INPUT_SIZE,
            input_divisor=127.5,
            input_offset=-1.0,
            tile_max_side=720,
            score_threshold=SCORE_THRESHOLD,
            nms_iou=NMS_IOU,
            box_scale=float(INPUT_SIZE),
            anchors_file=ANCHORS_FILE,
            anchors_sha256=anchors_sha256,
            outputs=list(OUTPUTS),
        ),
        decision_threshold=SCORE_THRESHOLD,
        training_data=published.training_data if published is not None else None,
        reported_metrics=dict(published.reported_metrics) if published is not None else {},
        source=SourceInfo(file=source_file, sha256=source_sha256, url=url),
        notes=(
            "Our own implementation of the BlazeFace front-camera model (MediaPipe; PyTorch weights by "
            f"M. Hollemans). Licence of the weights: {licence}. The IR gives the raw network outputs; "
            "tiling, decoding with the anchors beside it and weighted NMS are done by shared.faces.blazeface."
        ),
    )


def import_checkpoint(
    architecture: str,
    checkpoint: Path,
    out_dir: Path,
    *,
    published: PublishedModel | None = None,
    companions: Mapping[str, Path] | None = None,
) -> ModelCard:
    """Convert ``blazeface.pth`` and its anchors into a model folder: FP32 IR, ``model.json``, ``anchors.npy``.

    Args:
        architecture: ``"blazeface"``.
        checkpoint: the published ``blazeface.pth`` (a plain state_dict).
        out_dir: the model folder to write (replaced atomically).
        published: the registry entry the file is, for provenance, licence and the anchors' sha256.
        companions: ``{"anchors.npy": path}``; by default ``anchors.npy`` beside the checkpoint.

    Returns:
        The card written next to the IR. The IR takes ``input`` float32 ``(N, 3, 128, 128)`` (already
        scaled, batch dynamic) and returns ``raw_boxes`` ``(N, 896, 16)`` and ``raw_scores`` ``(N, 896, 1)``.

    Raises:
        CheckpointMismatch: the checkpoint or the anchors are not BlazeFace's (or not the published ones).
        InvalidArgument: another architecture.
    """
    from shared.fsutil import atomic_folder
    from shared.runtime import export_ir, forget_compiled

    if architecture != ARCHITECTURE:
        raise InvalidArgument(f"the BlazeFace importer converts {ARCHITECTURE!r}, not {architecture!r}")
    checkpoint = Path(checkpoint)
    anchors_path = Path((companions or {}).get(ANCHORS_FILE, checkpoint.with_name(ANCHORS_FILE)))
    model = load_blazeface(checkpoint)
    anchors = load_anchors(anchors_path)
    sha, anchors_sha = sha256_file(checkpoint), sha256_file(anchors_path)
    url = None
    if published is not None:
        if published.sha256 != sha:
            raise CheckpointMismatch(f"{checkpoint} has sha256 {sha}, but {published.name} is {published.sha256}")
        pinned = {c.file: c.sha256 for c in published.companions}.get(ANCHORS_FILE)
        if pinned is not None and pinned != anchors_sha:
            raise CheckpointMismatch(f"{anchors_path} has sha256 {anchors_sha}, but {published.name}'s are {pinned}")
        from shared.settings import get_model_settings

        base = getattr(get_model_settings(), published.base_url_setting)
        url = base.rstrip("/") + "/" + published.file
    card = make_card(
        name=published.name if published is not None else checkpoint.stem,
        source_file=checkpoint.name,
        source_sha256=sha,
        anchors_sha256=anchors_sha,
        published=published,
        url=url,
    )
    out_dir = Path(out_dir)
    with atomic_folder(out_dir) as tmp:
        # export_ir replaces ``tmp`` whole with the IR and its card; the anchors join them before the rename.
        export_ir(
            model,
            torch.zeros(1, 3, INPUT_SIZE, INPUT_SIZE),
            tmp,
            card,
            output_names=list(OUTPUTS),
            input_shapes=[[-1, 3, INPUT_SIZE, INPUT_SIZE]],
        )
        np.save(tmp / ANCHORS_FILE, anchors, allow_pickle=False)
    forget_compiled(out_dir)  # a process that compiled the old IR of this folder must not reuse it
    return card
