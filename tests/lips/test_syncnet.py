"""SyncNet, the learned option of the lips check (``deepfake models import-syncnet``, ``shared.evidence.lips.syncnet``).

The reference is the authors' own code as the ``syncnet-python`` package carries it (test-only, installed with
``--no-deps``: ``make setup``): its ``SyncNetModel.S`` on random weights, saved as the state dict the import
reads, and its ``calc_pdist`` for the offset and confidence. The package's ``__init__`` imports its whole
pipeline (S3FD, scenedetect, ffmpeg-python), so its two files are loaded by path. The MFCCs are checked against
``python_speech_features`` (also test-only, ``--no-deps``), which the authors use.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")

#: the issue's tolerance on the embeddings, IR against the authors' model (both float32)
EMBEDDING_TOLERANCE = 1e-4


def _reference_file(name: str) -> ModuleType:
    """One module of the installed ``syncnet-python`` package, loaded by path (not through its ``__init__``)."""
    from importlib import metadata

    try:
        dist = metadata.distribution("syncnet-python")
    except metadata.PackageNotFoundError:
        pytest.skip("syncnet-python is not installed (make setup installs it with --no-deps, test-only)")
    files = [f for f in dist.files or [] if f.name == name]
    assert files, f"syncnet-python has no {name}"
    spec = importlib.util.spec_from_file_location(f"_syncnet_reference_{name[:-3]}", dist.locate_file(files[0]))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _randomise_norms(model: Any, generator: Any) -> None:
    """Random batch-norm statistics and affine parameters: the defaults (mean 0, var 1, weight 1, bias 0) are
    an identity that would hide a mistake in how the IR folds them."""
    for module in model.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            n = module.num_features
            module.running_mean.copy_(torch.randn(n, generator=generator) * 0.1)
            module.running_var.copy_(torch.rand(n, generator=generator) * 0.5 + 0.75)
            module.weight.data.copy_(torch.rand(n, generator=generator) * 0.5 + 0.75)
            module.bias.data.copy_(torch.randn(n, generator=generator) * 0.1)


@pytest.fixture(scope="module")
def reference_and_folder(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path, Path]:
    from shared.cli import main

    S = _reference_file("SyncNetModel.py").S
    generator = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    reference = S(num_layers_in_fc_layers=1024)
    with torch.no_grad():
        _randomise_norms(reference, generator)
    reference.eval()
    scratch = tmp_path_factory.mktemp("syncnet")
    checkpoint = scratch / "syncnet_v2.model"
    torch.save(reference.state_dict(), checkpoint)
    folder = scratch / "model"
    assert main(["models", "import-syncnet", str(checkpoint), "--out", str(folder)]) == 0
    return reference, checkpoint, folder


def test_the_ir_embeddings_match_the_authors_model(reference_and_folder: tuple[Any, Path, Path]) -> None:
    from shared.evidence.lips.syncnet import SyncNetScorer

    reference, _, folder = reference_and_folder
    scorer = SyncNetScorer.from_folder(folder)
    rng = np.random.default_rng(1)
    # what the check feeds: BGR 0-255 stacks of 5 frames, and MFCC windows of the scale real speech gives
    stacks = rng.integers(0, 256, (3, 3, 5, 224, 224)).astype(np.float32)
    mfccs = (rng.standard_normal((4, 1, 13, 20)) * 10).astype(np.float32)
    with torch.no_grad():
        expected_lip = reference.forward_lip(torch.from_numpy(stacks)).numpy()
        expected_aud = reference.forward_aud(torch.from_numpy(mfccs)).numpy()
    lip, aud = scorer.lip_embeddings(stacks), scorer.audio_embeddings(mfccs)
    assert lip.shape == (3, 1024) and aud.shape == (4, 1024)
    assert np.abs(lip - expected_lip).max() <= EMBEDDING_TOLERANCE, np.abs(lip - expected_lip).max()
    assert np.abs(aud - expected_aud).max() <= EMBEDDING_TOLERANCE, np.abs(aud - expected_aud).max()
    # the inputs differ, so must the embeddings: a network that ignored its input would pass the above by chance
    assert np.ptp(expected_lip[:, :8], axis=0).max() > 100 * EMBEDDING_TOLERANCE
    assert np.ptp(expected_aud[:, :8], axis=0).max() > 100 * EMBEDDING_TOLERANCE


def test_the_card_carries_the_recipe_licence_and_source(reference_and_folder: tuple[Any, Path, Path]) -> None:
    from shared.fsutil import sha256_file
    from shared.modelcard import ModelCard, SyncNetPreprocessing

    _, checkpoint, folder = reference_and_folder
    card = ModelCard.load(folder)
    assert card.kind == "lips" and card.networks == ["audio", "lip"]
    assert card.source is not None and card.source.sha256 == sha256_file(checkpoint)
    assert card.operating_point is None  # nothing measured: the section must judge nothing
    assert "MIT" in (card.notes or "")
    prep = card.preprocessing
    assert isinstance(prep, SyncNetPreprocessing)
    assert (prep.fps, prep.frames, prep.crop_size, prep.color, prep.numcep, prep.mfcc_frames) == (25, 5, 224, "BGR", 13, 20)
    for name in card.ir_files():
        assert (folder / name).is_file()


def test_a_file_with_a_missing_key_is_refused_naming_it(reference_and_folder: tuple[Any, Path, Path], tmp_path: Path) -> None:
    from shared.cli import main
    from shared.errors import CheckpointMismatch
    from shared.evidence.lips.syncnet_import import import_syncnet

    reference, _, _ = reference_and_folder
    state = reference.state_dict()
    del state["netfclip.3.weight"]
    broken = tmp_path / "broken.model"
    torch.save(state, broken)
    with pytest.raises(CheckpointMismatch, match=r"missing keys \(first: netfclip\.3\.weight\)"):
        import_syncnet(broken, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    # an extra key (another network's file) is refused too, and the CLI exits with the error's code
    state = reference.state_dict()
    state["netcnnlip.99.weight"] = torch.zeros(1)
    torch.save(state, broken)
    assert main(["models", "import-syncnet", str(broken), "--out", str(tmp_path / "out")]) == CheckpointMismatch.exit_code
    assert not (tmp_path / "out").exists()


def test_offset_and_confidence_are_the_authors(reference_and_folder: tuple[Any, Path, Path]) -> None:
    """``calc_pdist`` and the lines of ``SyncNetInstance.evaluate`` after it, on embeddings whose best shift is known."""
    from shared.evidence.lips.syncnet import reading, shifted_distances

    instance = _reference_file("SyncNetInstance.py")
    rng = np.random.default_rng(2)
    audio = rng.standard_normal((60, 1024)).astype(np.float32)
    lag = 4  # picture window i carries the sound of window i + 4: the sound comes after the picture
    lip = np.roll(audio, -lag, axis=0) + 0.3 * rng.standard_normal((60, 1024)).astype(np.float32)
    dists = instance.calc_pdist(torch.from_numpy(lip), torch.from_numpy(audio), vshift=15)
    mdist = torch.mean(torch.stack(dists, 1), 1)
    minval, minidx = torch.min(mdist, 0)
    expected_offset, expected_conf = 15 - int(minidx), float(torch.median(mdist) - minval)
    ours = shifted_distances(lip, audio, 15)
    np.testing.assert_allclose(ours, torch.stack(dists).numpy(), rtol=1e-5, atol=1e-4)
    found = reading(ours, 15)
    assert found.offset_frames == expected_offset == -lag  # the authors count the other way round
    assert found.confidence == pytest.approx(expected_conf, rel=1e-5)
    assert found.offset_ms(25) == 160  # the lips section's sign: sound after the picture


def test_mfcc_matches_python_speech_features() -> None:
    psf = pytest.importorskip("python_speech_features", reason="test-only reference, make setup installs it")
    from fixtures_media import speech_like_signal

    from shared.evidence.lips.syncnet import mfcc, to_sample_units
    from shared.modelcard import SyncNetPreprocessing

    prep = SyncNetPreprocessing()
    wave = speech_like_signal(2.03, 16000, seed=3)
    samples = to_sample_units(wave, prep).astype(np.int16)  # what the authors' wavfile.read returns
    expected = psf.mfcc(samples, 16000)
    got = mfcc(samples, prep)
    assert got.shape == expected.shape == (202, 13)  # 1 + ceil((32480 - 400) / 160)
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-8)
    assert np.ptp(expected[:, 1]) > 1.0  # the coefficients move with the syllables


@pytest.fixture(scope="module")
def talking_clip(tmp_path_factory: pytest.TempPathFactory, shared_media: Path) -> Path:
    """A short generated clip (a face) with real speech under it (the generated speech-like signal is not
    speech to the voice-activity model, and the check needs speech)."""
    from fixtures_media import _compose, write_video

    scratch = tmp_path_factory.mktemp("syncnet-clip")
    silent = write_video(scratch / "face.mp4", lambda i: _compose(480, 640, i / 25, [(140 + i % 7, 60)], side=380), 150)
    clip = scratch / "talking.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-i", str(silent), "-i", str(shared_media / "talking" / "real_hyperlips_input_01.mp4"),
         "-map", "0:v", "-map", "1:a", "-c:v", "copy", "-c:a", "aac", "-shortest", str(clip)],
        check=True,
    )
    return clip


def _lips_with(model: str, clip: Path, every: int, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any, list[str]]:
    """The lips check on ``clip`` as ``deepfake analyze`` runs it, with ``DEEPFAKE_LIPS_MODEL=model``."""
    from test_lips import _lips

    from shared.settings import get_analyze_settings

    monkeypatch.setenv("DEEPFAKE_LIPS_MODEL", model)
    get_analyze_settings.cache_clear()
    try:
        return _lips(clip, every)
    finally:
        get_analyze_settings.cache_clear()


def test_the_lips_check_reports_syncnet_offset_and_confidence_without_a_verdict(
    reference_and_folder: tuple[Any, Path, Path], talking_clip: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """End to end, every frame analysed (SyncNet reads every frame)."""
    from shared.evidence.lips.syncnet import SyncNetLips

    prepared, section, reasons = _lips_with(str(reference_and_folder[2]), talking_clip, 1, monkeypatch)
    assert isinstance(prepared, SyncNetLips), getattr(prepared, "reason", None)
    assert section.status == "analyzed", section.reason
    assert section.verdict == "not_applicable" and section.score is None and section.band is None
    assert "no operating point" in (section.reason or "")
    assert section.model is not None and section.model.architecture == "syncnet-v2"
    assert section.offset_ms is not None and abs(section.offset_ms) <= 15 * 40 and section.offset_ms % 40 == 0
    assert section.confidence is not None and section.confidence >= 0.0
    speaker = next(t for t in section.tracks if t.track_id == section.speaker_track)
    assert speaker.windows and speaker.windows[0].end_s - speaker.windows[0].start_s >= 1.0
    assert any("judges nothing" in r for r in reasons)


def test_sparse_frames_and_an_unusable_folder_are_refused_in_words(
    reference_and_folder: tuple[Any, Path, Path], talking_clip: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Every second frame cannot feed SyncNet; a setting naming no SyncNet folder is said, not silently
    replaced by the face-mesh signal."""
    _, section, _ = _lips_with(str(reference_and_folder[2]), talking_clip, 2, monkeypatch)
    assert section.status == "not_applicable" and section.verdict == "not_applicable"
    assert "--every 1" in (section.reason or "") and section.model is not None
    _, section, _ = _lips_with(str(tmp_path), talking_clip, 1, monkeypatch)
    assert section.status == "not_applicable" and section.offset_ms is None
    assert "DEEPFAKE_LIPS_MODEL cannot be used" in (section.reason or "")


