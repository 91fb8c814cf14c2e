"""The one description of a network and how to train it, validated in one place."""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass, fields
from typing import Any

from utils.mnist import N_CLASSES, N_PIXELS

ACTIVATIONS = ("relu", "sigmoid", "tanh")
OPTIMIZERS = ("sgd", "momentum", "adam", "rmsprop")
OPTIMIZER_LABELS = {
    "sgd": "Gradient descent (plain SGD)",
    "momentum": "SGD with momentum",
    "adam": "Adam",
    "rmsprop": "RMSprop",
}
SCHEDULES = ("constant", "cosine")
SCHEDULE_LABELS = {"constant": "Constant", "cosine": "Cosine decay to zero"}
LIMITS: dict[str, tuple[float, float]] = {
    "hidden_layers": (1, 8),
    "units": (8, 2048),
    "dropout": (0.0, 0.9),
    "learning_rate": (1e-6, 10.0),
    "batch_size": (1, 60000),
    "epochs": (1, 100),
    "validation_fraction": (0.01, 0.5),
    "seed": (0, 2**31 - 1),
}


@dataclass(frozen=True)
class TrainingConfig:
    """Defaults are the reference network: 784-512-512-10, ReLU, softmax out."""

    hidden_layers: int = 2
    units: int = 512
    activation: str = "relu"
    dropout: float = 0.2
    optimizer: str = "rmsprop"
    learning_rate: float = 0.001
    schedule: str = "constant"  # "cosine": the rate falls along a half cosine to 0 by the last batch
    batch_size: int = 128
    epochs: int = 10
    validation_fraction: float = 0.1
    seed: int = 0
    augment: bool = False  # distort training digits afresh every epoch (model/augment.py)

    def __post_init__(self) -> None:
        for name in ("hidden_layers", "units", "batch_size", "epochs", "seed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"{name} must be a whole number, got {value!r}")
        for name in ("dropout", "learning_rate", "validation_fraction"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"{name} must be a finite number, got {value!r}")
        for name, (low, high) in LIMITS.items():
            value = getattr(self, name)
            if not low <= value <= high:
                raise ValueError(f"{name} must be between {_fmt(low)} and {_fmt(high)}, got {value!r}")
        if not isinstance(self.augment, bool):
            raise ValueError(f"augment must be True or False, got {self.augment!r}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {self.activation!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}, got {self.schedule!r}")

    @property
    def layer_sizes(self) -> list[int]:
        """Units of every layer, input and output included: [784, 512, 512, 10]."""
        return [N_PIXELS, *([self.units] * self.hidden_layers), N_CLASSES]

    @property
    def architecture(self) -> str:
        return "-".join(str(size) for size in self.layer_sizes)

    @property
    def parameter_count(self) -> int:
        """Weights plus biases of all dense layers."""
        sizes = self.layer_sizes
        return sum((fan_in + 1) * fan_out for fan_in, fan_out in itertools.pairwise(sizes))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainingConfig:
        """Build from saved metadata, ignoring keys this version does not know."""
        known = {field.name for field in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
