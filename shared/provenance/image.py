"""Open a still image once (Pillow) for both the metadata and the watermark checks, within bounds.

A file Pillow does not identify is not a still image (``None``): the metadata check then reads its
container tags with PyAV instead. Pixels are decoded only up to ``watermark_max_pixels``: the
watermark check needs them, and larger images would cost seconds for a watermark that generators
embed at their native sizes (≤ 1–2 MP); metadata of larger images is still read from the header.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from shared.settings import ProvenanceSettings


@dataclass
class LoadedImage:
    """A still image as opened: the Pillow handle (metadata) and its pixels when they were decoded."""

    image: Image.Image | None
    rgb: np.ndarray | None  # (H, W, 3) uint8, first frame
    note: str | None = None  # why ``image`` or ``rgb`` is missing

    def close(self) -> None:
        if self.image is not None:
            self.image.close()


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {' '.join(str(error).split())[:200]}"


def pixels_not_decoded(width: int, height: int, settings: ProvenanceSettings) -> str:
    """Why the watermark check saw no pixels: the image is larger than the check's limit."""
    return (
        f"pixels not decoded: {width}x{height} is more than DEEPFAKE_PROVENANCE_WATERMARK_MAX_PIXELS "
        f"({settings.watermark_max_pixels})"
    )


def load_image(path: Path, settings: ProvenanceSettings) -> LoadedImage | None:
    """Open ``path`` as a still image; ``None`` when it is not one. Never raises on the file's content."""
    try:
        with warnings.catch_warnings():
            # Between Pillow's warning and error sizes; pixels that large are not decoded here anyway.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(path)
    except UnidentifiedImageError:
        return None
    except Image.DecompressionBombError as error:
        return LoadedImage(None, None, note=f"the image is too large to open ({_describe(error)})")
    except Exception as error:  # noqa: BLE001 - hostile input may raise anything; report it, never crash
        return LoadedImage(None, None, note=f"the image could not be opened ({_describe(error)})")
    width, height = image.size
    if width * height > settings.watermark_max_pixels:
        return LoadedImage(image, None, note=pixels_not_decoded(width, height, settings))
    try:
        # load() also reads PNG text chunks stored after the image data.
        image.load()
        rgb = np.asarray(image.convert("RGB"), dtype=np.uint8)
    except Exception as error:  # noqa: BLE001 - truncated or corrupt pixel data
        return LoadedImage(image, None, note=f"the pixels could not be decoded ({_describe(error)})")
    return LoadedImage(image, rgb)
