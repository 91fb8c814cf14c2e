"""Digit conventions of the world's handwriting, taught by drawing them onto MNIST training digits.

MNIST's writers were American census staff and schoolchildren, so a network trained on it
alone reads a slashed zero as an 8 and a continental one as a 7. The common conventions:

- 0 plain oval: everywhere; MNIST has it.
- 0 slashed (Ø): Scandinavia, engineers and programmers (to tell it from the letter O). Taught.
- 0 dotted: a dot in the middle, same purpose as the slash. Taught (a small share).
- 1 single stroke: the US and UK; MNIST has it.
- 1 with a flag: continental Europe; a long stroke rising from the left into the top of the stem. Taught.
- 1 with flag and foot: print style, common in France, Germany and schools; plus a short base. Taught.
- 2 with a loop at the bottom left (curly 2): MNIST has some.
- 3 flat-topped (a Z-like top over a round bowl): not taught (not among the reported failures).
- 4 closed (a triangle top, as in print): MNIST has it.
- 4 open (the left arm stops short of the stem: two strokes, no apex): Europe and many US writers;
  MNIST has many. Not taught: erasing the top of the arm on 28x28 images made 4s that look like
  flagged 1s (a first model with it read more sklearn 1s as 4, and open 4s no better; RESULTS.md).
- 7 plain: the US and UK; MNIST has it.
- 7 with a crossbar through the stem: continental Europe (to tell it from a 1 with a flag). Taught.
- 7 with a hook or serif at the top left: MNIST has some.
- 8 as two stacked loops or one S-shaped stroke: MNIST has both.
- 9 with a straight tail (stick) or a curved tail (hook): MNIST has both.

Teaching them needs no new data: ``apply_conventions`` draws a convention onto a share of
the 0s, 1s and 7s of the training split (never validation or test), with strokes as
thick as the digit's own, then the changed images go through the same preprocessing as
every training image. The plain forms stay the majority (70-75 % of each digit), so a
crossed 7 does not make 7s into 4s nor a slashed 0 8s into 0s. Seeded; 1.3 s for 54,000 digits.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import cv2
import numpy as np

from utils.mnist import IMAGE_SIDE, N_PIXELS

if TYPE_CHECKING:
    from model.net.data import MnistSplits

UPSCALE = 4  # strokes are drawn at 112x112 and area-averaged down, so they are anti-aliased like MNIST's
INK = 0.3  # a pixel at least this bright is ink when measuring a digit

Transform = Callable[[np.ndarray, np.random.Generator], np.ndarray]


@dataclasses.dataclass(frozen=True)
class Shape:
    """Where a 28x28 digit's ink is, and how thick its pen was (pixels)."""

    top: int
    bottom: int
    left: int
    right: int
    pen: float

    @property
    def height(self) -> int:
        return self.bottom - self.top + 1

    def column_at(self, ink: np.ndarray, row: int) -> float:
        """The middle of the ink in the rows around ``row`` (the stem of a 1 or a 7)."""
        band = ink[max(row - 1, 0) : row + 2]
        cols = np.nonzero(band)[1]
        return float(cols.mean()) if len(cols) else (self.left + self.right) / 2


