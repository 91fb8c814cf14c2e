"""MNIST loading: Keras' download by default, or a local ``.npz`` named by ``MNIST_PATH``.

Nothing here imports TensorFlow unless the Keras download is needed, so pages that
only show the data stay fast.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from utils.errors import MnistError
from utils.i18n import N_, Message, num
from utils.settings import MNIST_PATH_ENV, read_settings

README_OFFLINE = "README.md, section 'MNIST without a network connection'"
IMAGE_SIDE = 28
N_PIXELS = IMAGE_SIDE * IMAGE_SIDE
N_CLASSES = 10
_EXPECTED = {
    "x_train": ("images", 3),
    "y_train": ("labels", 1),
    "x_test": ("images", 3),
    "y_test": ("labels", 1),
}


class MnistFileError(MnistError):
    """A local MNIST file is missing or not in Keras' layout."""

    def __init__(self, path: str | os.PathLike, problem: Message) -> None:
        super().__init__(Message(N_("MNIST file {path}: {problem}"), path=repr(os.fspath(path)), problem=problem))


@dataclass(frozen=True)
class RawMnist:
    """The four arrays exactly as Keras ships them (uint8 images 28x28, uint8 labels)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def mnist_path_from_env() -> Path | None:
    """The local file named by ``MNIST_PATH``, or None to use Keras' download."""
    return read_settings().mnist_path


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
        return _download()
    return _read_npz(Path(path))


def _read_npz(path: Path) -> RawMnist:
    if not path.is_file():
        raise MnistFileError(
            path, Message(N_("no such file (set {variable} to a Keras-layout mnist.npz)"), variable=MNIST_PATH_ENV)
        )
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = sorted(set(_EXPECTED) - set(archive.files))
            if missing:
                raise MnistFileError(
                    path,
                    Message(
                        N_("missing arrays {missing}; expected keys {expected}"),
                        missing=missing,
                        expected=sorted(_EXPECTED),
                    ),
                )
            arrays = {key: archive[key] for key in _EXPECTED}
    except MnistFileError:
        raise
    except Exception as error:  # zip, pickle or format errors all mean "not an npz we can read"
        raise MnistFileError(path, Message(N_("not a readable .npz archive ({reason})"), reason=str(error))) from error
    for key, (kind, ndim) in _EXPECTED.items():
        _check_array(path, key, arrays[key], kind, ndim)
    for split in ("train", "test"):
        n_images, n_labels = len(arrays[f"x_{split}"]), len(arrays[f"y_{split}"])
        if n_images != n_labels:
            raise MnistFileError(
                path,
                Message(
                    N_("{images_key} has {images} images but {labels_key} has {labels} labels"),
                    images_key=f"x_{split}",
                    images=num(n_images),
                    labels_key=f"y_{split}",
                    labels=num(n_labels),
                ),
            )
    return RawMnist(**arrays)


def _check_array(path: Path, key: str, array: np.ndarray, kind: str, ndim: int) -> None:
    if array.dtype != np.uint8:
        raise MnistFileError(
            path, Message(N_("{key} has dtype {dtype}, expected uint8"), key=key, dtype=str(array.dtype))
        )
    if array.ndim != ndim or len(array) == 0:
        raise MnistFileError(
            path,
            Message(
                N_("{key} has shape {shape}, expected {count} dimension(s) and N > 0"),
                key=key,
                shape=str(array.shape),
                count=ndim,
            ),
        )
    if kind == "images" and array.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
        raise MnistFileError(
            path, Message(N_("{key} has shape {shape}, expected (N, 28, 28)"), key=key, shape=str(array.shape))
        )
    if kind == "labels" and array.max() >= N_CLASSES:
        raise MnistFileError(
            path, Message(N_("{key} has label {label}, expected labels 0-9"), key=key, label=int(array.max()))
        )


def _download() -> RawMnist:
    from keras.datasets import mnist  # imported late: it pulls in TensorFlow

    try:
        (x_train, y_train), (x_test, y_test) = mnist.load_data()
    except Exception as error:  # URL, SSL, HTTP and disk errors all mean "no MNIST"
        first_line = next(iter(str(error).splitlines()), "")
        raise MnistError(
            Message(
                N_(
                    "MNIST could not be downloaded ({reason}). "
                    "Check the internet connection, or set {variable} to a local mnist.npz "
                    "(see {readme})."
                ),
                reason=f"{type(error).__name__}: {first_line}",
                variable=MNIST_PATH_ENV,
                readme=README_OFFLINE,
            )
        ) from error
    return RawMnist(x_train, y_train, x_test, y_test)


def split_indices(
    count: int, validation_fraction: float = 0.1, seed: int = 0, max_train: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(training, validation) positions among ``count`` training images: a seeded random
    ``validation_fraction`` held out, both sorted; ``max_train`` keeps the first training
    images only (validation shrinks in proportion), for quick runs."""
    if not 0.0 < validation_fraction < 1.0:
        problem = N_("validation_fraction must be between 0 and 1 (exclusive), got {value}")
        raise MnistError(Message(problem, value=repr(validation_fraction)))
    order = np.random.default_rng(seed).permutation(count)
    n_val = max(1, round(count * validation_fraction))
    val_idx, train_idx = np.sort(order[:n_val]), np.sort(order[n_val:])
    if max_train is not None:
        val_idx = val_idx[: max(1, round(len(val_idx) * max_train / len(train_idx)))]
        train_idx = train_idx[:max_train]
    return train_idx, val_idx
