"""model/inside/explain.py against independent answers: Keras' forward pass, tf.GradientTape, finite differences.

Every check compares with a computation the module does not share (Keras layers, TensorFlow's
autodiff, a float64 forward pass written here, brute-force quadrature), so each can fail.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from model.inside import explain
from model.net.numpy_network import DenseNetwork
from tests.helpers import PROJECT_ROOT

ACTIVATIONS = ["relu", "sigmoid", "tanh"]
F64 = {
    "relu": lambda z: np.maximum(z, 0.0),
    "sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z)),
    "tanh": np.tanh,
    "softmax": lambda z: z,  # the reference below stops at the logits
}


def _keras_net(
    activation: str, hidden_layers: int = 2, units: int = 32, dropout: float = 0.0, random_bias: bool = True
):
    from model.net.config import TrainingConfig
    from model.net.network import build_network

    network = build_network(
        TrainingConfig(hidden_layers=hidden_layers, units=units, activation=activation, dropout=dropout)
    )
    if random_bias:  # Keras starts biases at 0: random ones make a forgotten or misplaced bias show
        rng = np.random.default_rng(0)
        network.set_weights(
            [w if w.ndim == 2 else rng.normal(0, 0.1, w.shape).astype(np.float32) for w in network.get_weights()]
        )
    return network, DenseNetwork.from_weights(network.get_weights(), activation)


def _logits64(network: DenseNetwork, rows: np.ndarray) -> np.ndarray:
    """A plain float64 forward pass to the logits, written independently of the module."""
    a = rows
    for layer in network.layers:
        a = F64[layer.activation.name](a @ layer.kernel.astype(np.float64) + layer.bias.astype(np.float64))
    return a


@pytest.fixture(scope="module")
def digits(mnist_raw):
    from utils.preprocess import PREPROCESSING_VERSION, mnist_as_trained

    return mnist_as_trained(mnist_raw.x_test[:64], PREPROCESSING_VERSION), mnist_raw.y_test[:64]


@pytest.fixture(scope="module")
def pretrained():
    from model.storage.dense_file import read_dense_network
    from model.storage.store import DEFAULT_MODEL_NAME, ModelStore

    return read_dense_network(ModelStore().get(DEFAULT_MODEL_NAME).path)


def test_importing_it_leaves_tensorflow_and_keras_out():
    code = "import sys, model.inside.explain; sys.exit(bool({'tensorflow', 'keras'} & set(sys.modules)))"
    assert subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT).returncode == 0


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_trace_matches_keras_layer_by_layer(activation, digits):
    import keras

    network, ours = _keras_net(activation, dropout=0.2)  # dropout is off at inference, here as in Keras
    rows = digits[0][:16]
    kept = ours.trace(rows)
    dense = [layer for layer in network.layers if isinstance(layer, keras.layers.Dense)]
    a = rows
    for index, layer in enumerate(dense):
        linear = keras.layers.Dense(layer.units)  # the same weights without the activation: Keras' own z
        linear.build((None, layer.kernel.shape[0]))
        linear.set_weights(layer.get_weights())
        z, a = np.asarray(linear(a)), np.asarray(layer(a))
        np.testing.assert_allclose(kept.pre_activations[index], z, atol=1e-5)
        np.testing.assert_allclose(kept.outputs[index], a, atol=1e-5)
    np.testing.assert_allclose(kept.logits, z, atol=1e-5)
    np.testing.assert_allclose(kept.probabilities, np.asarray(network(rows)), atol=1e-5)
    one = ours.trace(rows[3])
    assert one.pre_activations[0].shape == (32,) and one.probabilities.shape == (10,)
    np.testing.assert_allclose(one.logits, z[3], atol=1e-5)


def test_the_pretrained_network_is_accepted_as_it_is_read(pretrained, digits):
    rows = digits[0][:32]
    kept = pretrained.trace(rows)
    np.testing.assert_allclose(kept.probabilities, pretrained(rows), atol=1e-6)
    assert [a.shape for a in kept.hidden] == [(32, 512), (32, 512)]
    assert (kept.probabilities.argmax(axis=1) == digits[1][:32]).mean() > 0.9


def test_contributions_add_up_to_what_keras_computes(digits):
    import keras

    network, ours = _keras_net("sigmoid")
    x = digits[0][5]
    kept = ours.trace(x)
    dense = [layer for layer in network.layers if isinstance(layer, keras.layers.Dense)]
    outputs = [np.asarray(out)[0] for out in keras.Model(network.inputs[0], [d.output for d in dense])(x[None])]
    for index, unit in [(0, 7), (1, 30)]:
        parts = explain.contributions(ours, kept, index, unit)
        assert parts.terms.shape == (ours.layers[index].kernel.shape[0],)
        # the contribution map is exact: its terms and the bias are z, and f(z) is what Keras passes on
        assert F64["sigmoid"](parts.terms.sum() + parts.bias) == pytest.approx(outputs[index][unit], abs=1e-6)
        assert parts.output == pytest.approx(outputs[index][unit], abs=1e-6)
        steps = explain.calculation(parts, k=4)
        indices, inputs, weights, terms = zip(*steps.largest, strict=True)
        assert len(terms) == 4 and steps.rest_count == len(parts.terms) - 4
        assert sum(terms) + steps.rest + steps.bias == pytest.approx(parts.z, abs=1e-9)
        assert min(map(abs, terms)) >= np.abs(np.delete(parts.terms, indices)).max()
        fed = x if index == 0 else outputs[index - 1]  # what Keras fed this layer
        assert (
            inputs[0] == pytest.approx(fed[indices[0]], abs=1e-6)
            and weights[0] == ours.layers[index].kernel[indices[0], unit]
        )
        assert terms[0] == pytest.approx(inputs[0] * weights[0])
    image = explain.contributions(ours, kept, 0, 3).image
    assert image.shape == (28, 28) and not image[x.reshape(28, 28) == 0].any()
    logits = [explain.contributions(ours, kept, 2, unit).z for unit in range(10)]
    spelled = explain.softmax_terms(logits)
    np.testing.assert_allclose(spelled.probabilities, outputs[2], atol=1e-6)
    assert spelled.exps.max() == 1.0 and spelled.total == pytest.approx(spelled.exps.sum())
    assert explain.contributions(ours, kept, 2, 4).output == pytest.approx(outputs[2][4], abs=1e-6)


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("versus", [None, 2])
def test_input_gradient_matches_central_differences(activation, versus, digits):
    _, ours = _keras_net(activation, hidden_layers=3)
    x = digits[0][1].astype(np.float64)
    grad = explain.input_gradient(ours, x, 7, versus)
    h = 1e-6
    shifted = x + h * np.concatenate([np.eye(784), -np.eye(784)])
    logits = _logits64(ours, shifted)
    target = logits[:, 7] - (0 if versus is None else logits[:, versus])
    numeric = (target[:784] - target[784:]) / (2 * h)
    np.testing.assert_allclose(grad, numeric, rtol=1e-4, atol=1e-4 * np.abs(numeric).max())
    batch = explain.input_gradient(ours, np.stack([x, x]), 7, versus)
    np.testing.assert_allclose(batch[1], grad)


@pytest.mark.parametrize(
    ("activation", "hidden_layers", "steps", "within"),
    [("relu", 2, 32, 0.02), ("sigmoid", 2, 32, 1e-3), ("tanh", 2, 32, 1e-3), ("relu", 1, 1, 1e-3)],
    ids=["relu", "sigmoid", "tanh", "relu-one-hidden-layer-one-step"],
)
def test_integrated_gradients_agree_with_a_brute_force_path_integral(activation, hidden_layers, steps, within, digits):
    """Smooth nets: second order in the step. One hidden ReLU layer: exact even with one interval,
    since the first layer's switching is integrated in closed form (deeper ReLUs are what costs steps)."""
    _, ours = _keras_net(activation, hidden_layers)
    x, baseline = digits[0][2], (digits[0][9] if activation == "tanh" else None)
    result = explain.integrated_gradients(ours, x, 3, 8, baseline=baseline, steps=steps, max_steps=32)
    start = np.zeros(784) if baseline is None else baseline.astype(np.float64)
    t = (np.arange(4096) + 0.5) / 4096  # midpoints, float64, through the finite-difference-checked gradient
    path = start + t[:, None] * (x.astype(np.float64) - start)
    reference = (x - start) * explain.input_gradient(ours, path, 3, 8).mean(axis=0)
    assert np.linalg.norm(result.attribution - reference) < within * np.linalg.norm(reference)
    ends = _logits64(ours, np.stack([start, x.astype(np.float64)]))
    delta = (ends[1, 3] - ends[1, 8]) - (ends[0, 3] - ends[0, 8])
    assert result.target_delta == pytest.approx(delta, rel=1e-4)
    assert abs(result.attribution.sum() - delta) <= 0.01 * abs(delta)


