"""The committed default model: the app's drawing works before anyone trains."""

from __future__ import annotations

from model.config import TrainingConfig
from model.inference import evaluate
from model.storage import DEFAULT_MODEL_NAME, ModelStore
from utils.mnist import to_model_input


def test_pretrained_default_is_the_reference_network_and_scores_98(tmp_path, mnist_raw):
    store = ModelStore(tmp_path)
    info = store.get(DEFAULT_MODEL_NAME)
    assert info.builtin and info.config == TrainingConfig()
    accuracy, loss = evaluate(store.load(DEFAULT_MODEL_NAME), to_model_input(mnist_raw.x_test), mnist_raw.y_test)
    assert accuracy >= 0.98 and loss < 0.1
    assert abs(accuracy - info.test_accuracy) < 1e-9  # metadata tells the truth
