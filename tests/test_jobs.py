"""Background jobs: any work in a worker process, a relay thread, a queue of limited slots; training's work."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from model.jobs.engine import (
    Job,
    JobQueue,
    JobState,
    Progress,
    Report,
    StateChanged,
    WarmWorkers,
    machine_memory,
    slots_for_memory,
)
from model.jobs.work import TrainingJob, TrainingWork, prepare_training
from model.net.config import TrainingConfig
from model.net.data import MnistSplits, load_mnist
from model.net.events import BatchEvent, StopFlag
from model.storage.store import ModelStore
from tests.helpers import PROJECT_ROOT
from ui.job_progress import STATE_WORDS
from utils.errors import ConfigError
from utils.i18n import N_, Message

QUICK = TrainingConfig(hidden_layers=1, units=32, epochs=2, batch_size=100)
LONG = TrainingConfig(hidden_layers=1, units=32, epochs=100, batch_size=50)


def small_data(config: TrainingConfig) -> MnistSplits:
    """Module-level, so the spawned worker process can import it."""
    return load_mnist(config.validation_fraction, config.seed, max_train=2000, max_test=500)


def broken_data(config: TrainingConfig) -> MnistSplits:
    raise FileNotFoundError("no MNIST here")


def training(config: TrainingConfig, name: str, store: ModelStore, queue: JobQueue, **job) -> TrainingJob:
    return TrainingJob(TrainingWork(config, name, store, small_data), queue, **job).start()


# -- any work: no TensorFlow, so these are quick ---------------------------------------


@dataclass(frozen=True)
class Counted:
    batches: int
    stopped: bool
    niceness: int


@dataclass(frozen=True)
class Count:
    """Work without TensorFlow: says it runs, reports ``batches`` batches, then counts them; or fails as told."""

    batches: int = 3
    until_stopped: bool = False
    fails: str = ""  # "refused": a LabError; "bug": any other exception; "killed": the process dies

    def __call__(self, report: Report, stop: StopFlag) -> Counted:
        report(StateChanged(JobState.RUNNING))
        for batch in range(self.batches):
            report(Progress(BatchEvent(0, batch, self.batches, 1, loss=1.0, accuracy=0.5)))
        while self.until_stopped and not stop.is_set():
            time.sleep(0.02)
        if self.fails == "refused":
            raise ConfigError(Message(N_("Not saved: {error}."), error="disk full"))
        if self.fails == "bug":
            raise ZeroDivisionError("division by zero")
        if self.fails == "killed":
            os.kill(os.getpid(), signal.SIGKILL)
        return Counted(self.batches, stop.is_set(), os.nice(0))


def test_any_work_runs_in_a_worker_and_its_messages_reach_the_job():
    job = Job(Count(batches=4), JobQueue(1)).start()
    job.join(timeout=60)
    assert job.state is JobState.FINISHED and job.error is None
    assert job.outcome is not None and job.outcome.batches == 4 and not job.outcome.stopped
    assert [event.batch for event in job.progress.snapshot().batches] == [0, 1, 2, 3]


def test_a_worker_gives_the_server_the_first_place():
    """A drawing's answer should not wait behind a training: the worker runs at a lower priority."""
    job = Job(Count(), JobQueue(1)).start()
    job.join(timeout=60)
    assert job.outcome is not None and job.outcome.niceness == min(19, os.nice(0) + 10)


def test_stop_ends_the_work_early_and_keeps_its_outcome():
    job = Job(Count(until_stopped=True), JobQueue(1)).start()
    _wait_for(lambda: job.state is JobState.RUNNING)
    job.stop()
    job.join(timeout=30)
    assert job.state is JobState.STOPPED and job.outcome is not None and job.outcome.stopped


@pytest.mark.parametrize(
    ("fails", "said"),
    [
        ("refused", "Not saved: disk full."),
        ("bug", "ZeroDivisionError: division by zero"),
        ("killed", "exit code -9 (killed: probably out of memory)"),
    ],
)
def test_a_failure_in_the_worker_reaches_the_page_as_a_message(fails, said):
    job = Job(Count(fails=fails), JobQueue(1)).start()
    job.join(timeout=60)
    assert job.state is JobState.FAILED and job.outcome is None
    assert isinstance(job.error, Message) and said in str(job.error)


def test_every_state_has_words_for_the_page():
    assert set(STATE_WORDS) == set(JobState)


def test_one_owners_jobs_run_in_the_order_they_came():
    slots, order, cancelled = JobQueue(1), [], threading.Event()
    assert slots.acquire("a", cancelled)
    waiting = [threading.Thread(target=lambda t=t: (slots.acquire(t, cancelled), order.append(t))) for t in "bc"]
    waiting[0].start()
    _wait_for(lambda: slots.position("b") == 1)
    waiting[1].start()
    _wait_for(lambda: slots.position("c") == 2)
    slots.release("a")
    _wait_for(lambda: order == ["b"])
    slots.release("b")
    _wait_for(lambda: order == ["b", "c"])


