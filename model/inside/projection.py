"""Watch the classes separate: the last hidden layer of 1,000 test digits in 2-D, once per epoch.

PCA is linear, so what is apart in the picture is apart in the layer (the argument of
Distill's "Grand Tour"). Each snapshot gets its own two axes; their signs are matched
to the previous snapshot's so the picture does not flip from one epoch to the next.
"""

from __future__ import annotations

import keras
import numpy as np

from model.net.config import TrainingConfig
from model.net.numpy_network import DenseNetwork

PROJECTED_DIGITS = 1000


def principal_plane(values: np.ndarray, previous: np.ndarray | None = None) -> np.ndarray:
    """(N, 2) coordinates of ``values`` on their first two principal axes, signs matched to ``previous``."""
    centred = np.asarray(values, np.float64) - np.mean(values, axis=0)
    _, _, axes = np.linalg.svd(centred, full_matrices=False)
    points = centred @ axes[:2].T
    if points.shape[1] < 2:
        points = np.pad(points, ((0, 0), (0, 2 - points.shape[1])))
    if previous is not None:
        points *= np.where(np.sum(points * previous, axis=0) < 0, -1.0, 1.0)
    return points


class HiddenSnapshots(keras.callbacks.Callback):
    """Projects the last hidden layer before training and after every epoch (a few ms each)."""

    def __init__(self, network: keras.Model, config: TrainingConfig, x: np.ndarray) -> None:
        super().__init__()
        self.network, self.x = network, np.asarray(x[:PROJECTED_DIGITS], np.float32)
        self.activation = config.activation  # of every hidden layer
        self.snapshots: list[np.ndarray] = []

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._snap()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self._snap()

    def _snap(self) -> None:
        last_hidden = DenseNetwork.from_weights(self.network.get_weights(), self.activation).trace(self.x).hidden[-1]
        if not np.isfinite(last_hidden).all():  # weights gone NaN: training is about to stop with a message
            return
        previous = self.snapshots[-1].astype(np.float64) if self.snapshots else None
        self.snapshots.append(principal_plane(last_hidden, previous).astype(np.float16))

    @property
    def stacked(self) -> np.ndarray:
        """(snapshots, digits, 2): before training, then after each epoch."""
        return np.stack(self.snapshots) if self.snapshots else np.zeros((0, len(self.x), 2), np.float16)
