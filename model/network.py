"""The feed-forward network itself: dense layers, softmax out, trained by backpropagation."""

from __future__ import annotations

import keras

from model.config import TrainingConfig
from utils.mnist import N_CLASSES, N_PIXELS


def build_network(config: TrainingConfig) -> keras.Model:
    """784 inputs -> ``hidden_layers`` x ``units`` -> 10 softmax outputs, compiled.

    Seeds Keras' global generators first, so the same config gives the same weights.
    """
    keras.utils.set_random_seed(config.seed)
    layers: list[keras.layers.Layer] = [keras.Input(shape=(N_PIXELS,), name="pixels")]
    for index in range(config.hidden_layers):
        layers.append(keras.layers.Dense(config.units, activation=config.activation, name=f"hidden_{index + 1}"))
        if config.dropout > 0:
            layers.append(keras.layers.Dropout(config.dropout, seed=config.seed + index, name=f"dropout_{index + 1}"))
    layers.append(keras.layers.Dense(N_CLASSES, activation="softmax", name="digit"))
    network = keras.Sequential(layers, name=f"mlp_{config.architecture.replace('-', '_')}")
    network.compile(
        optimizer=make_optimizer(config),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return network


def make_optimizer(config: TrainingConfig) -> keras.optimizers.Optimizer:
    """'sgd' is plain gradient descent on mini-batches; 'momentum' adds Nesterov-free momentum 0.9."""
    rate = config.learning_rate
    if config.optimizer == "sgd":
        return keras.optimizers.SGD(learning_rate=rate)
    if config.optimizer == "momentum":
        return keras.optimizers.SGD(learning_rate=rate, momentum=0.9)
    if config.optimizer == "adam":
        return keras.optimizers.Adam(learning_rate=rate)
    return keras.optimizers.RMSprop(learning_rate=rate)
