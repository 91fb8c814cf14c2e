from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.helpers import draw_canvas
from utils.errors import LabError
from utils.preprocess import (
    LEGACY_PREPROCESSING,
    MNIST_WIDTH_RANGE,
    ImageError,
    deskew,
    drop_specks,
    mnist_as_trained,
    preprocess_digit,
    stroke_width,
)

FOUR = (((0.2, 0.0), (0.0, 0.6), (0.6, 0.6)), ((0.45, 0.3), (0.45, 1.0)))  # a "4" in a unit box


def _four(top: int, left: int, height: int, pen: int) -> np.ndarray:
    strokes = [tuple((round(left + x * height), round(top + y * height)) for x, y in stroke) for stroke in FOUR]
    return draw_canvas(strokes=strokes, width=pen)


def _slant(image):
    """How far the ink's x moves per unit of y (0 when upright)."""
    moments = cv2.moments(image)
    return moments["mu11"] / moments["mu02"]


def _centre_of_mass(image):
    rows, cols = np.indices(image.shape)
    return (rows * image).sum() / image.sum(), (cols * image).sum() / image.sum()


def _ink_box(image, level=0.3):
    rows, cols = np.nonzero(image > level)
    return rows.max() - rows.min() + 1, cols.max() - cols.min() + 1


def test_blank_canvas_is_nothing_drawn():
    empty_canvas = np.zeros((280, 280, 4), np.uint8)
    empty_canvas[:, :, 3] = 255  # opaque black, as the canvas sends it
    assert preprocess_digit(empty_canvas) is None
    assert preprocess_digit(np.full((50, 60), 255, np.uint8)) is None  # blank white paper
    assert preprocess_digit(np.random.default_rng(0).normal(0.5, 0.01, (64, 64))) is None  # faint noise


def test_small_digit_in_a_corner_comes_out_centred_and_20_pixels():
    canvas = np.zeros((600, 600), np.uint8)
    cv2.ellipse(canvas, (60, 70), (14, 24), 0, 0, 360, 255, 5, cv2.LINE_AA)  # a small "0" top-left
    digit = preprocess_digit(canvas)
    assert digit.shape == (28, 28) and digit.dtype == np.float32
    assert digit.min() >= 0.0 and digit.max() <= 1.0
    height, width = _ink_box(digit)
    assert 19 <= height <= 20 and 10 <= width <= 14  # aspect ratio kept (28:48)
    row, col = _centre_of_mass(digit)
    assert abs(row - 14) <= 0.5 and abs(col - 14) <= 0.5


def test_canvas_rgba_matches_grayscale_of_the_same_drawing():
    strokes = (((100, 60), (180, 60), (120, 220)),)  # a "7"
    rgba = draw_canvas(strokes=strokes)
    gray = draw_canvas(strokes=strokes, rgba=False)
    assert np.allclose(preprocess_digit(rgba), preprocess_digit(gray), atol=1e-6)


def test_dark_ink_on_light_paper_is_inverted_like_the_canvas():
    strokes = (((60, 40), (60, 200)), ((30, 80), (60, 40)))
    white_on_black = draw_canvas(240, strokes, 14, rgba=False)
    photo = 235 - (white_on_black.astype(np.float32) * (235 - 40) / 255)  # paper 235, ink 40
    photo += np.random.default_rng(1).normal(0, 4, photo.shape)  # sensor noise
    photo_rgb = np.dstack([photo, photo * 0.97, photo * 0.9]).clip(0, 255).astype(np.uint8)
    from_photo, from_canvas = preprocess_digit(photo_rgb), preprocess_digit(white_on_black)
    assert from_photo[0, 0] == 0.0 and from_photo.max() > 0.9
    assert np.abs(from_photo - from_canvas).mean() < 0.03


def test_same_input_same_output_and_dtypes_agree():
    canvas = draw_canvas(rgba=False)
    assert np.array_equal(preprocess_digit(canvas), preprocess_digit(canvas.copy()))
    as_float = preprocess_digit(canvas.astype(np.float64) / 255)
    as_16bit = preprocess_digit(canvas.astype(np.uint16) * 257)
    assert np.allclose(preprocess_digit(canvas), as_float, atol=1e-5)
    assert np.allclose(preprocess_digit(canvas), as_16bit, atol=1e-5)


