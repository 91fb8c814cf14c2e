"""What several test files share besides fixtures: paths and drawing on a canvas."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bench.strokes import render_canvas

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHARED_MNIST = PROJECT_ROOT.parent / "shared" / "data" / "mnist.npz"


def draw_canvas(size: int = 280, strokes=(((140, 60), (140, 220)),), width: int = 18, rgba: bool = True) -> np.ndarray:
    """A canvas like the app's (``bench.strokes.render_canvas``): strokes of pixel points, a vertical 1 by default."""
    return render_canvas(strokes, pen=width, size=size, rgba=rgba)
