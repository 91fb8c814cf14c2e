"""Looking inside the network (issue 14): gradient flow while training, the projection per epoch,
the explain CLI's contract checked against Keras, and the Draw and Models pages' views."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import cv2
import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from model.net.config import TrainingConfig
from model.net.events import BatchEvent, LayerStatsEvent
from model.net.training import train
from tests.helpers import PROJECT_ROOT

VANISHING = TrainingConfig(hidden_layers=5, units=128, activation="sigmoid", optimizer="sgd", dropout=0.0, epochs=2)


@pytest.fixture(scope="module")
def sigmoid_and_relu(small_splits):
    data = small_splits.limit(2000, 500)
    return {
        activation: train(TrainingConfig(**{**VANISHING.to_dict(), "activation": activation}), data, [events.append])
        for activation, events in (("sigmoid", []), ("relu", []))
    }


@pytest.mark.slow
def test_gradient_norms_are_recorded_before_training_and_after_each_epoch(sigmoid_and_relu):
    for result in sigmoid_and_relu.values():
        norms = result.metadata().gradient_norms
        assert len(norms) == VANISHING.epochs + 1 and all(len(entry) == 6 for entry in norms)  # 5 hidden + output
        assert all(value > 0 for entry in norms for value in entry)


@pytest.mark.slow
def test_deep_sigmoid_gradients_vanish_and_relu_ones_do_not(sigmoid_and_relu):
    sigmoid = sigmoid_and_relu["sigmoid"].gradient_norms[0]
    relu = sigmoid_and_relu["relu"].gradient_norms[0]
    assert sigmoid[0] < sigmoid[-2] / 50  # first hidden layer far below the last hidden one (~170x here)
    assert relu[0] > relu[-2] / 5  # ReLU passes the gradient back nearly whole


@pytest.mark.slow
def test_layer_stats_come_before_the_first_batch_and_match_the_metadata(small_splits):
    events = []
    result = train(TrainingConfig(hidden_layers=2, units=32, epochs=1), small_splits.limit(1000, 200), [events.append])
    start = next(event for event in events if isinstance(event, BatchEvent))
    assert start.step == 0 and start.batch == -1  # the untrained network's loss: the curves' first point
    first = next(e for e in events if isinstance(e, LayerStatsEvent) or (isinstance(e, BatchEvent) and e.batch >= 0))
    assert isinstance(first, LayerStatsEvent) and first.step == 0 and first.update_ratios is None
    epoch_end = [event for event in events if isinstance(event, LayerStatsEvent) and event.end_of_epoch]
    assert [event.gradient_norms for event in epoch_end] == result.gradient_norms[1:]
    assert epoch_end[-1].update_ratios is not None and len(epoch_end[-1].flat_shares) == 2


def test_projection_is_stored_per_epoch_beside_the_model(small_splits, store):
    result = train(TrainingConfig(hidden_layers=1, units=16, epochs=2), small_splits.limit(1000, 300))
    info = store.save(result.model, "projected", result.metadata(), result.extras())
    extras = store.extras(info)
    assert extras["projection"].shape == (3, 300, 2)
    assert np.array_equal(extras["projection_labels"], small_splits.y_test[:300])
    store.delete("projected")
    assert not info.path.with_suffix(".npz").exists()


def test_pca_plane_matches_numpy_covariance_eigenvectors():
    from model.inside.projection import principal_plane

    rng = np.random.default_rng(0)
    values = rng.normal(size=(300, 6)) * [5, 3, 1, 0.5, 0.2, 0.1]
    points = principal_plane(values)
    centred = values - values.mean(axis=0)
    _, eigenvectors = np.linalg.eigh(np.cov(centred.T))
    expected = centred @ eigenvectors[:, ::-1][:, :2]
    np.testing.assert_allclose(np.abs(points), np.abs(expected), atol=1e-8)
    flipped = principal_plane(values, previous=-points)
    np.testing.assert_allclose(flipped, -points, atol=1e-8)  # signs follow the previous snapshot


@pytest.fixture(scope="module")
def four_png(tmp_path_factory, mnist_raw):
    index = int(np.flatnonzero(mnist_raw.y_test == 4)[0])
    path = tmp_path_factory.mktemp("explain") / "four.png"
    cv2.imwrite(str(path), cv2.resize(255 - mnist_raw.x_test[index], (280, 280), interpolation=cv2.INTER_CUBIC))
    blank = path.with_name("blank.png")
    cv2.imwrite(str(blank), np.full((100, 100), 255, np.uint8))
    return path, blank


def test_explain_cli_matches_a_keras_forward_pass_and_sums_up(four_png, tmp_path):
    import keras

    from model.storage.store import ModelStore

    path, blank = four_png
    done = subprocess.run(
        [sys.executable, "-m", "model", "explain", str(path), str(blank), "--versus", "9", "--json"],
        capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=120,
        env={**os.environ, "MNIST_MODELS_DIR": str(tmp_path)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    record, empty = (json.loads(line) for line in done.stdout.splitlines())
    assert empty == {"file": str(blank), "digit": None}
    assert record["digit"] == 4 and record["versus"] == 9
    network = ModelStore().load("default")
    rows = np.array([record["input"]], np.float32)
    np.testing.assert_allclose(record["probabilities"], network.predict(rows, verbose=0)[0], atol=1e-4)
    hidden = [layer for layer in network.layers if isinstance(layer, keras.layers.Dense)][:-1]
    values = rows
    for layer, ours in zip(hidden, record["hidden"], strict=True):
        values = layer(values)
        np.testing.assert_allclose(ours, np.asarray(values)[0], atol=1e-4)
    logits = np.asarray(values) @ network.layers[-1].kernel.numpy() + network.layers[-1].bias.numpy()
    np.testing.assert_allclose(record["logits"], logits[0], atol=1e-4)
    total, target = sum(record["attribution"]), record["attribution_target"]
    assert len(record["attribution"]) == 784 and abs(total - target) <= 0.01 * abs(target)
    assert target == pytest.approx(logits[0][4] - logits[0][9] - _blank_logit_gap(network, 4, 9), rel=1e-4)


def _blank_logit_gap(network, target: int, versus: int) -> float:
    blank = np.zeros((1, 784), np.float32)
    hidden = blank
    for layer in network.layers[:-1]:
        hidden = np.asarray(layer(hidden))
    logits = hidden @ network.layers[-1].kernel.numpy() + network.layers[-1].bias.numpy()
    return float(logits[0][target] - logits[0][versus])


INSIDE_APP = """
import sys
sys.path.insert(0, {root!r})
from model.storage.dense_file import read_dense_network
from model.net.inference import answer
from model.storage.store import ModelStore
from ui.inside import inside_network_ui
from utils.mnist import load_raw
from utils.preprocess import mnist_as_trained
network = read_dense_network(ModelStore().get("default").path)
inside_network_ui(network, answer(network, mnist_as_trained(load_raw().x_test[:1])).trace)
"""


@pytest.mark.slow
def test_draw_page_inside_views_show_the_real_numbers(tmp_path):
    script = tmp_path / "inside.py"
    script.write_text(INSIDE_APP.format(root=str(PROJECT_ROOT)))
    app = AppTest.from_file(str(script), default_timeout=60).run()
    assert not app.exception
    assert "Hidden layer 1: 512 relu units" in app.caption[0].value and "output 0" in app.caption[0].value
    app.segmented_control(key="inside_view").set_value("neuron").run()
    assert not app.exception and app.get("latex")[0].value.count("underbrace") == 6  # 4 terms, the rest, the bias
    app.selectbox(key="inside_layer").set_value(2).run()  # the output layer: softmax spelled out
    assert "frac" in app.get("latex")[1].value and app.dataframe[0].value.shape == (10, 4)
    app.segmented_control(key="inside_view").set_value("attribution").run()
    check = next(block.value for block in app.markdown if block.value.startswith("**Check:**"))
    off_by = float(re.search(r"off by ([\d.]+)%", check).group(1)) / 100
    assert off_by < 0.01  # integrated gradients add up to the change of the score
    app.segmented_control(key="inside_view").set_value("weights").run()
    assert not app.exception
    weights = app.get("image")[-1].proto.imgs
    assert len(weights) == 32 and weights[0].caption.startswith("unit ")


ONE_PASS_APP = """
import sys
sys.path.insert(0, {root!r})
import numpy as np
import streamlit as st
from model.storage.dense_file import read_dense_network
from model.net.inference import answer
from model.net.numpy_network import DenseNetwork
from model.storage.store import ModelStore
from ui.inside import inside_network_ui

