"""Training in a background thread, so a page can poll it while the user keeps clicking.

A job belongs to one user's session; the network trains in a worker process, is scored,
saved and made active there, so nothing depends on the page staying open. The number
of trainings running at once is capped (``MNIST_LAB_MAX_TRAININGS``, default 1 on a
small CPU); later jobs wait in a first-come queue and can be cancelled while waiting.
The queue is passed in: the app keeps one per server (``ui.resources.training_queue``),
tests make their own.
"""

from __future__ import annotations

import contextlib
import functools
import multiprocessing
import os
import queue
import sys
import threading
import time
import types
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

import numpy as np

from model.analysis import Mistake, confusion_matrix, worst_mistakes
from model.config import TrainingConfig
from model.data import MnistSplits, app_training_data, prepared_mnist
from model.progress import TrainingProgress
from model.quiet import native_log_filtered
from model.storage import ModelStore
from utils.errors import LabError, ModelStorageError
from utils.i18n import N_, Message
from utils.mnist import load_raw

if TYPE_CHECKING:
    from model.finetune import TeachOptions, TeachResult
    from utils.drawings import Drawing

WORKER_NICENESS = 10  # a lower CPU priority than the web server's
ABANDONED_AFTER_S = 30.0  # a job whose browser session has been gone this long is stopped


class JobState(StrEnum):
    """Where a job is; the value, in English, is what the page shows (through ``_()``)."""

    QUEUED = N_("queued")
    STARTING = N_("starting the training process")
    LOADING = N_("loading data")
    RUNNING = N_("training")
    SAVING = N_("scoring and saving")
    FINISHED = N_("finished")
    STOPPED = N_("stopped")
    CANCELLED = N_("cancelled")
    FAILED = N_("failed")

    @property
    def active(self) -> bool:
        return self not in (JobState.FINISHED, JobState.STOPPED, JobState.CANCELLED, JobState.FAILED)


@dataclass(frozen=True)
class JobOutcome:
    """What the page shows once training is over; the weights themselves are in storage."""

    model_name: str
    stopped: bool  # ended early by request; the partly trained model was kept
    message: Message  # English as str(); ``translated()`` on the page
    seconds: float
    epochs_completed: int
    test_accuracy: float
    test_loss: float
    confusion: np.ndarray
    mistakes: list[Mistake] = field(default_factory=list)


class TrainingQueue:
    """At most ``slots`` trainings at once; the rest wait in arrival order."""

    def __init__(self, slots: int = 1) -> None:
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


@dataclass
class Worker:
    """A training process and its three channels: one request in, messages out, a stop flag.

    The process starts, imports TensorFlow and gets MNIST ready before it is asked for
    anything, so a worker started ahead of time trains the moment a request arrives.
    """

    process: multiprocessing.Process
    requests: multiprocessing.Queue
    messages: multiprocessing.Queue
    stop: threading.Event

    @classmethod
    def start(cls, warm_data: bool = False) -> Worker:
        context = multiprocessing.get_context("spawn")  # never fork a process that may hold TensorFlow threads
        requests, messages, stop = context.Queue(), context.Queue(), context.Event()
        process = context.Process(
            target=_worker_main, args=(requests, messages, stop, warm_data), name="trainer", daemon=True
        )
        with _bare_main():
            process.start()
        return cls(process, requests, messages, stop)

    def close(self) -> None:
        """End an idle worker (it is waiting for a request) or a finished one."""
        with contextlib.suppress(OSError, ValueError):
            self.requests.put(None)
        self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.kill()