def test_owners_take_turns_not_first_come():
    """A queues three jobs, then B one: B runs second, not fourth (real threads waiting in the queue)."""
    slots, order, cancelled = JobQueue(1), [], threading.Event()

    def wait_then_run(ticket: str, owner: str) -> None:
        assert slots.acquire(ticket, cancelled, owner)
        order.append(ticket)

    threads = []
    for ticket, owner in [("a1", "A"), ("a2", "A"), ("a3", "A"), ("b1", "B")]:
        threads.append(threading.Thread(target=wait_then_run, args=(ticket, owner), daemon=True))
        threads[-1].start()
        _wait_for(lambda t=ticket: t in order or slots.position(t) is not None)
    assert order == ["a1"] and [slots.position(t) for t in ("b1", "a2", "a3")] == [1, 2, 3]
    assert slots.busy("A") and slots.busy("B") and not slots.busy("C")
    for ran in range(1, 4):
        slots.release(order[-1])
        _wait_for(lambda ran=ran: len(order) == ran + 1)
    assert order == ["a1", "b1", "a2", "a3"]
    slots.release("a3")
    assert not slots.busy("A") and not slots.busy("B") and slots.running == 0


def test_the_estimated_start_counts_the_jobs_ahead_and_the_free_slots():
    slots, cancelled = JobQueue(2), threading.Event()
    assert slots.acquire("first", cancelled, "A") and slots.acquire("second", cancelled, "B")
    for ticket, owner in [("third", "C"), ("fourth", "D")]:
        threading.Thread(target=slots.acquire, args=(ticket, cancelled, owner), daemon=True).start()
        _wait_for(lambda t=ticket: slots.position(t) is not None)
    assert slots.estimated_start_s("first", 100) is None  # running, not waiting
    assert 99 < slots.estimated_start_s("third", 100) <= 100  # when the first of the two running ends
    assert 99 < slots.estimated_start_s("fourth", 100) <= 100  # the other slot
    cancelled.set()


def test_a_jobs_owner_is_followed_through_every_change():
    seen: list[JobState] = []
    job = Job(Count(batches=2), JobQueue(1), owner="ABC234/ana", on_update=lambda job: seen.append(job.state))
    job.start().join(timeout=60)
    assert job.owner == "ABC234/ana" and job.state is JobState.FINISHED
    assert seen[0] is JobState.STARTING and JobState.RUNNING in seen and seen[-1] is JobState.FINISHED


def test_a_failing_on_update_never_ends_the_job():
    def broken(job: Job) -> None:
        raise RuntimeError("the board is gone")

    job = Job(Count(batches=2), JobQueue(1), on_update=broken).start()
    job.join(timeout=60)
    assert job.state is JobState.FINISHED and job.outcome is not None


