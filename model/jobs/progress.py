"""A thread-safe record of a training run, read by the page that draws the live curves."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import pandas as pd

from model.net.events import BatchEvent, EpochEvent, LayerStatsEvent, TrainingEvent, dense_layer

SMOOTHING = 0.9  # exponential moving average weight for the per-batch training curve


@dataclass(frozen=True)
class ProgressSnapshot:
    """An immutable copy of what has happened so far."""

    batches: tuple[BatchEvent, ...]
    epochs: tuple[EpochEvent, ...]
    layer_stats: tuple[LayerStatsEvent, ...] = ()

    @property
    def latest(self) -> BatchEvent | None:
        return self.batches[-1] if self.batches else None

    @property
    def fraction(self) -> float:
        return self.latest.progress if self.latest else 0.0

    def batch_curve(self, max_points: int = 500) -> pd.DataFrame:
        """Smoothed per-batch training loss and accuracy, x in (fractional) epochs, at most ``max_points`` rows."""
        if not self.batches:
            return pd.DataFrame(columns=["epoch", "loss", "accuracy"])
        frame = pd.DataFrame(
            {
                "epoch": [event.step / event.batches_per_epoch for event in self.batches],
                "loss": [event.loss for event in self.batches],
                "accuracy": [event.accuracy for event in self.batches],
            }
        )
        smoothed = frame[["loss", "accuracy"]].ewm(alpha=1 - SMOOTHING).mean()
        frame[["loss", "accuracy"]] = smoothed
        if len(frame) > max_points:
            keep = np.unique(np.linspace(0, len(frame) - 1, max_points).round().astype(int))
            frame = frame.iloc[keep]
        return frame.reset_index(drop=True)

    def epoch_curve(self) -> pd.DataFrame:
        """One row per finished epoch: training and validation loss/accuracy, x = epochs done."""
        return pd.DataFrame(
            [
                {
                    "epoch": event.epoch + 1,
                    "loss": event.loss,
                    "accuracy": event.accuracy,
                    "val_loss": event.val_loss,
                    "val_accuracy": event.val_accuracy,
                }
                for event in self.epochs
            ],
            columns=["epoch", "loss", "accuracy", "val_loss", "val_accuracy"],
        )

    def gradient_curve(self) -> pd.DataFrame:
        """Long format, one row per probe and Dense layer: gradient norm and update ratio, x in epochs."""
        rows = [
            {
                "epoch": event.epoch_position,
                "layer": dense_layer(index, len(event.gradient_norms)),
                "gradient_norm": norm,
                "update_ratio": event.update_ratios[index] if event.update_ratios else None,
            }
            for event in self.layer_stats
            for index, norm in enumerate(event.gradient_norms)
        ]
        return pd.DataFrame(rows, columns=["epoch", "layer", "gradient_norm", "update_ratio"])

    def unit_shares(self) -> pd.DataFrame:
        """The latest probe's share of dead (ReLU) or saturated (sigmoid/tanh) units per hidden layer."""
        if not self.layer_stats:
            return pd.DataFrame(columns=["layer", "share"])
        latest = self.layer_stats[-1]
        count = len(latest.gradient_norms)
        return pd.DataFrame(
            [{"layer": dense_layer(i, count), "share": share} for i, share in enumerate(latest.flat_shares)],
            columns=["layer", "share"],
        )


class TrainingProgress:
    """A training listener that keeps every event, for any number of readers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._batches: list[BatchEvent] = []
        self._epochs: list[EpochEvent] = []
        self._layer_stats: list[LayerStatsEvent] = []

    def __call__(self, event: TrainingEvent) -> None:
        with self._lock:
            if isinstance(event, BatchEvent):
                self._batches.append(event)
            elif isinstance(event, EpochEvent):
                self._epochs.append(event)
            else:
                self._layer_stats.append(event)

    def snapshot(self) -> ProgressSnapshot:
        with self._lock:
            return ProgressSnapshot(tuple(self._batches), tuple(self._epochs), tuple(self._layer_stats))
