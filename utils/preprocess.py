"""Turn any picture of a digit into the 28x28 input MNIST digits were made as.

MNIST's recipe (LeCun et al.): the digit's bounding box is scaled to fit 20x20 keeping
its aspect ratio, with anti-aliasing, then placed in a 28x28 field so that its centre of
mass sits at the centre. Users draw white on black on the canvas, but photos of paper
are dark on light, so polarity is judged from the border before anything else.
"""

from __future__ import annotations

import cv2
import numpy as np

MNIST_SIDE = 28
DIGIT_BOX = 20
CENTRE = 14.0  # MNIST's mean centre of mass, in pixel-index coordinates
MIN_CONTRAST = 0.15  # ink must differ from the background by this much (of full scale)
NOISE_FLOOR = 0.2  # ink levels below this fraction of the contrast are paper or noise


class ImageError(ValueError):
    """An array that cannot be read as an image at all."""


def preprocess_digit(image: np.ndarray) -> np.ndarray | None:
    """Return the 28x28 float32 MNIST-style input, or None when nothing is drawn.

    Accepts a grayscale (H, W) array, or (H, W, C) with 1, 3 (RGB) or 4 (RGBA) channels,
    of any numeric dtype. Raises ImageError for anything that is not an image.
    """
    ink = ink_map(to_luminance(image))
    if ink is None:
        return None
    box = ink_bounding_box(ink)
    if box is None:
        return None
    top, bottom, left, right = box
    return centre_by_mass(fit_to_box(ink[top:bottom, left:right], DIGIT_BOX), MNIST_SIDE)


def to_luminance(image: np.ndarray) -> np.ndarray:
    """Any supported array to a float32 (H, W) luminance map in [0, 1]."""
    try:
        array = np.asarray(image)
    except (ValueError, TypeError) as error:  # ragged nested lists and the like
        raise ImageError(f"not an image array ({error})") from error
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise ImageError(f"expected an (H, W), (H, W, 3) or (H, W, 4) array, got shape {array.shape}")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ImageError(f"the image is empty (shape {array.shape})")
    scaled = _to_unit_range(array)
    if scaled.ndim == 2:
        return scaled
    rgb = scaled[:, :, :3]
    luminance = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)
    if scaled.shape[2] == 4:
        luminance = _composite_alpha(luminance, scaled[:, :, 3])
    return luminance


def _to_unit_range(array: np.ndarray) -> np.ndarray:
    if array.dtype == np.bool_:
        return array.astype(np.float32)
    if np.issubdtype(array.dtype, np.integer):
        info = np.iinfo(array.dtype)
        if info.min == 0:
            return (array.astype(np.float32) / np.float32(info.max)).astype(np.float32)
        array = array.astype(np.float64)
    elif not np.issubdtype(array.dtype, np.floating):
        raise ImageError(f"pixel values must be numbers, got dtype {array.dtype}")
    array = array.astype(np.float64)
    if not np.isfinite(array).all():
        raise ImageError("the image contains NaN or infinite values")
    low, high = float(array.min()), float(array.max())
    if low >= 0.0 and high <= 1.0:
        return array.astype(np.float32)
    if high - low == 0.0:
        return np.zeros(array.shape, np.float32)
    return ((array - low) / (high - low)).astype(np.float32)


def _composite_alpha(luminance: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Flatten transparency onto a backdrop that contrasts with the opaque pixels.

    The canvas is opaque everywhere, so this is a no-op there; a transparent PNG of dark
    ink lands on white and one of light ink on black, so the ink stays visible.
    """
    if alpha.min() == alpha.max():
        return luminance
    opaque = alpha > 0.5
    backdrop = 1.0 if opaque.any() and np.median(luminance[opaque]) < 0.5 else 0.0
    return (luminance * alpha + backdrop * (1.0 - alpha)).astype(np.float32)


def ink_map(luminance: np.ndarray) -> np.ndarray | None:
    """White-on-black ink levels in [0, 1] with paper and noise set to 0; None if blank.

    The background is the median of the border; if it is light, the image is inverted.
    """
    background = float(np.median(_border(luminance)))
    ink = 1.0 - luminance if background > 0.5 else luminance
    background = min(background, 1.0 - background)
    peak = float(cv2.GaussianBlur(ink, (3, 3), 0).max()) if min(ink.shape) >= 3 else float(ink.max())
    if peak - background < MIN_CONTRAST:
        return None
    level = np.clip((ink - background) / (peak - background), 0.0, 1.0).astype(np.float32)
    level[level < NOISE_FLOOR] = 0.0
    return level


def _border(image: np.ndarray) -> np.ndarray:
    return np.concatenate([image[0, :], image[-1, :], image[:, 0], image[:, -1]])


def ink_bounding_box(ink: np.ndarray) -> tuple[int, int, int, int] | None:
    """(top, bottom, left, right), end-exclusive, of all non-zero pixels; None if none."""
    rows = np.flatnonzero(ink.any(axis=1))
    cols = np.flatnonzero(ink.any(axis=0))
    if rows.size == 0:
        return None
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def fit_to_box(crop: np.ndarray, side: int) -> np.ndarray:
    """Scale so the longer side is ``side`` px, keeping aspect ratio; area-averaging anti-aliases."""
    height, width = crop.shape
    scale = side / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    interpolation = cv2.INTER_AREA if scale < 1.0 else cv2.INTER_LINEAR
    return np.clip(cv2.resize(crop, size, interpolation=interpolation), 0.0, 1.0)


def centre_by_mass(patch: np.ndarray, side: int) -> np.ndarray:
    """Paste ``patch`` into a side x side field with its centre of mass at MNIST's centre."""
    total = float(patch.sum())
    rows, cols = np.indices(patch.shape)
    mass_row = float((rows * patch).sum()) / total if total else (patch.shape[0] - 1) / 2
    mass_col = float((cols * patch).sum()) / total if total else (patch.shape[1] - 1) / 2
    centre = CENTRE * side / MNIST_SIDE
    top, left = round(centre - mass_row), round(centre - mass_col)
    field = np.zeros((side, side), np.float32)
    src_top, src_left = max(0, -top), max(0, -left)
    dst_top, dst_left = max(0, top), max(0, left)
    height = min(patch.shape[0] - src_top, side - dst_top)
    width = min(patch.shape[1] - src_left, side - dst_left)
    if height > 0 and width > 0:
        field[dst_top : dst_top + height, dst_left : dst_left + width] = patch[
            src_top : src_top + height, src_left : src_left + width
        ]
    return field


def as_model_input(digit: np.ndarray) -> np.ndarray:
    """A 28x28 digit (or a batch of them) as the (N, 784) float32 rows the network takes."""
    digit = np.asarray(digit, dtype=np.float32)
    return digit.reshape(-1, MNIST_SIDE * MNIST_SIDE)


PREPROCESSING_VERSION = "mnist-box20-com28-v1"  # recorded with each model it trained
