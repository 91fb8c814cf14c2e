"""Memory of training: peak RSS for the reference network, and RSS across repeated trainings.

Trains the reference network (784-512-512-10) ``--runs`` times in one process, one epoch
each by default, and prints the resident set size after each run: a leak of models,
graphs or optimizer state shows up as steady growth.

    MNIST_PATH=../shared/data/mnist.npz python -m bench.memory [--runs 10 --epochs 1]
"""

from __future__ import annotations

import argparse
import gc
import os
import resource

from bench.measure import rss_mb

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=1)
    args = parser.parse_args()

    from model.net.config import TrainingConfig
    from model.net.data import load_mnist
    from model.net.training import train

    config = TrainingConfig(epochs=args.epochs)
    data = load_mnist(config.validation_fraction, config.seed)
    print(f"after loading MNIST: RSS {rss_mb():.0f} MB")
    after = []
    for run in range(args.runs):
        result = train(config, data)
        del result
        gc.collect()
        after.append(rss_mb())
        print(f"after training {run + 1:2d}: RSS {after[-1]:.0f} MB", flush=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    growth = f"; RSS growth from training 2 to {args.runs}: {after[-1] - after[1]:+.0f} MB" if args.runs > 2 else ""
    print(f"peak RSS {peak:.0f} MB{growth}")


if __name__ == "__main__":
    main()
