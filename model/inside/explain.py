"""Look inside a Dense network: exact contributions, saliency and gradient flow, on its kept forward pass.

Everything is NumPy on ``model.net.numpy_network``: the views read the ``Trace`` that gave the
prediction, and backprop uses each ``Activation``'s slope. The Draw page answers every stroke
without TensorFlow, and the training worker's layer statistics must read the same on the TF and
JAX backends. A Dense stack is a few matrix products, so each quantity here is computed exactly
(no sampling, no autodiff framework) in milliseconds for 784-512-512-10.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.linalg import norm

from model.net.numpy_network import Activation, DenseNetwork, Trace, as_rows

SIDE = 28  # a first-layer input is a 28x28 pixel image


def _backward(network: DenseNetwork, hidden: Sequence[np.ndarray], grad_logits: np.ndarray) -> np.ndarray:
    """Chain rule from d/d(logits) back to d/d(inputs): g <- (g * f'(a_l)) @ W_l^T, layer by layer."""
    g = grad_logits @ network.layers[-1].kernel.T.astype(grad_logits.dtype, copy=False)
    for layer, a in zip(reversed(network.layers[:-1]), reversed(hidden), strict=True):
        g = (g * layer.activation.slope(a)) @ layer.kernel.T.astype(a.dtype, copy=False)
    return g


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


def contributions(network: DenseNetwork, kept: Trace, layer_index: int, unit: int) -> Contributions:
    """The incoming terms of one unit in ``kept``, a trace of one input, in float64 (float32 products are exact)."""
    layer = network.layers[layer_index]
    inputs = kept.layer_input(layer_index).astype(np.float64)
    weights = layer.kernel[:, unit].astype(np.float64)
    terms, bias = inputs * weights, float(layer.bias[unit])
    z, output = float(terms.sum() + bias), float(kept.outputs[layer_index][unit])
    return Contributions(layer_index, unit, layer.activation.name, inputs, weights, terms, bias, z, output)


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


def input_gradient(network: DenseNetwork, x: Any, target: int, versus: int | None = None) -> np.ndarray:
    """d logit_target / d x (or of logit_target - logit_versus) by backprop, shaped like x.

    Logits, not probabilities: a confident softmax is flat, so its gradient says little.
    """
    rows = as_rows(x)
    seed = _direction(target, versus, network.layers[-1].units, rows.dtype)
    grad = _backward(network, network.trace(rows).hidden, seed)
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
    network: DenseNetwork,
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
    x = as_rows(x)[0]
    base = np.zeros_like(x) if baseline is None else as_rows(baseline)[0].astype(x.dtype)
    first, rest = network.layers[0], DenseNetwork(network.layers[1:])
    seed, diff = _direction(target, versus, network.layers[-1].units, x.dtype), x - base
    z0 = first.pre_activation(base).astype(np.float64)
    c = (diff @ first.kernel.astype(x.dtype)).astype(np.float64)

    def along(t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """dF/da1, F and f1(z1) at path points t."""
        a1 = first.activation.function(z0 + t[:, None] * c)
        kept = rest.trace(a1.astype(x.dtype))
        return np.broadcast_to(_backward(rest, kept.hidden, seed), a1.shape), kept.logits @ seed, a1

    t = np.linspace(0.0, 1.0, steps + 1)
    grads, values, a1 = along(t)
    flat = np.abs(c) < 1e-12
    while True:
        with np.errstate(divide="ignore", invalid="ignore"):
            integral = np.where(flat, first.activation.slope(a1[:-1]) * np.diff(t)[:, None], np.diff(a1, axis=0) / c)
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
    attribution = (diff * (first.kernel @ shares.sum(axis=0))).astype(x.dtype)
    return Attribution(attribution, float(values[-1]), float(values[0]), delta, error, len(t) - 1)


def gradient_norms(network: DenseNetwork, x_probe: Any, y_probe: Any) -> np.ndarray:
    """||d loss / d kernel|| per Dense layer (hidden ones, then output), float64, no dropout.

    loss is the mean sparse categorical cross-entropy on the probe, whose gradient at the
    logits is (p - onehot) / N. Norms that shrink toward the input layer are vanishing gradients.
    """
    layers, rows = network.layers, np.asarray(x_probe, np.float64).reshape(len(y_probe), -1)
    kept = network.trace(rows)
    dz = (kept.probabilities - np.eye(layers[-1].units)[np.asarray(y_probe, int)]) / len(rows)
    norms = []
    for index in reversed(range(len(layers))):
        norms.append(norm(kept.layer_input(index).T @ dz))
        if index:
            dz = (dz @ layers[index].kernel.T) * layers[index - 1].activation.slope(kept.hidden[index - 1])
    return np.array(norms[::-1])


@dataclass(frozen=True, eq=False)
class UnitHealth:
    """One hidden layer on a probe: where units pass (almost) no gradient back.

    ``flat[j]`` is the share of probe inputs on which unit j is flat (``Activation.flat``: ReLU
    off, sigmoid or tanh saturated). A unit flat on every input is ``dead``: it cannot learn
    from this data. A ReLU that is off on some inputs is normal, so its ``saturated_share`` is 0
    and only dead units count.
    """

    activation: Activation
    flat: np.ndarray
    dead: np.ndarray

    @property
    def dead_share(self) -> float:
        return float(self.dead.mean())

    @property
    def saturated_share(self) -> float:
        return float(self.flat.mean()) if self.activation.saturates else 0.0


def unit_health(network: DenseNetwork, x_probe: Any) -> tuple[UnitHealth, ...]:
    """Per hidden layer, on a fixed probe (e.g. 256 training images)."""
    health = []
    for layer, a in zip(network.layers[:-1], network.trace(x_probe).hidden, strict=True):
        flat = layer.activation.flat(a).mean(axis=0)
        health.append(UnitHealth(layer.activation, flat, flat == 1.0))
    return tuple(health)


def update_ratios(old_network: DenseNetwork, new_network: DenseNetwork) -> np.ndarray:
    """||W_new - W_old|| / ||W_old|| per layer's kernel: around 1e-3 per step is healthy (CS231n)."""
    pairs = zip(old_network.layers, new_network.layers, strict=True)
    return np.array([norm(new.kernel - old.kernel) / max(float(norm(old.kernel)), 1e-12) for old, new in pairs])


def top_units(activations: Any, k: int) -> np.ndarray:
    """Indices of the k units with the largest |activation|, largest first (ties keep unit order)."""
    return np.argsort(-np.abs(np.asarray(activations)), kind="stable")[:k]


@dataclass(frozen=True, eq=False)
class WeightImages:
    """First-layer kernels as (units, 28, 28) pictures with one symmetric range: colours compare across units."""

    images: np.ndarray
    limit: float  # draw with vmin=-limit, vmax=limit on a map centred on 0


def first_layer_images(network: DenseNetwork, quantile: float = 0.995) -> WeightImages:
    """The range is a high quantile of |w| rather than the max, so a few outliers do not wash out the rest."""
    kernel = network.layers[0].kernel
    return WeightImages(kernel.T.reshape(-1, SIDE, SIDE), float(np.quantile(np.abs(kernel), quantile)))


def sort_units(network: DenseNetwork, a0: Any = None, by: str = "activation") -> np.ndarray:
    """First-layer units in display order: most active on this drawing (``a0``), largest
    incoming weight norm ('norm'), or most used downstream (outgoing weight norm, 'use')."""
    layers = network.layers
    if by == "activation":
        if a0 is None:
            raise ValueError("sorting by activation needs the first hidden layer's activations")
        return top_units(a0, len(np.asarray(a0)))
    if by not in ("norm", "use"):
        raise ValueError(f"by must be 'activation', 'norm' or 'use', got {by!r}")
    score = norm(layers[0].kernel, axis=0) if by == "norm" else norm(layers[1].kernel, axis=1)
    return np.argsort(-score, kind="stable")