def test_integrated_gradients_are_complete_on_the_pretrained_network(pretrained, digits):
    rows, rng = digits[0][:40], np.random.default_rng(1)
    predicted = pretrained(rows).argmax(axis=1)
    blank = _logits64(pretrained, np.zeros((1, 784)))[0]
    worst, steps = 0.0, []
    for x, target in zip(rows, predicted, strict=True):
        versus = (target + rng.integers(1, 10)) % 10
        for other in (None, versus):
            result = explain.integrated_gradients(pretrained, x, target, other)
            logits = _logits64(pretrained, x[None].astype(np.float64))[0]
            delta = logits[target] - blank[target] - (0 if other is None else logits[other] - blank[other])
            error = abs(result.attribution.sum() - delta) / abs(delta)
            assert error == pytest.approx(result.completeness_error, abs=1e-4)
            worst, steps = max(worst, error), [*steps, result.steps]
    print(f"worst completeness error {worst:.4f}, steps median {np.median(steps):.0f} max {max(steps)}")
    assert worst < 0.002 and max(steps) <= 512


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_gradient_norms_match_tensorflow(activation, digits):
    import keras
    import tensorflow as tf

    network, _ = _keras_net(activation, dropout=0.3)
    rows, labels = digits[0][:48], digits[1][:48]
    with tf.GradientTape() as tape:
        loss = keras.losses.SparseCategoricalCrossentropy()(labels, network(rows, training=False))
    kernels = [w for w in network.trainable_weights if len(w.shape) == 2]
    expected = [float(tf.norm(g)) for g in tape.gradient(loss, kernels)]
    ours = explain.gradient_norms(DenseNetwork.from_weights(network.get_weights(), activation), rows, labels)
    np.testing.assert_allclose(ours, expected, rtol=1e-4)


