"""Audio model folders for every test folder (owned by the audio area).

``aasist_model_dir`` / ``aasist_l_model_dir``: OpenVINO IR folders converted from the published AASIST
weights in ``../shared/weights/aasist`` (skip when that folder is absent). ``melcnn_model_dir``: a small,
freshly initialised mel-CNN IR that needs nothing outside the repository, so a fresh machine still has an
audio model for pipeline tests (its scores mean nothing: it is untrained).
"""

from __future__ import annotations

from pathlib import Path

import pytest


def _import_published(name: str, weights: Path, out: Path) -> Path:
    from shared.models.aasist import import_checkpoint
    from shared.registry import get_published

    checkpoint = weights / "aasist" / f"{name}.pth"
    if not checkpoint.is_file():
        pytest.skip(f"needs {checkpoint} (published AASIST weights in ../shared); absent on this machine")
    import_checkpoint(name, checkpoint, out, published=get_published(name))
    return out


@pytest.fixture(scope="session")
def aasist_model_dir(shared_weights: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Model folder (IR + model.json) of the published AASIST."""
    return _import_published("AASIST", shared_weights, tmp_path_factory.mktemp("aasist") / "AASIST")


@pytest.fixture(scope="session")
def aasist_l_model_dir(shared_weights: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Model folder (IR + model.json) of the published AASIST-L."""
    return _import_published("AASIST-L", shared_weights, tmp_path_factory.mktemp("aasist") / "AASIST-L")


@pytest.fixture(scope="session")
def melcnn_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Model folder of a freshly initialised (untrained) MelCNN: needs nothing outside the repository."""
    from shared.models.melcnn import init_melcnn_folder

    return init_melcnn_folder(tmp_path_factory.mktemp("melcnn") / "MelCNN-untrained", seed=0)


def write_tiny_asvspoof_la(root: Path, *, per_class: int = 6, seconds: float = 2.0, seed: int = 0) -> Path:
    """A tiny dataset in the ASVspoof 2019 LA layout (16 kHz FLAC + cm protocol files) that a model can
    learn: "bona fide" files are band-limited noise bursts, "spoof" files are steady harmonic tones.

    Returns the ``LA`` folder.
    """
    import numpy as np
    import soundfile

    la = root / "LA"
    rng = np.random.default_rng(seed)
    rate = 16000
    t = np.arange(int(seconds * rate)) / rate
    prefixes = {
        "train": ("ASVspoof2019_LA_train", "T", "train.trn"),
        "val": ("ASVspoof2019_LA_dev", "D", "dev.trl"),
    }
    (la / "ASVspoof2019_LA_cm_protocols").mkdir(parents=True)
    for folder, letter, proto in prefixes.values():
        flac = la / folder / "flac"
        flac.mkdir(parents=True)
        lines = []
        for i in range(2 * per_class):
            bonafide = i % 2 == 0
            if bonafide:
                noise = rng.normal(0, 1, len(t))
                envelope = (np.sin(2 * np.pi * rng.uniform(2, 5) * t) > 0).astype(float)
                wave = 0.1 * np.convolve(noise, np.ones(4) / 4, mode="same") * envelope
            else:
                f0 = rng.uniform(100, 250)
                wave = sum(0.05 / k * np.sin(2 * np.pi * k * f0 * t) for k in range(1, 6))
            file_id = f"LA_{letter}_{1000000 + i}"
            soundfile.write(str(flac / f"{file_id}.flac"), wave.astype(np.float32), rate, subtype="PCM_16")
            system = "-" if bonafide else f"A0{1 + i % 6}"
            lines.append(f"LA_{9000 + i % 3:04d} {file_id} - {system} {'bonafide' if bonafide else 'spoof'}")
        (la / "ASVspoof2019_LA_cm_protocols" / f"ASVspoof2019.LA.cm.{proto}.txt").write_text(
            "\n".join(lines) + "\n"
        )
    return la
