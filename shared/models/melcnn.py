"""The seed's audio model: a small CNN on log-mel spectrograms, trainable on ASVspoof 2019 LA.

Architecture (as the seed lists it): torchaudio ``MelSpectrogram`` + ``AmplitudeToDB`` front end, then
three blocks of convolution → batch normalization → ReLU → max-pooling, flatten, a dense layer and a
single output whose sigmoid is the fake (spoof) probability. The network returns the **logit**; training
uses ``BCEWithLogitsLoss`` (the numerically stable form of sigmoid + binary cross-entropy) and scoring
applies the sigmoid (``shared.audio_scoring``).

The front end is part of the module, so the exported OpenVINO IR takes the raw 16 kHz waveform
(``waveform`` float32 ``(N, 64600)``) and returns ``logit`` ``(N,)``; its parameters are written into
``model.json`` (``preprocessing.frontend``) so the card says exactly what the network hears. Each
spectrogram is standardised per example (zero mean, unit variance over all its bins), which makes the
model indifferent to recording gain.

No published weights exist for this model: out of the box (``init_melcnn_folder``) it is untrained and
its scores mean nothing. ``shared.training.melcnn.train_melcnn`` (``deepfake train audio --arch melcnn``)
trains it; this module holds the architecture, its checkpoint format and its export only, and never
imports the training code.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from shared.fsutil import sha256_file
from shared.models._registry import register_model

# MelCNN hears the audio in AASIST's windows and is exported the same way
from shared.models.aasist import SAMPLE_RATE, WINDOW_SAMPLES, WaveformExport, waveform_windows

__all__ = [
    "MelFrontendConfig",
    "MelCNN",
    "import_checkpoint",
    "init_melcnn_folder",
    "save_melcnn_checkpoint",
]


@dataclass(frozen=True)
class MelFrontendConfig:
    """Front-end parameters; they travel in ``model.json`` (``preprocessing.frontend``)."""

    sample_rate: int = SAMPLE_RATE
    n_fft: int = 512
    win_length: int = 400  # 25 ms
    hop_length: int = 160  # 10 ms
    n_mels: int = 64
    f_min: float = 20.0
    f_max: float = 8000.0
    top_db: float = 80.0

    def as_card(self) -> dict[str, float | int | str]:
        return {"type": "log_mel", "window": "hann", "power": 2, "db": "10*log10", **asdict(self)}


@dataclass(frozen=True)
class MelCNNConfig:
    frontend: MelFrontendConfig = field(default_factory=MelFrontendConfig)
    channels: tuple[int, int, int] = (16, 32, 64)
    pooled: tuple[int, int] = (4, 4)  # (mel, time) size after the adaptive pool, before flatten
    hidden: int = 64
    dropout: float = 0.3


class MelCNN(nn.Module):
    """Log-mel CNN: waveform ``(B, samples)`` → fake logit ``(B,)``."""

    def __init__(self, config: MelCNNConfig | None = None) -> None:
        super().__init__()
        import torchaudio

        self.config = config or MelCNNConfig()
        fe = self.config.frontend
        self.melspec = torchaudio.transforms.MelSpectrogram(
            sample_rate=fe.sample_rate,
            n_fft=fe.n_fft,
            win_length=fe.win_length,
            hop_length=fe.hop_length,
            f_min=fe.f_min,
            f_max=fe.f_max,
            n_mels=fe.n_mels,
            power=2.0,
        )
        self.to_db = torchaudio.transforms.AmplitudeToDB(stype="power", top_db=fe.top_db)
        layers: list[nn.Module] = []
        c_in = 1
        for c_out in self.config.channels:
            layers += [
                nn.Conv2d(c_in, c_out, kernel_size=3, padding=1, bias=False),
                nn.BatchNorm2d(c_out),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(2),
            ]
            c_in = c_out
        self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(self.config.pooled))
        flat = c_in * self.config.pooled[0] * self.config.pooled[1]
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(flat, self.config.hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(self.config.dropout),
            nn.Linear(self.config.hidden, 1),
        )

    def spectrogram(self, waveform: Tensor) -> Tensor:
        """(B, samples) → standardised log-mel (B, 1, n_mels, frames)."""
        # (B, 1, samples) keeps AmplitudeToDB's top_db clamp per example, not across the batch.
        db = self.to_db(self.melspec(waveform.unsqueeze(1)))
        mean = db.mean(dim=(1, 2, 3), keepdim=True)
        std = db.std(dim=(1, 2, 3), keepdim=True)
        return (db - mean) / (std + 1e-5)

    def forward(self, waveform: Tensor) -> Tensor:
        return self.classifier(self.features(self.spectrogram(waveform))).squeeze(-1)


@register_model("MelCNN")
def melcnn() -> MelCNN:
    """The seed's mel-spectrogram CNN (untrained)."""
    return MelCNN()


