"""Decode uploaded or on-disk images (PNG, JPG, GIF, ...) into arrays for preprocessing.

Pillow reads the header first, so the pixel count is checked before any pixels are
decoded; photos are turned upright by their EXIF orientation.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from utils.preprocess import ImageError

MAX_IMAGE_PIXELS = 40_000_000  # a 12 MP phone photo is fine; a 10,000 x 10,000 bomb is not
_HIGH_DEPTH_MODES = {"I", "I;16", "I;16B", "I;16L", "I;16N", "F"}


def decode_image(data: bytes, label: str = "image") -> np.ndarray:
    """Bytes of an image file to an (H, W) or (H, W, 3|4) array; ImageError says what is wrong."""
    if not data:
        raise ImageError(f"{label}: the file is empty")
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            if width * height > MAX_IMAGE_PIXELS:
                raise ImageError(
                    f"{label}: {width}x{height} pixels is too large (limit {MAX_IMAGE_PIXELS // 1_000_000} megapixels)"
                )
            image.seek(0)  # the first frame of an animation
            upright = ImageOps.exif_transpose(image)
            return np.asarray(_normalise_mode(upright))
    except ImageError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError) as error:
        raise ImageError(f"{label}: not a readable image ({error})") from error
    except (OSError, ValueError, SyntaxError, EOFError) as error:  # truncated or corrupt data
        raise ImageError(f"{label}: the image data is damaged ({error})") from error


def read_image_file(path: str | os.PathLike) -> np.ndarray:
    """Read and decode an image file; unreadable paths raise ImageError naming the file."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise ImageError(f"{os.fspath(path)}: cannot read the file ({error.strerror or error})") from error
    return decode_image(data, label=os.fspath(path))


def _normalise_mode(image: Image.Image) -> Image.Image:
    if image.mode in ("L", "RGB", "RGBA") or image.mode in _HIGH_DEPTH_MODES:
        return image
    has_alpha = image.mode in ("LA", "PA", "RGBa", "La") or "transparency" in image.info
    return image.convert("RGBA" if has_alpha else "RGB")
