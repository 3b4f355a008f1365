"""SyncNet (Chung and Zisserman, "Out of time: automated lip sync in the wild", 2016) → one OpenVINO model folder.

Conversion only: this module imports torch (the project's ``convert`` extra); scoring
(``shared.evidence.lips.syncnet``) reads the folder it writes with OpenVINO alone.

The file converted is the authors' ``syncnet_v2.model`` (``joonson/syncnet_python``, MIT; weights published
by the VGG group, not shipped here): a ``torch.save`` state dict of their ``SyncNetModel.S`` with four
parts, the audio branch ``netcnnaud`` + ``netfcaud`` and the lip branch ``netcnnlip`` + ``netfclip``. The
architecture below is written out again with the authors' module names, so their keys load strictly (every
key present, none extra, every shape equal: ``shared.models.checkpoint``); ``tests/lips/test_syncnet.py``
checks it against the authors' own class (the ``syncnet-python`` package) on random weights.

The folder holds two networks (``audio.xml/.bin``, ``lip.xml/.bin``; the card's ``networks``), each
returning its 1024-value embedding (``embedding``):

- ``audio``: MFCCs ``(N, 1, 13, 20)`` (0.2 s of sound) → ``(N, 1024)``;
- ``lip``: five colour face crops ``(N, 3, 5, 224, 224)`` (0.2 s of picture at 25 fps, BGR, 0-255) →
  ``(N, 1024)``.

Two networks rather than one with two inputs: the authors run the branches separately (``forward_aud``,
``forward_lip``), and the check scores each picture window once against many sound windows.

The card carries the authors' preprocessing (``shared.modelcard.SyncNetPreprocessing``), the licence and
the source file's sha256, and no operating point: none was measured here, so the lips check shows
SyncNet's offset and confidence and judges nothing with them (``shared.evidence.lips``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shared.fsutil import atomic_folder, sha256_file
from shared.modelcard import ModelCard, SourceInfo, SyncNetPreprocessing

ARCHITECTURE = "syncnet-v2"
NETWORKS = ("audio", "lip")
EMBEDDING_DIM = 1024
LICENCE = (
    "Licence: MIT (joonson/syncnet_python, LICENSE.md: code and the syncnet_v2.model weights the authors "
    "publish); check the authors' repository before redistributing."
)
TRAINING_DATA = (
    "trained by Chung and Zisserman on BBC television broadcasts (talking faces with their own speech; "
    "'Out of time: automated lip sync in the wild', ACCV workshops 2016); not measured here"
)


def build_syncnet(num_layers_in_fc_layers: int = EMBEDDING_DIM) -> Any:
    """The authors' ``SyncNetModel.S`` (same layers, same module names, so the same state-dict keys)."""
    import torch
    from torch import nn

    class SyncNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.netcnnaud = nn.Sequential(
                nn.Conv2d(1, 64, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1)),
                nn.BatchNorm2d(64),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(kernel_size=(1, 1), stride=(1, 1)),
                nn.Conv2d(64, 192, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1)),
                nn.BatchNorm2d(192),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(kernel_size=(3, 3), stride=(1, 2)),
                nn.Conv2d(192, 384, kernel_size=(3, 3), padding=(1, 1)),
                nn.BatchNorm2d(384),
                nn.ReLU(inplace=True),
                nn.Conv2d(384, 256, kernel_size=(3, 3), padding=(1, 1)),
                nn.BatchNorm2d(256),
                nn.ReLU(inplace=True),
                nn.Conv2d(256, 256, kernel_size=(3, 3), padding=(1, 1)),
                nn.BatchNorm2d(256),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(kernel_size=(3, 3), stride=(2, 2)),
                nn.Conv2d(256, 512, kernel_size=(5, 4), padding=(0, 0)),
                nn.BatchNorm2d(512),
                nn.ReLU(),
            )
            self.netfcaud = nn.Sequential(
                nn.Linear(512, 512), nn.BatchNorm1d(512), nn.ReLU(), nn.Linear(512, num_layers_in_fc_layers)
            )
            self.netfclip = nn.Sequential(
                nn.Linear(512, 512), nn.BatchNorm1d(512), nn.ReLU(), nn.Linear(512, num_layers_in_fc_layers)
            )
            self.netcnnlip = nn.Sequential(
                nn.Conv3d(3, 96, kernel_size=(5, 7, 7), stride=(1, 2, 2), padding=0),
                nn.BatchNorm3d(96),
                nn.ReLU(inplace=True),
                nn.MaxPool3d(kernel_size=(1, 3, 3), stride=(1, 2, 2)),
                nn.Conv3d(96, 256, kernel_size=(1, 5, 5), stride=(1, 2, 2), padding=(0, 1, 1)),
                nn.BatchNorm3d(256),
                nn.ReLU(inplace=True),
                nn.MaxPool3d(kernel_size=(1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1)),
                nn.Conv3d(256, 256, kernel_size=(1, 3, 3), padding=(0, 1, 1)),
                nn.BatchNorm3d(256),
                nn.ReLU(inplace=True),
                nn.Conv3d(256, 256, kernel_size=(1, 3, 3), padding=(0, 1, 1)),
                nn.BatchNorm3d(256),
                nn.ReLU(inplace=True),
                nn.Conv3d(256, 256, kernel_size=(1, 3, 3), padding=(0, 1, 1)),
                nn.BatchNorm3d(256),
                nn.ReLU(inplace=True),
                nn.MaxPool3d(kernel_size=(1, 3, 3), stride=(1, 2, 2)),
                nn.Conv3d(256, 512, kernel_size=(1, 6, 6), padding=0),
                nn.BatchNorm3d(512),
                nn.ReLU(inplace=True),
            )

        def forward_aud(self, x: torch.Tensor) -> torch.Tensor:
            mid = self.netcnnaud(x)
            return self.netfcaud(mid.view((mid.size()[0], -1)))

        def forward_lip(self, x: torch.Tensor) -> torch.Tensor:
            mid = self.netcnnlip(x)
            return self.netfclip(mid.view((mid.size()[0], -1)))

    return SyncNet()


