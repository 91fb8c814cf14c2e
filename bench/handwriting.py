"""Does "Learn from your handwriting" learn a writer's style, and does MNIST survive it?

Writers the network has never seen, built from material in this repo. Each writer has
ALLOGRAPHS ways of writing each digit (the pen paths of MNIST test digits, i.e. writers
outside the training set, as ``bench.drawing_sets`` redraws them like the canvas), draws
every digit as one of them with natural variation (a slight turn, slant, squash and
wobble; any size and place on the canvas), and has a systematic style of their own: a
very wide hand, a loop at the start of every stroke, scikit-learn's blocky 8x8 digits
(another 43 writers), a continental hand (crossed 7, slashed 0, a 1 with a long flag and
a foot, a 4 closed at the top), a boxy hand (straight strokes, square corners), a narrow
backhand, a shaky hand, a hand turned far to the right with a thick pen. No two writers
share a source digit. ``--hands many`` instead draws every drawing from a different MNIST
hand that shares only the style: the network must then learn the style apart from the
hand, which is much harder and is reported separately.

For each writer: teach 3 drawings per digit (30; the method holds 15 % of them out for
its own before/after score, as Teachable Machine does), score that writer's OTHER
drawings (40 per digit) before and after, and MNIST test (all 10,000) before and after.
Reported: mean per-writer error before/after (goal: a third or less), the MNIST drop
(goal: at most 0.3 points), the variants "my drawings only" (no replay: MNIST should
visibly suffer) and "last layer only", and the wall time of one ``python -m model learn``
of 30 drawings, process start-up included (goal: at most 30 s).

The method's knobs were chosen on the three TUNING writers only (``--sweep`` replays that
search); the five REPORT writers' results after teaching were not looked at until the
choice was made. Both are reported.

    MNIST_PATH=../shared/data/mnist.npz python -m bench.handwriting --seeds 3            # the report
    MNIST_PATH=../shared/data/mnist.npz python -m bench.handwriting --sweep --seeds 2    # the knob search
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from bench.drawing_sets import MNIST_UPSCALE, pen_skeleton, skeleton_strokes
from bench.strokes import CANVAS, render_canvas
from utils.drawings import Drawing, drawing_from_image

PROJECT_ROOT = Path(__file__).resolve().parent.parent
Strokes = list[np.ndarray]  # (K, 2) arrays of (row, col) points
Style = Callable[[Strokes, int, np.random.Generator], Strokes]
TEACH_PER_DIGIT = 3
SCORE_PER_DIGIT = 40
ALLOGRAPHS = 2  # ways a writer has of writing each digit


# -- styles: systematic changes to a pen path ---------------------------------------


def _box(strokes: Strokes) -> tuple[np.ndarray, np.ndarray]:
    points = np.concatenate(strokes)
    return points.min(axis=0), points.max(axis=0)


def _about_centre(strokes: Strokes, matrix: np.ndarray) -> Strokes:
    low, high = _box(strokes)
    centre = (low + high) / 2
    return [(stroke - centre) @ matrix.T + centre for stroke in strokes]


def stretch(factor: float) -> Style:
    """Width times ``factor`` (rows, cols): a wide or a narrow hand."""
    return lambda strokes, label, rng: _about_centre(strokes, np.diag([1.0, factor * rng.uniform(0.9, 1.1)]))


def rotate(degrees: float) -> Style:
    """The whole digit turned (positive: leaning right), which deskewing only partly undoes."""

    def style(strokes: Strokes, label: int, rng: np.random.Generator) -> Strokes:
        angle = math.radians(degrees * rng.uniform(0.85, 1.15))
        cos, sin = math.cos(angle), math.sin(angle)
        return _about_centre(strokes, np.array([[cos, sin], [-sin, cos]]))

    return style


def continental(strokes: Strokes, label: int, rng: np.random.Generator) -> Strokes:
    """A crossed 7, a slashed 0, a 1 with a long flag and a foot, and a 4 closed at the top."""
    low, high = _box(strokes)
    height, width = max(high[0] - low[0], 1.0), max(high[1] - low[1], 1.0)
    jitter = rng.uniform(-0.05, 0.05, 4) * height
    if label == 7:
        row = low[0] + height * 0.55 + jitter[0]
        near = np.concatenate(strokes)
        near = near[np.abs(near[:, 0] - row) < height * 0.12]
        col = near[:, 1].mean() if len(near) else (low[1] + high[1]) / 2
        half = max(0.3 * width, 0.22 * height)
        return [*strokes, np.array([[row + jitter[1] * 0.3, col - half], [row - jitter[1] * 0.3, col + half]])]
    if label == 0:
        return [*strokes, np.array([[high[0] + 0.05 * height, low[1] - 0.05 * width + jitter[0]],
                                    [low[0] - 0.05 * height, high[1] + 0.05 * width + jitter[1]]])]  # fmt: skip
    if label == 1:
        points = np.concatenate(strokes)
        top, bottom = points[points[:, 0].argmin()], points[points[:, 0].argmax()]
        flag = np.array([top, top + np.array([0.35 * height + jitter[0], -0.3 * height + jitter[1]])])
        foot = bottom + np.array([[0, -0.25 * height + jitter[2]], [0, 0.25 * height + jitter[3]]])
        return [flag, *strokes, foot]
    if label == 4:  # closed at the top: the left arm's top joined to the stem's top
        points = np.concatenate(strokes)
        middle = (low[1] + high[1]) / 2
        left, right = points[points[:, 1] < middle], points[points[:, 1] >= middle]
        if len(left) and len(right):
            return [*strokes, np.array([left[left[:, 0].argmin()], right[right[:, 0].argmin()]])]
    return strokes


def boxy(strokes: Strokes, label: int, rng: np.random.Generator) -> Strokes:
    """Straight strokes with square corners: each stroke simplified, each slanted line made an L."""
    boxed = []
    for stroke in strokes:
        if len(stroke) < 3:
            boxed.append(stroke)
            continue
        corners = cv2.approxPolyDP(stroke[:, None, :].astype(np.float32), 6.0, False)[:, 0, :].astype(np.float64)
        path = [corners[0]]
        for point in corners[1:]:
            previous = path[-1]
            if rng.random() < 0.5:
                path.append(np.array([previous[0], point[1]]))  # across, then down
            else:
                path.append(np.array([point[0], previous[1]]))  # down, then across
            path.append(point)
        boxed.append(np.array(path))
    return boxed


def _resampled(stroke: np.ndarray, step: float = 1.0) -> np.ndarray:
    if len(stroke) < 2:
        return stroke
    lengths = np.r_[0.0, np.cumsum(np.hypot(*np.diff(stroke, axis=0).T))]
    if lengths[-1] == 0:
        return stroke[:1]
    at = np.arange(0.0, lengths[-1] + step / 2, step)
    return np.column_stack([np.interp(at, lengths, stroke[:, axis]) for axis in (0, 1)])


def shaky(strokes: Strokes, label: int, rng: np.random.Generator) -> Strokes:
    """A trembling hand: every stroke wobbles sideways, a few pixels, several times along its length."""
    wobbly = []
    for stroke in strokes:
        path = _resampled(stroke)
        if len(path) < 3:
            wobbly.append(path)
            continue
        along = np.gradient(path, axis=0)
        normal = np.column_stack([-along[:, 1], along[:, 0]])
        normal /= np.maximum(np.linalg.norm(normal, axis=1, keepdims=True), 1e-6)
        wave = 7.0 * np.sin(np.arange(len(path)) * 2 * math.pi / rng.uniform(9, 14) + rng.uniform(0, 2 * math.pi))
        wobbly.append(path + normal * wave[:, None])
    return wobbly


def curly(strokes: Strokes, label: int, rng: np.random.Generator) -> Strokes:
    """A flourish: every stroke begins with a small loop."""
    low, high = _box(strokes)
    radius = 0.11 * max(high[0] - low[0], 1.0) * rng.uniform(0.8, 1.2)
    looped = []
    for stroke in strokes:
        path = _resampled(stroke)
        if len(path) < 6:
            looped.append(path)
            continue
        start, heading = path[0], path[min(5, len(path) - 1)] - path[0]
        heading = heading / max(np.linalg.norm(heading), 1e-6)
        side = np.array([-heading[1], heading[0]]) * (1 if rng.random() < 0.5 else -1)
        centre = start + side * radius
        first = math.atan2(*(start - centre))
        turn = np.linspace(0, 2 * math.pi, 24) * (1 if rng.random() < 0.5 else -1)
        loop = centre + radius * np.column_stack([np.sin(first + turn), np.cos(first + turn)])
        looped.append(np.vstack([loop, path]))
    return looped


def combined(*styles: Style) -> Style:
    def style(strokes: Strokes, label: int, rng: np.random.Generator) -> Strokes:
        for one in styles:
            strokes = one(strokes, label, rng)
        return strokes

    return style


@dataclass(frozen=True)
class Writer:
    """A simulated person: a style applied to their pen paths, and their pen."""

    name: str
    style: Style | None  # None: sklearn's 8x8 digits, whose blockiness is the style
    pen: tuple[int, int]
    role: str  # "tuning" (knobs were chosen on these) or "report"
    about: str


WRITERS = (
    Writer("wide", stretch(2.4), (14, 20), "tuning", "every digit 2.4x as wide"),
    Writer("curly", curly, (12, 18), "tuning", "every stroke starts with a small loop"),
    Writer("sklearn-8x8", None, (14, 22), "tuning", "scikit-learn's 8x8 digits, enlarged"),
    Writer("continental", continental, (14, 20), "report", "crossed 7, slashed 0, 1 with flag and foot, closed 4"),
    Writer("boxy", boxy, (14, 20), "report", "straight strokes, square corners"),
    Writer("narrow-backhand", combined(stretch(0.45), rotate(-30)), (12, 18), "report", "narrow, leaning left"),
    Writer("shaky", shaky, (12, 16), "report", "trembling strokes"),
    Writer("far-right", combined(rotate(35), stretch(1.2)), (20, 28), "report", "turned 35 deg right, thick pen"),
)


# -- drawings -----------------------------------------------------------------------


def place(strokes: Strokes, pen: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Strokes scaled to a random height (35-80 % of the canvas) and moved anywhere on it, as (x, y)."""
    low, high = _box(strokes)
    span = np.maximum(high - low, 1.0)
    height = rng.uniform(0.35, 0.8) * CANVAS
    scale = min((height - pen) / span[0], (CANVAS * 0.92 - pen) / span[1])
    size = span * scale + pen
    top = rng.uniform(0, max(CANVAS - size[0], 0)) + pen / 2
    left = rng.uniform(0, max(CANVAS - size[1], 0)) + pen / 2
    return [np.column_stack([left + (s[:, 1] - low[1]) * scale, top + (s[:, 0] - low[0]) * scale]) for s in strokes]


