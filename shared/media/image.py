"""Still images: load upright RGB (EXIF orientation applied), whatever the stored mode (L, P, RGBA, CMYK).

Pillow decodes every still image (PNG, JPEG, WebP, BMP, TIFF, AVIF): it reads the header before any
pixel, so an absurd declared size is refused before memory is spent on it (a decompression bomb is bad
input, not a crash). AVIF needs a Pillow built with libavif (the PyPI wheels of Pillow >= 11.3 are).
"""

from __future__ import annotations

import warnings
from pathlib import Path

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


def load_image(path: str | Path) -> np.ndarray:
    """Read an image file as an upright RGB ``uint8`` array ``(H, W, 3)``.

    Raises:
        CorruptMedia: the file cannot be decoded as an image.
        FileTooLarge: the image is larger than ``MAX_PIXELS``.
        UnsupportedMedia: an AVIF file and a Pillow without AVIF support.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    from shared.media.formats import AVIF, read_head, sniff

    path = Path(path)
    if sniff(read_head(str(path))) is AVIF:
        _require_avif(path)
    try:
        # Pillow warns (on stderr) above 89 MP; our own limit decides, and refusals are one line.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(path)
        with img:
            if img.width * img.height > MAX_PIXELS:
                raise _too_large(path.name, img.width, img.height)
            upright = ImageOps.exif_transpose(img)
            return np.asarray(upright.convert("RGB"), dtype=np.uint8).copy()
    except Image.DecompressionBombError as exc:
        # Pillow's own guard (twice its MAX_IMAGE_PIXELS) fires in Image.open, before our check can.
        raise FileTooLarge(
            f"{path.name}: the image is larger than the limit of {MAX_PIXELS:,} pixels ({exc})",
            limit_pixels=MAX_PIXELS,
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise CorruptMedia(f"{path.name}: cannot be decoded as an image ({exc})") from None
