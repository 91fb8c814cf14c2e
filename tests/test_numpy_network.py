"""model/net/numpy_network.py: the activation table against finite differences, and one forward pass per answer."""

from __future__ import annotations

import numpy as np
import pytest

from model.net.inference import answer
from model.net.numpy_network import ACTIVATIONS, FLAT_SLOPE, DenseNetwork

Z = np.linspace(-6, 6, 1201) + 0.0005  # steps of 0.01, none exactly on ReLU's kink at 0
H = 1e-6


@pytest.mark.parametrize("name", [name for name in ACTIVATIONS if name != "softmax"])
def test_each_slope_is_the_derivative_of_its_function_and_peaks_at_the_steepest(name):
    activation = ACTIVATIONS[name]
    numeric = (activation.function(Z + H) - activation.function(Z - H)) / (2 * H)
    slope = activation.slope(activation.function(Z))  # written with a = f(z), as backprop calls it
    np.testing.assert_allclose(slope, numeric, atol=1e-6)
    assert slope.max() <= activation.steepest and slope.max() == pytest.approx(activation.steepest, rel=1e-4)


def test_softmax_slope_is_the_diagonal_of_its_jacobian():
    softmax = ACTIVATIONS["softmax"]
    logits = np.random.default_rng(0).normal(0, 3, 10)
    nudged = logits + H * np.eye(10)
    numeric = (np.diagonal(softmax.function(nudged)) - np.diagonal(softmax.function(logits - H * np.eye(10)))) / (2 * H)
    np.testing.assert_allclose(softmax.slope(softmax.function(logits)), numeric, atol=1e-8)
    assert softmax.steepest == 0.25  # p(1 - p) at p = 1/2


@pytest.mark.parametrize(
    ("name", "steep", "flat"),
    [
        ("relu", [1e-6, 3.0], [0.0]),  # off
        ("sigmoid", [0.0258, 0.5, 0.9742], [0.0255, 0.9745]),  # saturated beyond (1 -+ sqrt(0.9)) / 2
        ("tanh", [-0.9486, 0.0, 0.9486], [-0.9488, 0.9488]),  # saturated beyond -+sqrt(0.9)
        ("linear", [-100.0, 0.0, 100.0], []),
    ],
)
def test_flat_units_are_off_or_saturated_where_the_docstring_says(name, steep, flat):
    activation = ACTIVATIONS[name]
    outputs = np.array([*steep, *flat])
    assert list(activation.flat(outputs)) == [False] * len(steep) + [True] * len(flat)
    assert activation.saturates == (name in ("sigmoid", "tanh"))
    assert not (activation.slope(outputs[: len(steep)]) < FLAT_SLOPE * activation.steepest).any()


def test_the_table_is_keyed_by_each_activations_own_name():
    assert all(name == activation.name for name, activation in ACTIVATIONS.items())


def test_the_prediction_is_the_last_output_of_the_trace_it_hands_on():
    rng = np.random.default_rng(1)
    weights = [rng.normal(0, 0.1, shape).astype(np.float32) for shape in [(784, 16), (16,), (16, 10), (10,)]]
    network = DenseNetwork.from_weights(weights, "tanh")
    digit = rng.random((28, 28), np.float32)
    said = answer(network, digit)
    assert said.trace is not None and np.array_equal(said.trace.inputs, digit.reshape(-1))
    np.testing.assert_allclose(said.probabilities, said.trace.probabilities, rtol=1e-6)
    assert said.probabilities.dtype == np.float64 and said.probabilities.sum() == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_array_equal(network(digit.reshape(1, -1))[0], said.trace.probabilities)