def _branch(model: Any, which: str) -> Any:
    """One branch of ``model`` as its own module (what ``ov.convert_model`` traces)."""
    import torch

    class Branch(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = model

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.net.forward_aud(x) if which == "audio" else self.net.forward_lip(x)

    return Branch().eval()


def load_syncnet(path: Path) -> Any:
    """The authors' network with the weights of ``path`` (a ``torch.save`` state dict), loaded strictly.

    Raises:
        CheckpointMismatch: unreadable, or its keys or shapes are not SyncNet's (names the first ones).
    """
    from shared.models.checkpoint import load_state_dict_strict, read_checkpoint

    state = read_checkpoint(Path(path))
    model = build_syncnet()
    load_state_dict_strict(model, state, source=f"{Path(path).name} (expected SyncNet's syncnet_v2.model)")
    return model.eval()


def import_syncnet(checkpoint: Path, out_dir: Path, *, name: str = "syncnet") -> ModelCard:
    """Convert the authors' ``syncnet_v2.model`` into a model folder the lips check can use.

    Args:
        checkpoint: the state dict file (``syncnet_v2.model``).
        out_dir: the model folder to write (replaced atomically).
        name: the model's name in reports.

    Returns:
        The card written to ``out_dir/model.json``.

    Raises:
        CheckpointMismatch: the file is not SyncNet's state dict.
    """
    import openvino as ov
    import torch

    from shared.runtime import convert_torch, forget_compiled

    checkpoint, out_dir = Path(checkpoint), Path(out_dir)
    model = load_syncnet(checkpoint)
    prep = SyncNetPreprocessing()
    examples = {
        "audio": (torch.zeros(2, 1, prep.numcep, prep.mfcc_frames), [-1, 1, prep.numcep, prep.mfcc_frames]),
        "lip": (
            torch.zeros(2, 3, prep.frames, prep.crop_size, prep.crop_size),
            [-1, 3, prep.frames, prep.crop_size, prep.crop_size],
        ),
    }
    converted = {
        net: convert_torch(_branch(model, net), example, output_names=["embedding"], input_shapes=[shape])
        for net, (example, shape) in examples.items()
    }
    card = ModelCard(
        name=name,
        architecture=ARCHITECTURE,
        kind="lips",
        precision="FP32",
        preprocessing=prep,
        training_data=TRAINING_DATA,
        reported_metrics={
            "source": "Chung and Zisserman, 'Out of time: automated lip sync in the wild', ACCV workshops 2016 "
            "(their figures are on their own test sets, not measured here)",
        },
        source=SourceInfo(file=checkpoint.name, sha256=sha256_file(checkpoint)),
        networks=list(NETWORKS),
        notes=(
            "SyncNet: audio and lip embeddings compared over +-15 video frames; offset and confidence as its "
            "authors define them (syncnet_python's SyncNetInstance.evaluate). No operating point was measured "
            "for it here, so the lips check shows its offset and confidence and judges nothing with them. "
            + LICENCE
        ),
    )
    with atomic_folder(out_dir) as tmp:
        for net, ov_model in converted.items():
            ov.save_model(ov_model, tmp / f"{net}.xml", compress_to_fp16=False)
        card.save(tmp)
    forget_compiled(out_dir)
    return card