def test_sigmoid_gradients_vanish_toward_the_input_and_relu_ones_do_not(mnist_raw):
    from utils.preprocess import PREPROCESSING_VERSION, mnist_as_trained

    rows, labels = mnist_as_trained(mnist_raw.x_train[:256], PREPROCESSING_VERSION), mnist_raw.y_train[:256]
    ratios = {}
    for activation in ("sigmoid", "relu"):
        network, _ = _keras_net(activation, hidden_layers=5, units=128, random_bias=False)  # as initialised
        norms = explain.gradient_norms(DenseNetwork.from_weights(network.get_weights(), activation), rows, labels)
        ratios[activation] = norms[0] / norms[4]  # first hidden layer against the last hidden layer
    print(f"first/last hidden gradient norm at initialisation: {ratios}")
    assert ratios["sigmoid"] < 0.02 and 0.2 < ratios["relu"] < 5


def test_unit_health_finds_dead_and_saturated_units(digits):
    import keras

    rows = digits[0][:64]
    for activation, bias, edge in (("relu", -100.0, 0.0), ("sigmoid", 50.0, -4.0), ("tanh", -50.0, 2.0)):
        network, _ = _keras_net(activation)
        weights = network.get_weights()
        weights[1][:5] = bias  # five first-layer units pinned off (ReLU) or saturated (sigmoid, tanh)
        weights[1][5:10] = edge  # and five with slopes around the threshold
        network.set_weights(weights)
        hidden = keras.Model(network.inputs[0], network.layers[0].output)
        a = np.asarray(hidden(rows)).astype(np.float64)
        slope = {"relu": a > 0, "sigmoid": a * (1 - a) / 0.25, "tanh": 1 - a * a}[activation]
        health = explain.unit_health(DenseNetwork.from_weights(weights, activation), rows)
        assert len(health) == 2
        np.testing.assert_allclose(health[0].flat, (slope < 0.1).mean(axis=0))
        assert health[0].dead[:5].all() and health[0].dead_share == pytest.approx((slope < 0.1).all(axis=0).mean())
        assert (health[0].saturated_share >= 5 / 32) == (activation != "relu")


def test_update_ratios_weigh_each_kernel_change(pretrained):
    first, middle, last = pretrained.layers
    moved = DenseNetwork((first, replace(middle, kernel=middle.kernel * np.float32(1.01), bias=middle.bias + 1), last))
    np.testing.assert_allclose(explain.update_ratios(pretrained, moved), [0.0, 0.01, 0.0], atol=1e-6)


def test_weight_images_and_unit_orders(pretrained):
    kernel = pretrained.layers[0].kernel
    images = explain.first_layer_images(pretrained)
    assert images.images.shape == (512, 28, 28) and images.images[17, 3, 25] == kernel[3 * 28 + 25, 17]
    assert 0 < images.limit <= np.abs(kernel).max()
    by_norm = explain.sort_units(pretrained, by="norm")
    assert sorted(by_norm) == list(range(512)) and np.all(np.diff(np.linalg.norm(kernel[:, by_norm], axis=0)) <= 0)
    by_use = explain.sort_units(pretrained, by="use")
    outgoing = pretrained.layers[1].kernel
    assert np.linalg.norm(outgoing[by_use[0]]) == np.linalg.norm(outgoing, axis=1).max()
    a0 = np.array([0.5, -2.0, 0.0, 1.0])
    assert list(explain.top_units(a0, 2)) == [1, 3]
    assert list(explain.sort_units(pretrained, np.arange(512.0) % 7)[:2]) == [6, 13]
    with pytest.raises(ValueError):
        explain.sort_units(pretrained, by="activation")


def test_weights_lists_are_checked():
    kernel, bias = np.zeros((784, 10), np.float32), np.zeros(10, np.float32)
    assert DenseNetwork.from_weights([kernel, bias], []).layers[0].activation.name == "softmax"
    for weights, activations in (
        ([kernel], "relu"),
        ([kernel, bias, kernel, bias], ["relu", "tanh", "softmax"]),
        ([kernel, bias, kernel, bias], "swish"),
        ([kernel, bias], ["relu"]),  # no softmax at the end
        ([kernel, bias, kernel, bias], "softmax"),  # softmax is not elementwise: never a hidden layer
    ):
        with pytest.raises(ValueError):
            DenseNetwork.from_weights(weights, activations)
