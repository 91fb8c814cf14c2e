"""Training in a background thread, so a page can poll it while the user keeps clicking.

A job belongs to one user's session; the network trains in the job's thread, is scored,
saved and made active there, so nothing depends on the page staying open. The number
of trainings running at once is capped (``MNIST_LAB_MAX_TRAININGS``, default 1 on a
small CPU); later jobs wait in a first-come queue and can be cancelled while waiting.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from model.analysis import Mistake, confusion_matrix, worst_mistakes
from model.config import TrainingConfig
from model.progress import TrainingProgress
from model.storage import ModelStore
from utils.mnist import MnistSplits

MAX_TRAININGS_ENV = "MNIST_LAB_MAX_TRAININGS"


class JobState(StrEnum):
    QUEUED = "queued"
    LOADING = "loading data"
    RUNNING = "training"
    SAVING = "scoring and saving"
    FINISHED = "finished"
    STOPPED = "stopped"
    CANCELLED = "cancelled"
    FAILED = "failed"

    @property
    def active(self) -> bool:
        return self in (JobState.QUEUED, JobState.LOADING, JobState.RUNNING, JobState.SAVING)


@dataclass(frozen=True)
class JobOutcome:
    """What the page shows once training is over; the weights themselves are in storage."""

    model_name: str
    message: str
    seconds: float
    epochs_completed: int
    test_accuracy: float
    test_loss: float
    confusion: np.ndarray
    mistakes: list[Mistake] = field(default_factory=list)


class TrainingQueue:
    """At most ``slots`` trainings at once; the rest wait in arrival order."""

    def __init__(self, slots: int) -> None:
        self.slots = max(1, slots)
        self._condition = threading.Condition()
        self._waiting: list[object] = []
        self._running = 0

    def acquire(self, ticket: object, cancelled: threading.Event) -> bool:
        """Block until ``ticket`` may run (True) or ``cancelled`` is set while waiting (False)."""
        with self._condition:
            self._waiting.append(ticket)
            while self._running >= self.slots or self._waiting[0] is not ticket:
                if cancelled.is_set():
                    self._waiting.remove(ticket)
                    self._condition.notify_all()
                    return False
                self._condition.wait(timeout=0.2)
            self._waiting.pop(0)
            self._running += 1
            return True

    def release(self) -> None:
        with self._condition:
            self._running -= 1
            self._condition.notify_all()

    def position(self, ticket: object) -> int | None:
        """1 for the next in line; None when not waiting."""
        with self._condition:
            return self._waiting.index(ticket) + 1 if ticket in self._waiting else None

    @property
    def running(self) -> int:
        with self._condition:
            return self._running


def _slots_from_env() -> int:
    try:
        return int(os.environ.get(MAX_TRAININGS_ENV, "1"))
    except ValueError:
        return 1


SHARED_QUEUE = TrainingQueue(_slots_from_env())


class TrainingJob:
    """One training run in its own thread: queue, load data, train, score, save, make active."""

    def __init__(
        self,
        config: TrainingConfig,
        name: str,
        store: ModelStore,
        data_source: Callable[[TrainingConfig], MnistSplits],
        queue: TrainingQueue = SHARED_QUEUE,
    ) -> None:
        self.config, self.name, self.store = config, name, store
        self.data_source, self.queue = data_source, queue
        self.progress = TrainingProgress()
        self.state = JobState.QUEUED
        self.error: str | None = None
        self.outcome: JobOutcome | None = None
        self.started_at = time.time()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"train-{name}", daemon=True)

    def start(self) -> TrainingJob:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Ask the job to end: a waiting job is cancelled, a running one stops after its current batch."""
        self._stop.set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    @property
    def queue_position(self) -> int | None:
        return self.queue.position(self) if self.state is JobState.QUEUED else None

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def _run(self) -> None:
        if not self.queue.acquire(self, self._stop):
            self.state = JobState.CANCELLED
            return
        try:
            self._train()
        except Exception as error:  # the page must show any failure, not lose it in a thread
            self.error = f"{type(error).__name__}: {error}"
            self.state = JobState.FAILED
        finally:
            self.queue.release()

    def _train(self) -> None:
        from model.inference import predict_batch
        from model.training import train

        self.state = JobState.LOADING
        data = self.data_source(self.config)
        self.state = JobState.RUNNING
        result = train(self.config, data, [self.progress], self._stop)
        if result.status == "diverged":
            self.error, self.state = result.message, JobState.FAILED
            return
        self.state = JobState.SAVING
        probabilities = predict_batch(result.model, data.x_test)
        info = self.store.save(result.model, self.store.unique_name(self.name), result.metadata())
        self.outcome = JobOutcome(
            model_name=info.name,
            message=result.message,
            seconds=result.seconds,
            epochs_completed=result.epochs_completed,
            test_accuracy=float(result.test_accuracy),
            test_loss=float(result.test_loss),
            confusion=confusion_matrix(data.y_test, probabilities.argmax(axis=1)),
            mistakes=worst_mistakes(data.x_test, data.y_test, probabilities),
        )
        self.state = JobState.STOPPED if result.status == "stopped" else JobState.FINISHED
