"""Where training runs: the CPU, one GPU, or several GPUs with MirroredStrategy.

``MNIST_LAB_STRATEGY`` chooses: ``auto`` (default: MirroredStrategy when TensorFlow sees
more than one GPU, else its default device, which is the GPU when there is one),
``mirrored`` (always mirror, over all GPUs, or over all logical CPUs when there are no
GPUs: how the tests exercise the multi-device path) or ``single``.

TensorFlow is the backend the app is built and tested on. With ``KERAS_BACKEND=jax`` the
same code trains on JAX's default device (its GPU when it sees one) without a strategy;
bench/training_throughput.py compares the two.
"""

from __future__ import annotations

import contextlib
from typing import Any

import keras

from utils.errors import SettingsError
from utils.i18n import N_, Message
from utils.settings import STRATEGIES, STRATEGY_ENV, one_of, read_settings


class DefaultDevice:
    """Stands in for TensorFlow's default strategy on the other Keras backends."""

    num_replicas_in_sync = 1

    def scope(self) -> contextlib.AbstractContextManager:
        return contextlib.nullcontext()


def choose_strategy(choice: str | None = None) -> Any:
    """A ``tf.distribute.Strategy`` (or ``DefaultDevice`` off TensorFlow) whose ``scope()`` the model is built in."""
    choice = one_of(STRATEGY_ENV, choice or read_settings().strategy, STRATEGIES)
    if keras.backend.backend() != "tensorflow":
        if choice == "mirrored":
            raise SettingsError(
                Message(
                    N_("{name}=mirrored needs the TensorFlow backend, not {backend}"),
                    name=STRATEGY_ENV,
                    backend=keras.backend.backend(),
                )
            )
        return DefaultDevice()
    import tensorflow as tf

    gpus = tf.config.list_logical_devices("GPU")
    if choice == "mirrored" or (choice == "auto" and len(gpus) > 1):
        devices = gpus or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy([device.name for device in devices])
    return tf.distribute.get_strategy()
