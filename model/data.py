"""MNIST as networks learn from it: the split of ``utils.mnist``, put through the preprocessing.

Training images go through exactly the function that prepares drawings
(``mnist_as_trained``), so the network learns from what it will be shown; the version
used is recorded with the data and then with the model.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from model.config import TrainingConfig
from utils.mnist import RawMnist, load_raw, split_train_validation
from utils.preprocess import PREPROCESSING_VERSION, mnist_as_trained
from utils.settings import read_settings


@dataclass(frozen=True)
class MnistSplits:
    """Model-ready data: float32 pixels in [0, 1], flattened to 784, int labels."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    preprocessing: str  # the version of utils/preprocess.py the images went through

    def limit(self, n_train: int | None = None, n_test: int | None = None) -> MnistSplits:
        """A smaller copy for quick runs (tests, demos); validation shrinks in proportion."""
        if n_train is None and n_test is None:
            return self
        n_val = None
        if n_train is not None and len(self.x_train):
            n_val = max(1, round(len(self.x_val) * n_train / len(self.x_train)))
        return MnistSplits(
            self.x_train[:n_train],
            self.y_train[:n_train],
            self.x_val[:n_val],
            self.y_val[:n_val],
            self.x_test[:n_test],
            self.y_test[:n_test],
            self.preprocessing,
        )


def prepare_splits(
    raw: RawMnist,
    validation_fraction: float = 0.1,
    seed: int = 0,
    preprocessing: str = PREPROCESSING_VERSION,
    max_train: int | None = None,
    max_test: int | None = None,
) -> MnistSplits:
    """Split, then preprocess only the images kept (about 70 us an image)."""
    split = split_train_validation(raw, validation_fraction, seed, max_train, max_test)
    return MnistSplits(
        mnist_as_trained(split.x_train, preprocessing),
        split.y_train,
        mnist_as_trained(split.x_val, preprocessing),
        split.y_val,
        mnist_as_trained(split.x_test, preprocessing),
        split.y_test,
        preprocessing,
    )


def load_mnist(
    validation_fraction: float = 0.1,
    seed: int = 0,
    path: str | os.PathLike | None = None,
    preprocessing: str = PREPROCESSING_VERSION,
    max_train: int | None = None,
    max_test: int | None = None,
) -> MnistSplits:
    """MNIST ready for training: train/validation split of the 60,000, plus the 10,000 test."""
    return prepare_splits(load_raw(path), validation_fraction, seed, preprocessing, max_train, max_test)


def app_training_data(config: TrainingConfig) -> MnistSplits:
    """MNIST as the app trains on it: ``MNIST_PATH`` or Keras, sliced by ``MNIST_LAB_MAX_TRAIN/TEST``."""
    settings = read_settings()
    return load_mnist(config.validation_fraction, config.seed, max_train=settings.max_train, max_test=settings.max_test)
