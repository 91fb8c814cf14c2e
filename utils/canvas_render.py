"""Draw the canvas' strokes (its fabric.js JSON) into an image, as the browser would.

After "Undo stroke" the canvas is rebuilt from its remaining strokes and sends those
strokes back, but not a picture of them; this renders them the way the canvas does
(white, round-capped, anti-aliased strokes on black) so the prediction follows at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import cv2
import numpy as np

CURVE_STEPS = 8  # points per quadratic segment: plenty at 280 px


def stroke_points(path: Sequence[Sequence[Any]]) -> np.ndarray:
    """A fabric.js free-drawing path (M, Q and L commands, canvas coordinates) as a polyline."""
    points: list[tuple[float, float]] = []
    for command in path:
        kind, *numbers = command
        if kind in ("M", "L"):
            points.append((float(numbers[0]), float(numbers[1])))
        elif kind == "Q" and points:
            (x0, y0), (cx, cy, x1, y1) = points[-1], map(float, numbers[:4])
            for t in np.linspace(0, 1, CURVE_STEPS + 1)[1:]:
                points.append(((1 - t) ** 2 * x0 + 2 * (1 - t) * t * cx + t**2 * x1,
                               (1 - t) ** 2 * y0 + 2 * (1 - t) * t * cy + t**2 * y1))  # fmt: skip
    return np.asarray(points, np.float64).reshape(-1, 2)


def render_strokes(objects: Sequence[Mapping[str, Any]], side: int) -> np.ndarray:
    """RGBA (side, side, 4) uint8 of the given free-drawing strokes, white on opaque black."""
    canvas = np.zeros((side, side), np.uint8)
    shift = 4  # cv2 draws with sub-pixel precision in fixed point
    for stroke in objects:
        if stroke.get("type", "").lower() != "path" or not stroke.get("path"):
            continue
        points = np.round(stroke_points(stroke["path"]) * (1 << shift)).astype(np.int32)
        width = max(1, round(float(stroke.get("strokeWidth", 1))))
        if len(points) == 1:
            cv2.circle(canvas, tuple(points[0]), (width << shift) // 2, 255, -1, cv2.LINE_AA, shift)
        else:
            cv2.polylines(canvas, [points], False, 255, width, cv2.LINE_AA, shift)
    return np.dstack([canvas, canvas, canvas, np.full_like(canvas, 255)])
