"""What training reports to its listeners; plain data, so readers need no TensorFlow."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class BatchEvent:
    """Mini-batches done, up to ``batch``; ``loss``/``accuracy`` are those batches' own means.

    Training runs several batches per call into TensorFlow, so one event may cover a few
    batches (those since the previous event), never the epoch's running mean.
    """

    epoch: int  # 0-based
    batch: int  # 0-based within the epoch
    batches_per_epoch: int
    epochs: int
    loss: float
    accuracy: float

    @property
    def step(self) -> int:
        """Batches done since training began, this one included."""
        return self.epoch * self.batches_per_epoch + self.batch + 1

    @property
    def progress(self) -> float:
        return self.step / (self.epochs * self.batches_per_epoch)


@dataclass(frozen=True)
class EpochEvent:
    """One epoch done (or cut short by a stop: then ``complete`` is False)."""

    epoch: int
    epochs: int
    loss: float
    accuracy: float
    val_loss: float | None
    val_accuracy: float | None
    seconds: float
    complete: bool = True


TrainingEvent = BatchEvent | EpochEvent
Listener = Callable[[TrainingEvent], None]