def natural_variation(strokes: Strokes, rng: np.random.Generator) -> Strokes:
    """How one person's drawings of the same digit differ: a slight turn, slant and squash, and a gentle wobble."""
    low, high = _box(strokes)
    height = max(high[0] - low[0], 1.0)
    angle, shear, aspect = math.radians(rng.uniform(-8, 8)), rng.uniform(-0.15, 0.15), rng.uniform(0.85, 1.15)
    cos, sin = math.cos(angle), math.sin(angle)
    matrix = np.array([[cos, sin], [-sin, cos]]) @ np.array([[1.0, 0.0], [shear, aspect]])
    turned = _about_centre([_resampled(stroke, 2.0) for stroke in strokes], matrix)
    waves, phases = height * rng.uniform(0.8, 1.6, 2), rng.uniform(0, 2 * math.pi, 2)
    amplitude = 0.03 * height

    def wobble(points: np.ndarray) -> np.ndarray:
        rows = amplitude * np.sin(2 * math.pi * points[:, 1] / waves[0] + phases[0])
        cols = amplitude * np.sin(2 * math.pi * points[:, 0] / waves[1] + phases[1])
        return points + np.column_stack([rows, cols])

    return [wobble(stroke) for stroke in turned]


def pen_paths(image: np.ndarray, sklearn: bool) -> Strokes:
    upscale, threshold = (8, 0.4) if sklearn else (MNIST_UPSCALE, 0.5)
    big = cv2.resize(image.astype(np.float32), None, fx=upscale, fy=upscale, interpolation=cv2.INTER_LINEAR)
    return skeleton_strokes(pen_skeleton(big, threshold))


