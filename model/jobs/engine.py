"""Background jobs: work done in a worker process while a page polls how it goes.

A job belongs to one user's session. Its work (``model.jobs.work``: train a network, teach one
someone's drawings) runs in a worker process that saves what it made, so nothing depends on
the page staying open. The worker sends small messages (``Progress``, ``StateChanged``, then
``Finished`` or ``Failed``); a thread in the server applies them to the job, which the page
reads. The number of jobs running at once is capped (``MNIST_LAB_MAX_TRAININGS``, default 1
on a small CPU); later jobs wait in a queue where their owners take turns, and can be cancelled
while waiting.
The queue is passed in: the app keeps one per server (``ui.resources.training_queue``),
tests make their own. Workers give way to the server's threads and die with the server.
"""

from __future__ import annotations

import contextlib
import heapq
import logging
import multiprocessing
import multiprocessing.connection
import os
import queue
import sys
import threading
import time
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import Enum
from multiprocessing.context import SpawnProcess
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event as ProcessEvent
from typing import Any, Generic, Protocol, Self, TypeVar

from model.jobs.progress import TrainingProgress
from model.net.events import EpochEvent, StopFlag, TrainingEvent
from model.net.quiet import native_log_filtered
from utils.errors import LabError
from utils.i18n import N_, Message, as_message

WORKER_NICENESS = 10  # a lower CPU priority than the web server's
ABANDONED_AFTER_S = 30.0  # a job whose browser session has been gone this long is stopped
_LOGGER = logging.getLogger(__name__)


class JobState(Enum):
    """Where a job is; the words a page shows for each are the page's (``ui.job_progress``)."""

    QUEUED = "queued"
    STARTING = "starting"
    LOADING = "loading"
    RUNNING = "running"
    SAVING = "saving"
    FINISHED = "finished"
    STOPPED = "stopped"
    CANCELLED = "cancelled"
    FAILED = "failed"

    @property
    def active(self) -> bool:
        return self not in (JobState.FINISHED, JobState.STOPPED, JobState.CANCELLED, JobState.FAILED)


class Concluded(Protocol):
    """What every outcome tells the job: whether the work ended early by request (what it made was kept)."""

    @property
    def stopped(self) -> bool: ...


Outcome = TypeVar("Outcome", bound=Concluded)
Outcome_co = TypeVar("Outcome_co", bound=Concluded, covariant=True)


@dataclass(frozen=True)
class Progress:
    """Something the work did (a batch, an epoch, a look at the gradients), as it happened."""

    event: TrainingEvent


@dataclass(frozen=True)
class StateChanged:
    state: JobState


@dataclass(frozen=True)
class Finished(Generic[Outcome]):
    """The work's last word when it ended well: its outcome (what it made is saved)."""

    outcome: Outcome


@dataclass(frozen=True)
class Failed:
    """The work's last word when it gave no outcome: why, for a page to say in the reader's language."""

    message: Message


Report = Callable[[Progress | StateChanged], None]  # how work says what it does
JobMessage = Progress | StateChanged | Finished[Any] | Failed  # what a worker sends back


class Work(Protocol[Outcome_co]):
    """What a worker process runs: picklable (a module-level class), it reports as it goes and returns its outcome.

    Once ``stop`` is set it ends early, keeping what it made. A ``LabError`` it raises fails the
    job with that error's message.
    """

    def __call__(self, report: Report, stop: StopFlag) -> Outcome_co: ...


WorkT = TypeVar("WorkT", bound=Work[Any])


class JobFailed(LabError):
    """Work that could give no outcome: it diverged, or what it made could not be saved."""


@dataclass(frozen=True)
class _Place:
    """A ticket in the queue: whose it is, and (once running) since when."""

    ticket: object
    owner: str
    started: float = 0.0


JOB_MEMORY_BYTES = 2 * 2**30  # a training worker of the reference network peaks at about 1.8 GB (bench/RESULTS.md)


