"""Look inside a Dense network: a kept forward pass, exact contributions, saliency and gradient flow.

Everything is NumPy on ``DenseNetwork.layers`` (kernel (fan_in, fan_out), bias, activation; hidden
activations relu/sigmoid/tanh/linear, the last layer softmax). The Draw page answers every stroke
without TensorFlow (model/dense_file.py), and the training worker's layer statistics must read the
same on the TF and JAX backends. A Dense stack is a few matrix products, so each quantity here is
computed exactly (no sampling, no autodiff framework) in milliseconds for 784-512-512-10.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

Layer = tuple[np.ndarray, np.ndarray, str]
SIDE = 28  # a first-layer input is a 28x28 pixel image
FLAT_SLOPE = 0.1  # a unit is "flat" where f'(z) is under a tenth of its steepest slope: it passes on almost no gradient

_ACTIVATIONS = {
    "linear": lambda z: z,
    "relu": lambda z: np.maximum(z, 0),
    "sigmoid": lambda z: 0.5 * (np.tanh(0.5 * z) + 1),  # the tanh form never overflows
    "tanh": np.tanh,
}
# f'(z) written with a = f(z), so backprop needs only what the forward pass kept.
_SLOPES = {
    "linear": np.ones_like,
    "relu": lambda a: (a > 0).astype(a.dtype),  # a > 0 exactly where z > 0
    "sigmoid": lambda a: a * (1 - a),
    "tanh": lambda a: 1 - a * a,
}
_STEEPEST = {"linear": 1.0, "relu": 1.0, "sigmoid": 0.25, "tanh": 1.0}


def as_layers(network: Any) -> tuple[Layer, ...]:
    """A DenseNetwork's layers, or the (kernel, bias, activation) sequence itself, checked."""
    layers = tuple(getattr(network, "layers", network))
    if not layers or layers[-1][2] != "softmax" or any(act not in _SLOPES for _, _, act in layers[:-1]):
        raise ValueError(f"not a Dense stack ending in softmax: {[act for *_, act in layers]}")
    return layers


def layers_from_weights(weights: Sequence[np.ndarray], activations: str | Sequence[str]) -> tuple[Layer, ...]:
    """Keras' ``model.get_weights()`` ([kernel, bias] per Dense layer) as layers.

    ``activations`` is the hidden layers' activation, or one name per hidden layer, or one per layer.
    """
    if len(weights) % 2:
        raise ValueError("expected a kernel and a bias per Dense layer")
    count = len(weights) // 2
    names = [activations] * (count - 1) if isinstance(activations, str) else list(activations)
    names = [*names, "softmax"] if len(names) == count - 1 else names
    if len(names) != count:
        raise ValueError(f"{count} Dense layers but {len(names)} activations")
    return as_layers(
        tuple((np.asarray(weights[2 * i]), np.asarray(weights[2 * i + 1]), n) for i, n in enumerate(names))
    )


def _rows(x: Any) -> np.ndarray:
    """Float64 stays float64 (finite differences, gradient statistics); anything else computes in float32."""
    x = np.asarray(x)
    return np.atleast_2d(x.astype(np.float64 if x.dtype == np.float64 else np.float32, copy=False))


