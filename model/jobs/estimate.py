"""How long will this training take? An estimate from this machine's own past trainings.

The cost of an epoch grows with the number of images times the number of weights, so
each past training gives a rate: seconds / (epochs x images x parameters). The median of
the latest few is this machine's speed; before any training, the reference network's
measured speed on the project's 2-core CPU stands in (bench/RESULTS.md).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable

from model.net.config import TrainingConfig
from model.storage.metadata import ModelMetadata
from utils.i18n import N_, Message, num

REFERENCE_RATE = 2.33 / (54_000 * 669_706)  # seconds per image per parameter: 2.33 s an epoch here
START_SECONDS = 6.0  # starting the worker, loading data, compiling the first step
RECENT = 5


def machine_rate(history: Iterable[ModelMetadata]) -> tuple[float, bool]:
    """(seconds per image per parameter, measured here?) from the latest completed trainings."""
    rates = [
        meta.training_seconds / (meta.epochs_completed * meta.training_images * meta.config.parameter_count)
        for meta in history
        if meta.config and meta.training_seconds and meta.epochs_completed and meta.training_images
    ][:RECENT]
    return (statistics.median(rates), True) if rates else (REFERENCE_RATE, False)


def training_seconds(config: TrainingConfig, images: int, history: Iterable[ModelMetadata]) -> tuple[float, bool]:
    """(estimated seconds for the whole training, measured on this machine?)."""
    rate, measured = machine_rate(history)
    return START_SECONDS + config.epochs * images * config.parameter_count * rate, measured


def typical_job_seconds(history: Iterable[ModelMetadata]) -> float:
    """How long one job in the queue takes here, for its place's estimated start: the median of the latest
    completed trainings, else the reference network's default training at the reference speed."""
    seconds = [meta.training_seconds for meta in history if meta.training_seconds and meta.epochs_completed][:RECENT]
    if seconds:
        return START_SECONDS + statistics.median(seconds)
    default = TrainingConfig()
    return training_seconds(default, round(54_000 * (1 - default.validation_fraction)), ())[0]


def duration(seconds: float) -> Message:
    """'about 40 s', 'about 4 min', 'about 1.5 h': rounded the way people say it."""
    if seconds < 90:
        return Message(N_("about {seconds} s"), seconds=num(max(5, round(seconds / 5) * 5)))
    if seconds < 90 * 60:
        return Message(N_("about {minutes} min"), minutes=num(round(seconds / 60)))
    return Message(N_("about {hours} h"), hours=num(seconds / 3600, 1))
