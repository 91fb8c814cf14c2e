"""Pictures for people: digits enlarged so every one of the 784 inputs is visible."""

from __future__ import annotations

import numpy as np

GRID_GRAY = 70


def pixel_grid(digit: np.ndarray, scale: int = 10) -> np.ndarray:
    """A 28x28 [0, 1] digit as an enlarged uint8 RGB picture with a thin grid between pixels."""
    levels = (np.clip(np.asarray(digit, np.float32), 0.0, 1.0) * 255).round().astype(np.uint8)
    big = np.kron(levels, np.ones((scale, scale), np.uint8)).astype(np.float32)
    lines = np.zeros(big.shape, bool)
    lines[::scale, :] = lines[:, ::scale] = True
    big[lines] = 0.6 * big[lines] + 0.4 * GRID_GRAY  # visible over black and white pixels alike
    big = big.round().astype(np.uint8)
    return np.dstack([big, big, big])


def thumbnail(digit: np.ndarray, scale: int = 3) -> np.ndarray:
    """A small enlarged digit without a grid, for galleries."""
    levels = (np.clip(np.asarray(digit, np.float32), 0.0, 1.0) * 255).round().astype(np.uint8)
    return np.kron(levels, np.ones((scale, scale), np.uint8))


def displayable(image: np.ndarray) -> np.ndarray:
    """Any decoded picture as uint8 for ``st.image`` (16-bit and float images included)."""
    if image.dtype == np.uint8:
        return image
    from utils.preprocess import to_luminance

    return (to_luminance(image) * 255).round().astype(np.uint8)


def digit_table(digits: np.ndarray, scale: int = 3, gap: int = 2) -> np.ndarray:
    """A (rows, columns, 28, 28) array of digits as one uint8 picture with gray gaps between them."""
    rows, columns, side, _ = digits.shape
    cell = side * scale + gap
    table = np.full((rows * cell - gap, columns * cell - gap), GRID_GRAY, np.uint8)
    for row in range(rows):
        for column in range(columns):
            top, left = row * cell, column * cell
            table[top : top + side * scale, left : left + side * scale] = thumbnail(digits[row, column], scale)
    return table


# Diverging colours centred on 0: blue for negative, white for 0, red for positive (as RdBu, reversed).
_NEGATIVE, _ZERO, _POSITIVE = np.array([33, 102, 172.0]), np.array([247, 247, 247.0]), np.array([178, 24, 43.0])


def diverging(values: np.ndarray, limit: float) -> np.ndarray:
    """Values as uint8 RGB on a blue-white-red scale from -limit to +limit (one range for every picture)."""
    t = np.clip(np.asarray(values, np.float64) / max(float(limit), 1e-12), -1.0, 1.0)[..., None]
    colours = np.where(t < 0, _ZERO + (_NEGATIVE - _ZERO) * -t, _ZERO + (_POSITIVE - _ZERO) * t)
    return colours.round().astype(np.uint8)


def enlarge(picture: np.ndarray, scale: int) -> np.ndarray:
    """Every pixel as a ``scale`` x ``scale`` block (no smoothing: the pixels are the point)."""
    return np.repeat(np.repeat(picture, scale, axis=0), scale, axis=1)


def unit_strip(values: np.ndarray, low: float, high: float, marked: np.ndarray, columns: int = 32, cell: int = 12):
    """One hidden layer's units as a grid of coloured cells (dark = low, yellow = high); ``marked`` units crossed.

    Returns uint8 RGB. Marked cells (a ReLU that is 0, a saturated sigmoid) get a gray diagonal
    cross, so "off" reads at a glance without a legend.
    """
    values = np.asarray(values, np.float64)
    rows = -(-len(values) // columns)
    t = np.clip((values - low) / max(high - low, 1e-12), 0.0, 1.0)[:, None]
    dark, bright = np.array([30, 41, 59.0]), np.array([250, 204, 21.0])  # slate to amber
    colours = (dark + (bright - dark) * t).round().astype(np.uint8)
    picture = np.full((rows * cell, columns * cell, 3), 255, np.uint8)
    diagonal = np.eye(cell - 2, dtype=bool) | np.fliplr(np.eye(cell - 2, dtype=bool))
    for index, colour in enumerate(colours):
        top, left = (index // columns) * cell, (index % columns) * cell
        block = picture[top + 1 : top + cell - 1, left + 1 : left + cell - 1]
        block[:] = colour
        if marked[index]:
            block[diagonal] = (148, 163, 184)
    return picture
