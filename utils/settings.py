"""Every environment setting of the app and the CLI, read in one place with one rule.

A value the app cannot use stops it with one line that names the variable, the value
and what is allowed, before any work starts (not a silent default, not a traceback
from a worker minutes later). ``read_settings()`` is cheap and reads the environment
afresh, so tests can change it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from utils.errors import SettingsError
from utils.i18n import N_, Message, num

MNIST_PATH_ENV = "MNIST_PATH"
MODELS_DIR_ENV = "MNIST_MODELS_DIR"
MAX_TRAIN_ENV = "MNIST_LAB_MAX_TRAIN"
MAX_TEST_ENV = "MNIST_LAB_MAX_TEST"
MAX_TRAININGS_ENV = "MNIST_LAB_MAX_TRAININGS"
STRATEGY_ENV = "MNIST_LAB_STRATEGY"
CACHE_DIR_ENV = "MNIST_LAB_CACHE_DIR"

TRAIN_IMAGES, TEST_IMAGES = 60_000, 10_000  # MNIST's two parts
MAX_TRAIN_RANGE = (100, TRAIN_IMAGES)  # fewer than 100 cannot be split into training and validation usefully
MAX_TEST_RANGE = (1, TEST_IMAGES)
MAX_TRAININGS_RANGE = (1, 64)
STRATEGIES = ("auto", "mirrored", "single")
DEFAULT_MODELS_DIR = Path(__file__).resolve().parent.parent / "saved_models"
DEFAULT_CACHE_DIR = Path("~/.cache/mnist-mlp-lab")


@dataclass(frozen=True)
class Settings:
    mnist_path: Path | None  # None: Keras' download
    models_dir: Path
    max_train: int | None  # None: all
    max_test: int | None
    max_trainings: int
    strategy: str
    cache_dir: Path  # MNIST as the network sees it, prepared once per preprocessing version


def whole_number(name: str, raw: str, low: int, high: int) -> int:
    """``raw`` as an int in [low, high], or SettingsError naming ``name`` (a variable or a flag)."""
    try:
        value = int(raw.strip())
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise SettingsError(
            Message(
                N_("{name}={value} is not allowed: use a whole number from {low} to {high}"),
                name=name,
                value=repr(raw),
                low=num(low),
                high=num(high),
            )
        )
    return value


def one_of(name: str, raw: str, choices: tuple[str, ...]) -> str:
    """``raw`` trimmed and in lower case if it is one of ``choices``, or SettingsError naming ``name`` and them."""
    value = raw.strip().lower()
    if value not in choices:
        problem = N_("{name}={value} is not allowed: use one of {choices}")
        raise SettingsError(Message(problem, name=name, value=repr(raw), choices=list(choices)))
    return value


def read_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """The app's settings from ``environ`` (default: the process environment), all checked."""
    env = os.environ if environ is None else environ

    def text(name: str) -> str:
        return env.get(name, "").strip()

    def optional_count(name: str, limits: tuple[int, int]) -> int | None:
        return whole_number(name, text(name), *limits) if text(name) else None

    strategy = one_of(STRATEGY_ENV, text(STRATEGY_ENV) or "auto", STRATEGIES)
    return Settings(
        mnist_path=Path(text(MNIST_PATH_ENV)).expanduser() if text(MNIST_PATH_ENV) else None,
        models_dir=Path(text(MODELS_DIR_ENV)).expanduser() if text(MODELS_DIR_ENV) else DEFAULT_MODELS_DIR,
        max_train=optional_count(MAX_TRAIN_ENV, MAX_TRAIN_RANGE),
        max_test=optional_count(MAX_TEST_ENV, MAX_TEST_RANGE),
        max_trainings=whole_number(MAX_TRAININGS_ENV, text(MAX_TRAININGS_ENV) or "1", *MAX_TRAININGS_RANGE),
        strategy=strategy,
        cache_dir=Path(text(CACHE_DIR_ENV) or DEFAULT_CACHE_DIR).expanduser(),
    )
