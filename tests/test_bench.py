"""Seconds-long smoke runs of the benchmarks, so they keep working (their numbers are not judged here)."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import PROJECT_ROOT


def run(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", *args], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_prediction_latency_benchmark_runs():
    out = run("bench.prediction_latency", "--calls", "5")
    assert "direct call (project)" in out and "model.predict" in out and "digit predicted: 7" in out


def test_training_throughput_benchmark_runs():
    out = run("bench.training_throughput", "--variants", "A", "--repeats", "1", "--epochs", "2")
    assert "A project train()" in out and "s/epoch" in out
