"""Training with live reporting, a cooperative stop and a guard against divergence."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

import keras
import numpy as np

from model.inside.gradient_flow import PROBE_SIZE, GradientFlow
from model.inside.projection import PROJECTED_DIGITS, HiddenSnapshots
from model.net.config import TrainingConfig
from model.net.data import MnistSplits
from model.net.devices import choose_strategy
from model.net.events import BatchEvent, EpochEvent, Listener, StopFlag, TrainingEvent
from model.net.inference import evaluate
from model.net.network import build_network, build_trainer
from model.net.numpy_network import DenseNetwork
from model.storage.metadata import ModelMetadata
from utils.i18n import N_, Message, N_plural, num, sig

Status = Literal["completed", "stopped", "diverged"]
EXPLODED_LOSS = 1e3  # a random guess scores ln(10) = 2.3; a loss this large means the weights blew up


class LiveMetrics(keras.callbacks.Callback):
    """Reports every batch and epoch to listeners; honours a stop flag; halts on NaN loss.

    Keras logs running means over the epoch; the value of the batches since the last
    report is recovered from consecutive means, so curves show what the optimiser saw.
    """

    def __init__(
        self,
        listeners: Iterable[Listener] = (),
        stop: StopFlag | None = None,
        batch_size: int | None = None,
        samples: int | None = None,
    ) -> None:
        super().__init__()
        self.batch_size, self.samples = batch_size, samples
        self.listeners = list(listeners)
        self.stop = stop or threading.Event()
        self.diverged_at: tuple[int, int] | None = None
        self.diverged_loss = math.nan
        self.stopped_at: tuple[int, int] | None = None
        self.history: dict[str, list[float]] = {"loss": [], "accuracy": [], "val_loss": [], "val_accuracy": []}
        self._epoch = 0
        self._epoch_start = 0.0
        self._seen = 0
        self._sums = (0.0, 0.0)

    def _emit(self, event: TrainingEvent) -> None:
        for listener in self.listeners:
            listener(event)

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch, self._epoch_start, self._seen, self._sums = epoch, time.perf_counter(), 0, (0.0, 0.0)

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        mean_loss, mean_accuracy = float(logs.get("loss", math.nan)), float(logs.get("accuracy", math.nan))
        if not math.isfinite(mean_loss) or mean_loss > EXPLODED_LOSS:
            self.diverged_at, self.diverged_loss = (self._epoch, batch), mean_loss
            self.model.stop_training = True
            return
        steps, samples, batch_size = self.params["steps"], self.samples, self.batch_size
        batch = min(batch, steps - 1)  # the last call of an epoch may run fewer batches than it is numbered for
        seen = min((batch + 1) * batch_size, samples) if samples and batch_size else batch + 1
        size = seen - self._seen
        sums = (mean_loss * seen, mean_accuracy * seen)
        loss = (sums[0] - self._sums[0]) / size
        accuracy = min(1.0, max(0.0, (sums[1] - self._sums[1]) / size))
        self._seen, self._sums = seen, sums
        self._emit(BatchEvent(self._epoch, batch, steps, self.params["epochs"], loss, accuracy))
        if self.stop.is_set():
            self.stopped_at = (self._epoch, batch)
            self.model.stop_training = True

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self.diverged_at is not None:
            return
        logs = logs or {}
        val_loss, val_accuracy = logs.get("val_loss"), logs.get("val_accuracy")
        event = EpochEvent(
            epoch=epoch,
            epochs=self.params["epochs"],
            loss=float(logs["loss"]),
            accuracy=float(logs["accuracy"]),
            val_loss=None if val_loss is None else float(val_loss),
            val_accuracy=None if val_accuracy is None else float(val_accuracy),
            seconds=time.perf_counter() - self._epoch_start,
            complete=self.stopped_at is None,
        )
        for key in self.history:
            value = getattr(event, key)
            if value is not None:
                self.history[key].append(value)
        self._emit(event)


@dataclass
class TrainingResult:
    """What a training run produced; ``model`` is kept even when stopped early."""

    model: keras.Model
    config: TrainingConfig
    status: Status
    message: Message  # English as str() (metadata, CLI); translated on the page
    seconds: float
    epochs_completed: int
    history: dict[str, list[float]] = field(default_factory=dict)
    test_accuracy: float | None = None
    test_loss: float | None = None
    preprocessing: str = ""  # of the training images; inputs must be prepared the same way
    training_images: int | None = None
    gradient_norms: list[tuple[float, ...]] = field(default_factory=list)  # before training, then per epoch
    projection: np.ndarray | None = None  # (snapshots, digits, 2): the last hidden layer of test digits, in PCA
    projection_labels: np.ndarray | None = None

    def extras(self) -> dict[str, np.ndarray]:
        """Arrays stored beside the model (``ModelStore.save``): too big for the metadata's JSON."""
        if self.projection is None or self.projection_labels is None or not len(self.projection):
            return {}
        return {"projection": self.projection, "projection_labels": self.projection_labels}

    def metadata(self) -> ModelMetadata:
        """What storage keeps next to the weights, so a model can be judged without loading it."""
        return ModelMetadata(
            config=self.config,
            status=self.status,
            message=str(self.message),
            epochs_completed=self.epochs_completed,
            history={key: tuple(values) for key, values in self.history.items()},
            test_accuracy=self.test_accuracy,
            test_loss=self.test_loss,
            training_seconds=round(self.seconds, 3),
            training_images=self.training_images,
            preprocessing=self.preprocessing,
            keras_version=keras.__version__,
            gradient_norms=tuple(self.gradient_norms),
        )


