"""Kill the saving process (SIGKILL) at random moments: the list never shows a half-written model."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import pytest

from model.storage.store import ModelStore, load_network
from tests.helpers import PROJECT_ROOT

SAVER = """
import sys
from model.net.config import TrainingConfig
from model.storage.metadata import ModelMetadata
from model.net.network import build_network
from model.storage.store import ModelStore
store, config = ModelStore(sys.argv[1]), TrainingConfig(hidden_layers=2, units=256)
network = build_network(config)
print("ready", flush=True)
for index in range(10_000):
    store.save(network, f"{sys.argv[2]}-{index}", ModelMetadata(config=config, history={"loss": (0.5,) * 100}))
    print("saved", index, flush=True)
"""


@pytest.mark.slow
def test_sigkill_during_saves_never_lists_a_broken_model(tmp_path):
    root, rng = tmp_path / "models", random.Random(1)
    completed = set()
    for cycle in range(6):
        saver = subprocess.Popen(
            [sys.executable, "-c", SAVER, str(root), f"cycle{cycle}"], cwd=PROJECT_ROOT, stdout=subprocess.PIPE,
            text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        )  # fmt: skip
        assert saver.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.05, 1.5))  # mid-save, most of the time: a save takes tens of milliseconds
        os.kill(saver.pid, signal.SIGKILL)
        output, _ = saver.communicate()
        completed |= {f"cycle{cycle}-{line.split()[1]}" for line in output.splitlines() if line.startswith("saved")}

    listed = [info for info in ModelStore(root).list() if not info.builtin]
    names = {info.name for info in listed}
    assert completed <= names  # every save that finished is there
    assert len(names - completed) <= 6  # at most the one per cycle whose "saved" line was cut off
    for info in listed:  # and every listed model is whole
        assert info.metadata.config is not None
        assert load_network(info.path).output_shape == (None, 10)
    leftovers = [path.name for path in root.iterdir() if path.name.startswith(".")]
    assert all(".tmp" in name for name in leftovers)  # only temporary files, which the list ignores