def draw(writer: Writer, strokes: Strokes, label: int, rng: np.random.Generator) -> np.ndarray:
    """The writer's style applied to a pen path, drawn with the writer's pen on a canvas."""
    if writer.style is not None:
        strokes = writer.style(strokes, label, rng)
    pen = int(rng.integers(writer.pen[0], writer.pen[1] + 1))
    return render_canvas(place(strokes, pen, rng), pen)


def writer_canvases(writer: Writer, images: np.ndarray, labels: np.ndarray, hands: str, seed: int):
    """The writer's drawings: 3 to teach and ``SCORE_PER_DIGIT`` to score, per digit, digit-interleaved.

    ``hands="own"``: like a real person, the writer has ALLOGRAPHS ways of writing each
    digit (pen paths of their own MNIST test digits) and every drawing is one of them
    with natural variation. ``hands="many"``: every drawing is a different MNIST hand,
    sharing only the style (much harder: the style must be learned apart from the hand).
    """
    rng = np.random.default_rng(seed)
    sklearn = writer.style is None
    per_digit = len(labels) // 10
    canvases = []
    if hands == "many":
        return [
            draw(writer, pen_paths(image, sklearn), int(label), rng)
            for image, label in zip(images, labels, strict=True)
        ]
    ways = {
        int(label): [pen_paths(image, sklearn) for image in images[labels == label][:ALLOGRAPHS]] for label in range(10)
    }
    for _ in range(per_digit):
        for digit in range(10):
            way = ways[digit][int(rng.integers(len(ways[digit])))]
            canvases.append(draw(writer, natural_variation(way, rng), digit, rng))
    return canvases