def test_legacy_version_passes_mnist_digits_through_nearly_unchanged(mnist_raw):
    originals = mnist_raw.x_test[:50].astype(np.float32) / 255
    changed = [np.abs(preprocess_digit(image, LEGACY_PREPROCESSING) - image).mean() for image in originals]
    assert np.median(changed) < 0.03
    assert np.array_equal(mnist_as_trained(mnist_raw.x_test[:50], LEGACY_PREPROCESSING), originals.reshape(50, 784))


def test_training_images_take_exactly_the_drawing_path(mnist_raw):
    images = mnist_raw.x_train[:40]
    rows = mnist_as_trained(images)
    assert rows.shape == (40, 784) and rows.dtype == np.float32
    for image, row in zip(images, rows, strict=True):
        assert np.array_equal(preprocess_digit(image), row.reshape(28, 28))


def test_an_unknown_version_is_refused_by_name():
    with pytest.raises(LabError, match="mnist-v99"):  # one the pages and the CLI explain
        preprocess_digit(draw_canvas(), "mnist-v99")


def test_thick_small_and_thin_large_digits_come_out_with_mnist_stroke_widths():
    low, high = MNIST_WIDTH_RANGE
    reference = preprocess_digit(_four(50, 80, 180, 20))
    for canvas in (_four(90, 100, 100, 28), _four(20, 60, 240, 12)):  # pen 28 on 100 px; pen 12 on 240 px
        digit = preprocess_digit(canvas)
        assert low - 0.4 <= stroke_width(digit) <= high + 0.4
        assert 19 <= max(_ink_box(digit)) <= 20
        assert np.corrcoef(digit.ravel(), reference.ravel())[0, 1] > 0.7  # the same 4 underneath
    before = preprocess_digit(_four(20, 60, 240, 12), LEGACY_PREPROCESSING)
    assert stroke_width(before) < low - 0.3  # the legacy recipe left it spidery


def test_a_slanted_digit_is_stood_upright():
    slanted = draw_canvas(strokes=[((110, 230), (170, 40))], width=20)  # a "1" leaning right by 18 degrees
    assert abs(_slant(preprocess_digit(slanted, LEGACY_PREPROCESSING))) > 0.25
    upright = preprocess_digit(slanted)
    assert abs(_slant(upright)) < 0.05
    assert 19 <= _ink_box(upright)[0] <= 20


def test_deskew_removes_the_correlation_and_keeps_the_ink():
    crop = np.zeros((60, 40), np.float32)
    cv2.line(crop, (30, 5), (10, 55), 1.0, 5, cv2.LINE_AA)
    straight = deskew(crop)
    assert abs(_slant(straight)) < 0.02
    assert abs(straight.sum() - crop.sum()) / crop.sum() < 0.02  # widened, nothing cut off


def test_specks_are_ignored_but_separate_strokes_are_kept():
    digit = _four(60, 90, 160, 18)
    specked = digit.copy()
    cv2.circle(specked, (12, 12), 3, (255, 255, 255, 255), -1)  # a stray dot far from the digit
    cv2.circle(specked, (265, 250), 2, (255, 255, 255, 255), -1)
    assert np.array_equal(preprocess_digit(specked), preprocess_digit(digit))
    assert not np.array_equal(preprocess_digit(specked, LEGACY_PREPROCESSING), preprocess_digit(digit))
    five = draw_canvas(strokes=[((110, 60), (110, 140), (170, 150), (160, 220), (100, 220)), ((112, 60), (180, 60))])
    cleaned = drop_specks(five[:, :, 0].astype(np.float32) / 255)
    assert np.array_equal(cleaned > 0, five[:, :, 0] > 0)  # the 5's separate top bar is a stroke, not a speck


def test_same_drawing_same_output_every_time():
    canvas = _four(40, 70, 200, 16)
    first = preprocess_digit(canvas)
    assert all(np.array_equal(first, preprocess_digit(canvas.copy())) for _ in range(3))


@pytest.mark.parametrize(
    "bad",
    [np.zeros((0, 5)), np.zeros((4, 4, 2)), np.zeros((2, 2, 2, 2)), np.array([[np.nan, 1.0]]), np.array([["a"]])],
)
def test_non_images_raise_image_error(bad):
    with pytest.raises(ImageError):
        preprocess_digit(bad)