def _wait_for(condition, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail("condition not reached in time")
        time.sleep(0.05)


# -- training --------------------------------------------------------------------------


@pytest.mark.slow
def test_job_trains_saves_and_reports(store):
    job = training(QUICK, "quick", store, JobQueue(1))
    job.join(timeout=120)
    assert job.state is JobState.FINISHED, job.error
    outcome = job.outcome
    assert outcome.model_name == "quick" and store.get("quick").usable
    assert store.active().name == "default"  # the server default stays: the page uses it in its own session
    assert 0.5 < outcome.test_accuracy <= 1 and outcome.confusion.sum() == 500
    assert len(outcome.mistakes) == min(30, 500 - outcome.confusion.trace())
    snapshot = job.progress.snapshot()
    assert len(snapshot.epochs) == 2 and snapshot.fraction == 1.0
    assert len(snapshot.batch_curve()) == 1 + 2 * 20  # the start, then 2,000 images, 100 per batch, two epochs


@pytest.mark.slow
def test_stop_keeps_the_partly_trained_model(store):
    job = training(LONG, "long", store, JobQueue(1))
    _wait_for(lambda: len(job.progress.snapshot().batches) >= 5)
    job.stop()
    job.join(timeout=60)
    assert job.state is JobState.STOPPED and job.outcome.stopped
    assert job.outcome.epochs_completed < 100 and store.get("long").metadata.status == "stopped"


@pytest.mark.slow
def test_failures_in_the_worker_reach_the_page(store):
    job = Job(TrainingWork(QUICK, "broken", store, broken_data), JobQueue(1)).start()
    job.join(timeout=120)
    assert job.state is JobState.FAILED and "no MNIST here" in str(job.error)
    assert [m.name for m in store.list()] == ["default"]


@pytest.mark.slow
def test_queue_runs_one_at_a_time_and_a_waiting_job_can_be_cancelled(store):
    slots = JobQueue(1)
    first = training(LONG, "first", store, slots)
    second = training(QUICK, "second", store, slots)
    _wait_for(lambda: first.state is JobState.RUNNING)
    assert second.state is JobState.QUEUED and second.queue_position == 1
    second.stop()
    second.join(timeout=10)
    assert second.state is JobState.CANCELLED
    first.stop()
    first.join(timeout=60)
    assert slots.running == 0


@pytest.mark.slow
def test_a_store_that_cannot_save_fails_before_training(tmp_path):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the models folder should be")
    job = training(QUICK, "nowhere", ModelStore(blocked / "models"), JobQueue(1))
    job.join(timeout=120)
    assert job.state is JobState.FAILED
    assert str(job.error).startswith("Not saved: models cannot be saved in") and not job.progress.snapshot().batches


@pytest.mark.slow
def test_a_job_whose_browser_left_is_stopped_and_its_model_kept(store):
    present = threading.Event()
    present.set()
    job = training(LONG, "left", store, JobQueue(1), owner_present=present.is_set, abandoned_after_s=1.0)
    _wait_for(lambda: len(job.progress.snapshot().batches) >= 5)
    present.clear()  # the tab is closed
    job.join(timeout=60)
    assert job.abandoned and job.state is JobState.STOPPED
    assert store.get("left").metadata.status == "stopped"


@pytest.mark.slow
def test_a_waiting_job_whose_browser_left_leaves_the_queue(store):
    slots = JobQueue(1)
    running = training(LONG, "first", store, slots)
    gone = training(QUICK, "gone", store, slots, owner_present=lambda: False, abandoned_after_s=0.5)
    gone.join(timeout=30)
    assert gone.abandoned and gone.state is JobState.CANCELLED
    running.stop()
    running.join(timeout=60)


@pytest.mark.slow
def test_a_warm_worker_is_ready_before_train_is_pressed_and_replaced_after(store):
    workers = WarmWorkers(prepare_training)
    ready = workers._ready
    assert ready is not None and ready.process.is_alive()  # started, waiting for a request
    job = training(QUICK, "warm", store, JobQueue(1), workers=workers)
    job.join(timeout=300)
    assert job.state is JobState.FINISHED, job.error
    assert not ready.process.is_alive()  # it trained once and exited
    assert workers._ready is not None and workers._ready is not ready and workers._ready.process.is_alive()
    workers._ready.close()


# -- workers die with their server -----------------------------------------------------


def _server_that_trains(folder: str) -> None:
    """Stands in for the web server: a warm worker ready, a job training, then waits to be killed."""
    job = training(LONG, "orphan", ModelStore(Path(folder)), JobQueue(1), workers=WarmWorkers(prepare_training))
    while len(job.progress.snapshot().batches) < 3:
        time.sleep(0.1)
    print("training", flush=True)
    time.sleep(600)


def _children_of(pid: int) -> list[int]:
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            children.append(int(stat.parent.name))
    return children


def _running(pid: int) -> bool:
    """Alive and not a zombie waiting to be reaped (a container's first process may never reap it)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in "ZX"
    except OSError:
        return False


@pytest.mark.slow
def test_workers_die_with_their_server_and_leave_nothing_behind(tmp_path):
    """kill -9 of the server: its job's worker, the warm worker and the resource tracker go too, nothing saved."""
    folder = tmp_path / "models"
    code = f"from tests.test_jobs import _server_that_trains; _server_that_trains({str(folder)!r})"
    server = subprocess.Popen([sys.executable, "-c", code], cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True)
    children: list[int] = []
    try:
        assert server.stdout.readline() == "training\n"
        children = _children_of(server.pid)
        assert len(children) >= 3  # the job's worker, the next warm worker, multiprocessing's resource tracker
        server.kill()
        server.wait()
        _wait_for(lambda: not any(_running(pid) for pid in children), seconds=5)
    finally:
        server.kill()
        for pid in children:
            if _running(pid):
                os.kill(pid, signal.SIGKILL)
    store = ModelStore(folder)
    assert [m.name for m in store.list()] == ["default"] and store.active().name == "default"


def test_jobs_at_once_never_exceed_what_memory_holds():
    gib = 2**30
    assert slots_for_memory(4, 24 * gib) == 4  # this machine: 24 GB holds four trainings and more
    assert slots_for_memory(64, 24 * gib) == 11  # asked for 64: eleven 2 GB workers, one share left over
    assert slots_for_memory(8, 4 * gib) == 1  # a small machine: one at a time, never zero
    assert slots_for_memory(3, None) == 3  # memory unknown: as asked
    assert machine_memory() is None or machine_memory() > gib
