"""Digit conventions of other countries, drawn like the canvas: does a model read them?

A benchmark independent of the training generator (``model/net/conventions.py``): other
writers (MNIST **test** digits only, traced to their pen path as in
``bench/drawing_sets.py``), another resolution (strokes added on the 280x280 canvas in
round canvas pens, not on 28x28 images), other random ranges (slash angles, flag angles
and lengths, bar positions, curved strokes) and, for the open 4, no MNIST digit at all
but a two-stroke 4 from random proportions. Every canvas goes through the model's own
preprocessing, as on the Draw page. The plain sets are the same test digits without the
convention: they show what the convention costs, and that the plain forms keep working.

    MNIST_PATH=../shared/data/mnist.npz python -m bench.conventions --models /tmp/old-default.keras default
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
from collections.abc import Callable

import numpy as np

from bench.drawing_sets import MNIST_UPSCALE, DrawingSet, PenDrawing, balanced_indices, pen_drawings, place_strokes
from bench.strokes import render_canvas

Points = np.ndarray  # (K, 2) canvas points, (x, y)
Addition = Callable[[PenDrawing, np.random.Generator], list[Points]]


def curve(start: Points, end: Points, rng: np.random.Generator, bend: float = 0.06, count: int = 9) -> Points:
    """A hand-drawn straight line: bowed sideways by up to ``bend`` of its length."""
    start, end = np.asarray(start, float), np.asarray(end, float)
    t = np.linspace(0, 1, count)[:, None]
    along = end - start
    normal = np.array([-along[1], along[0]])
    return start + t * along + rng.uniform(-bend, bend) * np.sin(np.pi * t) * normal


def box(drawing: PenDrawing) -> tuple[np.ndarray, np.ndarray]:
    points = np.concatenate(drawing.strokes)
    return points.min(axis=0), points.max(axis=0)


def stem_x(drawing: PenDrawing, y: float) -> float:
    """The mean x of the pen path near height ``y``: the stem of a 1 or a 7 there."""
    points = np.concatenate(drawing.strokes)
    near = np.abs(points[:, 1] - y) <= max(drawing.pen, 4)
    return float(points[near, 0].mean()) if near.any() else float(points[:, 0].mean())


def slash(drawing: PenDrawing, rng: np.random.Generator) -> list[Points]:
    """Ø: a stroke through the middle leaning 10-55° right of vertical, ending 0-40 % past the oval."""
    low, high = box(drawing)
    centre, radius = (low + high) / 2, (high - low) / 2
    angle = math.radians(rng.uniform(10, 55))
    unit = np.array([math.sin(angle), -math.cos(angle)])
    reach = 1 / np.hypot(unit[0] / radius[0], unit[1] / radius[1])  # to the ellipse's edge along unit
    ends = [centre + unit * reach * rng.uniform(1.0, 1.4), centre - unit * reach * rng.uniform(1.0, 1.4)]
    return [curve(ends[0], ends[1], rng, bend=0.04)]


def dot(drawing: PenDrawing, rng: np.random.Generator) -> list[Points]:
    """A dot near the middle of the 0."""
    low, high = box(drawing)
    where = (low + high) / 2 + rng.uniform(-0.08, 0.08, 2) * (high - low)
    return [np.array([where, where + drawing.pen * 0.3])]


def flag(drawing: PenDrawing, rng: np.random.Generator) -> list[Points]:
    """The continental 1's flag: from the top down-left, 20-60° below horizontal, 25-60 % of the height."""
    low, high = box(drawing)
    height = high[1] - low[1]
    top = np.array([stem_x(drawing, low[1]), low[1]]) + rng.uniform(-0.04, 0.04, 2) * height
    angle, length = math.radians(rng.uniform(20, 60)), height * rng.uniform(0.25, 0.6)
    return [curve(top, top + length * np.array([-math.cos(angle), math.sin(angle)]), rng)]


def flag_and_foot(drawing: PenDrawing, rng: np.random.Generator) -> list[Points]:
    """The flag plus a base 25-70 % of the height wide, a little off-centre and tilted."""
    low, high = box(drawing)
    height = high[1] - low[1]
    middle = np.array([stem_x(drawing, high[1]) + rng.uniform(-0.08, 0.08) * height, high[1]])
    half, tilt = height * rng.uniform(0.12, 0.35), math.tan(math.radians(rng.uniform(-5, 5)))
    offset = np.array([half, half * tilt])
    foot = curve(middle - offset, middle + offset, rng, bend=0.03)
    return [*flag(drawing, rng), foot]


def crossbar(drawing: PenDrawing, rng: np.random.Generator) -> list[Points]:
    """A bar across the 7's stem at 35-65 % of its height, 25-60 % of the height wide, tilted up to 10°."""
    low, high = box(drawing)
    height = high[1] - low[1]
    y = low[1] + height * rng.uniform(0.35, 0.65)
    middle = np.array([stem_x(drawing, y) + rng.uniform(-0.05, 0.05) * height, y])
    half, tilt = height * rng.uniform(0.12, 0.3), math.tan(math.radians(rng.uniform(-10, 10)))
    offset = np.array([half, -half * tilt])
    return [curve(middle - offset, middle + offset, rng, bend=0.03)]