def test_the_authors_square_is_cut_from_the_face_crop_where_they_would_cut_it_from_the_frame() -> None:
    """The crop against the authors' own recipe on the whole frame (``run_pipeline.py``'s ``crop_video``: pad
    the frame with grey 110, cut ``[y - s, y + s (1 + 2 cs)] x [x - s (1 + cs), x + s (1 + cs)]``, resize to
    224), on a box whose square reaches below the face stage's crop."""
    import cv2
    from fixtures_media import _compose

    from shared.evidence.lips.syncnet import syncnet_crop
    from shared.faces.crop import crop_face_scale_policy, enlarge_box, scale_crop_region
    from shared.modelcard import SyncNetPreprocessing

    prep = SyncNetPreprocessing()
    frame = _compose(480, 640, 0.0, [(200, 150)], side=300)
    box = np.array([260.0, 250.0, 400.0, 400.0])  # near the bottom edge: the authors' square runs past it
    ours = crop_face_scale_policy(frame, box)
    r = scale_crop_region(enlarge_box(box, 0.2, frame.shape), 640, 480, 224)
    region = (round(r.left), round(r.top), round(r.right), round(r.bottom))
    half = max(box[2] - box[0], box[3] - box[1]) / 2
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    got = syncnet_crop(ours, region, (cx, cy), half, prep)

    bgr = frame[:, :, ::-1]
    pad = int(half * (1 + 2 * prep.crop_scale))
    padded = np.pad(bgr, ((pad, pad), (pad, pad), (0, 0)), constant_values=prep.pad_value)
    my, mx = cy + pad, cx + pad
    face = padded[int(my - half) : int(my + half * (1 + 2 * prep.crop_scale)),
                  int(mx - half * (1 + prep.crop_scale)) : int(mx + half * (1 + prep.crop_scale))]
    expected = cv2.resize(face, (224, 224))
    difference = np.abs(got.astype(float) - expected.astype(float)).mean(axis=2)
    # both resample (Pillow's antialiased bilinear then ours, against one OpenCV resize): a few grey levels
    # apart; the same square shifted by 5 % of its side is far more
    assert np.median(difference) < 4.0, np.median(difference)
    shifted = syncnet_crop(ours, region, (cx + 0.05 * 2.8 * half, cy), half, prep)
    assert np.median(np.abs(shifted.astype(float) - expected.astype(float)).mean(axis=2)) > 2 * np.median(difference)
    # below the face stage's crop (which ends 20 % of the box under it) the authors' square still shows the
    # frame, ours the padding grey: the one known difference (docs/lips.md), here the lowest 5 rows
    assert (got[-5:] == prep.pad_value).all() and not (expected[-5:] == prep.pad_value).all()
