from __future__ import annotations

import dataclasses
import threading

import numpy as np
import pytest

from model.net.config import LIMITS, TrainingConfig
from model.net.events import BatchEvent, EpochEvent, LayerStatsEvent
from model.net.network import REPORTS_PER_EPOCH, steps_per_execution
from model.net.training import train
from utils.errors import ConfigError

QUICK = TrainingConfig(hidden_layers=1, units=128, epochs=3, batch_size=64, optimizer="adam", learning_rate=0.002)


@pytest.mark.slow
def test_short_training_learns_and_reports_batches_and_epochs(small_splits):
    events = []
    result = train(QUICK, small_splits, [events.append])  # its speed: bench/training_throughput.py
    assert result.status == "completed" and result.epochs_completed == 3
    assert result.test_accuracy > 0.93, result.test_accuracy  # 0.938
    start, *batches = [e for e in events if isinstance(e, BatchEvent)]
    assert start.step == 0 and start.progress == 0.0 and 2.0 < start.loss < 2.6  # untrained: about ln(10)
    epochs = [e for e in events if isinstance(e, EpochEvent)]
    samples = len(small_splits.x_train)
    per_epoch = int(np.ceil(samples / QUICK.batch_size))
    group = steps_per_execution(per_epoch)  # batches per call into TensorFlow, so per report
    assert len(batches) == 3 * int(np.ceil(per_epoch / group)) and batches[-1].progress == 1.0
    assert len(batches) >= 3 * REPORTS_PER_EPOCH
    assert [e.epoch for e in epochs] == [0, 1, 2] and all(e.val_accuracy is not None for e in epochs)
    # each report's own loss, weighted by the images it covers, averages to the epoch's loss Keras reports
    last_epoch = [e for e in batches if e.epoch == 2]
    seen = [min((e.batch + 1) * QUICK.batch_size, samples) for e in last_epoch]
    weights = np.diff([0, *seen])
    assert abs(np.average([e.loss for e in last_epoch], weights=weights) - epochs[-1].loss) < 1e-4
    assert result.history["val_loss"] == [e.val_loss for e in epochs]
    assert result.seconds > 0 and result.metadata().config == QUICK


def test_cosine_schedule_falls_from_the_chosen_rate_to_zero_by_the_last_batch(small_splits):
    from model.net.network import make_optimizer

    config = dataclasses.replace(QUICK, schedule="cosine")
    rate = make_optimizer(config, total_steps=300).learning_rate  # Keras evaluates the schedule at step 0
    schedule = make_optimizer(config, total_steps=300)._learning_rate
    assert float(rate) == pytest.approx(0.002)
    assert [float(schedule(step)) for step in (150, 300)] == pytest.approx([0.001, 0.0], abs=1e-7)
    assert float(make_optimizer(QUICK, total_steps=300).learning_rate) == pytest.approx(0.002)
    with pytest.raises(ConfigError, match="number of training steps"):
        make_optimizer(config)
    result = train(config, small_splits.limit(3000, 500))
    assert result.status == "completed" and result.test_accuracy > 0.89, result.test_accuracy  # 0.902
    assert float(result.model.optimizer.learning_rate) < 1e-6  # the schedule ran to its end, batch by batch


@pytest.mark.slow
def test_same_seed_same_result(small_splits):
    data = small_splits.limit(1500, 200)
    config = TrainingConfig(hidden_layers=2, units=32, epochs=2, batch_size=50, seed=7)
    first, second = train(config, data), train(config, data)
    pairs = zip(first.model.get_weights(), second.model.get_weights(), strict=True)
    assert all(np.array_equal(a, b) for a, b in pairs)
    assert first.history == second.history
    other = train(TrainingConfig(hidden_layers=2, units=32, epochs=2, batch_size=50, seed=8), data)
    assert not np.array_equal(first.model.get_weights()[0], other.model.get_weights()[0])


def test_stop_flag_ends_after_current_batch_and_keeps_model(small_splits):
    stop = threading.Event()
    seen = []

    def stop_after_five(event):
        seen.append(event)
        if isinstance(event, BatchEvent) and event.step >= 5:
            stop.set()

    result = train(QUICK, small_splits, [stop_after_five], stop)
    assert result.status == "stopped" and "epoch 1" in str(result.message)
    steps = [e.step for e in seen if isinstance(e, BatchEvent)]
    assert steps[-1] == min(step for step in steps if step >= 5)  # nothing ran after the report that set the flag
    assert [e.complete for e in seen if isinstance(e, EpochEvent)] == [False]
    assert result.test_accuracy is not None and result.model is not None


def test_exploding_loss_stops_with_a_clear_message(small_splits):
    events = []
    config = TrainingConfig(hidden_layers=2, units=64, epochs=3, optimizer="rmsprop", learning_rate=10.0)
    result = train(config, small_splits, [events.append])
    assert result.status == "diverged", result.history
    assert "exploded" in str(result.message) and "learning rate (10)" in str(result.message)
    batches = [e for e in events if isinstance(e, BatchEvent)]
    assert all(np.isfinite(e.loss) and e.loss < 1e3 for e in batches)  # no garbage points reach the curves
    stats = [e for e in events if isinstance(e, LayerStatsEvent)]
    assert all(np.isfinite(e.gradient_norms).all() for e in stats)
    assert not any(isinstance(e, EpochEvent) for e in events)
    assert result.test_accuracy is None


def test_nan_loss_stops_with_a_clear_message(small_splits):

    poisoned = small_splits.limit(1000, 100)
    x_train = poisoned.x_train.copy()
    x_train[300:] = np.nan  # NaN pixels give a NaN loss (tanh passes NaN on; ReLU would clamp it to 0)
    poisoned = dataclasses.replace(poisoned, x_train=x_train)
    events = []
    config = TrainingConfig(hidden_layers=1, units=16, epochs=2, batch_size=100, activation="tanh")
    result = train(config, poisoned, [events.append])
    assert result.status == "diverged" and "became NaN" in str(result.message)
    assert str(result.message).startswith("Training stopped at epoch 1, batch ")
    batches = [e for e in events if isinstance(e, BatchEvent)]
    assert all(np.isfinite(e.loss) for e in batches) and not any(isinstance(e, EpochEvent) for e in events)


@pytest.mark.parametrize(
    "config",
    [
        TrainingConfig(hidden_layers=1, units=8, epochs=1),  # every slider at its minimum
        pytest.param(  # the largest network: 31.0 M weights
            TrainingConfig(hidden_layers=8, units=2048, epochs=1, batch_size=256), marks=pytest.mark.slow
        ),
    ],
    ids=["1x8", "8x2048"],
)
def test_slider_extremes_train(small_splits, config):
    result = train(config, small_splits.limit(1024, 200))
    assert result.status == "completed" and result.test_accuracy is not None
    assert result.model.count_params() == config.parameter_count


@pytest.mark.slow
def test_the_maximum_number_of_epochs_runs_to_the_end(small_splits):
    config = TrainingConfig(hidden_layers=1, units=16, epochs=100, batch_size=100)
    assert config.epochs == LIMITS["epochs"][1]
    events = []
    result = train(config, small_splits.limit(200, 50), [events.append])
    assert result.status == "completed" and result.epochs_completed == 100
    assert sum(isinstance(event, EpochEvent) for event in events) == 100
