"""Latency of one prediction from a 280x280 RGBA canvas array: preprocessing + forward pass.

Compares the Draw page's path (the network read into NumPy by ``model.storage.dense_file``), the
project's Keras path (a traced ``tf.function``) and ``model.predict`` on the same input,
interleaved, and prints medians and p95 in milliseconds; then the batch throughput of
each on the 10,000 test images.

    MNIST_PATH=../shared/data/mnist.npz python -m bench.prediction_latency [--calls 1000]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=1000)
    args = parser.parse_args()

    from bench.measure import percentile
    from bench.strokes import SEVEN, render_canvas, scaled
    from model.net.inference import predict_probabilities
    from model.storage.dense_file import read_dense_network
    from model.storage.store import ModelStore
    from utils.preprocess import as_model_input, preprocess_digit

    store = ModelStore()
    network, arrays = store.load("default"), read_dense_network(store.get("default").path)
    canvas = render_canvas(scaled(SEVEN), pen=18)

    def numpy_path() -> int:
        return int(predict_probabilities(arrays, preprocess_digit(canvas)).argmax())

    def direct() -> int:
        return int(predict_probabilities(network, preprocess_digit(canvas)).argmax())

    def keras_predict() -> int:
        return int(network.predict(as_model_input(preprocess_digit(canvas)), verbose=0)[0].argmax())

    paths = {"NumPy (Draw page)": numpy_path, "traced tf.function": direct, "model.predict": keras_predict}
    for path in paths.values():  # warm-up: tracing, first allocations
        for _ in range(5):
            path()
    timings: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(args.calls):
        for name, path in paths.items():
            started = time.perf_counter()
            path()
            timings[name].append((time.perf_counter() - started) * 1000)
    for name, values in timings.items():
        median, p95 = np.median(values), percentile(values, 95)
        print(f"{name:24s} median {median:7.2f} ms   p95 {p95:7.2f} ms   n={len(values)}")
    print(f"digit predicted: {numpy_path()}")
    batch_throughput(network, arrays)


def batch_throughput(network, arrays, repeats: int = 5) -> None:
    """Images per second on the 10,000 test images: the NumPy path, the traced call and ``model.predict``."""
    from model.net.inference import predict_batch
    from utils.mnist import load_raw
    from utils.preprocess import mnist_as_trained

    rows = mnist_as_trained(load_raw().x_test)
    paths = {"NumPy (Draw page)": lambda: predict_batch(arrays, rows),
             "traced tf.function": lambda: predict_batch(network, rows),
             "model.predict": lambda: network.predict(rows, batch_size=2048, verbose=0)}  # fmt: skip
    seconds: dict[str, list[float]] = {name: [] for name in paths}
    for path in paths.values():
        path()  # warm-up
    for _ in range(repeats):
        for name, path in paths.items():
            started = time.perf_counter()
            path()
            seconds[name].append(time.perf_counter() - started)
    for name, values in seconds.items():
        print(f"{name:24s} {len(rows) / np.median(values):9,.0f} images/s (median of {repeats}, 10,000 test images)")


if __name__ == "__main__":
    main()
