"""The NumPy reader of saved networks gives Keras' answers, and hands anything else back to Keras."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from model.net.config import TrainingConfig
from model.net.inference import predict_batch
from model.net.network import build_network
from model.storage.dense_file import NotPlainDense, read_dense_network
from model.storage.store import DEFAULT_MODEL_NAME, ModelStore
from tests.helpers import PROJECT_ROOT


def _rows(mnist_raw, count: int = 200) -> np.ndarray:
    from utils.preprocess import PREPROCESSING_VERSION, as_model_input, mnist_as_trained

    return as_model_input(mnist_as_trained(mnist_raw.x_test[:count], PREPROCESSING_VERSION))


def test_the_default_model_gives_the_same_probabilities_as_keras(mnist_raw):
    store = ModelStore()
    path = store.get(DEFAULT_MODEL_NAME).path
    rows = _rows(mnist_raw)
    read = read_dense_network(path)
    assert read.architecture == "784-512-512-10"
    ours, theirs = read(rows), predict_batch(store.load(DEFAULT_MODEL_NAME), rows)
    np.testing.assert_allclose(ours, theirs, atol=1e-5)
    assert np.array_equal(ours.argmax(axis=1), theirs.argmax(axis=1))
    assert predict_batch(read, rows).shape == (len(rows), 10)


@pytest.mark.parametrize(
    "config",
    [
        TrainingConfig(hidden_layers=1, units=8, activation="sigmoid", dropout=0.0),
        TrainingConfig(hidden_layers=3, units=16, activation="tanh", dropout=0.3),
        TrainingConfig(hidden_layers=2, units=32, activation="relu", dropout=0.1),
    ],
    ids=["sigmoid", "tanh", "relu"],
)
def test_every_network_the_app_trains_reads_the_same(config, tmp_path, mnist_raw):
    network = build_network(config)
    network.save(path := tmp_path / "net.keras")  # what ModelStore.save writes
    rows = _rows(mnist_raw, 50)
    np.testing.assert_allclose(read_dense_network(path)(rows), predict_batch(network, rows), atol=1e-5)


def test_other_networks_and_damaged_files_are_left_to_keras(tmp_path):
    import keras

    cases = {
        "lambda": keras.Sequential([keras.Input((784,)), keras.layers.Lambda(lambda x: x * 2), keras.layers.Dense(10)]),
        "foreign": keras.Sequential([keras.Input((32,)), keras.layers.Dense(10, activation="softmax")]),
        "logits": keras.Sequential([keras.Input((784,)), keras.layers.Dense(10)]),
        "functional": keras.Model(inputs := keras.Input((784,)), keras.layers.Dense(10, activation="softmax")(inputs)),
    }
    quantized = keras.Sequential([keras.Input((784,)), keras.layers.Dense(10, activation="softmax")])
    quantized.quantize("int8")  # int8 kernel + scale: reading the kernel as floats would give wrong answers
    cases["quantized"] = quantized
    softmax = [keras.layers.Dense(units, activation="softmax") for units in (16, 10)]
    cases["hidden softmax"] = keras.Sequential([keras.Input((784,)), *softmax])  # backprop through it would be wrong
    reasons = {"lambda": "'Lambda' layer", "foreign": "do not chain", "logits": "not 10 softmax", "functional": "not a",
               "quantized": "quantized|not a float kernel", "hidden softmax": "ending in softmax"}  # fmt: skip
    for name, model in cases.items():
        model.save(tmp_path / f"{name}.keras")
        with pytest.raises(NotPlainDense, match=reasons[name]):
            read_dense_network(tmp_path / f"{name}.keras")
    (tmp_path / "garbage.keras").write_bytes(b"not a zip file")
    with pytest.raises(NotPlainDense, match="unreadable: BadZipFile"):
        read_dense_network(tmp_path / "garbage.keras")
    odd = {"[1, 2]": "unreadable: AttributeError", _config_with_activation({"class_name": "X"}): "uses activation"}
    for config, reason in odd.items():
        with zipfile.ZipFile(tmp_path / "odd.keras", "w") as archive:
            archive.writestr("config.json", config)
            archive.writestr("model.weights.h5", b"")
        with pytest.raises(NotPlainDense, match=reason):
            read_dense_network(tmp_path / "odd.keras")


def test_the_arrays_are_shared_read_only():
    network = read_dense_network(ModelStore().get(DEFAULT_MODEL_NAME).path)
    kernel, bias = network.layers[0].kernel, network.layers[0].bias
    with pytest.raises(ValueError, match="read-only"):
        kernel[0, 0] = 1.0
    with pytest.raises(ValueError, match="read-only"):
        bias[0] = 1.0
    assert network != read_dense_network(ModelStore().get(DEFAULT_MODEL_NAME).path)  # identity, not array equality


def _config_with_activation(activation: object) -> str:
    dense = {"class_name": "Dense", "config": {"name": "d", "units": 10, "activation": activation}}
    return json.dumps({"class_name": "Sequential", "config": {"layers": [dense]}})


def test_the_draw_page_answers_without_importing_tensorflow():
    """What the Draw page imports (the canvas component aside) and one prediction leave TensorFlow unloaded."""
    script = (
        "import sys, numpy as np\n"
        "from model.net.inference import predict_probabilities\n"
        "from model.storage.store import ModelStore\n"
        "from ui import charts, inside, shell, visual, widgets\n"
        "from utils import canvas_checks, image_io, preprocess\n"
        "from ui.resources import network_for\n"
        "info = ModelStore().active()\n"
        "network = network_for(info)\n"
        "ink = np.pad(np.full((40, 8), 255, np.uint8), 100)\n"
        "digit = preprocess.preprocess_digit(ink, info.metadata.preprocessing)\n"
        "print(int(predict_probabilities(network, digit).argmax()), 'tensorflow' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    digit, tensorflow_loaded = done.stdout.split()[-2:]
    assert digit == "1" and tensorflow_loaded == "False"
