"""MNIST as networks learn from it: the split of ``utils.mnist``, put through the preprocessing.

Training images go through exactly the function that prepares drawings
(``mnist_as_trained``), so the network learns from what it will be shown; the version
used is recorded with the data and then with the model.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from model.net.config import TrainingConfig
from utils.mnist import RawMnist, load_raw, split_indices
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
    """Split, then take the images from the prepared copy (made once per version, then read from disk)."""
    prepared = prepared_mnist(raw, preprocessing)
    train_idx, val_idx = split_indices(len(raw.x_train), validation_fraction, seed, max_train)
    labels = raw.y_train.astype(np.int64)
    return MnistSplits(
        prepared.x_train[train_idx],
        labels[train_idx],
        prepared.x_train[val_idx],
        labels[val_idx],
        np.array(prepared.x_test[:max_test]),
        raw.y_test[:max_test].astype(np.int64),
        preprocessing,
    )


@dataclass(frozen=True)
class PreparedMnist:
    """All 60,000 training and 10,000 test images through the preprocessing, (N, 784) float32."""

    x_train: np.ndarray
    x_test: np.ndarray


def prepared_mnist(raw: RawMnist, preprocessing: str = PREPROCESSING_VERSION) -> PreparedMnist:
    """MNIST as networks see it. Preparing it takes about 5 s of CPU; the result is kept in the
    cache folder (``MNIST_LAB_CACHE_DIR``), named by the preprocessing version and a digest of
    the images, so a new version or another MNIST file is never served stale."""
    digest = hashlib.sha1(usedforsecurity=False)
    for images in (raw.x_train, raw.x_test):
        digest.update(np.ascontiguousarray(images).data)
    folder = read_settings().cache_dir / f"mnist-{preprocessing}-{digest.hexdigest()[:16]}"
    with contextlib.suppress(OSError, ValueError):  # missing, partial or damaged: prepare again
        return PreparedMnist(*(np.load(folder / f"{part}.npy", mmap_mode="r") for part in ("x_train", "x_test")))
    prepared = PreparedMnist(mnist_as_trained(raw.x_train, preprocessing), mnist_as_trained(raw.x_test, preprocessing))
    with contextlib.suppress(OSError):  # a read-only cache only costs time
        _save_atomically(folder, prepared)
    return prepared


def _save_atomically(folder: Path, prepared: PreparedMnist) -> None:
    temporary = folder.with_name(f".{folder.name}.{uuid.uuid4().hex}")
    temporary.mkdir(parents=True)
    try:
        np.save(temporary / "x_train.npy", prepared.x_train)
        np.save(temporary / "x_test.npy", prepared.x_test)
        os.replace(temporary, folder)  # a whole folder appears at once, or none
    finally:
        shutil.rmtree(temporary, ignore_errors=True)


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


def app_training_data(config: TrainingConfig, max_train: int | None = None) -> MnistSplits:
    """MNIST as the app trains on it: ``MNIST_PATH`` or Keras, sliced by ``MNIST_LAB_MAX_TRAIN/TEST`` (or by a
    class's ``max_train``: ``functools.partial`` sends it to the worker)."""
    settings = read_settings()
    max_train = max_train or settings.max_train
    return load_mnist(config.validation_fraction, config.seed, max_train=max_train, max_test=settings.max_test)