@dataclass(frozen=True)
class WriterSet:
    """One writer's 30 drawings to teach and their other drawings to score."""

    writer: Writer
    teach: list[Drawing]
    score_x: np.ndarray  # (N, 784), the base model's preprocessing
    score_y: np.ndarray


def source_digits(raw, sklearn_digits, writer_index: int, writer: Writer, per_digit: int, seed: int):
    """The writer's own digits: a block of MNIST test images per digit, disjoint from other writers'."""
    images, labels = sklearn_digits if writer.style is None else (raw.x_test, raw.y_test)
    rng = np.random.default_rng(seed)
    chosen = []
    for digit in range(10):
        pool = rng.permutation(np.flatnonzero(labels == digit))  # the same order for every writer...
        chosen.append(pool[writer_index * per_digit : (writer_index + 1) * per_digit])  # ...cut in disjoint blocks
    order = np.stack(chosen, axis=1).ravel()  # digit-interleaved: 0 1 2 ... 9 0 1 ...
    return images[order], labels[order]


def build_writer_set(
    writer: Writer, index: int, raw, sklearn_digits, preprocessing: str, score_per_digit: int, hands: str
) -> WriterSet:
    per_digit = TEACH_PER_DIGIT + score_per_digit
    images, labels = source_digits(raw, sklearn_digits, index, writer, per_digit, seed=123)
    canvases = writer_canvases(writer, images, labels, hands, seed=1000 + index)
    labels = np.tile(np.arange(10), per_digit)
    drawings = [
        drawing_from_image(canvas, int(label), "bench", preprocessing, time="2026-01-01T00:00:00")
        for canvas, label in zip(canvases, labels, strict=True)
    ]
    teach, score = drawings[: 10 * TEACH_PER_DIGIT], drawings[10 * TEACH_PER_DIGIT :]
    score_x = np.stack([d.pixels.ravel() for d in score]).astype(np.float32)
    return WriterSet(writer, teach, score_x, np.array([d.label for d in score], np.int64))


def build_writer_sets(names: list[str], preprocessing: str, score_per_digit: int, hands: str) -> list[WriterSet]:
    from sklearn.datasets import load_digits

    from utils.mnist import load_raw

    raw, digits = load_raw(), load_digits()
    sklearn_digits = (digits.images, digits.target)
    chosen = [(index, writer) for index, writer in enumerate(WRITERS) if writer.name in names]
    return [build_writer_set(w, i, raw, sklearn_digits, preprocessing, score_per_digit, hands) for i, w in chosen]


