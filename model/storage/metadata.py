"""What is kept beside a model's weights: one typed record, written and read only here.

A metadata file comes from disk, so it may be damaged or hostile: ``parse_metadata``
checks its size before reading it and every field's type after, and a record that does
not fit is refused with the reason (the model is then listed as damaged, never breaks a
page). Unknown keys are ignored, so a newer app's files still read; missing ones take
their defaults, so older files do too.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

from model.net.config import TrainingConfig
from utils.errors import LabError, ModelStorageError
from utils.i18n import N_, Message, as_message, num
from utils.preprocess import LEGACY_PREPROCESSING
from utils.untrusted import UntrustedFileError, read_file

MAX_METADATA_BYTES = 1_000_000  # a 100-epoch model's record is about 12 KB
HISTORY_KEYS = ("loss", "accuracy", "val_loss", "val_accuracy")
MAX_HISTORY_POINTS = 10_000  # also the most epochs a record may claim
MAX_IMAGES = 10**8  # images per epoch: MNIST has 60,000
MAX_SECONDS = 10**8  # three years: every number shown stays within what tables and number formats hold
MAX_LOSS = 10**9
Status = Literal["completed", "stopped", "diverged"]


class MetadataError(ModelStorageError):
    """A metadata file that cannot be used; the message says which field and why."""


@dataclass(frozen=True)
class ModelMetadata:
    """Everything the app knows about a saved model without loading its weights."""

    name: str = ""
    config: TrainingConfig | None = None
    status: str = "completed"
    message: str = ""
    epochs_completed: int | None = None
    history: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    test_accuracy: float | None = None
    test_loss: float | None = None
    training_seconds: float | None = None
    training_images: int | None = None  # per epoch, for estimating how long the next training takes
    preprocessing: str = LEGACY_PREPROCESSING  # a model saved without a record used the original recipe
    created_at: str = ""
    keras_version: str = ""
    # One entry before the first update and one after each epoch: an L2 norm per Dense layer.
    gradient_norms: tuple[tuple[float, ...], ...] = ()
    base_model: str | None = None  # the model this one was fine-tuned from, if any

    @property
    def architecture(self) -> Message:
        """'784-128-10', or 'unknown' for a model saved without its settings."""
        return as_message(self.config.architecture) if self.config else Message(N_("unknown"))

    @property
    def stopped_early(self) -> bool:
        return self.status == "stopped"

    def with_(self, **changes: Any) -> ModelMetadata:
        return replace(self, **changes)

    def to_json(self) -> str:
        record = asdict(self)
        record["config"] = self.config.to_dict() if self.config else None
        record["history"] = {key: list(values) for key, values in self.history.items()}
        if self.config is not None:  # for people and other tools reading the file
            record["architecture"] = self.config.architecture
            record["parameters"] = self.config.parameter_count
        return json.dumps(record, indent=2)


def read_metadata(path: Path) -> ModelMetadata:
    """The record in ``path``; MetadataError says why it cannot be used."""
    try:
        data = read_file(path, MAX_METADATA_BYTES, path.name)
    except UntrustedFileError as error:
        raise MetadataError(Message(N_("metadata unreadable: {reason}"), reason=error)) from error
    return parse_metadata(data)


def parse_metadata(data: bytes | str) -> ModelMetadata:
    try:
        record = json.loads(data)
    except (ValueError, RecursionError) as error:
        raise MetadataError(Message(N_("metadata unreadable: {reason}"), reason=error)) from error
    if not isinstance(record, dict):
        raise MetadataError(
            Message(N_("metadata unreadable: a JSON {kind}, not an object"), kind=type(record).__name__)
        )
    known = {item.name for item in fields(ModelMetadata)}
    values = {key: value for key, value in record.items() if key in known and value is not None}
    try:
        return ModelMetadata(**{key: _CHECKS[key](key, value) for key, value in values.items()})
    except LabError as error:
        raise MetadataError(Message(N_("metadata damaged: {reason}"), reason=error)) from error


def _text(key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise MetadataError(Message(N_("{key} should be text, not {value}"), key=key, value=f"{value!r:.40}"))
    return value


def _number(key: str, value: Any, low: float = 0.0, high: float = math.inf) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise MetadataError(
            Message(
                N_("{key} should be a number from {low} to {high}, not {value}"),
                key=key,
                low=num(low),
                high=num(high),
                value=f"{value!r:.40}",
            )
        )
    return float(value)


def _count(key: str, value: Any, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= high:
        raise MetadataError(
            Message(
                N_("{key} should be a whole number from 0 to {high}, not {value}"),
                key=key,
                high=num(high),
                value=f"{value!r:.40}",
            )
        )
    return value


def _numbers(key: str, value: Any) -> tuple[float, ...]:
    if not isinstance(value, list) or len(value) > MAX_HISTORY_POINTS:
        raise MetadataError(
            Message(N_("{key} should be a list of at most {count} numbers"), key=key, count=num(MAX_HISTORY_POINTS))
        )
    return tuple(_number(key, item, -math.inf) for item in value)


def _history(key: str, value: Any) -> dict[str, tuple[float, ...]]:
    if not isinstance(value, dict):
        raise MetadataError(Message(N_("history should be an object of curves, not {value}"), value=f"{value!r:.40}"))
    return {name: _numbers(f"history.{name}", value[name]) for name in HISTORY_KEYS if name in value}


def _gradient_norms(key: str, value: Any) -> tuple[tuple[float, ...], ...]:
    if not isinstance(value, list) or len(value) > MAX_HISTORY_POINTS:
        raise MetadataError(Message(N_("gradient_norms should be a list of per-layer lists")))
    return tuple(_numbers(key, entry) for entry in value)


def _config(key: str, value: Any) -> TrainingConfig:
    return TrainingConfig.from_dict(value)


_CHECKS: dict[str, Callable[[str, Any], Any]] = {
    "name": _text,
    "config": _config,
    "status": _text,
    "message": _text,
    "epochs_completed": lambda key, value: _count(key, value, MAX_HISTORY_POINTS),
    "history": _history,
    "test_accuracy": lambda key, value: _number(key, value, 0.0, 1.0),
    "test_loss": lambda key, value: _number(key, value, 0.0, MAX_LOSS),
    "training_seconds": lambda key, value: _number(key, value, 0.0, MAX_SECONDS),
    "training_images": lambda key, value: _count(key, value, MAX_IMAGES),
    "preprocessing": _text,
    "created_at": _text,
    "keras_version": _text,
    "gradient_norms": _gradient_norms,
    "base_model": _text,
}
