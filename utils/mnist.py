"""MNIST loading: Keras' download by default, or a local ``.npz`` named by ``MNIST_PATH``.

Nothing here imports TensorFlow unless the Keras download is needed, so pages that
only show the data stay fast.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from utils.preprocess import PREPROCESSING_VERSION, mnist_as_trained

MNIST_PATH_ENV = "MNIST_PATH"
MAX_TRAIN_ENV = "MNIST_LAB_MAX_TRAIN"  # the app trains on slices when these are set (tests, demos)
MAX_TEST_ENV = "MNIST_LAB_MAX_TEST"
IMAGE_SIDE = 28
N_PIXELS = IMAGE_SIDE * IMAGE_SIDE
N_CLASSES = 10
_EXPECTED = {
    "x_train": ("images", 3),
    "y_train": ("labels", 1),
    "x_test": ("images", 3),
    "y_test": ("labels", 1),
}


class MnistFileError(ValueError):
    """A local MNIST file is missing or not in Keras' layout."""

    def __init__(self, path: str | os.PathLike, problem: str) -> None:
        super().__init__(f"MNIST file {os.fspath(path)!r}: {problem}")
        self.path = os.fspath(path)
        self.problem = problem


@dataclass(frozen=True)
class RawMnist:
    """The four arrays exactly as Keras ships them (uint8 images 28x28, uint8 labels)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


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


def limits_from_env() -> tuple[int | None, int | None]:
    """(max training images, max test images) for the app, from the environment; None = all."""

    def read(name: str) -> int | None:
        value = os.environ.get(name, "").strip()
        return int(value) if value else None

    return read(MAX_TRAIN_ENV), read(MAX_TEST_ENV)


def mnist_path_from_env() -> Path | None:
    """The local file named by ``MNIST_PATH``, or None to use Keras' download."""
    value = os.environ.get(MNIST_PATH_ENV, "").strip()
    return Path(value).expanduser() if value else None


def keras_cache_path() -> Path:
    """Where ``keras.datasets.mnist.load_data()`` keeps its download."""
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")).expanduser() / "datasets" / "mnist.npz"


def load_raw(path: str | os.PathLike | None = None) -> RawMnist:
    """Load MNIST from ``path``, else ``MNIST_PATH``, else Keras' download.

    Keras' cached copy is read directly when it exists, so only the very first download
    imports TensorFlow.
    """
    if path is None:
        path = mnist_path_from_env()
    if path is None and keras_cache_path().is_file():
        path = keras_cache_path()
    if path is None:
        from keras.datasets import mnist  # imported late: it pulls in TensorFlow

        (x_train, y_train), (x_test, y_test) = mnist.load_data()
        return RawMnist(x_train, y_train, x_test, y_test)
    return _read_npz(Path(path))


def _read_npz(path: Path) -> RawMnist:
    if not path.is_file():
        raise MnistFileError(path, "no such file (set MNIST_PATH to a Keras-layout mnist.npz)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = sorted(set(_EXPECTED) - set(archive.files))
            if missing:
                raise MnistFileError(path, f"missing arrays {missing}; expected keys {sorted(_EXPECTED)}")
            arrays = {key: archive[key] for key in _EXPECTED}
    except MnistFileError:
        raise
    except Exception as error:  # zip, pickle or format errors all mean "not an npz we can read"
        raise MnistFileError(path, f"not a readable .npz archive ({error})") from error
    for key, (kind, ndim) in _EXPECTED.items():
        _check_array(path, key, arrays[key], kind, ndim)
    for split in ("train", "test"):
        n_images, n_labels = len(arrays[f"x_{split}"]), len(arrays[f"y_{split}"])
        if n_images != n_labels:
            raise MnistFileError(path, f"x_{split} has {n_images} images but y_{split} has {n_labels} labels")
    return RawMnist(**arrays)


def _check_array(path: Path, key: str, array: np.ndarray, kind: str, ndim: int) -> None:
    if array.dtype != np.uint8:
        raise MnistFileError(path, f"{key} has dtype {array.dtype}, expected uint8")
    if array.ndim != ndim or len(array) == 0:
        raise MnistFileError(path, f"{key} has shape {array.shape}, expected {ndim} dimension(s) and N > 0")
    if kind == "images" and array.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
        raise MnistFileError(path, f"{key} has shape {array.shape}, expected (N, 28, 28)")
    if kind == "labels" and array.max() >= N_CLASSES:
        raise MnistFileError(path, f"{key} has label {int(array.max())}, expected labels 0-9")


def split_train_validation(
    raw: RawMnist,
    validation_fraction: float = 0.1,
    seed: int = 0,
    preprocessing: str = PREPROCESSING_VERSION,
    max_train: int | None = None,
    max_test: int | None = None,
) -> MnistSplits:
    """Hold out a seeded random ``validation_fraction`` of the training set; keep test apart.

    Images go through ``preprocessing`` (see ``mnist_as_trained``), only those kept by
    ``max_train`` / ``max_test`` (validation shrinks in proportion), since that costs
    about 70 us an image.
    """
    if not 0.0 < validation_fraction < 1.0:
        raise ValueError(f"validation_fraction must be between 0 and 1 (exclusive), got {validation_fraction}")
    order = np.random.default_rng(seed).permutation(len(raw.x_train))
    n_val = max(1, round(len(order) * validation_fraction))
    val_idx, train_idx = np.sort(order[:n_val]), np.sort(order[n_val:])
    if max_train is not None:
        val_idx = val_idx[: max(1, round(len(val_idx) * max_train / len(train_idx)))]
        train_idx = train_idx[:max_train]

    def prepare(images: np.ndarray) -> np.ndarray:
        return mnist_as_trained(images, preprocessing)

    labels = raw.y_train.astype(np.int64)
    return MnistSplits(
        prepare(raw.x_train[train_idx]),
        labels[train_idx],
        prepare(raw.x_train[val_idx]),
        labels[val_idx],
        prepare(raw.x_test[:max_test]),
        raw.y_test[:max_test].astype(np.int64),
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
    return split_train_validation(load_raw(path), validation_fraction, seed, preprocessing, max_train, max_test)
