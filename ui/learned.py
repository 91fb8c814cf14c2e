"""'What each neuron learned' on the Models page: a unit's favourite test digits, and the classes separating."""

from __future__ import annotations

import os

import numpy as np
import streamlit as st

from model.inside.explain import top_units
from model.net.events import Layer
from model.storage.dense_file import DenseNetwork
from model.storage.store import ModelInfo, ModelStore
from ui.charts import layer_label, projection_scatter
from ui.language import _, number, percent, say, significant
from ui.resources import network_for, raw_mnist
from ui.visual import digit_table
from utils.errors import LabError
from utils.preprocess import mnist_as_trained

FAVOURITES = 9


@st.cache_resource(max_entries=2, show_spinner=False)  # the spinner is at the call, in the reader's language
def test_inputs(preprocessing: str) -> np.ndarray:
    return mnist_as_trained(raw_mnist().x_test, preprocessing)


@st.cache_resource(max_entries=4, show_spinner=False)
def hidden_layer(path: str, modified: float, preprocessing: str, layer: int, _network: DenseNetwork) -> np.ndarray:
    """Layer ``layer``'s activations for every test digit (cached per model file and layer)."""
    return _network.trace(test_inputs(preprocessing)).hidden[layer]


def learned_ui(store: ModelStore, models: list[ModelInfo]) -> None:
    st.subheader(_("What each neuron learned"))
    usable = [info for info in models if info.usable]
    names = [info.name for info in usable]
    name = st.selectbox(_("Model"), names, key="learned_model")
    info = usable[names.index(name)]
    try:
        network = network_for(info)
        with st.spinner(_("Preparing the 10,000 test digits…")):
            inputs = test_inputs(info.metadata.preprocessing)
    except LabError as error:
        st.error(say(error))
        return
    if not isinstance(network, DenseNetwork):
        st.info(_("These views need a plain stack of Dense layers, which every network this app trains is."))
        return
    favourite_digits(info, network, inputs)
    separating_classes(store, info)


def favourite_digits(info: ModelInfo, network: DenseNetwork, inputs: np.ndarray) -> None:
    hidden = len(network.layers) - 1
    layer_col, unit_col = st.columns(2)
    layer = layer_col.selectbox(
        _("Hidden layer"),
        range(hidden),
        format_func=lambda i: layer_label(Layer(i + 1)),
        key="learned_layer",
    )
    with st.spinner(_("Running the test digits through the network…")):
        values = hidden_layer(str(info.path), os.path.getmtime(info.path), info.metadata.preprocessing, layer, network)
    units = values.shape[1]
    unit = unit_col.number_input(
        _("Unit (0-{last})").format(last=units - 1), 0, units - 1, 0, key=f"learned_unit_{layer}"
    )
    best = top_units(values[:, unit], FAVOURITES)
    raw = raw_mnist()
    st.image(
        digit_table((inputs[best].reshape(1, -1, 28, 28)), scale=3),
        caption=_(
            "The {count} test digits that excite unit {unit} most (outputs {high} down to {low}; true digits "
            "{digits}). It is silent (0) on {silent} of test digits."
        ).format(
            count=FAVOURITES,
            unit=unit,
            high=significant(values[best[0], unit]),
            low=significant(values[best[-1], unit]),
            digits=", ".join(str(int(raw.y_test[i])) for i in best),
            silent=percent(float(np.mean(values[:, unit] <= 0)), 0),
        ),
        output_format="PNG",
    )


def separating_classes(store: ModelStore, info: ModelInfo) -> None:
    try:
        extras = store.extras(info)
    except LabError as error:  # the arrays beside the model are damaged or hostile: the model itself is fine
        st.warning(say(error))
        return
    if "projection" not in extras:
        st.caption(_("This model was trained before projections were recorded: train a new one to watch this."))
        return
    projection, labels = extras["projection"], extras["projection_labels"]
    last = len(projection) - 1
    epoch = st.slider(_("After epoch (0 = before training)"), 0, last, last, key=f"learned_epoch_{info.name}")
    st.altair_chart(projection_scatter(projection[epoch], labels), width="stretch")
    st.caption(
        _(
            "{count} test digits as the last hidden layer sees them, flattened onto its two main directions "
            "(PCA). Before training the colours overlap; as the network learns, each digit gathers in its own "
            "region. Move the slider to watch it happen."
        ).format(count=number(len(labels)))
    )
