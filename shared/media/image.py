"""Still images: load upright RGB (EXIF orientation applied), whatever the stored mode (L, P, RGBA, CMYK)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from shared.errors import CorruptMedia, InvalidArgument

#: refuse absurd images before decoding them (a decompression bomb is bad input, not a crash)
MAX_PIXELS = 80_000_000


def load_image(path: str | Path) -> np.ndarray:
    """Read an image file as an upright RGB ``uint8`` array ``(H, W, 3)``.

    Raises:
        CorruptMedia: the file cannot be decoded as an image.
        InvalidArgument: the image is larger than ``MAX_PIXELS``.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    path = Path(path)
    try:
        with Image.open(path) as img:
            if img.width * img.height > MAX_PIXELS:
                raise InvalidArgument(
                    f"{path.name}: image is {img.width}x{img.height}; the limit is {MAX_PIXELS:,} pixels"
                )
            upright = ImageOps.exif_transpose(img)
            return np.asarray(upright.convert("RGB"), dtype=np.uint8).copy()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise CorruptMedia(f"{path.name}: cannot be decoded as an image ({exc})") from None
