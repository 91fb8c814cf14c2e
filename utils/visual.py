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
