"""'Inside the network' on the Draw page: activations, first-layer weights, one neuron's sum, and why this digit.

Every view reads the forward pass that gave the Prediction (``model.net.numpy_network.Trace``),
so it agrees with the answer to the last digit, costs no second pass and needs no
TensorFlow. Only the view the user picks is computed and drawn, so the answer stays fast.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

from model.inside.explain import (
    calculation,
    contributions,
    first_layer_images,
    integrated_gradients,
    softmax_terms,
    sort_units,
)
from model.net.numpy_network import Activation, DenseNetwork, Trace
from ui.language import _, number, percent, significant
from ui.visual import diverging, enlarge, unit_strip
from utils.i18n import N_

WEIGHT_UNITS_SHOWN = 32


@dataclass(frozen=True)
class View:
    label: str  # English, marked with N_(): shown through _()
    show: Callable[[DenseNetwork, Trace], None]


def inside_network_ui(network: object, kept: Trace | None) -> None:
    """The section under the Prediction; ``kept`` is the forward pass that gave it (None: not a NumPy network)."""
    st.subheader(_("Inside the network"))
    if kept is None or not isinstance(network, DenseNetwork):
        st.info(_("These views need a plain stack of Dense layers, which every network this app trains is."))
        return
    view = st.segmented_control(
        _("Look at"),
        list(VIEWS),
        format_func=lambda view: _(VIEWS[view].label),
        default="activations",
        key="inside_view",
    )
    if view is not None:
        VIEWS[view].show(network, kept)


def activations_view(network: DenseNetwork, kept: Trace) -> None:
    shared = st.toggle(_("One colour scale for all layers"), False, key="inside_shared_scale")
    everything = np.concatenate(kept.hidden) if kept.hidden else np.zeros(1)
    for index, (values, layer) in enumerate(zip(kept.hidden, network.layers, strict=False)):
        order = np.argsort(-values, kind="stable")  # the most active units first
        low, high = (everything.min(), everything.max()) if shared else (values.min(), values.max())
        marked, words = _marked(values, layer.activation)
        st.image(unit_strip(values[order], low, high, marked[order]), output_format="PNG")
        st.caption(
            _(
                "Hidden layer {layer}: {units} {activation} units, most active first (from {high} down to {low})."
            ).format(
                layer=index + 1,
                units=len(values),
                activation=layer.activation.name,
                high=significant(values.max()),
                low=significant(values.min()),
            )
            + f" {words}"
        )
    st.caption(_("Dark: low, yellow: high. The output layer is the Prediction's ten probabilities above."))


def _marked(values: np.ndarray, activation: Activation) -> tuple[np.ndarray, str]:
    """Units shown crossed, the flat ones: ReLUs that output 0, sigmoid/tanh units stuck near their limits."""
    flat = activation.flat(values)
    if activation.saturates:
        words = N_("Crossed: {count} saturated units (near their limits, where they barely learn).")
    elif activation.name == "relu":
        words = N_("Crossed: {count} units output 0 for this drawing (ReLU is off below 0).")
    else:
        return flat, ""
    return flat, _(words).format(count=int(flat.sum()))


def weights_view(network: DenseNetwork, kept: Trace) -> None:
    order_by = st.radio(
        _("Order units by"),
        ("activation", "norm"),
        format_func=lambda order: _("most active on this drawing") if order == "activation" else _("largest weights"),
        horizontal=True,
        key="inside_weight_order",
    )
    pictures = first_layer_images(network)
    first = kept.hidden[0]
    order = sort_units(network, first if order_by == "activation" else None, by=order_by)[:WEIGHT_UNITS_SHOWN]
    st.image(
        [enlarge(diverging(pictures.images[unit], pictures.limit), 3) for unit in order],
        caption=[_("unit {unit}: {value}").format(unit=unit, value=number(first[unit], 2)) for unit in order],
        width=84,
        output_format="PNG",
    )
    st.caption(
        _(
            "Each picture is one first-layer unit's 784 incoming weights, laid out like the pixels they multiply: "
            "red pixels push the unit up when inked, blue ones push it down (one colour range, ±{limit}, "
            "for all). The number is the unit's output for your drawing."
        ).format(limit=significant(pictures.limit, 2))
    )


def neuron_view(network: DenseNetwork, kept: Trace) -> None:
    count = len(network.layers)
    names = [_("Hidden layer {layer}").format(layer=i + 1) for i in range(count - 1)] + [_("Output layer")]
    layer_col, unit_col = st.columns(2)
    layer = layer_col.selectbox(_("Layer"), range(count), format_func=names.__getitem__, key="inside_layer")
    outputs = kept.outputs[layer]
    ranked = [int(u) for u in np.argsort(-outputs, kind="stable")]
    unit = unit_col.selectbox(
        _("Unit (most active first)") if layer < count - 1 else _("Digit"),
        ranked,
        format_func=lambda u: f"{u}  ({significant(float(outputs[u]))})",
        key=f"inside_unit_{layer}",
    )
    parts = contributions(network, kept, layer, unit)
    steps = calculation(parts, k=4)
    if layer == 0:
        limit = float(np.abs(parts.terms).max()) or 1.0
        st.image(
            enlarge(diverging(parts.image, limit), 8),
            caption=_("pixel x weight for this unit: red adds to z, blue takes away"),
            width=224,
        )
    source = "pixel" if layer == 0 else f"h{layer}"
    terms = " + ".join(
        f"\\underbrace{{{x:.2f} \\times {w:+.2f}}}_{{{source}_{{{i}}}}}" for i, x, w, _term in steps.largest
    )
    other = _("other {count}").format(count=steps.rest_count)
    formula = (  # LaTeX: only the "other" under the brace is words
        f"z = {terms} + \\underbrace{{{steps.rest:+.2f}}}_{{\\text{{{other}}}}} "
        f"+ \\underbrace{{{steps.bias:+.2f}}}_{{b}} = {steps.z:.3f}"
    )
    st.latex(formula)
    if parts.activation == "softmax":
        softmax_view(kept, unit)
    else:
        formula = f"a = \\mathrm{{{parts.activation}}}({steps.z:.3f}) = {steps.output:.3f}"
        st.latex(formula)
    st.caption(
        _(
            "The sum of all {count} input x weight terms plus the bias gives z exactly ({z}); the unit passes on f(z)."
        ).format(count=len(parts.terms), z=number(parts.terms.sum() + parts.bias, 4))
    )


def softmax_view(kept: Trace, digit: int) -> None:
    terms = softmax_terms(kept.logits)
    formula = (  # LaTeX, no words
        f"p_{{{digit}}} = \\frac{{e^{{z_{{{digit}}}}}}}{{\\sum_j e^{{z_j}}}} = "
        f"\\frac{{{terms.exps[digit]:.4g}}}{{{terms.total:.4g}}} = {terms.probabilities[digit]:.4f}"
    )
    st.latex(formula)
    st.dataframe(
        pd.DataFrame(
            {_("digit"): range(10), "z (logit)": terms.logits, "exp(z - max z)": terms.exps, "p": terms.probabilities}
        ),
        hide_index=True,
        height=240,
    )


def attribution_view(network: DenseNetwork, kept: Trace) -> None:
    ranked = [int(d) for d in np.argsort(-kept.probabilities)]
    predicted = ranked[0]
    versus = st.selectbox(
        _("Why {digit} and not…").format(digit=predicted),
        [None, *ranked[1:]],
        format_func=lambda d: (
            _("just why {digit}").format(digit=predicted)
            if d is None
            else f"{d} ({percent(float(kept.probabilities[d]))})"
        ),
        key="inside_versus",
    )
    result = integrated_gradients(network, kept.inputs, predicted, versus)
    limit = float(np.abs(result.attribution).max()) or 1.0
    st.image(
        enlarge(diverging(result.attribution.reshape(28, 28), limit), 8),
        caption=(
            _("red: pixels that made it {digit} rather than {other}; blue: pixels that pulled the other way")
            if versus is not None
            else _("red: pixels that made it {digit}; blue: pixels that pulled the other way")
        ).format(digit=predicted, other=versus),
        width=224,
    )
    what = f"z_{predicted}" + (f" - z_{versus}" if versus is not None else "")
    st.markdown(
        _(
            "**Check:** the map's pixels add up to **{total}**; {score} went from {baseline} on a blank canvas to "
            "{value} on your drawing, a change of **{change}** (off by {error}; under 1 % means the map accounts "
            "for all of it)."
        ).format(
            total=number(result.attribution.sum(), 3),
            score=what,
            baseline=number(result.baseline_value, 3),
            value=number(result.value, 3),
            change=number(result.target_delta, 3),
            error=percent(result.completeness_error, 2),
        )
    )
    st.caption(
        _(
            "Integrated gradients: brighten the drawing from black to what you drew in small steps, and credit each "
            "pixel with its gradient along the way times its ink. The credits must add up to the whole change of "
            "the score, which is how you know the map accounts for all of it."
        )
    )


VIEWS = {  # what the "Look at" control offers, by id; the labels are what people read
    "activations": View(N_("Activations"), activations_view),
    "weights": View(N_("First-layer weights"), weights_view),
    "neuron": View(N_("One neuron"), neuron_view),
    "attribution": View(N_("Why this digit"), attribution_view),
}
