"""Training-time distortions: seeded, training-only, shape- and ink-preserving, never saved.

The hand-written numerics (the bilinear sampler, thinning and thickening) are checked
against SciPy and OpenCV on the same inputs.
"""

from __future__ import annotations

import cv2
import keras
import numpy as np
import pytest
from scipy.ndimage import map_coordinates

from model.net.augment import (
    Augment,
    Distortions,
    change_thickness,
    distorted_examples,
    sample_bilinear,
    smoothing_matrix,
)
from model.net.config import TrainingConfig
from model.net.training import train
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


def test_bilinear_sampler_agrees_with_scipy():
    """``sample_bilinear`` against ``scipy.ndimage.map_coordinates(order=1)`` at the same points.

    Points fall inside, between pixels, on whole pixels and up to two pixels outside the
    image, where both treat the image as surrounded by zeros and interpolate towards them.
    """
    rng = np.random.default_rng(0)
    images = rng.random((3, 28, 28), dtype=np.float32)
    rows = rng.uniform(-2.5, 29.5, (3, 28, 28)).astype(np.float32)
    cols = rng.uniform(-2.5, 29.5, (3, 28, 28)).astype(np.float32)
    rows[:, :4], cols[:, :4] = np.round(rows[:, :4]), np.round(cols[:, :4])  # whole pixels, edges included
    sampled = np.asarray(sample_bilinear(images, rows, cols))
    expected = np.stack(
        [
            map_coordinates(image, [row, col], order=1, mode="grid-constant", cval=0.0)
            for image, row, col in zip(images, rows, cols, strict=True)
        ]
    )
    assert sampled.shape == expected.shape
    np.testing.assert_allclose(sampled, expected, atol=1e-5)


def test_thinning_and_thickening_agree_with_opencv(digits):
    """``change_thickness`` against ``cv2.erode`` and ``cv2.dilate`` (3x3 and 5x5), one amount per image.

    -1 is an erosion, 1 a 3x3 dilation, 2 a 5x5 one; amounts between blend linearly.
    """
    amounts = np.array([-1.0, -0.4, 0.0, 0.3, 1.0, 1.5, 2.0], np.float32)
    images = digits[: len(amounts)].reshape(-1, 28, 28)
    square = np.ones((3, 3), np.uint8)
    expected = []
    for image, amount in zip(images, amounts, strict=True):
        eroded, dilated = cv2.erode(image, square), cv2.dilate(image, square)
        if amount < 0:
            expected.append(image - amount * (eroded - image))
        elif amount <= 1:
            expected.append(image + amount * (dilated - image))
        else:
            expected.append(dilated + (amount - 1) * (cv2.dilate(image, np.ones((5, 5), np.uint8)) - dilated))
    changed = np.asarray(change_thickness(images, amounts.reshape(-1, 1, 1), max_amount=2.0))
    np.testing.assert_allclose(changed, np.stack(expected), atol=1e-6)
    # without thickening beyond 1 the 5x5 pass is skipped, with the same results up to 1
    up_to_one = np.asarray(change_thickness(images[:5], amounts[:5].reshape(-1, 1, 1), max_amount=1.0))
    np.testing.assert_allclose(up_to_one, np.stack(expected[:5]), atol=1e-6)


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


@pytest.mark.slow
def test_augmented_training_saves_a_plain_network(small_splits):
    config = TrainingConfig(hidden_layers=1, units=32, epochs=2, augment=True, optimizer="adam")
    result = train(config, small_splits.limit(2000, 500))
    assert result.status == "completed" and result.test_accuracy > 0.65  # 0.682: learns through the distortions
    kinds = {type(layer) for layer in result.model.layers}
    assert kinds <= {keras.layers.Dense, keras.layers.Dropout}  # the Augment layer stays behind
    again = train(config, small_splits.limit(2000, 500))
    assert again.history["loss"] == result.history["loss"]  # seeded: the same run twice
