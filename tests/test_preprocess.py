from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.conftest import draw_canvas
from utils.preprocess import ImageError, preprocess_digit


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


def test_mnist_digits_pass_through_nearly_unchanged(mnist_raw):
    originals = mnist_raw.x_test[:50].astype(np.float32) / 255
    changed = [np.abs(preprocess_digit(image) - image).mean() for image in originals]
    assert np.median(changed) < 0.03


@pytest.mark.parametrize(
    "bad",
    [np.zeros((0, 5)), np.zeros((4, 4, 2)), np.zeros((2, 2, 2, 2)), np.array([[np.nan, 1.0]]), np.array([["a"]])],
)
def test_non_images_raise_image_error(bad):
    with pytest.raises(ImageError):
        preprocess_digit(bad)
