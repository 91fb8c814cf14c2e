"""Training-time distortions: seeded, training-only, shape- and ink-preserving, never saved."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from model.augment import Augment, Distortions, distorted_examples, smoothing_matrix
from model.config import TrainingConfig
from model.training import train
from utils.preprocess import mnist_as_trained


@pytest.fixture(scope="module")
def digits(mnist_raw):
    return mnist_as_trained(mnist_raw.x_train[:64])


def test_only_active_when_training(digits):
    layer = Augment(seed=0)
    assert np.array_equal(np.asarray(layer(digits, training=False)), digits)
    assert not np.allclose(np.asarray(layer(digits, training=True)), digits)


def test_same_seed_same_distortions_other_seed_others(digits):
    first = np.asarray(Augment(seed=3)(digits, training=True))
    again = np.asarray(Augment(seed=3)(digits, training=True))
    other = np.asarray(Augment(seed=4)(digits, training=True))
    assert np.array_equal(first, again)
    assert not np.allclose(first, other)


def test_a_distorted_digit_is_still_that_digit(digits):
    distorted = np.asarray(Augment(seed=0)(digits, training=True))
    assert distorted.shape == digits.shape and distorted.dtype == np.float32
    assert distorted.min() >= 0.0 and distorted.max() <= 1.0
    ink_ratio = distorted.sum(axis=1) / digits.sum(axis=1)
    assert 0.5 < np.median(ink_ratio) < 2.0  # strokes thinned or thickened, not erased or smeared
    same = [np.corrcoef(a, b)[0, 1] for a, b in zip(distorted, digits, strict=True)]
    across = [np.corrcoef(a, b)[0, 1] for a, b in zip(distorted, np.roll(digits, 1, axis=0), strict=True)]
    assert np.median(same) > np.median(across) + 0.2  # closer to its own digit than to another


def test_each_distortion_can_be_switched_off(digits):
    nothing = Distortions(0.0, 0.0, 0.0, 0.0, 0.0, 4.0, 0.0, 0.0)
    unchanged = np.asarray(Augment(nothing, seed=0)(digits, training=True))
    assert np.allclose(unchanged, digits, atol=1e-5)


def test_elastic_field_has_simards_strength():
    """The coarse-grid shortcut gives the same displacement spread as per-pixel noise."""
    rng = np.random.default_rng(0)
    side, sigma = 28, 4.0
    coarse = smoothing_matrix(side, 14, sigma)
    fine_noise = rng.uniform(-1, 1, (400, side, side))
    offsets = np.arange(side)[:, None] - np.arange(side)[None, :]
    gaussian = np.exp(-0.5 * (offsets / sigma) ** 2)
    gaussian /= gaussian[side // 2].sum()
    fine = gaussian @ fine_noise @ gaussian.T
    shortcut = coarse @ rng.uniform(-1, 1, (400, 14, 14)) @ coarse.T
    assert 0.85 < shortcut.std() / fine.std() < 1.15


def test_preview_gives_copies_of_each_digit(digits):
    examples = distorted_examples(digits[:3].reshape(3, 28, 28), copies=4, seed=0)
    assert examples.shape == (3, 4, 28, 28)
    assert not np.allclose(examples[:, 0], examples[:, 1])


def test_augmented_training_saves_a_plain_network(small_splits):
    config = TrainingConfig(hidden_layers=1, units=32, epochs=2, augment=True, optimizer="adam")
    result = train(config, small_splits.limit(2000, 500))
    assert result.status == "completed" and result.test_accuracy > 0.5  # learns through the distortions
    kinds = {type(layer) for layer in result.model.layers}
    assert kinds <= {keras.layers.Dense, keras.layers.Dropout}  # the Augment layer stays behind
    again = train(config, small_splits.limit(2000, 500))
    assert again.history["loss"] == result.history["loss"]  # seeded: the same run twice
