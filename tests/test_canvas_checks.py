"""Drawings that are not one readable digit get a message instead of a meaningless answer."""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers import draw_canvas
from utils.canvas_checks import canvas_problem, stroke_width

SEVEN = [((90, 70), (190, 70), (120, 220))]
ONE = [((140, 60), (140, 220))]


def test_an_ordinary_digit_has_no_problem():
    assert canvas_problem(draw_canvas(strokes=SEVEN)) is None
    assert canvas_problem(draw_canvas(strokes=ONE, width=6)) is None  # thin and narrow is still a digit


def test_an_empty_canvas_is_left_to_the_prompt():
    assert canvas_problem(draw_canvas(strokes=[])) is None


def test_a_single_dot_is_not_classified():
    problem = canvas_problem(draw_canvas(strokes=[((150, 150), (151, 151))], width=20))
    assert problem is not None and problem.blocks_prediction and "dot" in str(problem.message)


def test_a_filled_canvas_is_not_classified():
    canvas = draw_canvas(strokes=[((0, y), (280, y)) for y in range(0, 280, 30)], width=28)
    problem = canvas_problem(canvas)
    assert problem is not None and problem.blocks_prediction and "mostly ink" in str(problem.message)


def test_two_digits_side_by_side_are_not_classified():
    one, seven = [((60, 70), (60, 210))], [((130, 70), (230, 70), (160, 210))]
    problem = canvas_problem(draw_canvas(strokes=one + seven))
    assert problem is not None and problem.blocks_prediction and "more than one digit" in str(problem.message)


@pytest.mark.parametrize(
    "strokes",
    [
        [((140, 60), (140, 140), (200, 140)), ((140, 60), (210, 60)), ((200, 140), (200, 220), (130, 220))],  # 5
        [((100, 60), (100, 150), (200, 150)), ((170, 60), (170, 230))],  # a 4 in two strokes
        [((120, 80), (150, 60), (150, 220)), ((110, 220), (190, 220))],  # a 1 with a base
    ],
)
def test_digits_drawn_in_several_strokes_are_one_digit(strokes):
    assert canvas_problem(draw_canvas(strokes=strokes)) is None


def test_a_stroke_along_the_edge_is_classified_with_a_warning():
    problem = canvas_problem(draw_canvas(strokes=[((3, 20), (3, 260))], width=12))
    assert problem is not None and not problem.blocks_prediction and "edge" in str(problem.message)


def test_the_checks_take_any_canvas_like_array():
    gray = draw_canvas(strokes=SEVEN, rgba=False)
    assert canvas_problem(gray) is None and canvas_problem(gray.astype(np.float32) / 255) is None


def test_pen_drawings_of_real_digits_are_never_refused(mnist_raw):
    from bench.drawing_sets import mnist_skeleton_set

    drawings = mnist_skeleton_set(mnist_raw.x_test, mnist_raw.y_test, per_class=40, seed=11)
    refused = [canvas_problem(canvas) for canvas in drawings.canvases]
    assert not [problem for problem in refused if problem is not None and problem.blocks_prediction]


def test_a_thick_pen_on_a_small_digit_is_pointed_out_but_still_classified():
    small_three = draw_canvas(strokes=(((30, 30), (60, 30), (45, 55), (60, 80), (30, 90)),), width=20)
    problem = canvas_problem(small_three)
    assert problem is not None and "pen is thick" in str(problem.message) and not problem.blocks_prediction
    assert canvas_problem(draw_canvas(strokes=(((80, 60), (200, 60), (130, 130), (200, 200), (80, 220)),))) is None


def test_stroke_width_is_measured_from_the_ink():
    for pen in (8, 20, 36):
        ink = draw_canvas(width=pen, rgba=False) > 127
        assert abs(stroke_width(ink) - pen) <= 2