def contact_sheet(sets: list[WriterSet], path: Path) -> None:
    """One row per writer: the 30 drawings it teaches, as the network sees them (for checking the styles)."""
    rows = [np.hstack([d.pixels for d in ws.teach]) for ws in sets]
    cv2.imwrite(str(path), np.round(np.vstack(rows) * 255).astype(np.uint8))


# -- measuring ----------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    writer: str
    role: str
    seed: int
    error_before: float  # on the writer's other drawings
    error_after: float
    mnist_before: float
    mnist_after: float
    yours_before: float | None  # the method's own held-out score (a few drawings)
    yours_after: float | None
    seconds: float
    epochs: int


def error(network, x: np.ndarray, y: np.ndarray) -> float:
    from model.net.inference import predict_batch

    return float(np.mean(predict_batch(network, x).argmax(axis=1) != y))


def run_writer(parent, base, ws: WriterSet, options, mnist) -> Outcome:
    from model.jobs.finetune import teach

    before = error(parent, ws.score_x, ws.score_y)
    result = teach(parent, base, ws.teach, options, mnist=mnist)
    return Outcome(
        ws.writer.name, ws.writer.role, options.seed, before, error(result.network, ws.score_x, ws.score_y),
        result.mnist_before, result.mnist_after, result.yours_before, result.yours_after,
        round(result.seconds, 2), result.epochs,
    )  # fmt: skip


def summarise(outcomes: list[Outcome]) -> dict[str, float]:
    """Means per writer first (over seeds), then over writers; the MNIST drop over every run."""
    writers = sorted({o.writer for o in outcomes})

    def per_writer(value: Callable[[Outcome], float]) -> float:
        return statistics.mean(statistics.mean(value(o) for o in outcomes if o.writer == w) for w in writers)

    before, after = per_writer(lambda o: o.error_before), per_writer(lambda o: o.error_after)
    drops = [o.mnist_before - o.mnist_after for o in outcomes]
    return {
        "writers": len(writers),
        "runs": len(outcomes),
        "error_before": round(before, 4),
        "error_after": round(after, 4),
        "after_over_before": round(after / before, 3) if before else math.nan,
        "mnist_drop_mean_points": round(100 * statistics.mean(drops), 3),
        "mnist_drop_max_points": round(100 * max(drops), 3),
        "epochs_median": statistics.median(o.epochs for o in outcomes),
        "seconds_median": round(statistics.median(o.seconds for o in outcomes), 2),
    }


def run_variant(label: str, parent, base, sets: list[WriterSet], options, mnist, seeds: int) -> dict:
    outcomes = [
        run_writer(parent, base, ws, replace(options, seed=seed), mnist) for seed in range(seeds) for ws in sets
    ]
    report: dict = {"variant": label}
    for role in ("tuning", "report"):
        chosen = [o for o in outcomes if o.role == role]
        if chosen:
            report[role] = summarise(chosen)
    print(json.dumps(report), flush=True)
    for o in outcomes:
        print(
            f"  {o.writer:16} seed {o.seed}  error {o.error_before:6.1%} -> {o.error_after:6.1%}   "
            f"MNIST {o.mnist_before:.2%} -> {o.mnist_after:.2%}   {o.epochs:2} epochs {o.seconds:4.1f} s",
            flush=True,
        )
    return {**report, "outcomes": [o.__dict__ for o in outcomes]}


# -- the command line end to end ----------------------------------------------------


def write_digit_folder(drawings: list[Drawing], folder: Path) -> None:
    """The drawings as ``folder/<digit>/NNN.png``, the layout ``python -m model learn`` reads."""
    for index, drawing in enumerate(drawings):
        (folder / str(drawing.label)).mkdir(parents=True, exist_ok=True)
        (folder / str(drawing.label) / f"{index:03d}.png").write_bytes(drawing.png)


