"""Shared fixtures. Tests read MNIST from ``MNIST_PATH`` (CI: ../shared/data/mnist.npz)."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import cv2
import numpy as np
import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHARED_MNIST = PROJECT_ROOT.parent / "shared" / "data" / "mnist.npz"

os.environ.setdefault("MNIST_PATH", str(SHARED_MNIST))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(scope="session")
def mnist_raw():
    from utils.mnist import load_raw

    return load_raw()


@pytest.fixture(scope="session")
def small_splits(mnist_raw):
    """6,000 training images and 1,000 test images: enough to learn, fast to train."""
    from utils.mnist import split_train_validation

    return split_train_validation(mnist_raw, 0.1, seed=0, max_train=6000, max_test=1000)


@pytest.fixture
def store(tmp_path):
    from model.storage import ModelStore

    return ModelStore(tmp_path / "models")


def draw_canvas(size: int = 280, strokes=(((140, 60), (140, 220)),), width: int = 18, rgba: bool = True) -> np.ndarray:
    """A canvas like the app's: white round-capped strokes on opaque black."""
    canvas = np.zeros((size, size), np.uint8)
    for stroke in strokes:
        for start, end in itertools.pairwise(stroke):
            cv2.line(canvas, start, end, 255, width, lineType=cv2.LINE_AA)
    if not rgba:
        return canvas
    return np.dstack([canvas, canvas, canvas, np.full_like(canvas, 255)])