def slots_for_memory(requested: int, memory_bytes: int | None, per_job: int = JOB_MEMORY_BYTES) -> int:
    """Jobs at once: as many as asked (``MNIST_LAB_MAX_TRAININGS``), never more than the machine's memory holds."""
    if memory_bytes is None:
        return max(1, requested)
    return max(1, min(requested, memory_bytes // per_job - 1))  # one job's worth left for the server and the system


def machine_memory() -> int | None:
    """This machine's physical memory in bytes; None where the system does not say."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


class JobQueue:
    """At most ``slots`` jobs at once; the others wait, their owners taking turns.

    Round robin, not first come: the next job to run is the oldest waiting one of the owner who
    was served longest ago (or never), so one person's three jobs do not make everyone after them
    wait for all three. One owner's own jobs run in the order they came. Pages allow one job per
    owner (``busy``); an owner is a browser session or, in a class, "CODE/student".
    """

    def __init__(self, slots: int = 1) -> None:
        self.slots = max(1, slots)
        self._condition = threading.Condition()
        self._waiting: list[_Place] = []  # in arrival order
        self._running: list[_Place] = []
        self._served: dict[str, int] = {}  # owner -> the turn their latest job started at
        self._turn = 0

    def acquire(self, ticket: object, cancelled: threading.Event, owner: str = "") -> bool:
        """Block until ``ticket`` may run (True) or ``cancelled`` is set while waiting (False)."""
        with self._condition:
            self._waiting.append(_Place(ticket, owner))
            while len(self._running) >= self.slots or self._order(1)[0].ticket != ticket:
                if cancelled.is_set():
                    self._waiting = [place for place in self._waiting if place.ticket != ticket]
                    self._condition.notify_all()
                    return False
                self._condition.wait(timeout=0.2)
            self._waiting = [place for place in self._waiting if place.ticket != ticket]
            self._turn += 1
            self._served[owner] = self._turn
            self._running.append(_Place(ticket, owner, time.monotonic()))
            self._condition.notify_all()  # another slot may be free for the next in line
            return True

    def release(self, ticket: object) -> None:
        with self._condition:
            self._running = [place for place in self._running if place.ticket != ticket]
            self._condition.notify_all()

    def _order(self, first: int | None = None) -> list[_Place]:
        """The waiting tickets in the order they will run if nobody else comes (the ``first`` few only)."""
        served, turn, left = dict(self._served), self._turn, list(self._waiting)
        order: list[_Place] = []
        while left and (first is None or len(order) < first):
            place = min(left, key=lambda waiting: served.get(waiting.owner, 0))  # ties: the first to come
            left.remove(place)
            turn += 1
            served[place.owner] = turn
            order.append(place)
        return order

    def position(self, ticket: object) -> int | None:
        """1 for the next in line; None when not waiting."""
        with self._condition:
            tickets = [place.ticket for place in self._order()]
        return next((index + 1 for index, waiting in enumerate(tickets) if waiting == ticket), None)

    def estimated_start_s(self, ticket: object, seconds_per_job: float) -> float | None:
        """Seconds until ``ticket`` starts if every job takes ``seconds_per_job``; None when not waiting."""
        with self._condition:
            tickets = [place.ticket for place in self._order()]
            now = time.monotonic()
            free = [max(0.0, seconds_per_job - (now - place.started)) for place in self._running]
        if ticket not in tickets:
            return None
        free += [0.0] * (self.slots - len(free))  # when each slot is free
        heapq.heapify(free)
        for waiting in tickets:
            if waiting == ticket:
                break
            heapq.heappush(free, heapq.heappop(free) + seconds_per_job)
        return free[0]

    def busy(self, owner: str) -> bool:
        """Whether ``owner`` has a job waiting or running."""
        with self._condition:
            return any(place.owner == owner for place in (*self._waiting, *self._running))

    @property
    def running(self) -> int:
        with self._condition:
            return len(self._running)


@dataclass
class Worker:
    """A worker process and its three channels: one piece of work in, messages out, a stop flag.

    The process gets ready (``warm_up``: import TensorFlow, prepare MNIST) before it is asked
    for anything, so a worker started ahead of time works the moment a request arrives.
    """

    process: SpawnProcess
    requests: Queue[Work[Any] | None]
    messages: Queue[JobMessage]
    stop: ProcessEvent

    @classmethod
    def start(cls, warm_up: Callable[[], None] | None = None) -> Worker:
        """``warm_up`` must be a module-level function: it is sent to the new process."""
        context = multiprocessing.get_context("spawn")  # never fork a process that may hold TensorFlow threads
        requests, messages, stop = context.Queue(), context.Queue(), context.Event()
        process = context.Process(
            target=_worker_main, args=(requests, messages, stop, warm_up), name="worker", daemon=True
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

    Each worker works once and exits (its memory goes back to the system). The next one is
    started as soon as one is taken, at the workers' low CPU priority, so it is ready by the
    time the user presses Train again.
    """

    def __init__(self, warm_up: Callable[[], None] | None = None) -> None:
        self._warm_up = warm_up
        self._lock = threading.Lock()
        self._ready: Worker | None = Worker.start(warm_up)

    def take(self) -> Worker:
        with self._lock:
            worker, self._ready = self._ready, Worker.start(self._warm_up)
        if worker is None or not worker.process.is_alive():
            worker = Worker.start(self._warm_up)
        return worker

    def refill(self) -> None:
        """Make sure a ready worker exists (one that died while waiting is replaced)."""
        with self._lock:
            if self._ready is None or not self._ready.process.is_alive():
                self._ready = Worker.start(self._warm_up)


class Job(Generic[WorkT, Outcome]):
    """One piece of work: wait for a slot, then run it in a worker process while a thread relays its messages.

    ``Job[TrainingWork, TrainingOutcome]``: the work as it was given (what a page shows about it)
    and the outcome it returns.

    A separate process keeps TensorFlow's work and Python's lock away from the web server:
    pages stay responsive and the work runs at full speed. A crash or an out-of-memory kill of
    the worker becomes a FAILED state with a message.

    ``owner`` is who started it (the queue lets owners take turns); ``on_update(job)`` is called
    in the job's thread after each change of state, each epoch's end and the outcome, so a
    record (a class's board) can follow a job whose browser tab is closed.
    """

    def __init__(
        self,
        work: WorkT,
        queue: JobQueue,
        *,
        owner: str = "",
        on_update: Callable[[Job[WorkT, Outcome]], None] | None = None,
        workers: WarmWorkers | None = None,
        owner_present: Callable[[], bool] | None = None,
        abandoned_after_s: float = ABANDONED_AFTER_S,
    ) -> None:
        self.work, self.queue, self.workers = work, queue, workers
        self.owner, self.on_update = owner, on_update
        self.owner_present, self.abandoned_after_s = owner_present, abandoned_after_s
        self.abandoned = False
        self.progress = TrainingProgress()
        self.state = JobState.QUEUED
        self.outcome: Outcome | None = None
        self.error: Message | None = None  # why it failed, for a page to say in the reader's language
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="job", daemon=True)

    def start(self) -> Self:
        self._thread.start()
        if self.owner_present is not None:
            watch = threading.Thread(target=self._watch_owner, args=(self.owner_present,), daemon=True)
            watch.start()
        return self

    def _watch_owner(self, owner_present: Callable[[], bool], poll_s: float = 1.0) -> None:
        """Stop the job (or take it out of the queue) once its browser session has gone for good.

        A closed tab or a lost connection frees the slot and the worker's memory; the grace
        period lets a reconnecting browser keep its job. A stopped job's partly trained model
        is saved as usual.
        """
        absent_since: float | None = None
        while self.state.active and not self._stop.is_set():
            if owner_present():
                absent_since = None
            elif absent_since is None:
                absent_since = time.monotonic()
            elif time.monotonic() - absent_since >= self.abandoned_after_s:
                self.abandoned = True
                self.stop()
                return
            time.sleep(poll_s)

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
        if not self.queue.acquire(self, self._stop, self.owner):
            self._handle(StateChanged(JobState.CANCELLED))
            return
        try:
            self._supervise()
        except Exception as error:  # the page must show any failure, not lose it in a thread
            self._handle(Failed(as_message(f"{type(error).__name__}: {error}")))
        finally:
            self.queue.release(self)

    def _supervise(self) -> None:
        self._handle(StateChanged(JobState.STARTING))
        worker = self.workers.take() if self.workers else Worker.start()
        worker.requests.put(self.work)
        try:
            while not self._handle(_next_message(worker.messages, worker.process)):
                if self._stop.is_set():
                    worker.stop.set()
        finally:
            worker.close()
            if self.workers:
                self.workers.refill()

    def _handle(self, message: Progress | StateChanged | Finished[Outcome] | Failed | None) -> bool:
        """Apply one message from the worker (and tell ``on_update`` what matters); True once the job is over."""
        match message:
            case Progress(event):
                self.progress(event)
                if isinstance(event, EpochEvent):
                    self._updated()
            case StateChanged(state):
                self.state = state
                self._updated()
            case Finished(outcome):
                self.outcome = outcome
                self.state = JobState.STOPPED if outcome.stopped else JobState.FINISHED
                self._updated()
                return True
            case Failed(reason):
                self.error, self.state = reason, JobState.FAILED
                self._updated()
                return True
        return False

    def _updated(self) -> None:
        if self.on_update is None:
            return
        try:
            self.on_update(self)
        except Exception:  # a record that cannot follow must not end the job
            _LOGGER.exception("on_update failed for a job of %s", self.owner or "no one")


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


def _next_message(messages: Queue[JobMessage], worker: SpawnProcess) -> JobMessage | None:
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
        return Failed(Message(said, code=worker.exitcode))


def _worker_main(
    requests: Queue[Work[Any] | None],
    messages: Queue[JobMessage],
    stop: ProcessEvent,
    warm_up: Callable[[], None] | None,
) -> None:
    """The worker process: give way to the server, get ready, wait for one piece of work, do it, say how it ended."""
    _yield_cpu()
    _die_with_parent()
    with native_log_filtered():  # TensorFlow's start-up chatter is not for the server's terminal
        if warm_up is not None:
            warm_up()
        work = requests.get()
        if work is None:
            return
        try:
            ending: Finished[Any] | Failed = Finished(work(messages.put, stop))
        except LabError as error:  # no MNIST, bad settings, not saved: written for people
            ending = Failed(error.message)
        except Exception as error:  # a bug: reported to the page instead of dying silently
            ending = Failed(as_message(f"{type(error).__name__}: {error}"))
        messages.put(ending)
        messages.close()
        messages.join_thread()  # flush everything before the process exits


def _yield_cpu() -> None:
    """A drawing's answer should not wait behind a training: the worker runs at a lower priority.

    Measured on a quiet 2-core machine (``bench.socket_load_test``, 10 sessions drawing while one
    trains; bench/RESULTS.md): the niceness alone keeps every answer within 1 s. Leaving the server
    a core (TensorFlow on one thread fewer) changed no latency there but made a lone learner's
    training slower, and Linux's idle class starved the training; both were dropped.
    """
    with contextlib.suppress(OSError):
        os.nice(WORKER_NICENESS)


def _die_with_parent() -> None:
    """End this worker the moment the process that started it is gone, ``kill -9`` included; nothing is saved.

    Otherwise an orphan trains on for no one, holds its memory and multiprocessing's resource
    tracker, and at the end saves its model and makes it active. The parent holds the other end
    of a pipe, the parent's sentinel here, which reads as closed once the parent has exited.
    """
    parent = multiprocessing.parent_process()
    if parent is None:
        return
    sentinel = parent.sentinel

    def watch() -> None:
        multiprocessing.connection.wait([sentinel])
        os._exit(1)

    threading.Thread(target=watch, name="watch-parent", daemon=True).start()