# --- checkpoints and model folders -------------------------------------------------------------------
def save_melcnn_checkpoint(model: MelCNN, path: Path, **info: Any) -> Path:
    """Write ``{"state_dict", "frontend", "info"}`` (plain tensors and numbers; loads with weights_only)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "architecture": "MelCNN",
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "frontend": asdict(model.config.frontend),
        "info": {k: v for k, v in info.items() if isinstance(v, int | float | str) or v is None},
    }
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    tmp.replace(path)
    return path


def export_melcnn(model: MelCNN, out_dir: Path, card: Any) -> Path:
    """Export with the front end inside the IR: ``waveform`` (N, 64600) → ``logit`` (N,)."""
    from shared.runtime import export_ir

    return export_ir(
        WaveformExport(model.eval()),
        torch.zeros(1, WINDOW_SAMPLES),
        Path(out_dir),
        card,
        output_names=["logit"],
        input_shapes=[[-1, WINDOW_SAMPLES]],
    )


def _card(name: str, *, training_data: str | None, source: Any, metrics: dict[str, Any], notes: str) -> Any:
    from shared.modelcard import ModelCard

    return ModelCard(
        name=name,
        architecture="MelCNN",
        kind="audio",
        # the IR holds the mel front end; the card's frontend says which
        preprocessing=waveform_windows(output="logit", bonafide_index=None, frontend=MelFrontendConfig().as_card()),
        training_data=training_data,
        reported_metrics=metrics,
        source=source,
        notes=notes,
    )


def import_checkpoint(architecture: str, checkpoint: Path, out_dir: Path, *, published: Any = None) -> Any:
    """A MelCNN checkpoint (``save_melcnn_checkpoint``) → model folder; returns its ``ModelCard``.

    Raises:
        CheckpointMismatch: not a MelCNN checkpoint, or keys/shapes that do not match.
    """
    from shared.errors import CheckpointMismatch
    from shared.modelcard import SourceInfo
    from shared.models.checkpoint import load_state_dict_strict, read_checkpoint

    checkpoint = Path(checkpoint)
    state = read_checkpoint(checkpoint, entry="state_dict")
    payload = torch.load(checkpoint, map_location="cpu", weights_only=True)
    if payload.get("frontend", asdict(MelFrontendConfig())) != asdict(MelFrontendConfig()):
        raise CheckpointMismatch(
            f"{checkpoint} was trained with another mel front end: {payload.get('frontend')}"
        )
    model = MelCNN()
    load_state_dict_strict(model, state, source=str(checkpoint))
    info = payload.get("info", {})
    metrics = {k: v for k, v in info.items() if k.startswith("validation_") and isinstance(v, int | float)}
    card = _card(
        published.name if published is not None else checkpoint.stem,
        training_data=(published.training_data if published is not None else info.get("training_data")),
        source=SourceInfo(file=checkpoint.name, sha256=sha256_file(checkpoint)),
        metrics=metrics,
        notes=f"Mel-spectrogram CNN, checkpoint of epoch {info.get('epoch')}.",
    )
    export_melcnn(model, out_dir, card)
    return card


def init_melcnn_folder(out_dir: Path, *, seed: int = 0) -> Path:
    """A freshly initialised (untrained) MelCNN model folder: it runs, but its scores mean nothing."""
    from shared.modelcard import SourceInfo

    torch.manual_seed(seed)
    model = MelCNN().eval()
    digest = hashlib.sha256()
    for value in model.state_dict().values():
        digest.update(value.detach().cpu().numpy().tobytes())
    card = _card(
        "MelCNN-untrained",
        training_data=None,
        source=SourceInfo(file=f"random-init-seed{seed}", sha256=digest.hexdigest()),
        metrics={},
        notes=f"UNTRAINED: random weights (seed {seed}); for tests and plumbing only.",
    )
    return export_melcnn(model, out_dir, card)
