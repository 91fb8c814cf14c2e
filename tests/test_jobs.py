"""Background training jobs: a worker process, a relay thread, a queue of limited slots."""

from __future__ import annotations

import threading

import pytest

from model.config import TrainingConfig
from model.data import MnistSplits, load_mnist
from model.jobs import JobState, TrainingJob, TrainingQueue, WarmWorkers
from model.storage import ModelStore

QUICK = TrainingConfig(hidden_layers=1, units=32, epochs=2, batch_size=100)
LONG = TrainingConfig(hidden_layers=1, units=32, epochs=100, batch_size=50)


def small_data(config: TrainingConfig) -> MnistSplits:
    """Module-level, so the spawned worker process can import it."""
    return load_mnist(config.validation_fraction, config.seed, max_train=2000, max_test=500)


def broken_data(config: TrainingConfig) -> MnistSplits:
    raise FileNotFoundError("no MNIST here")


@pytest.mark.slow
def test_job_trains_saves_and_reports(store):
    job = TrainingJob(QUICK, "quick", store, TrainingQueue(1), small_data).start()
    job.join(timeout=120)
    assert job.state is JobState.FINISHED, job.error
    outcome = job.outcome
    assert outcome.model_name == "quick" and store.active().name == "quick"
    assert 0.5 < outcome.test_accuracy <= 1 and outcome.confusion.sum() == 500
    assert len(outcome.mistakes) == min(30, 500 - outcome.confusion.trace())
    snapshot = job.progress.snapshot()
    assert len(snapshot.epochs) == 2 and snapshot.fraction == 1.0
    assert len(snapshot.batch_curve()) == 1 + 2 * 20  # the start, then 2,000 images, 100 per batch, two epochs


@pytest.mark.slow
def test_stop_keeps_the_partly_trained_model(store):
    job = TrainingJob(LONG, "long", store, TrainingQueue(1), small_data).start()
    _wait_for(lambda: len(job.progress.snapshot().batches) >= 5)
    job.stop()
    job.join(timeout=60)
    assert job.state is JobState.STOPPED and job.outcome.stopped
    assert job.outcome.epochs_completed < 100 and store.get("long").metadata.status == "stopped"


@pytest.mark.slow
def test_failures_in_the_worker_reach_the_page(store):
    job = TrainingJob(QUICK, "broken", store, TrainingQueue(1), broken_data).start()
    job.join(timeout=120)
    assert job.state is JobState.FAILED and "no MNIST here" in job.error
    assert [m.name for m in store.list()] == ["default"]


@pytest.mark.slow
def test_queue_runs_one_at_a_time_and_a_waiting_job_can_be_cancelled(store):
    slots = TrainingQueue(1)
    first = TrainingJob(LONG, "first", store, slots, small_data).start()
    second = TrainingJob(QUICK, "second", store, slots, small_data).start()
    _wait_for(lambda: first.state is JobState.RUNNING)
    assert second.state is JobState.QUEUED and second.queue_position == 1
    second.stop()
    second.join(timeout=10)
    assert second.state is JobState.CANCELLED
    first.stop()
    first.join(timeout=60)
    assert slots.running == 0


def test_queue_order_is_first_come_first_served():
    slots, order, cancelled = TrainingQueue(1), [], threading.Event()
    assert slots.acquire("a", cancelled)
    waiting = [threading.Thread(target=lambda t=t: (slots.acquire(t, cancelled), order.append(t))) for t in "bc"]
    waiting[0].start()
    _wait_for(lambda: slots.position("b") == 1)
    waiting[1].start()
    _wait_for(lambda: slots.position("c") == 2)
    slots.release()
    _wait_for(lambda: order == ["b"])
    slots.release()
    _wait_for(lambda: order == ["b", "c"])


def _wait_for(condition, seconds: float = 60) -> None:
    import time

    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail("condition not reached in time")
        time.sleep(0.05)


@pytest.mark.slow
def test_a_store_that_cannot_save_fails_before_training(tmp_path):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the models folder should be")
    job = TrainingJob(QUICK, "nowhere", ModelStore(blocked / "models"), TrainingQueue(1), small_data).start()
    job.join(timeout=120)
    assert job.state is JobState.FAILED
    assert job.error.startswith("Not saved: models cannot be saved in") and not job.progress.snapshot().batches


@pytest.mark.slow
def test_a_job_whose_browser_left_is_stopped_and_its_model_kept(store):
    present = threading.Event()
    present.set()
    job = TrainingJob(LONG, "left", store, TrainingQueue(1), small_data, present.is_set, abandoned_after_s=1.0)
    job.start()
    _wait_for(lambda: len(job.progress.snapshot().batches) >= 5)
    present.clear()  # the tab is closed
    job.join(timeout=60)
    assert job.abandoned and job.state is JobState.STOPPED
    assert store.get("left").metadata.status == "stopped"


@pytest.mark.slow
def test_a_waiting_job_whose_browser_left_leaves_the_queue(store):
    slots = TrainingQueue(1)
    running = TrainingJob(LONG, "first", store, slots, small_data).start()
    gone = TrainingJob(QUICK, "gone", store, slots, small_data, lambda: False, abandoned_after_s=0.5).start()
    gone.join(timeout=30)
    assert gone.abandoned and gone.state is JobState.CANCELLED
    running.stop()
    running.join(timeout=60)


@pytest.mark.slow
def test_a_warm_worker_is_ready_before_train_is_pressed_and_replaced_after(store):
    workers = WarmWorkers()
    ready = workers._ready
    assert ready is not None and ready.process.is_alive()  # started, waiting for a request
    job = TrainingJob(QUICK, "warm", store, TrainingQueue(1), small_data, workers=workers).start()
    job.join(timeout=300)
    assert job.state is JobState.FINISHED, job.error
    assert not ready.process.is_alive()  # it trained once and exited
    assert workers._ready is not None and workers._ready is not ready and workers._ready.process.is_alive()
    workers._ready.close()
