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
    assert all(path in out for path in ("NumPy (Draw page)", "traced tf.function", "model.predict"))
    assert "digit predicted: 7" in out


def test_training_throughput_benchmark_runs():
    out = run("bench.training_throughput", "--variants", "ADJ", "--repeats", "1", "--epochs", "2")
    assert "A project train()" in out and "D A, augmented" in out and "D/A = " in out
    assert "J A on JAX" in out and "J/A = " in out and "(A on JAX, jax " in out


def test_drawing_accuracy_benchmark_runs():
    out = run("bench.drawing_accuracy", "--per-class", "3", "--sklearn-limit", "30")
    assert "made 60 drawings" in out
    rows = [line for line in out.splitlines() if line.startswith("| default |")]
    assert [row.split("|")[2].strip() for row in rows] == ["MNIST test", "mnist-skeleton", "sklearn-8x8"]


def test_drawing_sets_look_like_the_canvas():
    from bench.drawing_sets import CANVAS, HEIGHT_RANGE, sklearn_set

    drawings = sklearn_set(seed=0, limit=10)
    assert drawings.canvases.shape == (10, CANVAS, CANVAS, 4) and list(drawings.labels) == list(range(10))
    for canvas in drawings.canvases:
        assert (canvas[..., 3] == 255).all() and (canvas[..., 0] == canvas[..., 1]).all()  # opaque, gray
        rows = (canvas[..., 0] > 127).any(axis=1).nonzero()[0]
        height = (rows[-1] - rows[0] + 1) / CANVAS
        assert HEIGHT_RANGE[0] - 0.03 <= height <= HEIGHT_RANGE[1] + 0.03


def test_socket_load_test_runs_without_errors():
    """Five websocket users draw for 15 s while a sixth trains (Keras loaded in the server): all answers right."""
    out = run("bench.socket_load_test", "--sessions", "5", "--seconds", "15", "--pause", "0.5", "--keras-loaded")
    assert "errors: 0" in out and "answers " in out, out
    assert "training at the end: not started" not in out, out  # the training session saw its job