class WarmWorkers:
    """One worker kept started and warmed up, so that pressing Train trains at once, every time.

    Each worker trains once and exits (its memory goes back to the system). The next one is
    started as soon as one is taken, at the workers' low CPU priority, so it is ready by the
    time the user presses Train again.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ready: Worker | None = Worker.start(warm_data=True)

    def take(self) -> Worker:
        with self._lock:
            worker, self._ready = self._ready, Worker.start(warm_data=True)
        if worker is None or not worker.process.is_alive():
            worker = Worker.start(warm_data=True)
        return worker

    def refill(self) -> None:
        """Make sure a ready worker exists (one that died while waiting is replaced)."""
        with self._lock:
            if self._ready is None or not self._ready.process.is_alive():
                self._ready = Worker.start(warm_data=True)


class TrainingJob:
    """One training run: wait for a slot, then train in a worker process while a thread relays its reports.

    A separate process keeps TensorFlow's work and Python's lock away from the web server:
    pages stay responsive and training runs at full speed. The process loads its own data
    with ``data_source`` (a module-level function, so it can be sent to the process), saves
    the model and makes it active; a crash or an out-of-memory kill becomes a FAILED state.
    """

    def __init__(
        self,
        config: TrainingConfig,
        name: str,
        store: ModelStore,
        queue: TrainingQueue,
        data_source: Callable[[TrainingConfig], MnistSplits] = app_training_data,
        owner_present: Callable[[], bool] | None = None,
        abandoned_after_s: float = ABANDONED_AFTER_S,
        workers: WarmWorkers | None = None,
    ) -> None:
        self.config, self.name, self.store = config, name, store
        self.data_source, self.queue, self.workers = data_source, queue, workers
        self.owner_present, self.abandoned_after_s = owner_present, abandoned_after_s
        self.abandoned = False
        self.progress = TrainingProgress()
        self.state = JobState.QUEUED
        self.error: str | None = None  # why it failed, in English
        self.error_message: Message | None = None  # the same, for a page to translate, when it can be
        self.outcome: JobOutcome | TeachOutcome | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"train-{name}", daemon=True)

    def start(self) -> TrainingJob:
        self._thread.start()
        if self.owner_present is not None:
            threading.Thread(target=self._watch_owner, name=f"owner-of-{self.name}", daemon=True).start()
        return self

    def _watch_owner(self, poll_s: float = 1.0) -> None:
        """Stop the job (or take it out of the queue) once its browser session has gone for good.

        A closed tab or a lost connection frees the training slot and the worker's memory;
        the grace period lets a reconnecting browser keep its job. A stopped job's partly
        trained model is saved as usual.
        """
        absent_since: float | None = None
        while self.state.active and not self._stop.is_set():
            if self.owner_present():
                absent_since = None
            elif absent_since is None:
                absent_since = time.monotonic()
            elif time.monotonic() - absent_since >= self.abandoned_after_s:
                self.abandoned = True
                self.stop()
                return
            time.sleep(poll_s)

    def work(self) -> Callable[[multiprocessing.Queue, threading.Event], None]:
        """What the worker process runs, given the messages queue and the stop flag (picklable)."""
        return functools.partial(_train_and_save, self.config, self.name, self.store, self.data_source)

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
            self._supervise()
        except Exception as error:  # the page must show any failure, not lose it in a thread
            self.error, self.state = f"{type(error).__name__}: {error}", JobState.FAILED
        finally:
            self.queue.release()

    def _supervise(self) -> None:
        self.state = JobState.STARTING
        worker = self.workers.take() if self.workers else Worker.start()
        worker.requests.put(self.work())
        try:
            while not self._handle(_next_message(worker.messages, worker.process)):
                if self._stop.is_set():
                    worker.stop.set()
        finally:
            worker.close()
            if self.workers:
                self.workers.refill()

    def _handle(self, message: tuple[str, object] | None) -> bool:
        """Apply one message from the worker; True once the job is over."""
        if message is None:
            return False
        kind, payload = message
        if kind == "event":
            self.progress(payload)
        elif kind == "state":
            self.state = payload
        elif kind == "done":
            self.outcome = payload
            self.state = JobState.STOPPED if payload.stopped else JobState.FINISHED
            return True
        elif kind == "failed":
            self.error, self.state = str(payload), JobState.FAILED
            self.error_message = payload if isinstance(payload, Message) else None
            return True
        return False


@dataclass(frozen=True)
class TeachOutcome:
    """What the page shows after teaching: before and after, and whether the taught copy answers now."""

    model_name: str
    base: str
    message: Message  # English as str(); ``translated()`` on the page
    examples: int
    held_out: int
    yours_before: float | None
    yours_after: float | None
    mnist_before: float
    mnist_after: float
    mnist_tested: int
    seconds: float
    blocked: Message | None  # why the taught copy was not made active
    stopped: bool = False


class TeachingJob(TrainingJob):
    """Teach a copy of ``base`` the user's drawings, in the same worker processes and queue as training."""

    def __init__(
        self,
        base: str,
        drawings: Sequence[Drawing],
        options: TeachOptions,
        name: str,
        store: ModelStore,
        queue: TrainingQueue,
        **kwargs: object,
    ) -> None:
        config = store.get(base).metadata.config or TrainingConfig()
        super().__init__(config, name, store, queue, **kwargs)
        self.base, self.drawings, self.options = base, list(drawings), options

    def work(self) -> Callable[[multiprocessing.Queue, threading.Event], None]:
        return functools.partial(_teach_and_save, self.base, self.drawings, self.options, self.name, self.store)


def save_taught(store: ModelStore, result: TeachResult, name: str) -> tuple[str, Message | None]:
    """Save a taught copy; it becomes active unless MNIST suffered (then the parent stays active).

    Returns the saved name and the reason it was not made active, if any.
    """
    info = store.save(result.network, name, result.metadata)
    blocked = result.blocked
    base = result.metadata.base_model
    if blocked and base and any(known.name == base for known in store.list()):
        store.set_active(base)  # saved for a look, but it does not answer in the parent's place
    return info.name, blocked


