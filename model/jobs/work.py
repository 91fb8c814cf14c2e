"""The work jobs do in their worker processes: train a network, or teach a saved one someone's drawings.

Each is a small picklable record of what to do, called in the worker as ``work(report, stop)``
(``model.jobs.engine.Work``); each returns its own outcome, plain data for the page. Importing this
module costs no TensorFlow: the server builds the records, the worker imports what they need.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from model.inside.analysis import Mistake, confusion_matrix, worst_mistakes
from model.jobs.engine import Job, JobFailed, JobState, Progress, Report, StateChanged
from model.net.config import TrainingConfig
from model.net.data import MnistSplits, app_training_data, prepared_mnist
from model.net.events import StopFlag
from model.storage.store import ModelStore
from utils.errors import LabError, ModelStorageError
from utils.i18n import N_, Message
from utils.mnist import load_raw

if TYPE_CHECKING:
    from model.jobs.finetune import TeachOptions, TeachResult
    from model.net.training import TrainingResult
    from utils.drawings import Drawing


def prepare_training() -> None:
    """A warm worker's start: TensorFlow and Keras imported, MNIST prepared (seconds, before anyone waits)."""
    import model.net.training  # noqa: F401

    with contextlib.suppress(LabError):  # no MNIST yet: the work will say so
        prepared_mnist(load_raw())


@dataclass(frozen=True)
class TrainingOutcome:
    """What the Train page shows once training is over; the weights themselves are in storage."""

    model_name: str
    stopped: bool  # ended early by request; the partly trained model was kept
    message: Message
    seconds: float
    epochs_completed: int
    test_accuracy: float | None
    test_loss: float | None
    confusion: np.ndarray
    mistakes: list[Mistake] = field(default_factory=list)

    @classmethod
    def of(cls, result: TrainingResult, model_name: str, data: MnistSplits, scores: np.ndarray) -> TrainingOutcome:
        """``result`` saved as ``model_name``; ``scores``: its probabilities for ``data``'s test digits."""
        return cls(
            model_name=model_name,
            stopped=result.status == "stopped",
            message=result.message,
            seconds=result.seconds,
            epochs_completed=result.epochs_completed,
            test_accuracy=result.test_accuracy,
            test_loss=result.test_loss,
            confusion=confusion_matrix(data.y_test, scores.argmax(axis=1)),
            mistakes=worst_mistakes(data.x_test, data.y_test, scores),
        )


@dataclass(frozen=True)
class TrainingWork:
    """Train a fresh network, score it and save it as ``name`` (or the next free name).

    The server default stays as it was: the page that started the work uses the new model in
    its own session (``ui.workspace.use_model``).

    ``data_source`` loads the data in the worker; a module-level function, so it can be sent there.
    """

    config: TrainingConfig
    name: str
    store: ModelStore
    data_source: Callable[[TrainingConfig], MnistSplits] = app_training_data

    def __call__(self, report: Report, stop: StopFlag) -> TrainingOutcome:
        try:
            return self._train_and_save(report, stop)
        except ModelStorageError as error:
            raise JobFailed(Message(N_("Not saved: {error}."), error=error.message)) from error

    def _train_and_save(self, report: Report, stop: StopFlag) -> TrainingOutcome:
        from model.net.inference import predict_batch
        from model.net.training import train

        self.store.check_writable()  # fail now, not after minutes of training
        report(StateChanged(JobState.LOADING))
        data = self.data_source(self.config)
        report(StateChanged(JobState.RUNNING))
        result = train(self.config, data, [lambda event: report(Progress(event))], stop)
        if result.status == "diverged":
            raise JobFailed(result.message)
        report(StateChanged(JobState.SAVING))
        probabilities = predict_batch(result.model, data.x_test)
        name = self.store.unique_name(self.name)
        saved = self.store.save(result.model, name, result.metadata(), result.extras(), as_default=False)
        return TrainingOutcome.of(result, saved.name, data, probabilities)


@dataclass(frozen=True)
class TeachOutcome:
    """What the page shows after teaching: before and after, and whether the taught copy answers now."""

    model_name: str
    base: str
    message: Message
    examples: int
    held_out: int
    yours_before: float | None
    yours_after: float | None
    mnist_before: float
    mnist_after: float
    mnist_tested: int
    seconds: float
    blocked: Message | None  # why the taught copy should not answer in its parent's place
    stopped: bool = False

    @classmethod
    def of(cls, result: TeachResult, model_name: str, base: str, blocked: Message | None) -> TeachOutcome:
        return cls(
            model_name=model_name,
            base=base,
            message=result.message,
            examples=result.examples,
            held_out=result.held_out,
            yours_before=result.yours_before,
            yours_after=result.yours_after,
            mnist_before=result.mnist_before,
            mnist_after=result.mnist_after,
            mnist_tested=result.mnist_tested,
            seconds=result.seconds,
            blocked=blocked,
            stopped=result.status == "stopped",
        )


@dataclass(frozen=True)
class TeachingWork:
    """Teach a copy of the saved model ``base`` the ``drawings``, saved as ``name`` (``model.jobs.finetune``)."""

    base: str
    drawings: Sequence[Drawing]
    options: TeachOptions
    name: str
    store: ModelStore

    def __call__(self, report: Report, stop: StopFlag) -> TeachOutcome:
        from model.jobs.finetune import load_parent, save_taught, teach

        self.store.check_writable()
        report(StateChanged(JobState.RUNNING))
        listeners = [lambda event: report(Progress(event))]
        result = teach(*load_parent(self.store, self.base), self.drawings, self.options, listeners, stop)
        if result.status == "diverged":
            raise JobFailed(result.message)
        report(StateChanged(JobState.SAVING))
        saved, blocked = save_taught(self.store, result, self.store.unique_name(self.name))
        return TeachOutcome.of(result, model_name=saved, base=self.base, blocked=blocked)


TrainingJob = Job[TrainingWork, TrainingOutcome]
TeachingJob = Job[TeachingWork, TeachOutcome]
