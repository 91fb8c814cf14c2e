"""Drawing digits on the app's canvas, one way for benchmarks, tests and screenshots.

A stroke is a list of (x, y) points. ``render_canvas`` paints strokes in pixels into an
array the way the canvas does (white, round-capped, anti-aliased strokes on opaque
black); ``mouse_actions`` turns strokes in fractions of the canvas into the mouse moves
that draw them in a browser (``bench.appserver.draw_on_canvas`` plays them).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

CANVAS = 280  # the Draw page's canvas, pixels per side
SUBPIXEL_BITS = 4  # OpenCV draws at 1/16 px precision with shift=4

Stroke = Sequence[tuple[float, float]]

# Digits in fractions of the canvas (x right, y down).
ONE = [[(0.5, 0.15), (0.5, 0.85)]]
ZERO = [[(0.5 + 0.22 * math.sin(t), 0.5 - 0.33 * math.cos(t)) for t in np.linspace(0, 2 * math.pi, 40).tolist()]]
SEVEN = [[(0.25, 0.2), (0.75, 0.2), (0.45, 0.85)]]
DIGITS = {"0": ZERO, "1": ONE, "7": SEVEN}


def render_canvas(strokes: Sequence[Stroke], pen: int = 20, size: int = CANVAS, rgba: bool = True) -> np.ndarray:
    """Strokes of (x, y) pixel points drawn like the canvas; (size, size, 4) uint8, or (size, size) gray.

    A stroke of one point is a dot as wide as the pen.
    """
    canvas = np.zeros((size, size), np.uint8)
    for stroke in strokes:
        fixed = np.round(np.asarray(stroke, np.float64).reshape(-1, 2) * (1 << SUBPIXEL_BITS)).astype(np.int32)
        if len(fixed) == 1:
            cv2.circle(canvas, tuple(fixed[0]), (pen // 2) << SUBPIXEL_BITS, 255, -1, cv2.LINE_AA, SUBPIXEL_BITS)
        elif len(fixed):
            cv2.polylines(canvas, [fixed], False, 255, pen, cv2.LINE_AA, SUBPIXEL_BITS)
    if not rgba:
        return canvas
    return np.dstack([canvas, canvas, canvas, np.full_like(canvas, 255)])


def scaled(strokes: Sequence[Stroke], size: float = CANVAS) -> list[list[tuple[float, float]]]:
    """Strokes in fractions of the canvas as pixel points of a ``size``-pixel canvas."""
    return [[(x * size, y * size) for x, y in stroke] for stroke in strokes]


def mouse_actions(
    box: dict, strokes: Sequence[Stroke], steps: int = 8, release: bool = True
) -> list[tuple[str, tuple, dict]]:
    """The ``page.mouse`` calls, as (method, args, kwargs), that draw ``strokes`` (fractions) in ``box``.

    ``box`` is the canvas element's bounding box. Each stroke ends by releasing the mouse,
    except the last one without ``release`` (a caller that times the release does it).
    """

    def at(point: tuple[float, float]) -> tuple[float, float]:
        return box["x"] + point[0] * box["width"], box["y"] + point[1] * box["height"]

    actions: list[tuple[str, tuple, dict]] = []
    for first, *rest in strokes:
        actions += [("move", at(first), {}), ("down", (), {})]
        actions += [("move", at(point), {"steps": steps}) for point in rest]
        actions.append(("up", (), {}))
    return actions if release else actions[:-1]
