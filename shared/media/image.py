"""Still images: load upright RGB (EXIF orientation applied), whatever the stored mode (L, P, RGBA, CMYK).

Pillow decodes every still image (PNG, JPEG, WebP, BMP, TIFF, AVIF): it reads the header before any
pixel, so an absurd declared size is refused before memory is spent on it (a decompression bomb is bad
input, not a crash). AVIF needs a Pillow built with libavif (the PyPI wheels of Pillow >= 11.3 are).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
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
        upright = ImageOps.exif_transpose(img)
        return StillImage(rgb=np.asarray(upright.convert("RGB"), dtype=np.uint8).copy(), pil=img)
    except Image.DecompressionBombError as exc:
        # Pillow's own guard (twice its MAX_IMAGE_PIXELS) fires in Image.open, before our check can.
        raise FileTooLarge(
            f"{name}: the image is larger than the limit of {MAX_PIXELS:,} pixels ({exc})",
            limit_pixels=MAX_PIXELS,
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise CorruptMedia(f"{name}: cannot be decoded as an image ({exc})") from None


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
