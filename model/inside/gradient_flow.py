"""Gradient flow, live: per-layer gradient norms, update sizes and dead or saturated units.

Measured in NumPy (``model.inside.explain``) on a fixed probe of training images, from the
network's current weights, so the figures are the same on every Keras backend and
never touch the training step itself. A probe costs a few tens of milliseconds for the
reference network; it runs once before the first update, after every epoch, and in
between only as often as keeps its share of the training time under ``OVERHEAD``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import replace

import keras
import numpy as np

from model.inside.explain import gradient_norms, unit_health, update_ratios
from model.net.config import TrainingConfig
from model.net.events import LayerStatsEvent, Listener
from model.net.numpy_network import DenseNetwork

PROBE_SIZE = 256
OVERHEAD = 0.02  # at most this share of the training time goes to probes between epochs


class GradientFlow(keras.callbacks.Callback):
    """Reports a ``LayerStatsEvent`` now and then; keeps one gradient-norm entry per epoch for the metadata."""

    def __init__(
        self,
        network: keras.Model,
        config: TrainingConfig,
        probe_x: np.ndarray,
        probe_y: np.ndarray,
        listeners: Iterable[Listener] = (),
        batches_per_epoch: int = 1,
    ) -> None:
        super().__init__()
        self.network, self.listeners = network, list(listeners)
        self.activation = config.activation  # of every hidden layer
        self.probe_x, self.probe_y = probe_x[:PROBE_SIZE], probe_y[:PROBE_SIZE]
        self.batches_per_epoch = batches_per_epoch
        self.per_epoch: list[tuple[float, ...]] = []  # before the first update, then after each epoch
        self._previous: DenseNetwork | None = None
        self._previous_step = 0
        self._cost = 0.0  # seconds the last probe took
        self._next_at = 0.0
        self._epoch = 0
        self._between_batches = keras.backend.backend() != "jax"
        self._last: LayerStatsEvent | None = None

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.per_epoch.append(self._probe(0).gradient_norms)

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        # Keras' JAX trainer holds the weights outside the model until an epoch ends: probe then only.
        if self._between_batches and time.perf_counter() >= self._next_at:
            self._probe(self._epoch * self.batches_per_epoch + batch + 1)

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch = epoch

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        step = (epoch + 1) * self.batches_per_epoch
        if self._last is not None and self._last.step == step:  # just probed at the epoch's last batch
            event = replace(self._last, end_of_epoch=True)
            self._emit(event)
        else:
            event = self._probe(step, end_of_epoch=True)
        self.per_epoch.append(event.gradient_norms)

    def _emit(self, event: LayerStatsEvent) -> None:
        self._last = event
        for listener in self.listeners:
            listener(event)

    def _probe(self, step: int, end_of_epoch: bool = False) -> LayerStatsEvent:
        started = time.perf_counter()
        snapshot = DenseNetwork.from_weights(self.network.get_weights(), self.activation)
        norms = gradient_norms(snapshot, self.probe_x, self.probe_y)
        ratios = None
        if self._previous is not None and step > self._previous_step:
            ratios = tuple(float(r) for r in update_ratios(self._previous, snapshot) / (step - self._previous_step))
        health = unit_health(snapshot, self.probe_x)
        event = LayerStatsEvent(
            step=step,
            batches_per_epoch=self.batches_per_epoch,
            gradient_norms=tuple(float(n) for n in norms),
            update_ratios=ratios,
            flat_shares=tuple(max(h.dead_share, h.saturated_share) for h in health),
            end_of_epoch=end_of_epoch,
        )
        self._previous, self._previous_step = snapshot, step
        if np.isfinite(norms).all():  # weights gone NaN: training is about to stop with a message
            self._emit(event)
        now = time.perf_counter()
        self._cost = now - started
        self._next_at = now + self._cost / OVERHEAD
        return event