def starting_point(
    network: keras.Model, config: TrainingConfig, data: MnistSplits, batches_per_epoch: int
) -> BatchEvent:
    """The untrained network's loss and accuracy on a few training digits: the curves' first point,
    on screen as soon as training starts, before the first (compiled) training step has run."""
    probe_x, probe_y = data.x_train[:PROBE_SIZE], data.y_train[:PROBE_SIZE]
    probabilities = DenseNetwork.from_weights(network.get_weights(), config.activation)(probe_x)
    picked = np.clip(probabilities[np.arange(len(probe_y)), probe_y], 1e-7, 1.0)
    accuracy = float(np.mean(probabilities.argmax(axis=1) == probe_y))
    return BatchEvent(0, -1, batches_per_epoch, config.epochs, float(-np.log(picked).mean()), accuracy)


def train(
    config: TrainingConfig,
    data: MnistSplits,
    listeners: Iterable[Listener] = (),
    stop: StopFlag | None = None,
    look_inside: bool = True,
) -> TrainingResult:
    """Train a fresh network on ``data``; score it on the test set unless it diverged.

    ``look_inside`` measures per-layer gradients on a probe and projects the last hidden
    layer as it goes (a few per cent of the time at most); off only to measure that cost.
    """
    if config.conventions:  # the training split only: validation and test stay as written
        from model.net.conventions import with_conventions

        data = with_conventions(data, config.seed)
    strategy = choose_strategy()
    batches_per_epoch = math.ceil(len(data.x_train) / config.batch_size)
    with strategy.scope():  # XLA cannot compile across the replicas of a mirrored model
        network = build_network(config)
        trainer = build_trainer(
            config,
            network,
            batches_per_epoch,
            jit_compile=strategy.num_replicas_in_sync == 1,
        )
    listeners = list(listeners)
    live = LiveMetrics(listeners, stop, config.batch_size, len(data.x_train))
    flow = GradientFlow(network, config, data.x_train, data.y_train, listeners, batches_per_epoch)
    snapshots = HiddenSnapshots(network, config, data.x_test)
    callbacks = [flow, snapshots, live] if look_inside else [live]
    if look_inside and len(data.x_train):
        first = starting_point(network, config, data, batches_per_epoch)
        for listener in listeners:
            listener(first)
    started = time.perf_counter()
    trainer.fit(
        data.x_train,
        data.y_train,
        batch_size=config.batch_size,
        epochs=config.epochs,
        validation_data=(data.x_val, data.y_val) if len(data.x_val) else None,
        shuffle=True,
        callbacks=callbacks,
        verbose=0,
    )
    seconds = time.perf_counter() - started
    completed = len(live.history["loss"])
    status, message = _ending(live, config, completed, seconds)
    result = TrainingResult(
        network, config, status, message, seconds, completed, live.history, preprocessing=data.preprocessing,
        gradient_norms=flow.per_epoch,
        training_images=len(data.x_train),
        projection=snapshots.stacked,
        projection_labels=data.y_test[:PROJECTED_DIGITS].astype(np.uint8),
    )  # fmt: skip
    if status == "diverged":  # the weights mean nothing: no test score
        return result
    if len(data.x_test):
        result.test_accuracy, result.test_loss = evaluate(network, data.x_test, data.y_test)
    return result


def _ending(live: LiveMetrics, config: TrainingConfig, completed: int, seconds: float) -> tuple[Status, Message]:
    """How the training ended, for people: diverged (where, and what to change), stopped, or completed."""
    if live.diverged_at is not None:
        epoch, batch = live.diverged_at
        if math.isnan(live.diverged_loss):
            what = Message(N_("became NaN (not a number)"))
        else:
            what = Message(N_("exploded to {loss}"), loss=sig(live.diverged_loss))
        return "diverged", Message(
            N_(
                "Training stopped at epoch {epoch}, batch {batch}: the loss {what}, so the weights are no longer "
                "meaningful. The learning rate ({rate}) is probably too high for this optimizer; try one ten "
                "times smaller."
            ),
            {"epoch": num(epoch + 1), "batch": num(batch + 1), "what": what, "rate": sig(config.learning_rate, 6)},
        )
    if live.stopped_at is not None:
        epoch, batch = live.stopped_at
        return "stopped", Message(
            N_("Stopped by request during epoch {epoch} (after batch {batch}); the partly trained model was kept."),
            {"epoch": num(epoch + 1), "batch": num(batch + 1)},
        )
    return "completed", Message.counted(
        N_plural("Trained {count} epoch in {seconds} s.", "Trained {count} epochs in {seconds} s."),
        completed,
        seconds=num(seconds, 1),
    )
