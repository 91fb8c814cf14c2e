"""Forward passes without ``model.predict``, whose per-call set-up costs ~50-100 ms.

A Keras network is called through one traced ``tf.function`` per model (about 0.5 ms for
one digit on a CPU, against ~2.5 ms for an eager call), kept in a weak map so that a model
that is no longer used can still be freed. A ``DenseNetwork`` read by ``model.storage.dense_file``
is already such a function, in NumPy; Keras is imported only for Keras networks, so the
Draw page can answer without loading TensorFlow.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias

import numpy as np

from model.net.numpy_network import DenseNetwork, Trace
from utils.mnist import N_CLASSES, N_PIXELS
from utils.preprocess import as_model_input

if TYPE_CHECKING:
    import keras

Network: TypeAlias = "keras.Model | DenseNetwork"
EVAL_CHUNK = 2048
_compiled: weakref.WeakKeyDictionary[keras.Model, Callable] = weakref.WeakKeyDictionary()


@dataclass(frozen=True, eq=False)
class Answer:
    """The network's answer for one digit, and for a NumPy network the forward pass it came from."""

    probabilities: np.ndarray  # float64, summing to 1
    trace: Trace | None  # what every layer computed, for the inside views; None for a Keras network


def forward(network: Network) -> Callable[[np.ndarray], np.ndarray]:
    """A fast function from (N, 784) float32 rows to (N, 10) probabilities for ``network``."""
    if isinstance(network, DenseNetwork):
        return network
    function = _compiled.get(network)
    if function is None:
        function = _trace(network)
        _compiled[network] = function
    return function


def _trace(network: keras.Model) -> Callable[[np.ndarray], np.ndarray]:
    import keras

    if keras.backend.backend() != "tensorflow":
        return lambda rows: np.asarray(network(rows, training=False))
    import tensorflow as tf

    model_ref = weakref.ref(network)  # the traced graph must not keep the model alive

    @tf.function(input_signature=[tf.TensorSpec([None, N_PIXELS], tf.float32)], autograph=False)
    def probabilities(rows: tf.Tensor) -> tf.Tensor:
        model = model_ref()
        assert model is not None, "traced on a call, so while the model is alive"
        return model(rows, training=False)

    return lambda rows: probabilities(rows).numpy()


def answer(network: Network, digit: np.ndarray) -> Answer:
    """One 28x28 digit (or 784 row) through the network, once: the prediction and the inside views share it."""
    row = as_model_input(digit)[0]
    kept = network.trace(row) if isinstance(network, DenseNetwork) else None
    probabilities = (kept.probabilities if kept is not None else forward(network)(row[None])[0]).astype(np.float64)
    return Answer(probabilities / probabilities.sum(), kept)


def predict_probabilities(network: Network, digit: np.ndarray) -> np.ndarray:
    """The 10 class probabilities for one 28x28 digit (or 784 row), as float64 summing to 1."""
    return answer(network, digit).probabilities


def predict_batch(network: Network, rows: np.ndarray) -> np.ndarray:
    """Probabilities for many (N, 784) rows, in chunks to bound memory."""
    rows, run = as_model_input(rows), forward(network)
    chunks = [run(rows[start : start + EVAL_CHUNK]) for start in range(0, len(rows), EVAL_CHUNK)]
    return np.concatenate(chunks) if chunks else np.zeros((0, N_CLASSES), np.float32)


def evaluate(network: Network, rows: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """(accuracy, mean cross-entropy) on labelled rows; the loss clips like Keras (1e-7)."""
    probabilities = predict_batch(network, rows).astype(np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    accuracy = float(np.mean(probabilities.argmax(axis=1) == labels))
    picked = np.clip(probabilities[np.arange(len(labels)), labels], 1e-7, 1.0)
    return accuracy, float(-np.mean(np.log(picked)))
