"""Still images: load upright RGB (EXIF orientation applied), whatever the stored mode (L, P, RGBA, CMYK).

Pillow decodes every still image (PNG, JPEG, WebP, BMP, TIFF, AVIF): it reads the header before any
pixel, so an absurd declared size is refused before memory is spent on it (a decompression bomb is bad
input, not a crash). AVIF needs a Pillow built with libavif (the PyPI wheels of Pillow >= 11.3 are).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from shared.errors import CorruptMedia, FileTooLarge, UnsupportedMedia

#: refuse absurd images before decoding them (80 MP: larger than any phone or DSLR photo)
MAX_PIXELS = 80_000_000


def _too_large(name: str, width: int | None = None, height: int | None = None) -> FileTooLarge:
    size = f"{width}x{height} ({width * height:,} pixels)" if width and height else "larger than that"
    return FileTooLarge(
        f"{name}: the image is {size}; the limit is {MAX_PIXELS:,} pixels", limit_pixels=MAX_PIXELS
    )


def _require_avif(path: Path) -> None:
    from PIL import features

    if not features.check("avif"):
        raise UnsupportedMedia(
            f"{path.name}: AVIF images need Pillow built with AVIF support: "
            "pip install 'pillow>=11.3' (its wheels include libavif)"
        )


@dataclass
class StillImage:
    """A still image decoded once: upright pixels for the models, the Pillow handle for its metadata.

    ``rgb`` is upright (EXIF orientation applied): what faces and pictures are judged on. ``pil`` is the
    image as stored, already loaded (its pixels and every chunk after them, such as PNG text), for the
    metadata and watermark checks, which read the file as it was written (a watermark is embedded in the
    stored pixels, not the rotated ones).
    """

    rgb: np.ndarray  # (H, W, 3) uint8, upright
    pil: Any  # PIL.Image.Image, loaded
    #: what a reader should know about how it was decoded (an unreadable orientation tag)
    notes: list[str] = field(default_factory=list)

    def stored_rgb(self) -> np.ndarray:
        """The pixels as stored (before the EXIF orientation), RGB ``uint8``: a conversion, not a decode."""
        return np.asarray(self.pil.convert("RGB"), dtype=np.uint8)


def decode_still(stream: BinaryIO, name: str, *, avif: bool = False) -> StillImage:
    """Decode an image from an open binary stream (kept open by the returned handle).

    Raises:
        CorruptMedia: the stream cannot be decoded as an image.
        FileTooLarge: the image is larger than ``MAX_PIXELS``.
        UnsupportedMedia: an AVIF file and a Pillow without AVIF support.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    if avif:
        _require_avif(Path(name))
    try:
        # Pillow warns (on stderr) above 89 MP; our own limit decides, and refusals are one line.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(stream)
        if img.width * img.height > MAX_PIXELS:
            raise _too_large(name, img.width, img.height)
        img.load()  # also reads PNG text chunks stored after the image data
    except Image.DecompressionBombError as exc:
        # Pillow's own guard (twice its MAX_IMAGE_PIXELS) fires in Image.open, before our check can.
        raise FileTooLarge(
            f"{name}: the image is larger than the limit of {MAX_PIXELS:,} pixels ({exc})",
            limit_pixels=MAX_PIXELS,
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise CorruptMedia(f"{name}: cannot be decoded as an image ({exc})") from None
    notes = []
    try:
        upright = ImageOps.exif_transpose(img)
    except (SyntaxError, ValueError, OSError, KeyError, TypeError) as exc:
        # The pixels decoded; only the metadata block is malformed (seen on a real camera PNG: bad XMP hex).
        # The picture is judged as stored, and the report says its orientation tag could not be read.
        upright = img
        notes.append(f"its orientation tag could not be read ({exc}): the picture is judged as stored")
    return StillImage(rgb=_rgb8(upright), pil=img, notes=notes)


def _rgb8(img: Any) -> np.ndarray:
    """RGB ``uint8`` of any Pillow mode. Pillow's own conversion of 16- and 32-bit grey clips every value
    above 255 to white; those are scaled to 8 bits from their container's range instead."""
    if img.mode in WIDE_GREY_MODES:
        grey = np.asarray(img).astype(np.float64)
        top = 65535.0 if img.mode.startswith("I;16") or (grey.size and grey.max() <= 65535) else float(grey.max() or 1)
        grey8 = np.clip(np.round(grey * (255.0 / top)), 0, 255).astype(np.uint8)
        return np.repeat(grey8[:, :, None], 3, axis=2)
    return np.asarray(img.convert("RGB"), dtype=np.uint8).copy()


#: Pillow modes of integer grey samples wider than 8 bits (scaled to 8 bits by the decoder)
WIDE_GREY_MODES = frozenset({"I;16", "I;16B", "I;16L", "I;16N", "I"})


def load_image(path: str | Path) -> np.ndarray:
    """Read an image file as an upright RGB ``uint8`` array ``(H, W, 3)`` (tools and training sets; an
    analysis keeps the probe's :class:`StillImage` instead).

    Raises:
        CorruptMedia: the file cannot be decoded as an image.
        FileTooLarge: the image is larger than ``MAX_PIXELS``.
        UnsupportedMedia: an AVIF file and a Pillow without AVIF support.
    """
    from shared.media.formats import AVIF, SNIFF_BYTES, sniff

    path = Path(path)
    with open(path, "rb") as stream:
        avif = sniff(stream.read(SNIFF_BYTES)) is AVIF
        stream.seek(0)
        still = decode_still(stream, path.name, avif=avif)
        rgb = still.rgb
        still.pil.close()
    return rgb
