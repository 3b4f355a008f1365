"""Still pictures that Pillow decodes but reads wrongly by default: a malformed metadata block, 16-bit grey."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, PngImagePlugin

from shared.media.image import decode_still


def test_malformed_orientation_metadata_is_judged_as_stored_and_said() -> None:
    # A PNG whose EXIF travels hex-encoded in a text chunk (ImageMagick's "Raw profile type exif") with a
    # bad hex digit, as on a real camera PNG of ../shared/media/aiimage: the pixels decode; only the
    # orientation cannot be read. Before, the whole picture was refused as undecodable.
    rgb = np.zeros((40, 60, 3), np.uint8)
    rgb[:, :30] = 200
    info = PngImagePlugin.PngInfo()
    info.add_text("Raw profile type exif", "\nexif\n      20\n4578696600004d4d002a0000zz08\n")
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "PNG", pnginfo=info)
    buf.seek(0)
    still = decode_still(buf, "bad-exif.png")
    assert (still.rgb == rgb).all()
    assert len(still.notes) == 1 and "orientation tag could not be read" in still.notes[0]


def test_16_bit_grey_keeps_its_tones() -> None:
    # Pillow's convert("RGB") clips 16-bit grey above 255 to white; the decoder scales it instead.
    ramp = np.tile(np.linspace(0, 65535, 64).astype(np.uint16), (16, 1))
    buf = io.BytesIO()
    Image.fromarray(ramp).save(buf, "PNG")
    buf.seek(0)
    still = decode_still(buf, "grey16.png")
    assert still.pil.mode.startswith("I")
    expected = np.round(ramp / 65535 * 255).astype(np.uint8)
    assert np.abs(still.rgb[:, :, 0].astype(int) - expected).max() <= 1
    assert (still.rgb[:, :, 0] == still.rgb[:, :, 2]).all()
    assert 100 < still.rgb.mean() < 155  # not the near-white picture of a clipped conversion
