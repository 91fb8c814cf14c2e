from __future__ import annotations

import numpy as np
import pytest

from utils import mnist
from utils.errors import MnistError
from utils.mnist import MnistFileError, load_raw, split_indices


def _write(path, **overrides):
    arrays = {
        "x_train": np.zeros((20, 28, 28), np.uint8),
        "y_train": np.arange(20, dtype=np.uint8) % 10,
        "x_test": np.zeros((5, 28, 28), np.uint8),
        "y_test": np.arange(5, dtype=np.uint8),
    }
    arrays.update(overrides)
    np.savez(path, **{key: value for key, value in arrays.items() if value is not None})
    return path


def test_shared_file_loads_in_keras_layout(mnist_raw):
    assert mnist_raw.x_train.shape == (60000, 28, 28) and mnist_raw.x_test.shape == (10000, 28, 28)
    assert mnist_raw.x_train.dtype == np.uint8 and set(np.unique(mnist_raw.y_test)) == set(range(10))


def test_split_is_seeded_and_loses_nothing():
    train, val = split_indices(60_000, 0.1, seed=3)
    assert (len(train), len(val)) == (54000, 6000)
    assert np.array_equal(np.sort(np.concatenate([train, val])), np.arange(60_000))  # nothing lost, nothing twice
    assert np.array_equal(split_indices(60_000, 0.1, seed=3)[1], val)
    assert not np.array_equal(split_indices(60_000, 0.1, seed=4)[1], val)
    small_train, small_val = split_indices(60_000, 0.1, seed=3, max_train=900)
    assert np.array_equal(small_train, train[:900]) and len(small_val) == 100


def test_split_fraction_is_configurable():
    assert len(split_indices(60_000, 0.25)[1]) == 15000
    with pytest.raises(MnistError, match="validation_fraction"):
        split_indices(60_000, 1.0)


def test_mnist_path_env_is_used(tmp_path, monkeypatch):
    path = _write(tmp_path / "tiny.npz")
    monkeypatch.setenv("MNIST_PATH", str(path))
    assert load_raw().x_train.shape == (20, 28, 28)


def test_without_env_keras_download_is_used(tmp_path, monkeypatch):
    import keras

    calls = []
    fake = (
        (np.zeros((3, 28, 28), np.uint8), np.zeros(3, np.uint8)),
        (np.zeros((2, 28, 28), np.uint8), np.zeros(2, np.uint8)),
    )
    monkeypatch.delenv("MNIST_PATH", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))  # nothing cached yet
    monkeypatch.setattr(keras.datasets.mnist, "load_data", lambda: calls.append(1) or fake)
    assert load_raw().x_test.shape == (2, 28, 28) and calls == [1]


def test_keras_cached_download_is_read_without_keras(tmp_path, monkeypatch):
    import keras

    (tmp_path / "datasets").mkdir()
    _write(tmp_path / "datasets" / "mnist.npz")
    monkeypatch.delenv("MNIST_PATH", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(keras.datasets.mnist, "load_data", lambda: pytest.fail("should read the cache"))
    assert load_raw().x_train.shape == (20, 28, 28)


def test_prepared_splits_are_model_ready_and_sliced(mnist_raw):
    from model.net.data import prepare_splits

    splits = prepare_splits(mnist_raw, 0.1, seed=3, max_train=900, max_test=50)
    assert (len(splits.x_train), len(splits.x_val), len(splits.x_test)) == (900, 100, 50)
    assert splits.x_train.shape[1] == 784 and splits.x_train.dtype == np.float32
    assert splits.x_train.min() == 0.0 and splits.x_train.max() == 1.0


def test_no_download_is_one_sentence_that_says_what_to_do(tmp_path, monkeypatch):
    import keras

    def offline():
        raise Exception(
            "URL fetch failure on https://storage.googleapis.com/...: None -- [Errno -2] Name or service not known"
        )

    monkeypatch.delenv("MNIST_PATH", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    with pytest.raises(MnistError, match="could not be downloaded") as caught:
        load_raw()
    assert "MNIST_PATH" in str(caught.value) and "MNIST without a network connection" in str(caught.value)


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"y_test": None}, "missing arrays y_test; expected keys x_test, x_train, y_test, y_train"),
        ({"x_train": np.zeros((20, 28, 28), np.float32)}, "x_train has dtype float32"),
        ({"x_test": np.zeros((5, 32, 32), np.uint8)}, "x_test has shape \\(5, 32, 32\\)"),
        ({"x_train": np.zeros((20, 784), np.uint8)}, "x_train has shape \\(20, 784\\)"),
        ({"y_train": np.full(20, 10, np.uint8)}, "label 10, expected labels 0-9"),
        ({"y_test": np.arange(4, dtype=np.uint8)}, "x_test has 5 images but y_test has 4"),
    ],
)
def test_malformed_file_raises_one_clear_error(tmp_path, overrides, problem):
    path = _write(tmp_path / "bad.npz", **overrides)
    with pytest.raises(MnistFileError, match=problem) as caught:
        load_raw(path)
    assert str(path) in str(caught.value)


def test_missing_and_unreadable_files(tmp_path):
    with pytest.raises(MnistFileError, match="no such file"):
        load_raw(tmp_path / "absent.npz")
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"this is not a zip archive")
    with pytest.raises(MnistFileError, match=r"not a readable \.npz"):
        load_raw(garbage)


def test_importing_the_loader_does_not_import_tensorflow():
    import subprocess
    import sys

    modules = "utils.mnist, utils.preprocess, model.net.config, model.storage.store"
    code = f"import sys, {modules}; print('tensorflow' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=mnist.__file__.rsplit("/utils/", 1)[0],
    )
    assert out.stdout.strip() == "False"


def test_prepared_mnist_is_made_once_then_read_from_the_cache(tmp_path, monkeypatch, mnist_raw):
    import model.net.data as data
    from utils.preprocess import LEGACY_PREPROCESSING, mnist_as_trained

    monkeypatch.setenv("MNIST_LAB_CACHE_DIR", str(tmp_path))
    raw = load_raw(_write(tmp_path / "tiny.npz", x_train=mnist_raw.x_train[:20], x_test=mnist_raw.x_test[:5]))
    fresh = data.prepared_mnist(raw)
    assert fresh.x_train.max() > 0.9
    np.testing.assert_array_equal(fresh.x_train, mnist_as_trained(raw.x_train))
    monkeypatch.setattr(data, "mnist_as_trained", lambda *args: pytest.fail("should come from the cache"))
    cached = data.prepared_mnist(raw)
    np.testing.assert_array_equal(cached.x_train, fresh.x_train)
    np.testing.assert_array_equal(cached.x_test, fresh.x_test)
    folders = [path for path in tmp_path.iterdir() if path.is_dir()]
    assert len(folders) == 1 and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    (folders[0] / "x_train.npy").write_bytes(b"damaged")
    monkeypatch.setattr(data, "mnist_as_trained", mnist_as_trained)
    np.testing.assert_array_equal(data.prepared_mnist(raw).x_train, fresh.x_train)  # prepared again
    data.prepared_mnist(raw, LEGACY_PREPROCESSING)  # another version gets its own folder
    assert len([path for path in tmp_path.iterdir() if path.is_dir()]) == 2
