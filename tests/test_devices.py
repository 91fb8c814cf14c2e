"""The multi-device training path, run on the CPU split into two logical devices."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.helpers import PROJECT_ROOT
from utils.errors import SettingsError

TWO_CPUS = """
import json, tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from model.net.config import TrainingConfig
from model.net.devices import choose_strategy
from model.net.training import train
from model.net.data import load_mnist
strategy = choose_strategy()
config = TrainingConfig(hidden_layers=1, units=64, epochs=2, optimizer="adam")
result = train(config, load_mnist(max_train=4000, max_test=500))
print("RESULT", json.dumps({"replicas": strategy.num_replicas_in_sync, "accuracy": result.test_accuracy,
                            "status": result.status}))
"""


@pytest.mark.slow
def test_mirrored_strategy_trains_across_two_logical_devices():
    env = {**os.environ, "MNIST_LAB_STRATEGY": "mirrored"}
    done = subprocess.run([sys.executable, "-c", TWO_CPUS], cwd=PROJECT_ROOT, env=env, capture_output=True,
                          text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.split("RESULT", 1)[1])
    assert result["replicas"] == 2 and result["status"] == "completed"
    assert result["accuracy"] > 0.85


def test_auto_uses_the_default_device_without_several_gpus():
    from model.net.devices import choose_strategy

    assert choose_strategy("auto").num_replicas_in_sync == 1
    with pytest.raises(SettingsError, match="MNIST_LAB_STRATEGY='everything' is not allowed"):
        choose_strategy("everything")
