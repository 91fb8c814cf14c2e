"""The project's training path also runs on Keras' JAX backend (faster per epoch on a CPU).

TensorFlow stays the default and the backend everything else is tested on; this proves
that ``KERAS_BACKEND=jax`` trains, saves and predicts with the same code.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest

from tests.helpers import PROJECT_ROOT

SCRIPT = """
import json, sys, keras
from model.net.config import TrainingConfig
from model.storage.dense_file import read_dense_network
from model.storage.store import ModelStore
from model.net.training import train
from model.net.data import load_mnist

config = TrainingConfig(hidden_layers=1, units=128, epochs=3, optimizer="adam", learning_rate=0.002, schedule="cosine")
data = load_mnist(0.1, 0, max_train=6000, max_test=1000)
result = train(config, data)
augmented = train(TrainingConfig(hidden_layers=1, units=128, epochs=3, augment=True), data)
info = ModelStore(sys.argv[1]).save(result.model, "jax-net", result.metadata())
answers = read_dense_network(info.path)(data.x_test).argmax(axis=1)
print(json.dumps({"backend": keras.backend.backend(), "status": result.status, "accuracy": result.test_accuracy,
                  "numpy_accuracy": float((answers == data.y_test).mean()),
                  "augmented": [augmented.status, augmented.test_accuracy]}))
"""


@pytest.mark.slow
def test_training_runs_on_the_jax_backend(tmp_path):
    if importlib.util.find_spec("jax") is None:
        if os.environ.get("CI"):
            pytest.fail("jax is not installed (requirements-dev.txt)")
        pytest.skip("jax is not installed")
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path)],
        cwd=PROJECT_ROOT,
        env={**os.environ, "KERAS_BACKEND": "jax", "MNIST_LAB_STRATEGY": "auto"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    import json

    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    assert outcome["backend"] == "jax" and outcome["status"] == "completed"
    assert outcome["accuracy"] > 0.88 and abs(outcome["numpy_accuracy"] - outcome["accuracy"]) < 1e-9
    status, accuracy = outcome["augmented"]  # distortions traced by JAX: harder data, fewer right after 3 epochs
    assert status == "completed" and accuracy > 0.7