def _teach_and_save(
    base: str,
    drawings: Sequence[Drawing],
    options: TeachOptions,
    name: str,
    store: ModelStore,
    messages: multiprocessing.Queue,
    stop: threading.Event,
) -> None:
    try:
        from model.finetune import teach_saved

        store.check_writable()
        messages.put(("state", JobState.RUNNING))
        result = teach_saved(store, base, drawings, options, [lambda event: messages.put(("event", event))], stop)
        if result.status == "diverged":
            messages.put(("failed", result.message))
            return
        messages.put(("state", JobState.SAVING))
        saved, blocked = save_taught(store, result, store.unique_name(name))
        messages.put(("done", TeachOutcome(
            saved, base, result.message, result.examples, result.held_out, result.yours_before, result.yours_after,
            result.mnist_before, result.mnist_after, result.mnist_tested, result.seconds,
            blocked, stopped=result.status == "stopped",
        )))  # fmt: skip
    except LabError as error:
        messages.put(("failed", str(error)))
    except Exception as error:  # a bug: reported to the page instead of dying silently
        messages.put(("failed", f"{type(error).__name__}: {error}"))
    finally:
        messages.close()
        messages.join_thread()


_MAIN_SWAP = threading.Lock()


@contextlib.contextmanager
def _bare_main() -> Iterator[None]:
    """Start processes without making them re-import ``__main__``.

    A spawned process imports its parent's ``__main__`` first; under ``streamlit run`` that is
    the app script itself, so every worker ran the whole app in bare mode (seconds of start-up
    and a screenful of Streamlit warnings). An empty module has nothing to import.
    """
    with _MAIN_SWAP:
        saved = sys.modules.get("__main__")
        sys.modules["__main__"] = types.ModuleType("__main__")
        try:
            yield
        finally:
            if saved is not None:
                sys.modules["__main__"] = saved


def _next_message(messages: multiprocessing.Queue, worker: multiprocessing.Process) -> tuple[str, object] | None:
    """The worker's next message, None after a short wait, or a failure if it died without a word."""
    try:
        return messages.get(timeout=0.2)
    except queue.Empty:
        if worker.is_alive() or worker.exitcode is None:
            return None
    try:  # it may have written its last words just before exiting
        return messages.get(timeout=1)
    except queue.Empty:
        if worker.exitcode in (-9, 137):
            said = N_("The training process ended unexpectedly with exit code {code} (killed: probably out of memory).")
        else:
            said = N_("The training process ended unexpectedly with exit code {code}.")
        return "failed", Message(said, {"code": worker.exitcode})


def _worker_main(
    requests: multiprocessing.Queue, messages: multiprocessing.Queue, stop: threading.Event, warm_data: bool
) -> None:
    """The worker process: get ready, wait for one request, then load, train, score and save."""
    with contextlib.suppress(OSError):
        os.nice(WORKER_NICENESS)  # people drawing come first; training takes what CPU is left
    with native_log_filtered():  # TensorFlow's start-up chatter is not for the server's terminal
        import model.training  # noqa: F401  (TensorFlow and Keras: seconds, done before anyone waits)

        if warm_data:
            with contextlib.suppress(LabError):  # no MNIST yet: the request will say so
                prepared_mnist(load_raw())
        request = requests.get()
        if request is not None:
            request(messages, stop)


def _train_and_save(
    config: TrainingConfig,
    name: str,
    store: ModelStore,
    data_source: Callable[[TrainingConfig], MnistSplits],
    messages: multiprocessing.Queue,
    stop: threading.Event,
) -> None:
    try:
        from model.inference import predict_batch
        from model.training import train

        store.check_writable()  # fail now, not after minutes of training
        messages.put(("state", JobState.LOADING))
        data = data_source(config)
        messages.put(("state", JobState.RUNNING))
        result = train(config, data, [lambda event: messages.put(("event", event))], stop)
        if result.status == "diverged":
            messages.put(("failed", result.message))
            return
        messages.put(("state", JobState.SAVING))
        probabilities = predict_batch(result.model, data.x_test)
        confusion = confusion_matrix(data.y_test, probabilities.argmax(axis=1))
        mistakes = worst_mistakes(data.x_test, data.y_test, probabilities)
        info = store.save(result.model, store.unique_name(name), result.metadata(), result.extras())  # last to fail
        outcome = JobOutcome(
            model_name=info.name,
            stopped=result.status == "stopped",
            message=result.message,
            seconds=result.seconds,
            epochs_completed=result.epochs_completed,
            test_accuracy=float(result.test_accuracy),
            test_loss=float(result.test_loss),
            confusion=confusion,
            mistakes=mistakes,
        )
        messages.put(("done", outcome))
    except ModelStorageError as error:
        messages.put(("failed", Message(N_("Not saved: {error}."), {"error": str(error)})))
    except LabError as error:  # no MNIST, bad settings: the message is written for people
        messages.put(("failed", str(error)))
    except Exception as error:  # a bug: reported to the page instead of dying silently
        messages.put(("failed", f"{type(error).__name__}: {error}"))
    finally:
        messages.close()
        messages.join_thread()  # flush everything before the process exits
