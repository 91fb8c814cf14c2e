"""The committed default model: the app's drawing works before anyone trains."""

from __future__ import annotations

import numpy as np

from model.config import TrainingConfig
from model.inference import evaluate
from model.storage import DEFAULT_MODEL_NAME, ModelStore
from utils.preprocess import PREPROCESSING_VERSION, mnist_as_trained

# the reference network; README gives the command
DEFAULT_RECIPE = TrainingConfig(epochs=100, augment=True, optimizer="adam", schedule="cosine")


def test_pretrained_default_is_the_reference_network_and_scores_98_4(tmp_path, mnist_raw):
    store = ModelStore(tmp_path)
    info = store.get(DEFAULT_MODEL_NAME)
    assert info.builtin and info.config == DEFAULT_RECIPE
    assert info.config.architecture == "784-512-512-10" and info.preprocessing == PREPROCESSING_VERSION
    accuracy, loss = evaluate(
        store.load(DEFAULT_MODEL_NAME), mnist_as_trained(mnist_raw.x_test, info.preprocessing), mnist_raw.y_test
    )
    assert accuracy >= 0.984 and loss < 0.1
    assert abs(accuracy - info.test_accuracy) < 1e-9  # metadata tells the truth


def test_default_reads_pen_drawings_of_unseen_writers(tmp_path, mnist_raw):
    """MNIST test digits traced to strokes and redrawn like the canvas (bench/drawing_sets.py)."""
    from bench.drawing_sets import mnist_skeleton_set
    from model.inference import predict_batch
    from utils.preprocess import preprocess_digit

    store = ModelStore(tmp_path)
    info = store.get(DEFAULT_MODEL_NAME)
    drawings = mnist_skeleton_set(mnist_raw.x_test, mnist_raw.y_test, per_class=30, seed=7)
    rows = np.stack([preprocess_digit(canvas, info.preprocessing) for canvas in drawings.canvases])
    said = predict_batch(store.load(DEFAULT_MODEL_NAME), rows).argmax(axis=1)
    assert np.mean(said == drawings.labels) >= 0.96
