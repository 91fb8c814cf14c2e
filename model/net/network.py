"""The feed-forward network itself: dense layers, softmax out, trained by backpropagation."""

from __future__ import annotations

import keras

from model.net.augment import Augment
from model.net.config import OPTIMIZERS, SCHEDULES, TrainingConfig
from utils.mnist import N_CLASSES, N_PIXELS

MAX_STEPS_PER_EXECUTION = 16
REPORTS_PER_EPOCH = 25  # at least this many live-curve points per epoch


def build_network(config: TrainingConfig) -> keras.Sequential:
    """784 inputs -> ``hidden_layers`` x ``units`` -> 10 softmax outputs, not compiled.

    Seeds Keras' global generators first, so the same config gives the same weights.
    """
    keras.utils.set_random_seed(config.seed)
    layers: list[keras.layers.Layer] = [keras.Input(shape=(N_PIXELS,), name="pixels")]
    for index in range(config.hidden_layers):
        layers.append(keras.layers.Dense(config.units, activation=config.activation, name=f"hidden_{index + 1}"))
        if config.dropout > 0:
            layers.append(keras.layers.Dropout(config.dropout, seed=config.seed + index, name=f"dropout_{index + 1}"))
    layers.append(keras.layers.Dense(N_CLASSES, activation="softmax", name="digit"))
    return keras.Sequential(layers, name=f"mlp_{config.architecture.replace('-', '_')}")


def build_trainer(
    config: TrainingConfig, network: keras.Model, steps_per_epoch: int | None = None, jit_compile: bool = True
) -> keras.Model:
    """The compiled model that ``fit`` trains: ``network`` itself, or behind an Augment layer.

    The augmenting model shares the network's layers, so training it trains the network,
    and the network alone is what gets saved and used for predictions. Compiled with XLA
    and several batches per call into TensorFlow: a CPU epoch of the reference network
    drops from 3.2 s to 2.2 s here (bench/training_throughput.py).
    """
    trainer = network
    if config.augment:
        augment = Augment(seed=config.seed, name="augment")
        pixels = keras.Input(shape=(N_PIXELS,), name="training_pixels")
        trainer = keras.Sequential([pixels, augment, network], name="augmented")
    trainer.compile(
        optimizer=make_optimizer(config, steps_per_epoch * config.epochs if steps_per_epoch else None),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=steps_per_execution(steps_per_epoch),
        jit_compile=jit_compile,
    )
    return trainer


def steps_per_execution(steps_per_epoch: int | None) -> int:
    """Batches per call: as many as possible while the curves still get REPORTS_PER_EPOCH points an epoch."""
    if not steps_per_epoch:
        return 1
    return max(1, min(MAX_STEPS_PER_EXECUTION, steps_per_epoch // REPORTS_PER_EPOCH))


def make_optimizer(config: TrainingConfig, total_steps: int | None = None) -> keras.optimizers.Optimizer:
    """The optimizer and learning-rate schedule named by ``config``, from their registries.

    A cosine schedule (Loshchilov & Hutter 2017, without restarts) ends at rate 0 after
    ``total_steps`` batches: big steps early, fine ones at the end. With augmentation it
    lifted the reference network by 0.2-0.3 points on MNIST and on drawings
    (bench/RESULTS.md, "Drawing accuracy").
    """
    schedule, optimizer = SCHEDULES[config.schedule].build, OPTIMIZERS[config.optimizer].build
    assert schedule is not None and optimizer is not None  # every schedule and optimizer has its builder
    return optimizer(schedule(config.learning_rate, total_steps))
