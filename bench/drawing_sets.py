"""Canvas-like drawings made from other people's digits, for judging the Draw page offline.

Rendering MNIST pixels onto a canvas as they are would flatter the model: it would see
its own training distribution. Instead each digit is reduced to its pen path (a
one-pixel skeleton) and drawn again the way the canvas draws: a white, round-capped,
anti-aliased stroke of a random pen width on an opaque black 280x280 canvas, the digit
35-85 % of the canvas high and anywhere on it. Two sources of writers:

- ``mnist-skeleton``: MNIST test digits (writers never seen in training);
- ``sklearn-8x8``: scikit-learn's 1,797 8x8 digits from 43 other writers, upscaled first.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from bench.strokes import CANVAS, render_canvas

HEIGHT_RANGE = (0.35, 0.85)  # of the canvas height
PEN_RANGE = (12, 28)  # pixels
MNIST_UPSCALE = 4  # skeletons of 28x28 digits are traced at 112x112


@dataclass(frozen=True)
class DrawingSet:
    """Canvas arrays (N, 280, 280, 4) uint8 with their true digits."""

    name: str
    canvases: np.ndarray
    labels: np.ndarray


def pen_skeleton(shape: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """A digit image of any size to its one-pixel pen path (bool), via scikit-image."""
    from skimage.morphology import skeletonize

    image = shape.astype(np.float32)
    image = image / image.max() if image.max() > 0 else image
    return skeletonize(image >= threshold)


def skeleton_strokes(skeleton: np.ndarray) -> list[np.ndarray]:
    """Trace a one-pixel skeleton into pen strokes: (K, 2) arrays of (row, col) points.

    Walks from line ends first, then round any loops, until every link between
    neighbouring skeleton pixels has been drawn once; a lone pixel is a dot.
    """
    on = set(zip(*(axis.tolist() for axis in np.nonzero(skeleton)), strict=True))

    def neighbours(pixel: tuple[int, int]) -> list[tuple[int, int]]:
        row, col = pixel
        around = [(row + dr, col + dc) for dr in (-1, 0, 1) for dc in (-1, 0, 1) if dr or dc]
        return [other for other in around if other in on]

    unused = {frozenset((pixel, other)) for pixel in on for other in neighbours(pixel)}
    strokes = []
    starts = sorted(on, key=lambda pixel: (len(neighbours(pixel)) != 1, pixel))  # line ends first
    for start in starts:
        while any(frozenset((start, other)) in unused for other in neighbours(start)):
            path, here = [start], start
            while True:
                step = next((o for o in neighbours(here) if frozenset((here, o)) in unused), None)
                if step is None:
                    break
                unused.discard(frozenset((here, step)))
                path.append(step)
                here = step
            strokes.append(np.array(path, np.float64))
        if not neighbours(start):
            strokes.append(np.array([start], np.float64))
    return strokes


def place_strokes(strokes: list[np.ndarray], rng: np.random.Generator) -> tuple[list[np.ndarray], int]:
    """Strokes scaled and moved to a random size and place on the canvas, as (x, y) points, and a pen width."""
    pen = int(rng.integers(PEN_RANGE[0], PEN_RANGE[1] + 1))
    points = np.concatenate(strokes)
    low, span = points.min(axis=0), np.maximum(np.ptp(points, axis=0), 1.0)
    height = rng.uniform(*HEIGHT_RANGE) * CANVAS
    scale = min((height - pen) / span[0], (CANVAS * 0.95 - pen) / span[1])
    size = span * scale + pen
    top, left = rng.uniform(0, CANVAS - size[0]) + pen / 2, rng.uniform(0, CANVAS - size[1]) + pen / 2
    placed = [np.column_stack([left + (s[:, 1] - low[1]) * scale, top + (s[:, 0] - low[0]) * scale]) for s in strokes]
    return placed, pen


@dataclass(frozen=True)
class PenDrawing:
    """One digit as pen strokes of (x, y) canvas points, the pen width and the true digit."""

    strokes: list[np.ndarray]
    pen: int
    label: int

    def canvas(self) -> np.ndarray:
        return render_canvas(self.strokes, self.pen)


def pen_drawings(
    images: np.ndarray, labels: np.ndarray, seed: int, upscale: int, threshold: float = 0.5
) -> list[PenDrawing]:
    """Skeletonise each image (after ``upscale``-fold bilinear enlargement) into strokes placed at random."""
    rng = np.random.default_rng(seed)
    drawings = []
    for image, label in zip(images, labels, strict=True):
        big = cv2.resize(image.astype(np.float32), None, fx=upscale, fy=upscale, interpolation=cv2.INTER_LINEAR)
        skeleton = pen_skeleton(big, threshold)
        if skeleton.any():
            strokes, pen = place_strokes(skeleton_strokes(skeleton), rng)
            drawings.append(PenDrawing(strokes, pen, int(label)))
    return drawings


def redraw(
    images: np.ndarray, labels: np.ndarray, name: str, seed: int, upscale: int, threshold: float = 0.5
) -> DrawingSet:
    """The images redrawn as canvases (see ``pen_drawings``)."""
    drawings = pen_drawings(images, labels, seed, upscale, threshold)
    canvases = np.stack([drawing.canvas() for drawing in drawings])
    return DrawingSet(name, canvases, np.array([drawing.label for drawing in drawings], np.int64))


def balanced_indices(labels: np.ndarray, per_class: int, seed: int) -> np.ndarray:
    """``per_class`` random indices of each digit, in a fixed shuffled order."""
    rng = np.random.default_rng(seed)
    chosen = [rng.choice(np.flatnonzero(labels == digit), per_class, replace=False) for digit in range(10)]
    order = np.concatenate(chosen)
    rng.shuffle(order)
    return order


def mnist_skeleton_set(x_test: np.ndarray, y_test: np.ndarray, per_class: int = 300, seed: int = 0) -> DrawingSet:
    """MNIST test digits redrawn as pen strokes."""
    index = balanced_indices(y_test, per_class, seed)
    return redraw(x_test[index], y_test[index], "mnist-skeleton", seed, upscale=MNIST_UPSCALE)


def sklearn_set(seed: int = 0, limit: int | None = None) -> DrawingSet:
    """scikit-learn's 8x8 digits (43 writers), enlarged 8x and redrawn as pen strokes."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images, labels = digits.images[:limit], digits.target[:limit]
    return redraw(images, labels, "sklearn-8x8", seed, upscale=8, threshold=0.4)
