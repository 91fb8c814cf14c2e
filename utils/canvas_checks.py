"""What to tell someone whose canvas cannot be read as one digit.

The network answers with a digit for any input, so a dot, a filled canvas or two digits
would get a confident-looking but meaningless answer. These checks run on the canvas
(white ink on black, so no polarity guessing) before the drawing is classified.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from utils.i18n import N_, Message
from utils.preprocess import to_luminance

INK_LEVEL = 0.5
FILLED_FRACTION = 0.5  # more ink than this share of the canvas is no longer a digit
DOT_FRACTION = 0.12  # a drawing smaller than this share of the canvas side is a dot
EDGE_PIXELS = 2
SEPARATE_SHARE = 0.15  # each of two digits holds at least this share of the ink...
SEPARATE_HEIGHT = 0.7  # ...and is at least this share of the drawing's height
THICK_PEN = 0.25  # strokes wider than this share of the digit's height merge into blobs (MNIST: about 0.15)


@dataclass(frozen=True)
class CanvasProblem:
    message: Message
    blocks_prediction: bool  # False: classify anyway and show the message beside the answer


def _problem(words: str, blocks_prediction: bool) -> CanvasProblem:
    return CanvasProblem(Message(words), blocks_prediction)


def canvas_problem(canvas: np.ndarray) -> CanvasProblem | None:
    """The first problem that makes the drawing hard to read as one digit, or None."""
    ink = (to_luminance(canvas) > INK_LEVEL).astype(np.uint8)
    if not ink.any():
        return None
    height, width = ink.shape
    if ink.mean() > FILLED_FRACTION:
        return _problem(
            N_(
                "The canvas is mostly ink, so there is no digit shape left to read. "
                "Press Clear drawing and draw one digit."
            ),
            blocks_prediction=True,
        )
    rows, cols = np.nonzero(ink)
    if max(np.ptp(rows), np.ptp(cols)) + 1 < DOT_FRACTION * min(height, width):
        return _problem(
            N_(
                "That is only a dot: too small to be read as a digit. Draw the whole digit, "
                "about as tall as half the canvas."
            ),
            blocks_prediction=True,
        )
    if _side_by_side_shapes(ink) >= 2:
        return _problem(
            N_(
                "This looks like more than one digit, side by side. The network reads one digit "
                "at a time (MNIST has one per image): clear the canvas and draw one."
            ),
            blocks_prediction=True,
        )
    border = np.concatenate([ink[:EDGE_PIXELS].ravel(), ink[-EDGE_PIXELS:].ravel(),
                             ink[:, :EDGE_PIXELS].ravel(), ink[:, -EDGE_PIXELS:].ravel()])  # fmt: skip
    if border.any():
        return _problem(
            N_(
                "The drawing runs into the edge of the canvas, so part of it may be cut off; "
                "the answer below is for what is inside."
            ),
            blocks_prediction=False,
        )
    if stroke_width(ink) > THICK_PEN * (np.ptp(rows) + 1):
        return _problem(
            N_(
                "The pen is thick for a digit this small, so its strokes run together into a blob once it is "
                "shrunk to 28x28. Draw the digit larger, or choose a thinner stroke width."
            ),
            blocks_prediction=False,
        )
    return None


def stroke_width(ink: np.ndarray) -> float:
    """The pen's width in pixels: twice the largest distance from inside a stroke to its edge."""
    distances = cv2.distanceTransform(ink.astype(np.uint8), cv2.DIST_L2, 3)
    return 2.0 * float(distances.max())


def _side_by_side_shapes(ink: np.ndarray) -> int:
    """How many big, full-height ink blobs lie in separate columns (digits written next to each other).

    Parts of one digit drawn apart (a 4's two strokes, a 5's bar) differ in height.
    """
    _, _, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    areas = stats[1:, cv2.CC_STAT_AREA]
    rows = np.flatnonzero(ink.any(axis=1))
    full_height = SEPARATE_HEIGHT * (rows[-1] - rows[0] + 1)
    big = [
        stats[1 + index]
        for index in np.flatnonzero(areas >= SEPARATE_SHARE * areas.sum())
        if stats[1 + index, cv2.CC_STAT_HEIGHT] >= full_height
    ]
    if len(big) < 2:
        return len(big)
    spans = sorted((blob[cv2.CC_STAT_LEFT], blob[cv2.CC_STAT_LEFT] + blob[cv2.CC_STAT_WIDTH]) for blob in big)
    separate = 1
    reach = spans[0][1]
    for left, right in spans[1:]:
        if left >= reach:  # starts right of everything before it: a new column of ink
            separate += 1
        reach = max(reach, right)
    return separate
