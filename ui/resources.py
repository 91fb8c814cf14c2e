"""Things loaded once per server and shared by every session (``st.cache_resource``)."""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

import streamlit as st

from model.jobs.engine import JobQueue, WarmWorkers, machine_memory, slots_for_memory
from model.jobs.work import prepare_training
from model.storage.store import ModelInfo, ModelStore, load_for_inference
from ui.language import _
from utils.mnist import RawMnist, load_raw
from utils.settings import read_settings

if TYPE_CHECKING:
    import keras

    from model.storage.dense_file import DenseNetwork

_LOGGER = logging.getLogger(__name__)


# The spinners are shown by the callers below, in the reader's language (a decorator's text is fixed at import);
# a spinner appears only after half a second, so never for a value already cached.


@st.cache_resource(show_spinner=False)
def _raw_mnist() -> RawMnist:
    return load_raw()


def raw_mnist() -> RawMnist:
    """The four MNIST arrays (about 55 MB), read once per server; no TensorFlow involved."""
    with st.spinner(_("Loading MNIST…")):
        return _raw_mnist()


@st.cache_resource(max_entries=8, show_spinner=False)
def _network(path: str, modified: float) -> DenseNetwork | keras.Model:
    return load_for_inference(path)


def network_for(info: ModelInfo) -> DenseNetwork | keras.Model:
    """The network for predictions, cached by file and modification time so a replaced file is reloaded.

    Plain Dense stacks (every model this app trains) come back as NumPy arrays: no TensorFlow
    import on the Draw page, and each answer is a few matrix products.
    """
    with st.spinner(_("Loading the model…")):
        return _network(str(info.path), os.path.getmtime(info.path))


def model_store() -> ModelStore:
    return ModelStore()


@st.cache_resource(show_spinner=False)
def training_workers() -> WarmWorkers:
    """A worker process started (TensorFlow imported, MNIST ready) before anyone presses Train or Teach."""
    return WarmWorkers(prepare_training)


@st.cache_resource
def training_queue() -> JobQueue:
    """The server's one queue of jobs (trainings, teachings), sized by ``MNIST_LAB_MAX_TRAININGS`` when first used
    and never past what the machine's memory holds."""
    return JobQueue(slots_for_memory(read_settings().max_trainings, machine_memory()))
