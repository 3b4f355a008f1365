"""Invisible watermarks of known generators: the DWT-DCT mark of Stable Diffusion's reference code.

``check_watermarks(rgb, note) -> WatermarkSection``. Stable Diffusion's reference scripts embed a fixed
message with the ``invisible-watermark`` package (``imwatermark``, method ``dwtDct``, its default
scales): ``"StableDiffusionV1"`` (CompVis ``scripts/txt2img.py``), ``"SDV2"`` (Stability-AI
``stablediffusion`` scripts) and a fixed 48-bit string in SDXL (Stability-AI ``generative-models``
``sgm/inference/helpers.py``; diffusers' ``StableDiffusionXLWatermarker``). The reference scripts pass
BGR arrays; diffusers passes RGB arrays to the same encoder, so both channel orders are decoded.

Decoding is ``EmbedMaxDct.decode`` (``imwatermark/maxDct.py``) vectorised with numpy: the same YUV
conversion, the same PyWavelets Haar transform, the same per-block rule, the same vote per bit; a test
checks the bits equal the package's own ``decode`` for every message length, on marked and unmarked
images. Why not call the package: its ``decode`` loops over 4x4 blocks in Python and repeats the loop
for every message length and channel order (measured here on a 2100x1500 photo, load ~14, CPU
seconds: 3.75 s with the package for three lengths and two orders, 0.25 s vectorised), and
``import imwatermark`` imports torch (its RivaGAN module), which the inference path must not load;
its wheel also requires the non-headless ``opencv-python``. So the package is a test dependency (the
reference decoder, and the encoder the tests watermark with).

A match allows at most 5 % bit errors (1 of 32, 2 of 48, 6 of 136): uniformly random bits would match
a given 32-bit message with probability ~1e-8, and real photos decode to mostly-zero bits, far from
every known message. The mark survives lossless saves and mild edits, not JPEG re-compression or
resizing, and most generators do not embed it: not finding it says nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from shared.provenance._deps import require
from shared.provenance.section import WatermarkMatch, WatermarkSection

#: ``EmbedMaxDct``'s default scales (Y skipped, U and V at 36), which every Stable Diffusion script uses.
SCALES = (0, 36, 36)
BLOCK = 4
#: The encoder refuses images with fewer pixels (``WatermarkEncoder.encode``), so they carry no mark.
MIN_PIXELS = 256 * 256
MAX_ERROR_FRACTION = 0.05


@dataclass(frozen=True)
class KnownWatermark:
    name: str
    generator: str
    message: str
    bits: tuple[int, ...]


def _bits_of_bytes(data: bytes) -> tuple[int, ...]:
    return tuple(int(b) for b in np.unpackbits(np.frombuffer(data, dtype=np.uint8)))


#: SDXL's ``WATERMARK_MESSAGE = 0b1011...0`` (0xB3EC907BB19E), bits as ``bin(x)[2:]``.
_SDXL_MESSAGE = 0xB3EC907BB19E

KNOWN_WATERMARKS: tuple[KnownWatermark, ...] = (
    KnownWatermark(
        "stable-diffusion-v1",
        "Stable Diffusion 1.x reference scripts (CompVis stable-diffusion, scripts/txt2img.py)",
        "StableDiffusionV1",
        _bits_of_bytes(b"StableDiffusionV1"),
    ),
    KnownWatermark(
        "stable-diffusion-v2",
        "Stable Diffusion 2.x reference scripts (Stability-AI stablediffusion, scripts/txt2img.py)",
        "SDV2",
        _bits_of_bytes(b"SDV2"),
    ),
    KnownWatermark(
        "stable-diffusion-xl",
        "Stable Diffusion XL (Stability-AI generative-models sgm/inference/helpers.py; diffusers' "
        "StableDiffusionXLWatermarker)",
        f"0x{_SDXL_MESSAGE:X}",
        tuple(int(b) for b in bin(_SDXL_MESSAGE)[2:]),
    ),
)


def _max_coefficient_bits(approximation: np.ndarray, scale: int) -> np.ndarray:
    """``EmbedMaxDct.infer_dct_matrix`` for every 4x4 block at once, in its row-major visiting order.

    Per block: the largest-magnitude coefficient after the first (first index on ties, as np.argmax),
    bit = (|value| mod scale) > scale / 2.
    """
    rows, cols = approximation.shape[0] // BLOCK, approximation.shape[1] // BLOCK
    blocks = (
        approximation[: rows * BLOCK, : cols * BLOCK]
        .reshape(rows, BLOCK, cols, BLOCK)
        .transpose(0, 2, 1, 3)
        .reshape(rows * cols, BLOCK * BLOCK)
    )
    if blocks.size == 0:
        return np.zeros(0)
    position = np.argmax(np.abs(blocks[:, 1:]), axis=1) + 1
    values = np.abs(blocks[np.arange(blocks.shape[0]), position])
    return (np.mod(values, scale) > 0.5 * scale).astype(np.float64)


def block_scores(bgr: np.ndarray) -> list[np.ndarray]:
    """Per-block bit scores (0/1) of each watermarked channel, in the order ``EmbedMaxDct.decode`` visits them.

    Raises:
        ProvenanceUnavailable: PyWavelets is not installed.
    """
    require("pywt", "PyWavelets")
    import cv2
    import pywt

    rows, cols = bgr.shape[:2]
    yuv = cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV)
    channels = []
    # As EmbedMaxDct.decode: channels 0 and 1 only (its loop is range(2)), skipped when the scale is 0,
    # one-level Haar DWT of the channel cropped to a multiple of 4, scores of the approximation band.
    for channel in range(2):
        if SCALES[channel] <= 0:
            continue
        approximation, _ = pywt.dwt2(yuv[: rows // 4 * 4, : cols // 4 * 4, channel], "haar")
        channels.append(_max_coefficient_bits(approximation, SCALES[channel]))
    return channels


def bits_for_length(channels: list[np.ndarray], length: int) -> np.ndarray:
    """The ``length`` decoded bits: block ``n`` of each channel votes for bit ``n % length`` (as in decode)."""
    sums = np.zeros(length)
    counts = np.zeros(length)
    for scores in channels:
        slots = np.arange(scores.size) % length
        sums += np.bincount(slots, weights=scores, minlength=length)
        counts += np.bincount(slots, minlength=length)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = sums / counts
    return (np.nan_to_num(means) * 255 > 127).astype(np.uint8)


def check_watermarks(rgb: np.ndarray | None, note: str | None = None) -> WatermarkSection:
    """Look for every known watermark in an RGB image (``None``: not a decodable still image).

    Raises:
        ProvenanceUnavailable: PyWavelets is not installed.
    """
    names = [w.name for w in KNOWN_WATERMARKS]
    if rgb is None:
        return WatermarkSection(
            status="not_checked", checked=names, reason=note or "not a still image: these watermarks are in image pixels"
        )
    height, width = rgb.shape[:2]
    if height * width < MIN_PIXELS:
        return WatermarkSection(
            status="not_checked",
            checked=names,
            reason=f"{width}x{height} is smaller than the 256x256 pixels the watermark encoder requires",
        )
    found: list[WatermarkMatch] = []
    orders: tuple[tuple[Literal["bgr", "rgb"], np.ndarray], ...] = (
        ("bgr", np.ascontiguousarray(rgb[:, :, ::-1])),
        ("rgb", np.ascontiguousarray(rgb)),
    )
    for order, array in orders:
        channels = block_scores(array)
        for mark in KNOWN_WATERMARKS:
            if any(f.name == mark.name for f in found):
                continue
            bits = bits_for_length(channels, len(mark.bits))
            errors = int(np.count_nonzero(bits != np.asarray(mark.bits, dtype=np.uint8)))
            if errors <= int(len(mark.bits) * MAX_ERROR_FRACTION):
                found.append(
                    WatermarkMatch(
                        name=mark.name,
                        generator=mark.generator,
                        message=mark.message,
                        bits=len(mark.bits),
                        bit_errors=errors,
                        channel_order=order,
                    )
                )
    if found:
        return WatermarkSection(status="found", checked=names, found=found)
    return WatermarkSection(
        status="not_found",
        checked=names,
        reason="no known watermark: most generators embed none and JPEG re-compression or resizing removes "
        "this one, so this is not evidence either way",
    )