def _forward(layers: Sequence[Layer], rows: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
    """Hidden pre-activations, hidden activations, and logits, in the rows' dtype."""
    zs, outs, a = [], [], rows
    for kernel, bias, activation in layers:
        z = a @ kernel.astype(rows.dtype, copy=False) + bias.astype(rows.dtype, copy=False)
        if activation == "softmax":
            return zs, outs, z
        a = _ACTIVATIONS[activation](z)
        zs.append(z)
        outs.append(a)
    raise AssertionError("as_layers guarantees a softmax layer")


def _softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _backward(layers: Sequence[Layer], outs: Sequence[np.ndarray], grad_logits: np.ndarray) -> np.ndarray:
    """Chain rule from d/d(logits) back to d/d(inputs): g <- (g * f'(a_l)) @ W_l^T, layer by layer."""
    g = grad_logits @ layers[-1][0].T.astype(grad_logits.dtype, copy=False)
    for (kernel, _, activation), a in zip(reversed(layers[:-1]), reversed(outs), strict=True):
        g = (g * _SLOPES[activation](a)) @ kernel.T.astype(a.dtype, copy=False)
    return g


@dataclass(frozen=True, eq=False)
class Trace:
    """One forward pass with everything kept: what each layer computed (z = a_prev W + b) and passed on (a = f(z))."""

    inputs: np.ndarray
    z: tuple[np.ndarray, ...]  # hidden layers' pre-activations
    a: tuple[np.ndarray, ...]  # hidden layers' activations
    logits: np.ndarray  # the output layer's z
    probabilities: np.ndarray

    def layer_input(self, index: int) -> np.ndarray:
        """What layer ``index`` multiplies by its kernel: the pixels, or the previous hidden layer."""
        return self.inputs if index == 0 else self.a[index - 1]


def trace(network: Any, x: Any) -> Trace:
    """The forward pass for one input (784,) or a batch (N, 784); arrays keep that leading shape."""
    layers, rows = as_layers(network), _rows(x)
    zs, outs, logits = _forward(layers, rows)
    shape = (lambda v: v[0]) if np.ndim(x) == 1 else (lambda v: v)
    return Trace(shape(rows), tuple(map(shape, zs)), tuple(map(shape, outs)), shape(logits), shape(_softmax(logits)))


@dataclass(frozen=True, eq=False)
class Contributions:
    """Why unit ``unit`` of layer ``layer`` has its value: terms[i] = inputs[i] * weights[i].

    The picture is exact, not an approximation: z is nothing but these terms plus the bias,
    so terms.sum() + bias == z. For layer 0 the terms are 784 pixels (``image``).
    """

    layer: int
    unit: int
    activation: str
    inputs: np.ndarray
    weights: np.ndarray
    terms: np.ndarray
    bias: float
    z: float
    output: float  # f(z); in the softmax layer, this class's probability

    @property
    def image(self) -> np.ndarray:
        return self.terms.reshape(SIDE, SIDE)


def contributions(network: Any, x: Any, layer_index: int, unit: int) -> Contributions:
    """The incoming terms of one unit for one input (784,), in float64 (float32 products are exact there)."""
    layers = as_layers(network)
    kept = trace(layers, np.asarray(x).reshape(-1))
    kernel, bias, activation = layers[layer_index]
    inputs = kept.layer_input(layer_index).astype(np.float64)
    weights = kernel[:, unit].astype(np.float64)
    terms = inputs * weights
    z = float(terms.sum() + np.float64(bias[unit]))
    output = kept.probabilities[unit] if activation == "softmax" else _ACTIVATIONS[activation](z)
    return Contributions(layer_index, unit, activation, inputs, weights, terms, float(bias[unit]), z, float(output))


@dataclass(frozen=True)
class Calculation:
    """The sum written out for display: the k largest terms (input x weight), the rest summed, bias, z, f(z).

    Showing the biggest few terms explains most of z; ``rest`` keeps the sum honest.
    """

    largest: tuple[tuple[int, float, float, float], ...]  # (input index, input, weight, term), largest |term| first
    rest: float
    rest_count: int
    bias: float
    z: float
    activation: str
    output: float


def calculation(parts: Contributions, k: int = 5) -> Calculation:
    """In layer 0 an input index is a pixel: (row, col) = divmod(index, 28)."""
    order = np.argsort(-np.abs(parts.terms), kind="stable")[:k]
    largest = tuple((int(i), float(parts.inputs[i]), float(parts.weights[i]), float(parts.terms[i])) for i in order)
    rest = np.delete(parts.terms, order)
    return Calculation(largest, float(rest.sum()), rest.size, parts.bias, parts.z, parts.activation, parts.output)


@dataclass(frozen=True, eq=False)
class SoftmaxTerms:
    """Softmax spelled out: p_i = exp(z_i - max z) / sum_j exp(z_j - max z); the shift only prevents overflow."""

    logits: np.ndarray
    exps: np.ndarray
    total: float
    probabilities: np.ndarray


def softmax_terms(logits: Any) -> SoftmaxTerms:
    logits = np.asarray(logits, np.float64)
    exps = np.exp(logits - logits.max())
    return SoftmaxTerms(logits, exps, float(exps.sum()), exps / exps.sum())


def _direction(target: int, versus: int | None, classes: int, dtype: Any) -> np.ndarray:
    """d(logit_target - logit_versus)/d(logits): the question "why target (and not versus)?"."""
    one_hot = np.eye(classes, dtype=dtype)
    return one_hot[target] - (0 if versus is None else one_hot[versus])


def input_gradient(network: Any, x: Any, target: int, versus: int | None = None) -> np.ndarray:
    """d logit_target / d x (or of logit_target - logit_versus) by backprop, shaped like x.

    Logits, not probabilities: a confident softmax is flat, so its gradient says little.
    """
    layers, rows = as_layers(network), _rows(x)
    _, outs, _ = _forward(layers, rows)
    grad = _backward(layers, outs, _direction(target, versus, layers[-1][0].shape[1], rows.dtype))
    return np.broadcast_to(grad, rows.shape).reshape(np.shape(x)).copy()


@dataclass(frozen=True, eq=False)
class Attribution:
    """Integrated gradients: each pixel's share of the change in the target from the baseline to x.

    Completeness (Sundararajan et al. 2017): the attribution sums to value - baseline_value.
    Showing how close the sum comes is what makes the map an explanation rather than a heat map.
    """

    attribution: np.ndarray  # (784,)
    value: float  # the target at x: logit_target (- logit_versus)
    baseline_value: float
    target_delta: float
    completeness_error: float  # |sum(attribution) - target_delta| / max(|target_delta|, eps)
    steps: int  # intervals of the path used


def integrated_gradients(
    network: Any,
    x: Any,
    target: int,
    versus: int | None = None,
    baseline: Any = None,
    steps: int = 32,
    max_steps: int = 512,
    tolerance: float = 0.002,
    eps: float = 1e-3,
) -> Attribution:
    """(x - baseline) times the average gradient on the straight path; the baseline defaults to a blank canvas.

    Two facts make it accurate with few steps. The first layer is linear in the pixels, so on
    the path z1(t) = z1(0) + t c with c = (x - baseline) W1, and the integral of f1'(z1) over an
    interval is exactly (f1(z1(b)) - f1(z1(a))) / c: a first-layer ReLU switching mid-interval
    costs nothing (deeper layers are averaged over the ends, trapezoid-like). And each
    interval's true share of the target change is known from the forward pass, F(b) - F(a), so
    the intervals whose attribution misses it most are halved, from ``steps`` intervals until
    the completeness error is under ``tolerance`` or ``max_steps`` intervals are used. The
    page promises 1 %; aiming at 0.2 % keeps the shown figure clear of that line after rounding.
    """
    layers, x = as_layers(network), _rows(x)[0]
    base = np.zeros_like(x) if baseline is None else _rows(baseline)[0].astype(x.dtype)
    (kernel, bias, activation), rest = layers[0], layers[1:]
    f, seed, diff = _ACTIVATIONS[activation], _direction(target, versus, layers[-1][0].shape[1], x.dtype), x - base
    z0 = (base @ kernel.astype(x.dtype) + bias).astype(np.float64)
    c = (diff @ kernel.astype(x.dtype)).astype(np.float64)

    def along(t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """dF/da1, F and f1(z1) at path points t."""
        a1 = f(z0 + t[:, None] * c)
        _, outs, logits = _forward(rest, a1.astype(x.dtype))
        return np.broadcast_to(_backward(rest, outs, seed), a1.shape), logits @ seed, a1

    t = np.linspace(0.0, 1.0, steps + 1)
    grads, values, a1 = along(t)
    flat = np.abs(c) < 1e-12
    while True:
        with np.errstate(divide="ignore", invalid="ignore"):
            integral = np.where(flat, _SLOPES[activation](a1[:-1]) * np.diff(t)[:, None], np.diff(a1, axis=0) / c)
        shares = 0.5 * (grads[1:] + grads[:-1]) * integral  # each interval's integral of dF/dz1
        residual = shares @ c - np.diff(values.astype(np.float64))
        delta = float(values[-1]) - float(values[0])
        error = abs(float(residual.sum())) / max(abs(delta), eps)
        room = max_steps - (len(t) - 1)
        if error < tolerance or room <= 0:
            break
        misses = np.abs(residual)  # halve the intervals that miss more than the average one
        pick = np.flatnonzero(misses >= misses.mean())
        pick = pick[np.argsort(-misses[pick])][:room]
        if not pick.size:  # a NaN residual: nothing to gain from more points
            break
        mids = 0.5 * (t[pick] + t[pick + 1])
        more = along(mids)
        order = np.argsort(np.concatenate([t, mids]), kind="stable")
        t = np.concatenate([t, mids])[order]
        grads, values, a1 = (
            np.concatenate([old, new])[order] for old, new in zip((grads, values, a1), more, strict=True)
        )
    attribution = (diff * (kernel @ shares.sum(axis=0))).astype(x.dtype)
    return Attribution(attribution, float(values[-1]), float(values[0]), delta, error, len(t) - 1)


def gradient_norms(network: Any, x_probe: Any, y_probe: Any) -> np.ndarray:
    """||d loss / d kernel|| per Dense layer (hidden ones, then output), float64, no dropout.

    loss is the mean sparse categorical cross-entropy on the probe, whose gradient at the
    logits is (p - onehot) / N. Norms that shrink toward the input layer are vanishing gradients.
    """
    layers, rows = as_layers(network), np.asarray(x_probe, np.float64).reshape(len(y_probe), -1)
    _, outs, logits = _forward(layers, rows)
    dz = _softmax(logits)
    dz[np.arange(len(rows)), np.asarray(y_probe, int)] -= 1
    dz /= len(rows)
    inputs, norms = [rows, *outs], []
    for index in reversed(range(len(layers))):
        norms.append(np.linalg.norm(inputs[index].T @ dz))
        if index:
            dz = (dz @ layers[index][0].T.astype(np.float64)) * _SLOPES[layers[index - 1][2]](outs[index - 1])
    return np.array(norms[::-1])


@dataclass(frozen=True, eq=False)
class UnitHealth:
    """One hidden layer on a probe: where units pass (almost) no gradient back.

    ``flat[j]`` is the share of probe inputs on which f'(z_j) is under FLAT_SLOPE of the
    activation's steepest slope (ReLU: z <= 0; sigmoid: a(1-a) < 0.025; tanh: 1-a^2 < 0.1).
    A unit flat on every input is ``dead``: it cannot learn from this data. For sigmoid and
    tanh, flat means saturated; a ReLU that is off on some inputs is normal, so its
    ``saturated_share`` is 0 and only dead units count.
    """

    activation: str
    flat: np.ndarray
    dead: np.ndarray

    @property
    def dead_share(self) -> float:
        return float(self.dead.mean())

    @property
    def saturated_share(self) -> float:
        return float(self.flat.mean()) if self.activation in ("sigmoid", "tanh") else 0.0


def unit_health(network: Any, x_probe: Any) -> tuple[UnitHealth, ...]:
    """Per hidden layer, on a fixed probe (e.g. 256 training images)."""
    layers = as_layers(network)
    _, outs, _ = _forward(layers, _rows(x_probe))
    health = []
    for (_, _, activation), a in zip(layers[:-1], outs, strict=True):
        flat = (_SLOPES[activation](a) < FLAT_SLOPE * _STEEPEST[activation]).mean(axis=0)
        health.append(UnitHealth(activation, flat, flat == 1.0))
    return tuple(health)


def update_ratios(old_network: Any, new_network: Any) -> np.ndarray:
    """||W_new - W_old|| / ||W_old|| per layer's kernel: around 1e-3 per step is healthy (CS231n)."""
    pairs = zip(as_layers(old_network), as_layers(new_network), strict=True)
    return np.array([np.linalg.norm(new[0] - old[0]) / max(np.linalg.norm(old[0]), 1e-12) for old, new in pairs])


def top_units(activations: Any, k: int) -> np.ndarray:
    """Indices of the k units with the largest |activation|, largest first (ties keep unit order)."""
    return np.argsort(-np.abs(np.asarray(activations)), kind="stable")[:k]


@dataclass(frozen=True, eq=False)
class WeightImages:
    """First-layer kernels as (units, 28, 28) pictures with one symmetric range: colours compare across units."""

    images: np.ndarray
    limit: float  # draw with vmin=-limit, vmax=limit on a map centred on 0


def first_layer_images(network: Any, quantile: float = 0.995) -> WeightImages:
    """The range is a high quantile of |w| rather than the max, so a few outliers do not wash out the rest."""
    kernel = as_layers(network)[0][0]
    return WeightImages(kernel.T.reshape(-1, SIDE, SIDE), float(np.quantile(np.abs(kernel), quantile)))


def sort_units(network: Any, a0: Any = None, by: str = "activation") -> np.ndarray:
    """First-layer units in display order: most active on this drawing (``a0``), largest
    incoming weight norm ('norm'), or most used downstream (outgoing weight norm, 'use')."""
    layers = as_layers(network)
    if by == "activation":
        if a0 is None:
            raise ValueError("sorting by activation needs the first hidden layer's activations")
        return top_units(a0, len(np.asarray(a0)))
    if by not in ("norm", "use"):
        raise ValueError(f"by must be 'activation', 'norm' or 'use', got {by!r}")
    score = np.linalg.norm(layers[0][0], axis=0) if by == "norm" else np.linalg.norm(layers[1][0], axis=1)
    return np.argsort(-score, kind="stable")
