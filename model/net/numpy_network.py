"""A Dense network in NumPy: the one forward pass the app computes outside Keras, and its activations.

The Draw page, the CLI and the inside views answer without TensorFlow, and the training
worker's layer statistics must read the same on every Keras backend, so a plain stack of
Dense layers is computed here: a few matrix products. ``DenseNetwork.trace`` keeps what
every layer computed; the prediction is its last output, and the inside views
(``model.inside.explain``) read the same trace, so they agree with the answer to the last digit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

Array = np.ndarray
FLAT_SLOPE = 0.1  # a unit is "flat" where f'(z) is under a tenth of its steepest slope: it passes on almost no gradient


def _softmax(z: Array) -> Array:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@dataclass(frozen=True)
class Activation:
    """An activation f, with what backprop and the inside views need to know of it.

    ``slope`` is f'(z) written with a = f(z), so backprop needs only what the forward pass
    kept (softmax: the diagonal of its Jacobian, dp_i/dz_i; it is only ever the output).
    """

    name: str
    function: Callable[[Array], Array]
    slope: Callable[[Array], Array]
    steepest: float  # the largest slope f' reaches
    saturates: bool  # its flat units are stuck near a limit (sigmoid, tanh), not off (ReLU's output 0)

    def flat(self, outputs: Array) -> Array:
        """Where a unit passes on (almost) no gradient: slope under FLAT_SLOPE of the steepest.

        ReLU: output 0 (the unit is off). Sigmoid: outputs beyond 0.026 and 0.974; tanh: beyond
        -0.949 and 0.949 (saturated). A linear unit is never flat.
        """
        return np.asarray(self.slope(outputs) < FLAT_SLOPE * self.steepest)


ACTIVATIONS: dict[str, Activation] = {  # ReLU's a > 0 exactly where z > 0; sigmoid's tanh form never overflows
    activation.name: activation
    for activation in (
        Activation("linear", lambda z: z, np.ones_like, 1.0, saturates=False),
        Activation("relu", lambda z: np.maximum(z, 0), lambda a: (a > 0).astype(a.dtype), 1.0, saturates=False),
        Activation("sigmoid", lambda z: 0.5 * (np.tanh(0.5 * z) + 1), lambda a: a * (1 - a), 0.25, saturates=True),
        Activation("tanh", np.tanh, lambda a: 1 - a * a, 1.0, saturates=True),
        Activation("softmax", _softmax, lambda p: p * (1 - p), 0.25, saturates=False),
    )
}
OUTPUT = ACTIVATIONS["softmax"]


@dataclass(frozen=True, eq=False)
class Dense:
    """One layer: outputs = activation(inputs @ kernel + bias)."""

    kernel: Array  # (fan_in, units)
    bias: Array  # (units,)
    activation: Activation

    @property
    def units(self) -> int:
        return int(self.kernel.shape[1])

    def pre_activation(self, inputs: Array) -> Array:
        """z = inputs @ kernel + bias, in the inputs' dtype."""
        return inputs @ self.kernel.astype(inputs.dtype, copy=False) + self.bias.astype(inputs.dtype, copy=False)


@dataclass(frozen=True, eq=False)
class Trace:
    """One forward pass with everything kept, per layer: what it computed (z) and what it passed on (f(z))."""

    inputs: Array
    pre_activations: tuple[Array, ...]  # z per layer; the last is the logits
    outputs: tuple[Array, ...]  # f(z) per layer; the last is the probabilities

    @property
    def hidden(self) -> tuple[Array, ...]:
        """The hidden layers' outputs."""
        return self.outputs[:-1]

    @property
    def logits(self) -> Array:
        return self.pre_activations[-1]

    @property
    def probabilities(self) -> Array:
        return self.outputs[-1]

    def layer_input(self, index: int) -> Array:
        """What layer ``index`` multiplies by its kernel: the pixels, or the previous layer's outputs."""
        return self.inputs if index == 0 else self.outputs[index - 1]


def as_rows(x: ArrayLike) -> Array:
    """(N, inputs) rows: float64 stays float64 (finite differences, gradient statistics), the rest is float32."""
    rows = np.asarray(x)
    return np.atleast_2d(rows.astype(np.float64 if rows.dtype == np.float64 else np.float32, copy=False))


@dataclass(frozen=True, eq=False)
class DenseNetwork:
    """Dense layers whose hidden activations are elementwise and whose last one is softmax."""

    layers: tuple[Dense, ...]
    name: str = ""

    def __post_init__(self) -> None:
        kinds = [layer.activation.name for layer in self.layers]
        if not kinds or kinds[-1] != OUTPUT.name or OUTPUT.name in kinds[:-1]:
            raise ValueError(f"not a Dense stack with elementwise hidden activations ending in softmax: {kinds}")

    def __call__(self, rows: ArrayLike) -> Array:
        """(N, 784) rows to (N, 10) probabilities: ``model.net.inference.forward``'s contract."""
        return self.trace(rows).probabilities

    def trace(self, x: ArrayLike) -> Trace:
        """The forward pass for one input (inputs,) or a batch (N, inputs); arrays keep that leading shape."""
        rows = as_rows(x)
        pre_activations: list[Array] = []
        outputs: list[Array] = []
        values = rows
        for layer in self.layers:
            z = layer.pre_activation(values)
            values = layer.activation.function(z)
            pre_activations.append(z)
            outputs.append(values)
        if np.ndim(x) == 1:
            return Trace(rows[0], tuple(z[0] for z in pre_activations), tuple(a[0] for a in outputs))
        return Trace(rows, tuple(pre_activations), tuple(outputs))

    @classmethod
    def from_weights(cls, weights: Sequence[Array], activations: str | Sequence[str]) -> DenseNetwork:
        """Keras' ``model.get_weights()`` ([kernel, bias] per Dense layer) as a network.

        ``activations`` is the hidden layers' activation, or one name per hidden layer, or one per layer.
        """
        if len(weights) % 2:
            raise ValueError("expected a kernel and a bias per Dense layer")
        count = len(weights) // 2
        names = [activations] * (count - 1) if isinstance(activations, str) else list(activations)
        names = [*names, OUTPUT.name] if len(names) == count - 1 else names
        if len(names) != count or not set(names) <= set(ACTIVATIONS):
            raise ValueError(f"{count} Dense layers but activations {names}")
        pairs = zip(weights[::2], weights[1::2], names, strict=True)
        return cls(
            tuple(Dense(np.asarray(kernel), np.asarray(bias), ACTIVATIONS[name]) for kernel, bias, name in pairs)
        )

    @property
    def architecture(self) -> str:
        """'784-512-512-10'."""
        return "-".join(str(size) for size in [self.layers[0].kernel.shape[0], *(layer.units for layer in self.layers)])
