"""Stable Diffusion's DWT-DCT watermark: embedded here with invisible-watermark as SD's code does, found
again by shared.provenance; the vectorised decoder equals the package's own decode bit for bit.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from provenance_helpers import SdkSigner, created, encode_image, imwatermark_file_module

from shared.provenance import ProvenanceSettings, inspect_provenance
from shared.provenance.watermark import KNOWN_WATERMARKS, bits_for_length, block_scores, check_watermarks

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def max_dct():
    return imwatermark_file_module("maxDct")


def _embed_bgr(max_dct, bgr: np.ndarray, bits: tuple[int, ...]) -> np.ndarray:
    # What WatermarkEncoder.encode(image, "dwtDct") runs, with the package's default scales.
    return max_dct.EmbedMaxDct(list(bits), wmLen=len(bits)).encode(bgr)


def _sd_script_png(max_dct, rgb: np.ndarray, bits: tuple[int, ...]) -> bytes:
    """As SD's txt2img.py put_watermark: RGB -> BGR, encode 'dwtDct', back to RGB, saved as PNG."""
    bgr = np.ascontiguousarray(rgb[:, :, ::-1])
    marked = _embed_bgr(max_dct, bgr, bits)
    return encode_image(np.ascontiguousarray(marked[:, :, ::-1]), "PNG")


def test_public_encoder_is_what_the_tests_embed_with(astronaut: np.ndarray, max_dct) -> None:
    """WatermarkEncoder (the class SD's scripts call) and EmbedMaxDct give the same image."""
    from imwatermark import WatermarkEncoder  # imports torch: once, here only

    encoder = WatermarkEncoder()
    encoder.set_watermark("bytes", b"SDV2")
    bgr = np.ascontiguousarray(astronaut[:, :, ::-1])
    expected = encoder.encode(bgr.copy(), "dwtDct")
    bits = KNOWN_WATERMARKS[1].bits
    assert np.array_equal(expected, _embed_bgr(max_dct, bgr.copy(), bits))


@pytest.mark.parametrize("mark", KNOWN_WATERMARKS, ids=lambda m: m.name)
def test_stable_diffusion_watermarks_found(mark, astronaut: np.ndarray, max_dct, write, defaults: ProvenanceSettings) -> None:
    section = inspect_provenance(write(f"{mark.name}.png", _sd_script_png(max_dct, astronaut, mark.bits)), defaults)
    assert section.watermarks.status == "found"
    assert [(m.name, m.bit_errors, m.channel_order) for m in section.watermarks.found] == [(mark.name, 0, "bgr")]
    assert section.evidence == "synthetic_declared" and section.verdict == "fake"
    assert any("Invisible watermark of Stable Diffusion" in r for r in section.reasons)


def test_diffusers_channel_order(astronaut: np.ndarray, max_dct) -> None:
    # diffusers' StableDiffusionXLWatermarker hands RGB arrays to the same encoder.
    sdxl = KNOWN_WATERMARKS[2]
    marked = _embed_bgr(max_dct, np.ascontiguousarray(astronaut).astype(np.float32), sdxl.bits)
    rgb = np.clip(np.rint(marked), 0, 255).astype(np.uint8)
    section = check_watermarks(rgb)
    assert [(m.name, m.channel_order) for m in section.found] == [("stable-diffusion-xl", "rgb")]
    assert section.found[0].bit_errors <= 2


def test_unmarked_images_are_not_found(astronaut: np.ndarray, shared_media: Path, defaults: ProvenanceSettings) -> None:
    assert check_watermarks(astronaut).status == "not_found"
    noise = np.random.default_rng(0).integers(0, 256, (384, 512, 3), dtype=np.uint8)
    assert check_watermarks(noise).status == "not_found"
    for name in ("CA.jpg", "no_manifest.jpg"):
        section = inspect_provenance(shared_media / "provenance" / name, defaults)
        assert section.watermarks.status == "not_found", name
        assert "not evidence either way" in (section.watermarks.reason or "")


def test_too_small_to_carry_it(astronaut: np.ndarray) -> None:
    section = check_watermarks(np.ascontiguousarray(astronaut[:200, :200]))
    assert section.status == "not_checked" and "256x256" in (section.reason or "")


def _spread_guard(bits: np.ndarray) -> None:
    # A decoder that always answers zeros would pass an equality test on flat images: check it varies.
    assert 0 < bits.mean() < 1


@pytest.mark.parametrize("length", sorted({len(m.bits) for m in KNOWN_WATERMARKS} | {8, 100}))
def test_decoder_equals_the_package_decode(length: int, astronaut: np.ndarray, max_dct) -> None:
    rng = np.random.default_rng(length)
    marked = _embed_bgr(max_dct, np.ascontiguousarray(astronaut[:, :, ::-1]), KNOWN_WATERMARKS[1].bits)
    images = {
        "astronaut": np.ascontiguousarray(astronaut[:, :, ::-1]),
        "odd-crop": np.ascontiguousarray(astronaut[3:392, 5:522:1, ::-1]),
        "marked": marked,
        "noise": rng.integers(0, 256, (300, 420, 3), dtype=np.uint8),
    }
    spread = []
    for name, bgr in images.items():
        expected = np.asarray(max_dct.EmbedMaxDct(watermarks=[], wmLen=length).decode(bgr), dtype=np.uint8)
        ours = bits_for_length(block_scores(bgr), length)
        assert np.array_equal(ours, expected), name
        spread.append(ours)
    _spread_guard(np.concatenate(spread))


def test_no_torch_and_no_native_c2pa_in_the_calling_process(
    astronaut: np.ndarray, max_dct, sdk_signer: SdkSigner, jpeg_bytes: bytes, tmp_path: Path
) -> None:
    marked = tmp_path / "marked.png"
    marked.write_bytes(_sd_script_png(max_dct, astronaut, KNOWN_WATERMARKS[0].bits))
    signed = tmp_path / "signed.jpg"
    signed.write_bytes(sdk_signer.sign(jpeg_bytes, "image/jpeg", [created("trainedAlgorithmicMedia")])[0])
    script = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from shared.provenance import inspect_provenance\n"
        f"a = inspect_provenance(Path({str(marked)!r}))\n"
        f"b = inspect_provenance(Path({str(signed)!r}))\n"
        "loaded = sorted(m for m in ('torch', 'torchvision', 'imwatermark', 'c2pa') if m in sys.modules)\n"
        "print(json.dumps([a.verdict, b.verdict, loaded]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=300, check=True,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert json.loads(done.stdout.strip().splitlines()[-1]) == ["fake", "fake", []]
