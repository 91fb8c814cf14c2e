from __future__ import annotations

import pytest

from model.net.config import ACTIVATIONS, OPTIMIZERS, SCHEDULES, SETTINGS, TrainingConfig
from utils.errors import ConfigError, LabError


def test_defaults_are_the_reference_network():
    config = TrainingConfig()
    assert config.architecture == "784-512-512-10"
    assert config.activation == "relu"
    assert config.parameter_count == (784 + 1) * 512 + (512 + 1) * 512 + (512 + 1) * 10


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("hidden_layers", 0, "hidden_layers must be between 1 and 8"),
        ("hidden_layers", 9, "hidden_layers must be between 1 and 8"),
        ("units", 7, "units must be between 8 and 2,048"),
        ("units", 2049, "units must be between 8 and 2,048"),
        ("dropout", 0.95, "dropout must be between 0 and 0.9"),
        ("dropout", -0.1, "dropout must be between 0 and 0.9"),
        ("learning_rate", 0.0, "learning_rate must be between"),
        ("learning_rate", float("nan"), "learning_rate must be a finite number"),
        ("epochs", 0, "epochs must be between 1 and 100"),
        ("batch_size", 0, "batch_size must be between 1 and 60,000"),
        ("validation_fraction", 0.0, "validation_fraction must be between"),
        ("units", 64.5, "units must be a whole number"),
        ("activation", "softplus", "activation must be one of relu, sigmoid, tanh"),
        ("optimizer", "lbfgs", "optimizer must be one of sgd, momentum, adam, rmsprop"),
        ("schedule", "exponential", "schedule must be one of constant, cosine"),
    ],
)
def test_invalid_values_name_the_field_and_range(field, value, message):
    with pytest.raises(ConfigError, match=message):
        TrainingConfig(**{field: value})


def test_extremes_are_allowed_and_round_trip():
    small = TrainingConfig(hidden_layers=1, units=8, dropout=0.0, optimizer="sgd", activation="sigmoid")
    big = TrainingConfig(hidden_layers=8, units=2048, dropout=0.9, epochs=100, schedule="cosine")
    assert small.architecture == "784-8-10" and big.layer_sizes[1:-1] == [2048] * 8
    assert TrainingConfig.from_dict({**big.to_dict(), "unknown_future_key": 1}) == big


def test_models_saved_before_schedules_existed_read_as_constant():
    old = {key: value for key, value in TrainingConfig().to_dict().items() if key != "schedule"}
    assert TrainingConfig.from_dict(old).schedule == "constant"


def test_every_setting_is_described_once_with_a_default_in_range():
    fields = [setting.field for setting in SETTINGS]
    assert sorted(fields) == sorted(TrainingConfig().to_dict())  # every field, none twice
    for setting in SETTINGS:
        setting.check(setting.default)
        assert setting.label and len(setting.help) > 20 and setting.flags[0].startswith("--")
        for value in setting.choices or ():
            setting.check(value)  # the page never offers what the config refuses


@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
@pytest.mark.parametrize("schedule", list(SCHEDULES))
def test_every_registered_optimizer_and_schedule_builds_its_own_keras_object(optimizer, schedule):
    from model.net.network import make_optimizer

    built = make_optimizer(TrainingConfig(optimizer=optimizer, schedule=schedule, learning_rate=0.01), 100)
    expected = {"sgd": "SGD", "momentum": "SGD", "adam": "Adam", "rmsprop": "RMSprop"}[optimizer]
    assert type(built).__name__ == expected
    assert (float(built.momentum) == 0.9) if optimizer == "momentum" else True


def test_every_registered_activation_runs_in_numpy_and_keras():
    import keras

    from model.storage.dense_file import ACTIVATIONS as NUMPY_ACTIVATIONS

    for name in ACTIVATIONS:
        assert name in NUMPY_ACTIVATIONS and keras.activations.get(name) is not None


def test_config_errors_are_lab_errors_not_bare_value_errors():
    with pytest.raises(LabError) as caught:
        TrainingConfig(optimizer="lbfgs")
    assert not isinstance(caught.value, ValueError)


def test_training_time_is_estimated_from_this_machines_past_trainings():
    from model.jobs.estimate import REFERENCE_RATE, START_SECONDS, duration, training_seconds
    from model.storage.metadata import ModelMetadata

    reference = TrainingConfig()
    seconds, measured = training_seconds(reference, 54_000, [])
    assert not measured and seconds == pytest.approx(START_SECONDS + 10 * 2.33, rel=1e-6)
    slow_machine = ModelMetadata(config=reference, training_seconds=50.0, epochs_completed=10, training_images=54_000)
    seconds, measured = training_seconds(TrainingConfig(epochs=20), 27_000, [slow_machine, ModelMetadata()])
    assert measured and seconds == pytest.approx(START_SECONDS + 50.0, rel=1e-6)  # twice the epochs, half the images
    assert REFERENCE_RATE > 0 and str(duration(37)) == "about 35 s" and str(duration(600)) == "about 10 min"
    assert duration(5400).text("pt") == "cerca de 1,5 h"
