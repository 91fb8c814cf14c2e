"""Summaries of MNIST for the Explore page, computed once and cached by the caller."""

from __future__ import annotations

import numpy as np
import pandas as pd

from utils.mnist import N_CLASSES, RawMnist


def class_counts(raw: RawMnist) -> pd.DataFrame:
    """Samples per digit in the training and test sets (long format, for a grouped bar chart)."""
    rows = []
    for split, labels in (("train", raw.y_train), ("test", raw.y_test)):
        counts = np.bincount(labels, minlength=N_CLASSES)
        rows += [{"digit": str(digit), "set": split, "samples": int(counts[digit])} for digit in range(N_CLASSES)]
    return pd.DataFrame(rows)


def mean_images(raw: RawMnist) -> np.ndarray:
    """(10, 28, 28) average training image of each digit, in [0, 1]."""
    return np.stack([raw.x_train[raw.y_train == digit].mean(axis=0) / 255.0 for digit in range(N_CLASSES)])


def indices_of(raw: RawMnist, digit: int) -> np.ndarray:
    """Positions of one digit's samples in the training set."""
    return np.flatnonzero(raw.y_train == digit)


def ink_window(pixels: np.ndarray, margin: int = 1) -> tuple[slice, slice]:
    """The rows and columns that hold ink (plus a margin), so the grid of numbers opens on the digit."""
    rows, cols = np.flatnonzero(pixels.any(axis=1)), np.flatnonzero(pixels.any(axis=0))
    if not len(rows):
        return slice(None), slice(None)
    side = len(pixels)
    return (slice(max(0, rows[0] - margin), min(side, rows[-1] + margin + 1)),
            slice(max(0, cols[0] - margin), min(side, cols[-1] + margin + 1)))  # fmt: skip
