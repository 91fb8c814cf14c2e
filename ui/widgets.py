"""Widgets several pages share, each a function that returns what the user chose."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import streamlit as st

from model.config import SETTINGS, Setting, TrainingConfig
from model.storage import ModelInfo, ModelStore
from ui.resources import network_for
from utils.errors import LabError
from utils.preprocess import recipe_for

if TYPE_CHECKING:
    import keras

    from model.dense_file import DenseNetwork

KEEP = {"persist_state": "session"}  # settings survive a visit to another page


def setting_widget(setting: Setting, **options: Any) -> Any:
    """The Train page's control for one training setting: kind, range, default, label and help from the registry.

    The default is given only while the widget has no value yet, so a lesson button may set
    values through ``st.session_state`` without Streamlit's "default and state" warning.
    """
    common = {"key": setting.param, "help": setting.help, **KEEP, **options}
    fresh = setting.param not in st.session_state
    default = setting.default
    if setting.kind is bool:
        return st.toggle(setting.label, **({"value": default} if fresh else {}), **common)
    if setting.options is not None:
        labels = {name: option.label for name, option in setting.options.items()}
        names = list(setting.options)
        chosen = {"index": names.index(default)} if fresh else {}
        if len(names) <= 3:
            return st.radio(setting.label, names, format_func=labels.get, horizontal=True, **chosen, **common)
        return st.selectbox(setting.label, names, format_func=labels.get, **chosen, **common)
    value = {"value": default} if fresh else {}
    if setting.choices is not None:
        return st.select_slider(setting.label, list(setting.choices), **value, **common)
    low, high = setting.limits
    if setting.kind is int and high - low > 1000:
        return int(st.number_input(setting.label, int(low), int(high), **value, **common))
    if setting.kind is int:
        return st.slider(setting.label, int(low), int(high), **value, **common)
    value = {"value": float(default)} if fresh else {}
    return st.slider(setting.label, float(low), float(high), step=setting.step, **value, **common)


def settings_ui(advanced: tuple[str, ...] = ()) -> TrainingConfig:
    """Every training setting, the ``advanced`` ones in an expander; returns the validated configuration."""
    chosen = {s.field: setting_widget(s) for s in SETTINGS if s.field not in advanced}
    with st.expander("More settings", expanded=False):
        chosen |= {s.field: setting_widget(s) for s in SETTINGS if s.field in advanced}
    return TrainingConfig(**chosen)


def model_picker_ui(store: ModelStore) -> tuple[ModelInfo, DenseNetwork | keras.Model]:
    """A model chooser (defaulting to the active model) and its network; stops the page with a message if none."""
    usable = [info for info in store.list() if info.usable]
    if not usable:
        st.error("There is no usable model to classify with: train one on the Train page.")
        st.stop()
    names = [info.name for info in usable]
    active = store.active().name
    chosen = st.selectbox("Model", names, index=names.index(active) if active in names else 0,
                          help="Defaults to the active model.")  # fmt: skip
    info = usable[names.index(chosen)]
    try:
        network = network_for(info)
        recipe_for(info.metadata.preprocessing)  # a version this app does not know is refused here
    except LabError as error:
        st.error(f"This model cannot be used: {error}")
        st.stop()
    return info, network
