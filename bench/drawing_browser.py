"""The drawing benchmark through the real app: strokes drawn with the mouse in Chromium.

MNIST test digits, traced into pen strokes (``bench/drawing_sets.py``), are drawn on the
Draw page's canvas with the mouse, one after another, and the digit the page shows
under **Prediction** is read back. This is the whole path a user's drawing takes:
the canvas' own rendering, the 280x280 RGBA array it sends, preprocessing and the
network. The pen is the page's default (20 px); size and place vary. Run:

    MNIST_PATH=../shared/data/mnist.npz python -m bench.drawing_browser --per-class 10
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.appserver import CHROMIUM, CHROMIUM_FLAGS, draw_on_canvas, running_app
from bench.drawing_accuracy import HEADER, score
from bench.drawing_sets import CANVAS, MNIST_UPSCALE, PenDrawing, balanced_indices, pen_drawings
from utils.mnist import load_raw

PROMPT = "Draw a digit (0-9) in the black box"
DEFAULT_PEN = 20


def read_prediction(page, timeout_s: float = 15, settle_ms: int = 600) -> int | None:
    """The digit under **Prediction** once it has not changed for ``settle_ms``, or None.

    The page answers each stroke as it is finished, so a digit of several strokes shows
    answers for its first strokes on the way; only the settled answer counts.
    """
    metric = page.locator("[data-testid=stMetric]").filter(has_text="Prediction")
    deadline = time.monotonic() + timeout_s
    value, since = None, time.monotonic()
    while time.monotonic() < deadline:
        text = metric.first.locator("[data-testid=stMetricValue]").inner_text().strip() if metric.count() else ""
        current = int(text) if text.isdigit() else None
        if current != value:
            value, since = current, time.monotonic()
        elif value is not None and (time.monotonic() - since) * 1000 >= settle_ms:
            return value
        page.wait_for_timeout(50)
    return value


def _thinned(stroke: np.ndarray, every: int = 4) -> np.ndarray:
    """Every few points of a traced stroke, ends kept: the mouse need not stop at every pixel."""
    return stroke if len(stroke) <= 2 else np.concatenate([stroke[:-1:every], stroke[-1:]])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-class", type=int, default=10, help="drawings of each digit (default 10)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--model", help="a .keras file (its .json beside it) to draw with instead of the default")
    args = parser.parse_args(argv)
    raw = load_raw()
    index = balanced_indices(raw.y_test, args.per_class, args.seed)
    drawings = pen_drawings(raw.x_test[index], raw.y_test[index], args.seed, upscale=MNIST_UPSCALE)
    with tempfile.TemporaryDirectory() as folder:
        if args.model:  # the only saved model of a fresh app is its active one
            (Path(folder) / "models").mkdir()
            for suffix in (".keras", ".json"):
                shutil.copy(Path(args.model).with_suffix(suffix), Path(folder) / "models" / f"benchmarked{suffix}")
        said, labels, seconds = draw_all(Path(folder), drawings)
    missing = sum(value is None for value in said)
    print(f"{len(drawings)} drawings in {seconds:.0f} s; {missing} without a prediction\n")
    predicted = np.array([-1 if value is None else value for value in said])
    print(HEADER)
    print(score(args.model or "default", "browser strokes", np.array(labels), predicted).row())


def draw_all(folder: Path, drawings: list[PenDrawing]) -> tuple[list[int | None], list[int], float]:
    """Draw each digit on a fresh app's Draw page; what it said, the truth, and the seconds it took."""
    from playwright.sync_api import sync_playwright

    labels, said = [], []
    with running_app(folder) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{url}/draw")
        page.get_by_text(PROMPT).wait_for(timeout=60_000)
        draw_on_canvas(page, [[(0.5, 0.2), (0.5, 0.8)]])  # a first stroke wakes the canvas up; not counted
        read_prediction(page)
        page.get_by_role("button", name="Reset canvas & history").click()
        page.get_by_text(PROMPT).wait_for(timeout=20_000)
        started = time.perf_counter()
        for drawing in drawings:
            strokes = [[(x / CANVAS, y / CANVAS) for x, y in _thinned(stroke)] for stroke in drawing.strokes]
            draw_on_canvas(page, strokes, steps=1)
            labels.append(drawing.label)
            said.append(read_prediction(page))
            page.get_by_role("button", name="Reset canvas & history").click()
            page.get_by_text(PROMPT).wait_for(timeout=20_000)
        browser.close()
    return said, labels, time.perf_counter() - started


if __name__ == "__main__":
    main()
