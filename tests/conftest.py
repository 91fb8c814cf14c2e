"""Shared fixtures only (shared helpers: tests/helpers.py). Tests read MNIST from ``MNIST_PATH``.

CI and the default: ../shared/data/mnist.npz.
"""

from __future__ import annotations

import os

import pytest

from tests.helpers import SHARED_MNIST

os.environ.setdefault("MNIST_PATH", str(SHARED_MNIST))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(scope="session")
def mnist_raw():
    from utils.mnist import load_raw

    return load_raw()


@pytest.fixture(scope="session")
def small_splits(mnist_raw):
    """6,000 training images and 1,000 test images: enough to learn, fast to train."""
    from model.net.data import prepare_splits

    return prepare_splits(mnist_raw, 0.1, seed=0, max_train=6000, max_test=1000)


@pytest.fixture
def store(tmp_path):
    from model.storage.store import ModelStore

    return ModelStore(tmp_path / "models")
