"""Seconds-long smoke runs of the benchmarks, so they keep working (their numbers are not judged here),
and the measuring and drawing helpers they share."""

from __future__ import annotations

import statistics
import subprocess
import sys

import numpy as np
import pytest

from tests.helpers import PROJECT_ROOT


def run(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", *args], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.slow
def test_prediction_latency_benchmark_runs():
    out = run("bench.prediction_latency", "--calls", "5")
    assert all(path in out for path in ("NumPy (Draw page)", "traced tf.function", "model.predict"))
    assert "digit predicted: 7" in out


@pytest.mark.slow
def test_training_throughput_benchmark_runs():
    out = run("bench.training_throughput", "--variants", "ADJ", "--repeats", "1", "--epochs", "2")
    assert "A project train()" in out and "D A, augmented" in out and "D/A = " in out
    assert "J A on JAX" in out and "J/A = " in out and "(A on JAX, jax " in out


@pytest.mark.slow
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


@pytest.mark.slow
def test_socket_load_test_runs_without_errors():
    """Five websocket users draw for 15 s while a sixth trains (Keras loaded in the server): all answers right."""
    out = run("bench.socket_load_test", "--sessions", "5", "--seconds", "15", "--pause", "0.5", "--keras-loaded")
    assert "errors: 0" in out and "answers " in out, out
    assert "training at the end: not started" not in out, out  # the training session saw its job


@pytest.mark.slow
def test_class_load_test_runs_without_errors():
    """Three students join a class by its link, train the challenge's network and draw; the teacher watches."""
    out = run("bench.class_load", "--students", "3", "--limit", "240")
    assert "errors: 0" in out and "every student had a result after" in out, out
    assert "3 of 3 runs finished" in out, out


def test_one_percentile_for_every_benchmark():
    from bench.measure import percentile

    values = np.random.default_rng(0).exponential(100, 37).tolist()
    assert percentile(values, 95) == pytest.approx(np.percentile(values, 95))  # linear between neighbours
    assert percentile(values, 50) == pytest.approx(statistics.median(values))
    assert percentile([7.0], 95) == 7.0


def test_memory_counts_the_workers_too():
    """Measured from a fresh parent, so workers other tests left behind cannot come or go in between."""
    parent = f"""
import subprocess, sys
sys.path.insert(0, {str(PROJECT_ROOT)!r})
from bench.measure import rss_mb
script = "import time; block = b'x' * 200 * 2**20; print('ready', flush=True); time.sleep(60)"
before = rss_mb(children=True)
with subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True) as worker:
    assert worker.stdout.readline().strip() == "ready"  # its 200 MB are written
    print(before, rss_mb(children=True), rss_mb(worker.pid), rss_mb())
    worker.kill()
"""
    said = subprocess.check_output([sys.executable, "-c", parent], text=True)
    before, after, worker_alone, parent_alone = map(float, said.split())
    assert worker_alone > 200 and after - before == pytest.approx(worker_alone, abs=30)
    assert parent_alone < after - 200


def test_the_mouse_draws_strokes_where_the_canvas_is():
    from bench.strokes import ONE, SEVEN, mouse_actions

    box = {"x": 100.0, "y": 50.0, "width": 280.0, "height": 140.0}
    actions = mouse_actions(box, ONE + SEVEN, steps=3)
    assert [method for method, _, _ in actions] == ["move", "down", "move", "up", "move", "down", "move", "move", "up"]
    assert actions[0] == ("move", (240.0, 71.0), {}) and actions[2] == ("move", (240.0, 169.0), {"steps": 3})
    assert mouse_actions(box, ONE, release=False)[-1][0] == "move"  # the caller times the release


def test_canvas_strokes_are_drawn_like_the_canvas():
    from bench.strokes import ONE, render_canvas, scaled

    canvas = render_canvas(scaled(ONE), pen=20)
    assert canvas.shape == (280, 280, 4) and (canvas[..., 3] == 255).all()
    ink = canvas[..., 0] > 127
    rows, cols = np.nonzero(ink)
    assert (rows.min(), rows.max()) == pytest.approx((42 - 10, 238 + 10), abs=1)  # round caps, half a pen beyond
    assert cols.max() - cols.min() + 1 == pytest.approx(20, abs=1)
    dot = render_canvas([[(140.0, 140.0)]], pen=20, rgba=False)  # a stroke of one point is a dot
    assert (dot > 127).sum() == pytest.approx(np.pi * 10**2, rel=0.15)