class Counting(DenseNetwork):
    passes = 0

    def trace(self, x):
        type(self).passes += 1
        return super().trace(x)

read = read_dense_network(ModelStore().get("default").path)
network = Counting(read.layers, read.name)
digit = np.zeros((28, 28), np.float32)
digit[6:22, 8:20] = 1.0  # a block: no digit, so not a sure answer
said = answer(network, digit)
inside_network_ui(network, said.trace)
st.text(f"passes {{Counting.passes}} answer {{int(said.probabilities.argmax())}} p {{said.probabilities.max():.6f}}")
"""


def test_the_prediction_and_the_inside_views_share_one_forward_pass(tmp_path):
    script = tmp_path / "one_pass.py"
    script.write_text(ONE_PASS_APP.format(root=str(PROJECT_ROOT)))
    app = AppTest.from_file(str(script), default_timeout=60).run()
    for view in ("activations", "weights", "neuron"):
        app.segmented_control(key="inside_view").set_value(view).run()
        assert not app.exception
        passes, digit, p = re.fullmatch(r"passes (\d+) answer (\d) p ([\d.]+)", app.text[-1].value).groups()
        assert passes == "1", view  # the answer's pass, and no other
    app.selectbox(key="inside_layer").set_value(2).run()  # the output layer: the answer's own probabilities
    softmax = app.get("latex")[1].value
    assert f"p_{{{digit}}} = " in softmax
    assert float(re.search(r"= ([\d.]+)\s*\$\$$", softmax).group(1)) == pytest.approx(float(p), abs=1e-4)