def open_four(rng: np.random.Generator) -> list[np.ndarray]:
    """A two-stroke open 4 in (row, col) units of its height: a left arm, sharp or rounded into the
    bar (the U-topped form that looks like an open 9), and a taller stem the bar may stop at."""
    width, arm_top, bar = rng.uniform(0.3, 0.6), rng.uniform(0.0, 0.25), rng.uniform(0.5, 0.7)
    lean = rng.uniform(-0.05, 0.1)  # the arm leans in towards the stem as it comes down
    stem, stem_top, slant = width * rng.uniform(0.7, 0.9), rng.uniform(-0.05, 0.1), rng.uniform(-0.05, 0.1)
    radius = rng.uniform(0.0, 0.2) if rng.random() < 0.5 else 0.0
    corner = [(bar - radius * math.cos(t), lean + radius * (1 - math.sin(t))) for t in np.linspace(0, math.pi / 2, 4)]
    end = stem + rng.uniform(-0.02, 0.25)
    arm = [(arm_top, 0.0), *corner, (bar + rng.uniform(-0.04, 0.04), end)]
    upright = [(stem_top, stem), (1.0, stem - slant)]

    def wobbly(points: list[tuple[float, float]]) -> np.ndarray:
        pieces = [np.linspace(a, b, 4, endpoint=False) for a, b in itertools.pairwise(points)]
        path = np.vstack([*pieces, points[-1]])
        return path + rng.normal(0, 0.006, path.shape)

    return [wobbly(arm), wobbly(upright)]


CONVENTIONS: dict[str, tuple[int, Addition]] = {
    "0 slashed": (0, slash),
    "0 dotted": (0, dot),
    "1 with flag": (1, flag),
    "1 with flag and foot": (1, flag_and_foot),
    "7 crossed": (7, crossbar),
}


def convention_sets(x_test: np.ndarray, y_test: np.ndarray, per_set: int = 200, seed: int = 16) -> list[DrawingSet]:
    """Each convention on ``per_set`` test digits, the same digits plain, and open and plain 4s."""
    index = balanced_indices(y_test, per_set, seed)
    drawings = pen_drawings(x_test[index], y_test[index], seed, MNIST_UPSCALE)
    sets = []

    def rng(name: str) -> np.random.Generator:  # one stream per set: changing one set leaves the others alone
        return np.random.default_rng([seed, *name.encode()])

    def make(name: str, items: list[tuple[list[Points], int]], digit: int) -> DrawingSet:
        canvases = np.stack([render_canvas(strokes, pen) for strokes, pen in items])
        return DrawingSet(name, canvases, np.full(len(items), digit, np.int64))

    for digit in (0, 1, 4, 7):
        plain = [d for d in drawings if d.label == digit]
        sets.append(make(f"{digit} plain", [(d.strokes, d.pen) for d in plain], digit))
        if digit == 4:
            draws = rng("4 open")
            fours = [place_strokes(open_four(draws), draws) for _ in plain]
            sets.append(make("4 open (two strokes)", fours, 4))
        for name, (taught, addition) in CONVENTIONS.items():
            if taught == digit:
                draws = rng(name)
                sets.append(make(name, [([*d.strokes, *addition(d, draws)], d.pen) for d in plain], digit))
    return sets


def main(argv: list[str] | None = None) -> None:
    from bench.drawing_accuracy import classify_canvases, load_classifier, score
    from model.storage.store import ModelStore
    from utils.mnist import load_raw

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["default"], help="saved model names or .keras paths")
    parser.add_argument("--models-dir", default=None, help="where saved models live (default: the app's)")
    parser.add_argument("--per-set", type=int, default=200, help="drawings per convention")
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--json", action="store_true", help="print the scores as JSON too")
    parser.add_argument("--save-examples", help="write a PNG of the first drawings of every set here")
    args = parser.parse_args(argv)
    raw = load_raw()
    sets = convention_sets(raw.x_test, raw.y_test, args.per_set, args.seed)
    if args.save_examples:
        import cv2

        rows = [np.hstack([c[::2, ::2, 0] for c in s.canvases[:10]]) for s in sets]
        cv2.imwrite(args.save_examples, np.vstack(rows))
    store, results = ModelStore(args.models_dir), {}
    print("| set | n | " + " | ".join(args.models) + " |\n|---|---|" + "---|" * len(args.models))
    scores = {name: load_classifier(name, store) for name in args.models}
    for drawings in sets:
        cells = []
        for name, model in scores.items():
            result = score(name, drawings.name, drawings.labels, classify_canvases(model, drawings))
            results.setdefault(name, {})[drawings.name] = result.accuracy
            said = ", ".join(f"→{p} ({n})" for _, p, n in result.confused[:2])
            cells.append(f"{100 * result.accuracy:.1f} %" + (f" ({said})" if said else ""))
        print(f"| {drawings.name} | {len(drawings.labels)} | " + " | ".join(cells) + " |")
    for name, by_set in results.items():
        taught = [value for key, value in by_set.items() if "plain" not in key]
        print(f"{name}: conventions mean {100 * np.mean(taught):.2f} %, plain mean "
              f"{100 * np.mean([v for k, v in by_set.items() if 'plain' in k]):.2f} %")  # fmt: skip
    if args.json:
        print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
