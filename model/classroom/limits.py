"""A teacher's limits on what students may train, checked by the server on every path (page, URL, CLI).

``problems`` names each limit a configuration passes (the Train page shows them, the CLI refuses
with them); ``apply`` moves a configuration inside the limits (fixed knobs set, the others
clamped), for a page that starts students inside them. Training digits are not a setting of the
network but a slice of MNIST: ``train_slice`` is the slice a class's training uses.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from model.classroom.db import ClassroomError
from model.net.config import ACTIVATIONS, LIMITS, OPTIMIZERS, SETTING, TrainingConfig, shown
from utils.errors import ConfigError
from utils.i18n import N_, Message, N_plural, num
from utils.settings import MAX_TRAIN_RANGE

GOAL_MAX_CHARS = 500
COUNTED = {  # limit -> (the TrainingConfig field it caps, or None for training digits; its lowest value)
    "max_hidden_layers": ("hidden_layers", int(LIMITS["hidden_layers"][0])),
    "max_units": ("units", int(LIMITS["units"][0])),
    "max_epochs": ("epochs", int(LIMITS["epochs"][0])),
    "max_train": (None, MAX_TRAIN_RANGE[0]),
}
PASSED = {
    "max_hidden_layers": N_plural(
        "at most {count} hidden layer in this class; this has {value}",
        "at most {count} hidden layers in this class; this has {value}",
    ),
    "max_units": N_plural(
        "at most {count} unit per layer in this class; this has {value}",
        "at most {count} units per layer in this class; this has {value}",
    ),
    "max_epochs": N_plural(
        "at most {count} epoch in this class; this has {value}",
        "at most {count} epochs in this class; this has {value}",
    ),
    "max_train": N_plural(
        "at most {count} training digit in this class; this uses {value}",
        "at most {count} training digits in this class; this uses {value}",
    ),
}
DESCRIBED = {
    "max_hidden_layers": N_plural("At most {count} hidden layer", "At most {count} hidden layers"),
    "max_units": N_plural("At most {count} unit per layer", "At most {count} units per layer"),
    "max_epochs": N_plural("At most {count} epoch", "At most {count} epochs"),
    "max_train": N_plural("At most {count} training digit", "At most {count} training digits"),
}


@dataclass(frozen=True)
class Limits:
    """What students may change; ``None`` (or an empty ``fixed``) is no limit. Checked when made."""

    max_hidden_layers: int | None = None
    max_units: int | None = None
    max_epochs: int | None = None
    max_train: int | None = None  # training digits (a slice of MNIST's; the full set is 54,000 at 10 % validation)
    activations: tuple[str, ...] | None = None  # allowed code names (ACTIVATIONS keys); None: all
    optimizers: tuple[str, ...] | None = None  # allowed code names (OPTIMIZERS keys); None: all
    fixed: Mapping[str, object] = field(default_factory=dict)  # TrainingConfig field -> the value everyone uses
    goal: str = ""  # the teacher's challenge, in the teacher's words

    def __post_init__(self) -> None:
        for name, (target, lowest) in COUNTED.items():
            value = getattr(self, name)
            highest = MAX_TRAIN_RANGE[1] if target is None else int(LIMITS[target][1])
            whole = isinstance(value, int) and not isinstance(value, bool)
            if value is not None and not (whole and lowest <= value <= highest):
                problem = N_("{limit} must be a whole number from {low} to {high}, got {value}")
                shown_range = {"low": num(lowest), "high": num(highest)}
                raise ClassroomError(Message(problem, limit=name, value=repr(value), **shown_range))
        for name, registry in (("activations", ACTIVATIONS), ("optimizers", OPTIMIZERS)):
            allowed = getattr(self, name)
            if allowed is None:
                continue
            allowed = tuple(allowed)
            object.__setattr__(self, name, allowed)
            if not allowed or not set(allowed) <= set(registry):
                problem = N_("{limit} must be some of {names}, got {value}")
                raise ClassroomError(Message(problem, limit=name, names=list(registry), value=repr(allowed)))
        for knob, value in self.fixed.items():
            if knob not in SETTING:
                problem = N_("a fixed setting must be one of {names}, got {value}")
                raise ClassroomError(Message(problem, names=list(SETTING), value=repr(knob)))
            try:
                SETTING[knob].check(value)
            except ConfigError as error:
                raise ClassroomError(error.message) from error
        object.__setattr__(self, "fixed", dict(self.fixed))
        if not isinstance(self.goal, str) or len(self.goal) > GOAL_MAX_CHARS:
            problem = N_("the goal must be text of at most {count} characters")
            raise ClassroomError(Message(problem, count=num(GOAL_MAX_CHARS)))

    def problems(self, config: TrainingConfig, max_train: int | None = None) -> list[Message]:
        """Each limit ``config`` passes, named, [] when allowed. ``max_train``: the training digits asked for
        (None: the class's own slice, never a problem)."""
        found = []
        for name, (target, _) in COUNTED.items():
            limit = getattr(self, name)
            value = max_train if target is None else getattr(config, target)
            if limit is not None and value is not None and value > limit:
                found.append(Message.counted(PASSED[name], limit, value=num(value)))
        for knob, allowed in (("activation", self.activations), ("optimizer", self.optimizers)):
            value = getattr(config, knob)
            if allowed is not None and value not in allowed:
                problem = N_("{label} {value} is not allowed in this class; allowed: {names}")
                found.append(Message(problem, label=Message(SETTING[knob].label), value=value, names=list(allowed)))
        for knob, value in self.fixed.items():
            if getattr(config, knob) != value:
                problem = N_("{label} is fixed at {value} in this class; this has {given}")
                label = Message(SETTING[knob].label)
                found.append(Message(problem, label=label, value=shown(value), given=shown(getattr(config, knob))))
        return found

    def apply(self, config: TrainingConfig) -> TrainingConfig:
        """``config`` inside the limits: fixed knobs set, numbers clamped, a choice not allowed replaced by the
        first allowed."""
        changes: dict[str, Any] = {}
        for name, (target, _) in COUNTED.items():
            limit = getattr(self, name)
            if target is not None and limit is not None and getattr(config, target) > limit:
                changes[target] = limit
        for knob, allowed in (("activation", self.activations), ("optimizer", self.optimizers)):
            if allowed is not None and getattr(config, knob) not in allowed:
                changes[knob] = allowed[0]
        return replace(config, **(changes | dict(self.fixed)))

    def train_slice(self, max_train: int | None = None) -> int | None:
        """The training digits to use: the smaller of the server's (or CLI's) slice and the class's limit."""
        return min(max_train, self.max_train) if max_train and self.max_train else max_train or self.max_train

    def describe(self) -> list[Message]:
        """One line per limit, for the Train page and the board; the goal first."""
        lines = [Message(N_("Goal: {goal}"), goal=self.goal)] if self.goal else []
        for name in COUNTED:
            if getattr(self, name) is not None:
                lines.append(Message.counted(DESCRIBED[name], getattr(self, name)))
        for allowed, sentence, registry in (
            (self.activations, N_("Activations allowed: {names}"), ACTIVATIONS),
            (self.optimizers, N_("Optimizers allowed: {names}"), OPTIMIZERS),
        ):
            if allowed is not None:
                lines.append(Message(sentence, names=[Message(registry[code].label) for code in allowed]))
        for knob, value in self.fixed.items():
            label = Message(SETTING[knob].label)
            lines.append(Message(N_("{label} is fixed at {value}"), label=label, value=shown(value)))
        return lines

    def to_json(self) -> str:
        record = asdict(self)
        return json.dumps({key: list(value) if isinstance(value, tuple) else value for key, value in record.items()})

    @classmethod
    def from_json(cls, text: str) -> Limits:
        """Limits as ``to_json`` wrote them; unknown keys (from a newer version) ignored, bad values refused."""
        unreadable = N_("a class's limits are not readable: {reason}")
        try:
            record = json.loads(text)
        except ValueError as error:
            raise ClassroomError(Message(unreadable, reason=str(error))) from error
        if not isinstance(record, dict):
            raise ClassroomError(Message(unreadable, reason="not an object"))
        known = {item.name for item in fields(cls)}
        kept = {key: value for key, value in record.items() if key in known}
        for key in ("activations", "optimizers"):
            if isinstance(kept.get(key), list):
                kept[key] = tuple(kept[key])
        if not isinstance(kept.get("fixed", {}), dict):
            raise ClassroomError(Message(unreadable, reason="fixed is not an object"))
        return cls(**kept)
