"""What training reports to its listeners; plain data, so readers need no TensorFlow."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class BatchEvent:
    """Mini-batches done, up to ``batch``; ``loss``/``accuracy`` are those batches' own means.

    Training runs several batches per call into TensorFlow, so one event may cover a few
    batches (those since the previous event), never the epoch's running mean.
    """

    epoch: int  # 0-based
    batch: int  # 0-based within the epoch; -1 for the starting point, before the first update
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


@dataclass(frozen=True)
class LayerStatsEvent:
    """How the gradient flows through each Dense layer, measured on a fixed probe of training images.

    Sent once before the first update (``step`` 0), every few batches, and after each epoch.
    """

    step: int  # batches done since training began
    batches_per_epoch: int
    gradient_norms: tuple[float, ...]  # ||d loss / d kernel|| per Dense layer, hidden layers then output
    update_ratios: tuple[float, ...] | None  # ||ΔW|| / ||W|| per update since the previous probe; None at first
    flat_shares: tuple[float, ...]  # per hidden layer: share of dead (ReLU) or saturated (sigmoid/tanh) units
    end_of_epoch: bool = False

    @property
    def epoch_position(self) -> float:
        return self.step / self.batches_per_epoch


@dataclass(frozen=True)
class Layer:
    """A Dense layer by its place, for the edge to name in the reader's words ('hidden 2', 'output')."""

    number: int  # 1, 2, ... among the Dense layers, in order
    is_output: bool = False


def dense_layer(index: int, count: int) -> Layer:
    """The ``index``-th (from 0) of ``count`` Dense layers: hidden ones first, the output last."""
    return Layer(index + 1, is_output=index == count - 1)


TrainingEvent = BatchEvent | EpochEvent | LayerStatsEvent
Listener = Callable[[TrainingEvent], None]


class StopFlag(Protocol):
    """Set to end training after its current batch: a ``threading.Event``, or a ``multiprocessing`` one."""

    def is_set(self) -> bool: ...
