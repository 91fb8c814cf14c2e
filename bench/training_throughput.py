"""Seconds per epoch of the reference network on full MNIST, several ways, interleaved.

A: the project's own path (``model.net.training.train`` with the live-curve listener the app uses);
B: the plain Keras tutorial way (``model.fit`` with default settings);
C: the same network in PyTorch (bench-only dependency: ``pip install -r bench/requirements.txt``);
D: A with "Augment training data" on (``--variants AD`` to compare the cost of augmentation);
J: A on Keras' JAX backend (``KERAS_BACKEND=jax``; needs ``pip install jax``).

Each path uses the GPU when its framework sees one (PyTorch: CUDA).

784-512-512-10, ReLU, dropout 0.2, batch 128, RMSprop 1e-3, 54,000 training and 6,000
validation images, validation scored every epoch in all of them. Each run is its own
process (A B C A B C ...); the first epoch (tracing, warm-up) is not counted. Also
reports test accuracy after the same number of epochs and each run's peak RSS.

    MNIST_PATH=../shared/data/mnist.npz python -m bench.training_throughput [--repeats 3 --epochs 4]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

from bench.appserver import PROJECT_ROOT

VARIANTS = {
    "A": "project train()",
    "B": "plain model.fit",
    "C": "PyTorch",
    "D": "A, augmented",
    "J": "A on JAX",
    "N": "A, nothing recorded inside",  # no gradient probes, no projection: what looking inside costs
}
BACKENDS = {"J": "jax"}  # Keras backend per variant; the others run on TensorFlow


def run_a(epochs: int, augment: bool = False, look_inside: bool = True) -> dict:
    from model.jobs.progress import TrainingProgress
    from model.net.config import TrainingConfig
    from model.net.data import load_mnist
    from model.net.events import EpochEvent
    from model.net.training import train

    config = TrainingConfig(epochs=epochs, augment=augment)
    data = load_mnist(config.validation_fraction, config.seed)
    progress = TrainingProgress()
    result = train(config, data, [progress], look_inside=look_inside)
    seconds = [event.seconds for event in progress.snapshot().epochs if isinstance(event, EpochEvent)]
    return {"epoch_seconds": seconds, "test_accuracy": result.test_accuracy}


def run_b(epochs: int) -> dict:
    import keras

    from model.net.data import load_mnist

    data = load_mnist(0.1, 0)
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((784,)),
            keras.layers.Dense(512, activation="relu"),
            keras.layers.Dropout(0.2),
            keras.layers.Dense(512, activation="relu"),
            keras.layers.Dropout(0.2),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(optimizer=keras.optimizers.RMSprop(), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    clock = EpochClock()
    model.fit(data.x_train, data.y_train, batch_size=128, epochs=epochs, validation_data=(data.x_val, data.y_val),
              verbose=0, callbacks=[clock.keras_callback()])  # fmt: skip
    _, accuracy = model.evaluate(data.x_test, data.y_test, verbose=0)
    return {"epoch_seconds": clock.seconds, "test_accuracy": float(accuracy)}


def run_c(epochs: int) -> dict:
    import torch
    from torch import nn

    from model.net.data import load_mnist

    torch.manual_seed(0)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    data = load_mnist(0.1, 0)
    x_train, y_train = torch.from_numpy(data.x_train).to(device), torch.from_numpy(data.y_train).to(device)
    model = nn.Sequential(
        nn.Linear(784, 512), nn.ReLU(), nn.Dropout(0.2),
        nn.Linear(512, 512), nn.ReLU(), nn.Dropout(0.2),
        nn.Linear(512, 10),
    ).to(device)  # fmt: skip
    optimizer = torch.optim.RMSprop(model.parameters(), lr=1e-3, alpha=0.9, eps=1e-7)  # Keras' RMSprop defaults
    loss_fn = nn.CrossEntropyLoss()

    def accuracy(x, y) -> float:
        model.eval()
        with torch.no_grad():
            return float((model(torch.from_numpy(x).to(device)).argmax(1).cpu() == torch.from_numpy(y)).float().mean())

    seconds = []
    for _ in range(epochs):
        started = time.perf_counter()
        model.train()
        order = torch.randperm(len(x_train), device=device)
        for start in range(0, len(order), 128):
            batch = order[start : start + 128]
            optimizer.zero_grad()
            loss = loss_fn(model(x_train[batch]), y_train[batch])
            loss.backward()
            optimizer.step()
        accuracy(data.x_val, data.y_val)
        seconds.append(time.perf_counter() - started)
    name = torch.cuda.get_device_name() if device == "cuda" else "cpu"
    return {"epoch_seconds": seconds, "test_accuracy": accuracy(data.x_test, data.y_test), "device": name}


class EpochClock:
    """Wall time of each epoch, validation included, for the plain Keras run."""

    def __init__(self) -> None:
        self.seconds: list[float] = []
        self._started = 0.0

    def keras_callback(self):
        import keras

        clock = self

        class Clock(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                clock._started = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                clock.seconds.append(time.perf_counter() - clock._started)

        return Clock()


def keras_device() -> str:
    """What Keras computes on in this process: its backend and first device."""
    import keras

    if keras.backend.backend() == "jax":
        import jax

        return f"jax {jax.devices()[0].device_kind}"
    import tensorflow as tf

    return f"tensorflow {'GPU' if tf.config.list_logical_devices('GPU') else 'CPU'}"


def child(variant: str, epochs: int) -> None:
    runners = {
        "A": run_a,
        "B": run_b,
        "C": run_c,
        "D": lambda epochs: run_a(epochs, augment=True),
        "J": run_a,
        "N": lambda epochs: run_a(epochs, look_inside=False),
    }
    result = runners[variant](epochs)
    if "device" not in result:  # the PyTorch run names its own
        result["device"] = keras_device()
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("RESULT " + json.dumps(result), flush=True)


RATIOS = [("A", "B", ""), ("A", "C", ""), ("D", "A", " (augmentation's cost per epoch)"),
          ("A", "N", " (the cost of gradient probes and projections)"),
          ("J", "A", " (JAX against TensorFlow)"), ("J", "C", "")]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=4, help="per run; the first is not timed")
    parser.add_argument("--variants", default="ABC")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.epochs)
        return

    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    runs: dict[str, list[dict]] = {variant: [] for variant in args.variants}
    for repeat in range(args.repeats):
        for variant in args.variants:
            command = [
                sys.executable,
                "-m",
                "bench.training_throughput",
                "--child",
                variant,
                "--epochs",
                str(args.epochs),
            ]
            backend = {"KERAS_BACKEND": BACKENDS.get(variant, "tensorflow")}
            done = subprocess.run(
                command, cwd=PROJECT_ROOT, env=env | backend, capture_output=True, text=True, check=False
            )
            if done.returncode:
                raise SystemExit(f"variant {variant} failed:\n{done.stderr[-3000:]}")
            line = next(line for line in done.stdout.splitlines() if line.startswith("RESULT "))
            runs[variant].append(json.loads(line[len("RESULT ") :]))
            timed = runs[variant][-1]["epoch_seconds"][1:]
            print(
                f"run {repeat + 1} {variant} ({VARIANTS[variant]}, {runs[variant][-1]['device']}): "
                f"{statistics.median(timed):.2f} s/epoch",
                flush=True,
            )

    medians = {}
    for variant, results in runs.items():
        per_epoch = [seconds for result in results for seconds in result["epoch_seconds"][1:]]
        medians[variant] = statistics.median(per_epoch)
        accuracy = statistics.median(result["test_accuracy"] for result in results)
        rss = max(result["peak_rss_mb"] for result in results)
        print(
            f"{variant} {VARIANTS[variant]:16s} {medians[variant]:5.2f} s/epoch (min {min(per_epoch):.2f}, "
            f"max {max(per_epoch):.2f}, n={len(per_epoch)})  test accuracy {accuracy:.2%}  peak RSS {rss:.0f} MB"
        )
    for first, second, meaning in RATIOS:
        if first in medians and second in medians:
            print(f"{first}/{second} = {medians[first] / medians[second]:.3f}{meaning}")


if __name__ == "__main__":
    main()