def time_cli(drawings: list[Drawing], runs: int) -> list[dict]:
    """Wall and CPU seconds of ``python -m model learn DIR --json`` (a fresh process each time)."""
    timings = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "mine"
        write_digit_folder(drawings, folder)
        for run in range(runs):
            env = {**os.environ, "MNIST_MODELS_DIR": str(Path(tmp) / f"models{run}")}
            started, cpu = time.perf_counter(), os.times()
            done = subprocess.run(
                [sys.executable, "-m", "model", "learn", str(folder), "--json"],
                capture_output=True, text=True, cwd=PROJECT_ROOT, env=env, timeout=600, check=False,
            )  # fmt: skip
            wall, after = time.perf_counter() - started, os.times()
            if done.returncode != 0:
                raise RuntimeError(f"learn failed: {done.stderr[-2000:]}")
            record = json.loads(done.stdout.strip().splitlines()[-1])
            cpu_s = (after.children_user - cpu.children_user) + (after.children_system - cpu.children_system)
            timings.append({"wall_s": round(wall, 2), "cpu_s": round(cpu_s, 2), "reported": record})
            print(json.dumps(timings[-1]), flush=True)
    return timings


# -- main ---------------------------------------------------------------------------

VARIANTS = {
    "method": {},
    "no-replay": {"replay": False},
    "last-layer-only": {"last_layer_only": True},
}
FIRST_GUESS = {"learning_rate_factor": 0.1, "replay_ratio": 4.0, "batch_size": 64}  # the research notes' numbers


def sweep_grid(chosen) -> list[tuple[str, object]]:
    """What was tried on the tuning writers: the first guess, the choice, and one knob at a time around it."""
    grid = [("first guess " + json.dumps(FIRST_GUESS), replace(chosen, **FIRST_GUESS)), ("chosen", chosen)]
    for name, values in {
        "learning_rate_factor": (0.1, 1.0),
        "replay_ratio": (4.0, 16.0),
        "copies": (8, 32),
        "batch_size": (64,),
        "patience": (1, 6),
    }.items():
        grid += [(f"{name}={value}", replace(chosen, **{name: value})) for value in values]
    return grid


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="default", help="base model (default: the pretrained one)")
    parser.add_argument("--writers", default=",".join(w.name for w in WRITERS))
    parser.add_argument("--hands", default="own", choices=("own", "many"), help="see writer_canvases")
    parser.add_argument("--score-per-digit", type=int, default=SCORE_PER_DIGIT)
    parser.add_argument("--seeds", type=int, default=1, help="teach each writer with seeds 0..N-1")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--cli-runs", type=int, default=3, help="timed `python -m model learn` runs (0: none)")
    parser.add_argument("--sweep", action="store_true", help="the knob search, on the tuning writers")
    parser.add_argument(
        "--set", action="append", default=[], metavar="OPTION=JSON", help="change a TeachOptions field, e.g. patience=6"
    )
    parser.add_argument("--sheet", type=Path, help="write the taught drawings of every writer to this PNG")
    parser.add_argument("--json", type=Path, help="write everything measured to this file")
    args = parser.parse_args(argv)

    from model.jobs.finetune import TeachOptions, mnist_reference, options_summary
    from model.storage.store import ModelStore

    store = ModelStore(tempfile.mkdtemp(prefix="handwriting-models-"))
    base, parent = store.resolve(args.model), store.load(args.model)
    names = [name for name in args.writers.split(",") if name]
    if args.sweep:
        names = [w.name for w in WRITERS if w.role == "tuning" and w.name in names]
    started = time.perf_counter()
    sets = build_writer_sets(names, base.metadata.preprocessing, args.score_per_digit, args.hands)
    print(f"built {len(sets)} writers ({args.hands} hands) in {time.perf_counter() - started:.1f} s", flush=True)
    if args.sheet:
        contact_sheet(sets, args.sheet)
    options = replace(TeachOptions(), **{key: json.loads(value) for key, value in (o.split("=", 1) for o in args.set)})
    mnist = mnist_reference(base.metadata.preprocessing, options)
    results: dict = {"options": options_summary(options), "hands": args.hands, "variants": [], "cli": []}
    if args.sweep:
        grid = sweep_grid(options)
    else:
        grid = [(label, replace(options, **VARIANTS[label])) for label in args.variants.split(",") if label]
    for label, tried in grid:
        results["variants"].append(run_variant(label, parent, base, sets, tried, mnist, args.seeds))
    if args.cli_runs and not args.sweep:
        results["cli"] = time_cli(sets[0].teach, args.cli_runs)
        walls = sorted(t["wall_s"] for t in results["cli"])
        print(f"`python -m model learn` of 30 drawings: wall {walls}, median {statistics.median(walls):.1f} s")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
