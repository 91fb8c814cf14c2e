"""The one description of a network and how to train it, validated in one place.

Every training setting is described once, in ``SETTINGS``: its range (``LIMITS``), its
default (``TrainingConfig``), its label and help for people, its URL parameter and its
command-line flags. The Train page and the CLI are built from it, so a new knob is one
edit here. Optimizers, schedules and activations are registries of ``Option``s; there is
no fall-through, so an unknown name is an error and never silently something else.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from utils.errors import ConfigError
from utils.i18n import N_, Message, Number, num, sig
from utils.mnist import N_CLASSES, N_PIXELS


@dataclass(frozen=True)
class Option:
    """One choice of a categorical setting; ``build`` makes the Keras object when there is one.

    ``label`` and ``help`` are English, marked with ``N_()``: the Train page translates them where shown.
    """

    label: str
    help: str
    build: Callable[..., Any] | None = None


def _optimizer(class_name: str, **options: Any) -> Callable[[Any], Any]:
    def build(rate: Any) -> Any:
        import keras  # late: pages read this registry without loading TensorFlow

        return getattr(keras.optimizers, class_name)(learning_rate=rate, **options)

    return build


def _constant(rate: float, total_steps: int | None) -> float:
    return rate


def _cosine(rate: float, total_steps: int | None) -> Any:
    import keras

    if not total_steps:
        raise ConfigError(Message(N_("a cosine schedule needs the number of training steps")))
    return keras.optimizers.schedules.CosineDecay(rate, decay_steps=total_steps)


OPTIMIZERS: dict[str, Option] = {
    "sgd": Option(
        N_("Gradient descent (plain SGD)"),
        N_(
            "Each batch moves every weight a step down its gradient, step = learning rate x gradient. "
            "Simple and slow; needs a larger rate (0.03-0.3)."
        ),
        _optimizer("SGD"),
    ),
    "momentum": Option(
        N_("SGD with momentum"),
        N_("Gradient descent that keeps 90 % of its previous step, so it rolls through flat stretches faster."),
        _optimizer("SGD", momentum=0.9),
    ),
    "adam": Option(
        "Adam",
        N_("Adapts the step of every weight to the size of its recent gradients; fast and forgiving."),
        _optimizer("Adam"),
    ),
    "rmsprop": Option(
        "RMSprop",
        N_("Divides each step by a running size of the weight's gradients; a fast default for MLPs."),
        _optimizer("RMSprop"),
    ),
}
SCHEDULES: dict[str, Option] = {
    "constant": Option(N_("Constant"), N_("The same learning rate from the first batch to the last."), _constant),
    "cosine": Option(
        N_("Cosine decay to zero"),
        N_(
            "The rate falls along a half cosine to zero by the last batch: big steps first, fine ones at the end. "
            "It usually adds a few tenths of a percent."
        ),
        _cosine,
    ),
}
ACTIVATIONS: dict[str, Option] = {
    "relu": Option("ReLU", N_("max(0, z): fast to train in deep networks; a unit that is always 0 is 'dead'.")),
    "sigmoid": Option(
        "sigmoid",
        N_(
            "1 / (1 + e^-z), between 0 and 1: the classic neuron. Its gradient is at most 0.25, so it fades "
            "in deep networks (vanishing gradients)."
        ),
    ),
    "tanh": Option("tanh", N_("Like sigmoid but between -1 and 1, centred on 0: learns faster than sigmoid.")),
}
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
    schedule: str = "constant"
    batch_size: int = 128
    epochs: int = 10
    validation_fraction: float = 0.1
    seed: int = 0
    augment: bool = False  # distort training digits afresh every epoch (model/net/augment.py)
    conventions: bool = False  # slashed 0s, flagged 1s, crossed 7s, open 4s in training (model/net/conventions.py)

    def __post_init__(self) -> None:
        for setting in SETTINGS:
            setting.check(getattr(self, setting.field))

    @property
    def layer_sizes(self) -> list[int]:
        """Units of every layer, input and output included: [784, 512, 512, 10]."""
        return [N_PIXELS, *([self.units] * self.hidden_layers), N_CLASSES]

    @property
    def architecture(self) -> str:
        return "-".join(str(size) for size in self.layer_sizes)

    @property
    def short_name(self) -> str:
        """'2x512-relu': enough to tell models apart in a list, short enough for a phone."""
        return f"{self.hidden_layers}x{self.units}-{self.activation}"

    @property
    def parameter_count(self) -> int:
        """Weights plus biases of all dense layers."""
        sizes = self.layer_sizes
        return sum((fan_in + 1) * fan_out for fan_in, fan_out in itertools.pairwise(sizes))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainingConfig:
        """Build from saved metadata, ignoring keys this version does not know."""
        if not isinstance(data, Mapping):
            problem = N_("a training configuration must be a mapping of settings, got {kind}")
            raise ConfigError(Message(problem, kind=type(data).__name__))
        known = {field.name for field in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})


@dataclass(frozen=True)
class Setting:
    """One training setting as people see it: on the Train page, in the URL and on the command line."""

    field: str  # the TrainingConfig attribute
    label: str
    help: str
    param: str  # its URL query parameter
    flags: tuple[str, ...]  # command-line flags; the first is the one shown in help
    kind: type = int  # int, float, bool or str
    options: Mapping[str, Option] | None = None  # for categorical settings
    choices: tuple[float, ...] | None = None  # the values the page's slider steps through
    step: float | None = None  # the step of a continuous slider

    @property
    def default(self) -> Any:
        return getattr(TrainingConfig, self.field)

    def problem(self, value: Any) -> tuple[str, dict[str, object]] | None:
        """What is wrong with ``value``, None if nothing: a kind of problem (a key of ``PROBLEMS``) and its values.

        ``check`` says it as an error; the Train page has its own sentence per kind for a link (``ui.widgets``).
        """
        given: dict[str, object] = {"field": self.field, "value": repr(value)}
        if self.kind is bool:
            return None if isinstance(value, bool) else ("bool", given)
        if self.options is not None:
            return None if value in self.options else ("options", given | {"names": list(self.options)})
        if isinstance(value, bool) or not isinstance(value, int if self.kind is int else (int, float)):
            return "whole" if self.kind is int else "finite", given
        if not math.isfinite(value):
            return "finite", given
        low, high = LIMITS[self.field]
        if not low <= value <= high:
            return "range", given | {"low": _number(low), "high": _number(high)}
        return None

    def check(self, value: Any) -> None:
        """Raise ConfigError naming the setting and what it allows."""
        problem = self.problem(value)
        if problem is not None:
            kind, values = problem
            raise ConfigError(Message(PROBLEMS[kind], values))


PROBLEMS = {  # what Setting.check says; the Train page says a link's mistakes in sentences of its own
    "bool": N_("{field} must be True or False, got {value}"),
    "options": N_("{field} must be one of {names}, got {value}"),
    "whole": N_("{field} must be a whole number, got {value}"),
    "finite": N_("{field} must be a finite number, got {value}"),
    "range": N_("{field} must be between {low} and {high}, got {value}"),
}


SETTINGS: tuple[Setting, ...] = (  # labels and help marked with N_(): English here, translated where shown
    Setting(
        "hidden_layers", N_("Hidden layers"),
        N_("Layers of neurons between the 784 pixels and the 10 digits. More layers can learn more complex "
           "shapes but train more slowly, and with sigmoid their gradients fade."),
        "layers", ("--hidden-layers", "--layers"),
    ),
    Setting(
        "units", N_("Units per layer"),
        N_("Neurons in each hidden layer. More units remember more patterns (and more noise); time grows with "
           "them."),
        "units", ("--units",), choices=(8, 16, 32, 64, 128, 256, 512, 1024, 2048),
    ),
    Setting(
        "epochs", N_("Epochs"),
        N_("How many times the network sees all training digits. More epochs lower the training loss; when the "
           "validation loss stops falling, more only memorises."),
        "epochs", ("--epochs",),
    ),
    Setting(
        "augment", N_("Augment training data"),
        N_("Every epoch, each training digit is randomly rotated, scaled, slanted, shifted, warped and drawn "
           "thicker or thinner, so the network learns digits as people draw them, not only MNIST's. Needs more "
           "epochs (try 30); costs little time per epoch."),
        "augment", ("--augment",), kind=bool,
    ),
    Setting(
        "conventions", N_("Teach world handwriting conventions"),
        N_("MNIST's writers were American. This draws other countries' habits onto some training digits: a "
           "slash through 0s, a flag and foot on 1s, a bar across 7s, an open top on 4s, so the network also "
           "reads European handwriting. Most digits stay plain; costs about a second before training."),
        "conventions", ("--conventions",), kind=bool,
    ),
    Setting(
        "batch_size", N_("Batch size"),
        N_("Digits averaged into one gradient step. Small batches: many noisy steps per epoch; large batches: "
           "few smooth steps, faster per epoch on a CPU but often needing a higher learning rate."),
        "batch", ("--batch-size",), choices=(8, 16, 32, 64, 128, 256, 512, 1024),
    ),
    Setting(
        "learning_rate", N_("Learning rate"),
        N_("How far each step moves the weights. Too small: the loss barely moves; too large: it jumps around "
           "or explodes (training then stops with a message)."),
        "lr", ("--learning-rate", "--lr"), kind=float,
        choices=(0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0),
    ),
    Setting(
        "optimizer", N_("Optimizer"), N_("The rule that turns gradients into weight changes."), "optimizer",
        ("--optimizer",), kind=str, options=OPTIMIZERS,
    ),
    Setting(
        "schedule", N_("Learning-rate schedule"),
        N_("Whether the learning rate stays the same or shrinks as training goes."),
        "schedule", ("--schedule",), kind=str, options=SCHEDULES,
    ),
    Setting(
        "activation", N_("Activation"), N_("The function each hidden neuron applies to its weighted sum z."),
        "activation", ("--activation",), kind=str, options=ACTIVATIONS,
    ),
    Setting(
        "dropout", N_("Dropout"),
        N_("During training, this share of hidden units is switched off at random at every step, so no unit can "
           "rely on another: less overfitting, but a higher training loss than validation loss."),
        "dropout", ("--dropout",), kind=float, step=0.05,
    ),
    Setting(
        "validation_fraction", N_("Validation fraction"),
        N_("Share of the 60,000 training digits held out to check, after each epoch, how well the network does "
           "on digits it does not learn from."),
        "val", ("--validation-fraction", "--val-split"), kind=float,
        choices=(0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5),
    ),
    Setting(
        "seed", N_("Seed"),
        N_("Fixes the random starting weights, the validation split and the shuffling: the same seed and "
           "settings train the same network again (on the same machine)."),
        "seed", ("--seed",),
    ),
)  # fmt: skip
SETTING = {setting.field: setting for setting in SETTINGS}


def shown(value: Any) -> object:
    """A setting's value as people read it: a number as a Number, words (and True, False) as they are."""
    return value if isinstance(value, bool | str) else _number(value)


def _number(value: float) -> Number:
    """Whole numbers grouped (60,000), others to 6 significant digits (0.001)."""
    return num(value) if float(value).is_integer() else sig(value, 6)
