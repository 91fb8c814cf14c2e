"""Where training runs: the CPU, one GPU, or several GPUs with MirroredStrategy.

``MNIST_LAB_STRATEGY`` chooses: ``auto`` (default: MirroredStrategy when TensorFlow sees
more than one GPU, else its default device, which is the GPU when there is one),
``mirrored`` (always mirror, over all GPUs, or over all logical CPUs when there are no
GPUs: how the tests exercise the multi-device path) or ``single``.
"""

from __future__ import annotations

import os

import tensorflow as tf

STRATEGY_ENV = "MNIST_LAB_STRATEGY"
CHOICES = ("auto", "mirrored", "single")


def choose_strategy(choice: str | None = None) -> tf.distribute.Strategy:
    choice = (choice or os.environ.get(STRATEGY_ENV) or "auto").strip().lower()
    if choice not in CHOICES:
        raise ValueError(f"{STRATEGY_ENV} must be one of {', '.join(CHOICES)}, got {choice!r}")
    gpus = tf.config.list_logical_devices("GPU")
    if choice == "mirrored" or (choice == "auto" and len(gpus) > 1):
        devices = gpus or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy([device.name for device in devices])
    return tf.distribute.get_strategy()
