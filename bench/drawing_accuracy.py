"""How well models read canvas drawings: accuracy per digit and the most confused pairs.

Scores each model on the drawing sets of ``bench/drawing_sets.py`` through the same path
as the app and ``python -m model predict`` (the model's own preprocessing, then the
network), and on the MNIST test set for comparison. Run:

    MNIST_PATH=../shared/data/mnist.npz python -m bench.drawing_accuracy --models default
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np

from bench.drawing_sets import DrawingSet, mnist_skeleton_set, sklearn_set
from model.inside.analysis import confusion_matrix
from utils.mnist import load_raw

if TYPE_CHECKING:
    import keras

    from model.storage.store import ModelStore

    Classifier = tuple[keras.Model, str]  # a network and the preprocessing version it needs


@dataclass(frozen=True)
class Score:
    """One model on one set of images."""

    model: str
    data: str
    images: int
    accuracy: float
    per_class: list[float]
    confused: list[tuple[int, int, int]]  # (true, predicted, count), most frequent first

    def row(self) -> str:
        worst = min(range(10), key=lambda digit: self.per_class[digit])
        pairs = ", ".join(f"{true}→{predicted} ({count})" for true, predicted, count in self.confused[:3])
        classes = " ".join(f"{100 * value:.0f}" for value in self.per_class)
        return (
            f"| {self.model} | {self.data} | {self.images} | **{100 * self.accuracy:.2f} %** | "
            f"{classes} | {worst}: {100 * self.per_class[worst]:.1f} % | {pairs} |"
        )


HEADER = (
    "| model | images | n | accuracy | per digit 0-9 (%) | worst digit | most confused (true→said) |\n"
    "|---|---|---|---|---|---|---|"
)


def score(model: str, data: str, labels: np.ndarray, predicted: np.ndarray) -> Score:
    """Accuracy, per-class recall and the top confusions of ``predicted`` against ``labels``.

    A prediction of -1 (no answer) counts as wrong and confuses with nothing.
    """
    labels, predicted = np.asarray(labels), np.asarray(predicted)
    answered = predicted >= 0
    matrix = confusion_matrix(labels[answered], predicted[answered])
    per_class = [float(matrix[digit, digit] / max(np.sum(labels == digit), 1)) for digit in range(10)]
    off = [(int(t), int(p), int(matrix[t, p])) for t in range(10) for p in range(10) if t != p and matrix[t, p]]
    off.sort(key=lambda item: -item[2])
    return Score(model, data, len(labels), float(np.trace(matrix) / max(len(labels), 1)), per_class, off[:5])


def classify_canvases(model: Classifier, drawings: DrawingSet) -> np.ndarray:
    """Predicted digits for canvases, through the model's own preprocessing."""
    from model.net.inference import predict_batch
    from utils.preprocess import preprocess_digit

    network, preprocessing = model
    digits = [preprocess_digit(canvas, preprocessing) for canvas in drawings.canvases]
    blank = np.zeros((28, 28), np.float32)
    rows = np.stack([blank if digit is None else digit for digit in digits])
    return predict_batch(network, rows).argmax(axis=1)


def classify_mnist_test(model: Classifier, images: np.ndarray) -> np.ndarray:
    from model.net.inference import predict_batch
    from utils.preprocess import mnist_as_trained

    network, preprocessing = model
    return predict_batch(network, mnist_as_trained(images, preprocessing)).argmax(axis=1)


def load_classifier(name_or_path: str, store: ModelStore) -> Classifier:
    """A saved model (name, or ``.keras`` path with its ``.json`` beside it) and its preprocessing."""
    from model.storage.store import load_network

    info = store.resolve(name_or_path)
    return load_network(info.path, label=info.name), info.metadata.preprocessing


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--models", nargs="+", default=["default"], help="saved model names or .keras paths (default: default)"
    )
    parser.add_argument("--models-dir", default=None, help="where saved models live (default: the app's)")
    parser.add_argument("--per-class", type=int, default=300, help="MNIST-skeleton drawings per digit")
    parser.add_argument("--sklearn-limit", type=int, default=None, help="use only the first N sklearn digits")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print the scores as JSON too")
    args = parser.parse_args(argv)
    from model.storage.store import ModelStore

    store = ModelStore(args.models_dir)
    raw = load_raw()
    started = time.perf_counter()
    sets = [
        mnist_skeleton_set(raw.x_test, raw.y_test, args.per_class, args.seed),
        sklearn_set(args.seed, args.sklearn_limit),
    ]
    print(f"made {sum(len(s.labels) for s in sets)} drawings in {time.perf_counter() - started:.1f} s\n")
    scores = []
    for name in args.models:
        model = load_classifier(name, store)
        scores.append(score(name, "MNIST test", raw.y_test, classify_mnist_test(model, raw.x_test)))
        scores += [score(name, s.name, s.labels, classify_canvases(model, s)) for s in sets]
    print(HEADER)
    for item in scores:
        print(item.row())
    if args.json:
        print(json.dumps([asdict(item) for item in scores], indent=1))


if __name__ == "__main__":
    main()
