"""Things loaded once per server and shared by every session (``st.cache_resource``)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import streamlit as st

from model.storage import ModelInfo, ModelStore, load_network
from utils.mnist import RawMnist, load_raw

if TYPE_CHECKING:
    import keras


@st.cache_resource(show_spinner="Loading MNIST…")
def raw_mnist() -> RawMnist:
    """The four MNIST arrays (about 55 MB), read once per server; no TensorFlow involved."""
    return load_raw()


@st.cache_resource(max_entries=8, show_spinner="Loading the model…")
def _network(path: str, modified: float) -> keras.Model:
    return load_network(path)


def network_for(info: ModelInfo) -> keras.Model:
    """The loaded network, cached by file and modification time so a replaced file is reloaded."""
    return _network(str(info.path), os.path.getmtime(info.path))


def model_store() -> ModelStore:
    return ModelStore()
