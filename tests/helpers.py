"""What several test files share besides fixtures: paths and drawing on a canvas."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np

from bench.strokes import render_canvas

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHARED_MNIST = PROJECT_ROOT.parent / "shared" / "data" / "mnist.npz"


def draw_canvas(size: int = 280, strokes=(((140, 60), (140, 220)),), width: int = 18, rgba: bool = True) -> np.ndarray:
    """A canvas like the app's (``bench.strokes.render_canvas``): strokes of pixel points, a vertical 1 by default."""
    return render_canvas(strokes, pen=width, size=size, rgba=rgba)


def in_a_thread(function: Callable[[], object], seconds: float = 10.0) -> dict:
    """Run ``function`` in a daemon thread: ``value`` or ``error``, and ``blocked`` if it still runs after ``seconds``.

    A call that blocks (a FIFO opened for reading) then fails its test instead of hanging the run.
    """
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["value"] = function()
        except BaseException as error:
            outcome["error"] = error

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    outcome["blocked"] = thread.is_alive()
    return outcome
