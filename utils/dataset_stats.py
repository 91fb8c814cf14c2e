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