def measure(image: np.ndarray) -> Shape:
    """Bounding box of the ink and the pen width: twice the ink area over the length of its outlines."""
    ink = image >= INK
    rows, cols = np.nonzero(ink)
    contours, _ = cv2.findContours(ink.astype(np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    outline = max(sum(cv2.arcLength(contour, True) for contour in contours), 1.0)
    pen = float(np.clip(2 * image.sum() / outline, 1.0, 4.0))
    return Shape(int(rows.min()), int(rows.max()), int(cols.min()), int(cols.max()), pen)


def draw_lines(image: np.ndarray, lines: list[list[tuple[float, float]]], pen: float) -> np.ndarray:
    """``image`` (28x28, [0, 1]) with polylines of (x, y) points added in a round pen ``pen`` pixels wide."""
    big = np.zeros((IMAGE_SIDE * UPSCALE,) * 2, np.uint8)
    thickness = max(round(pen * UPSCALE), 1)
    for line in lines:
        points = np.round((np.asarray(line) + 0.5) * UPSCALE * 16 - 0.5 * 16).astype(np.int32)
        cv2.polylines(big, [points], False, 255, thickness, cv2.LINE_AA, 4)
    small = cv2.resize(big.astype(np.float32) / 255, (IMAGE_SIDE, IMAGE_SIDE), interpolation=cv2.INTER_AREA)
    return np.maximum(image, small)


def slashed_zero(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A stroke through the oval, leaning right, reaching just past it at both ends."""
    shape = measure(image)
    angle = math.radians(rng.uniform(20, 45))  # from the vertical
    direction = np.array([math.sin(angle), -math.cos(angle)])  # up and to the right, in (x, y)
    rows, cols = np.nonzero(image >= INK)
    centre = np.array([cols.mean(), rows.mean()])
    reach = (np.column_stack([cols, rows]) - centre) @ direction
    over = rng.uniform(0.9, 1.15)
    ends = [centre + direction * reach.max() * over, centre + direction * reach.min() * over]
    return draw_lines(image, [[tuple(end) for end in ends]], shape.pen)


def dotted_zero(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A dot in the middle of the oval, a little wider than the pen."""
    shape = measure(image)
    x, y = (shape.left + shape.right) / 2, (shape.top + shape.bottom) / 2
    return draw_lines(image, [[(x, y), (x + 0.3, y + 0.3)]], shape.pen * rng.uniform(1.2, 1.8))


def flagged_one(image: np.ndarray, rng: np.random.Generator, foot: bool = False) -> np.ndarray:
    """A flag from the top of the stem going down-left; with ``foot``, a short base under the stem too."""
    shape = measure(image)
    ink = image >= INK
    top = (shape.column_at(ink, shape.top), float(shape.top))
    angle = math.radians(rng.uniform(25, 55))  # below the horizontal; flatter and longer reads as a 7
    length = shape.height * rng.uniform(0.3, 0.6)
    lines = [[top, (top[0] - length * math.cos(angle), top[1] + length * math.sin(angle))]]
    if foot:
        bottom_x, half = shape.column_at(ink, shape.bottom), shape.height * rng.uniform(0.15, 0.28)
        lines.append([(bottom_x - half, float(shape.bottom)), (bottom_x + half, float(shape.bottom))])
    return draw_lines(image, lines, shape.pen)


def footed_one(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return flagged_one(image, rng, foot=True)


def crossed_seven(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A short bar across the stem about half-way down."""
    shape = measure(image)
    row = shape.top + shape.height * rng.uniform(0.45, 0.6)
    x = shape.column_at(image >= INK, round(row))
    half, tilt = shape.height * rng.uniform(0.16, 0.26), math.tan(math.radians(rng.uniform(-6, 6)))
    return draw_lines(image, [[(x - half, row + half * tilt), (x + half, row - half * tilt)]], shape.pen)


# digit -> (transform, share of that digit's training images); the rest stay plain
TAUGHT: dict[int, tuple[tuple[Transform, float], ...]] = {
    0: ((slashed_zero, 0.22), (dotted_zero, 0.06)),
    1: ((flagged_one, 0.15), (footed_one, 0.15)),
    7: ((crossed_seven, 0.25),),
}


def apply_conventions(
    rows: np.ndarray, labels: np.ndarray, seed: int, preprocessing: str
) -> tuple[np.ndarray, np.ndarray]:
    """A copy of prepared training ``rows`` (N, 784) with conventions drawn on a seeded share.

    Returns the new rows and the indices that changed. The changed digits go through
    ``mnist_as_trained`` again, so they are cropped, deskewed, scaled and centred exactly
    like every other training image.
    """
    from utils.preprocess import mnist_as_trained

    rng = np.random.default_rng([seed, 16])  # its own stream: other seeded draws stay as they were
    rows, labels = np.array(rows, np.float32), np.asarray(labels)
    changed, images = [], []
    for digit, transforms in TAUGHT.items():
        members = np.flatnonzero(labels == digit)
        draw = rng.random(len(members))
        start = 0.0
        for transform, share in transforms:
            for index in members[(draw >= start) & (draw < start + share)]:
                image = rows[index].reshape(IMAGE_SIDE, IMAGE_SIDE)
                if (image >= INK).sum() >= 4:  # nothing to measure on a near-blank digit
                    images.append(transform(image, rng))
                    changed.append(index)
            start += share
    if changed:
        pixels = np.round(np.clip(np.stack(images), 0.0, 1.0) * 255).astype(np.uint8)
        rows[changed] = mnist_as_trained(pixels, preprocessing).reshape(-1, N_PIXELS)
    return rows, np.array(changed, np.int64)


def with_conventions(data: MnistSplits, seed: int) -> MnistSplits:
    """``MnistSplits`` whose training split (only) carries the conventions."""
    rows, _ = apply_conventions(data.x_train, data.y_train, seed, data.preprocessing)
    return dataclasses.replace(data, x_train=rows)
