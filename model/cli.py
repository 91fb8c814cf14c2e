"""``python -m model``: train, evaluate and predict from the command line."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from collections.abc import Sequence
from datetime import datetime

from model.config import ACTIVATIONS, OPTIMIZERS, SCHEDULES, TrainingConfig
from model.storage import ModelStorageError, ModelStore, load_network

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up chatter off the terminal


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--models-dir", help="model storage folder (default: $MNIST_MODELS_DIR or ./saved_models)")
    parser = argparse.ArgumentParser(prog="python -m model", description="Train and use MNIST digit classifiers.")
    commands = parser.add_subparsers(dest="command", required=True)

    defaults = TrainingConfig()
    train = commands.add_parser("train", parents=[common], help="train a network and save it")
    train.add_argument("--layers", type=int, default=defaults.hidden_layers, help="hidden layers (1-8)")
    train.add_argument("--units", type=int, default=defaults.units, help="units per hidden layer (8-2048)")
    train.add_argument("--epochs", type=int, default=defaults.epochs)
    train.add_argument("--batch-size", type=int, default=defaults.batch_size)
    train.add_argument("--lr", type=float, default=defaults.learning_rate, help="learning rate")
    train.add_argument(
        "--optimizer", choices=OPTIMIZERS, default=defaults.optimizer, help="sgd is plain gradient descent"
    )
    train.add_argument(
        "--schedule", choices=SCHEDULES, default=defaults.schedule, help="learning rate: constant or cosine decay to 0"
    )
    train.add_argument("--activation", choices=ACTIVATIONS, default=defaults.activation)
    train.add_argument("--dropout", type=float, default=defaults.dropout)
    train.add_argument("--val-split", type=float, default=defaults.validation_fraction, help="validation fraction")
    train.add_argument("--seed", type=int, default=defaults.seed)
    train.add_argument(
        "--augment", action="store_true", help="distort training digits afresh every epoch (model/augment.py)"
    )
    train.add_argument("--name", help="name to save under (default: architecture and time)")
    train.add_argument("--max-train", type=int, help="use only the first N training images (quick runs)")
    train.add_argument("--max-test", type=int, help="score on only the first N test images")

    evaluate = commands.add_parser("evaluate", parents=[common], help="test accuracy and loss of a model")
    evaluate.add_argument("--model", help="saved model name or .keras path (default: the active model)")
    evaluate.add_argument("--json", action="store_true", help='one line: {"accuracy": ..., "loss": ...}')

    predict = commands.add_parser("predict", parents=[common], help="classify image files")
    predict.add_argument("files", nargs="+", metavar="FILE")
    predict.add_argument("--model", help="saved model name or .keras path (default: the active model)")
    predict.add_argument("--json", action="store_true", help="one JSON line per file")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    store = ModelStore(args.models_dir)
    try:
        return {"train": run_train, "evaluate": run_evaluate, "predict": run_predict}[args.command](args, store)
    except (ModelStorageError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def run_train(args: argparse.Namespace, store: ModelStore) -> int:
    from model.events import EpochEvent, TrainingEvent
    from model.training import train
    from utils.mnist import load_mnist

    config = TrainingConfig(
        hidden_layers=args.layers,
        units=args.units,
        activation=args.activation,
        dropout=args.dropout,
        optimizer=args.optimizer,
        learning_rate=args.lr,
        schedule=args.schedule,
        batch_size=args.batch_size,
        epochs=args.epochs,
        validation_fraction=args.val_split,
        seed=args.seed,
        augment=args.augment,
    )
    if args.name:
        name = store.check_new_name(args.name)  # refuse a taken name now, not after training
    else:
        name = store.unique_name(f"mlp-{config.architecture}-{datetime.now():%Y%m%d-%H%M%S}")
    store.check_writable()
    data = load_mnist(config.validation_fraction, config.seed, max_train=args.max_train, max_test=args.max_test)
    print(
        f"training {config.architecture} ({config.parameter_count:,} parameters) on {len(data.x_train):,} images, "
        f"validating on {len(data.x_val):,}",
        flush=True,
    )

    def report(event: TrainingEvent) -> None:
        if isinstance(event, EpochEvent):
            validation = (
                f"  val_loss {event.val_loss:.4f}  val_acc {event.val_accuracy:.2%}"
                if event.val_loss is not None
                else ""
            )
            partial = "" if event.complete else "  (stopped early)"
            print(
                f"epoch {event.epoch + 1:>3}/{event.epochs}  loss {event.loss:.4f}  acc {event.accuracy:.2%}"
                f"{validation}  {event.seconds:.1f} s{partial}",
                flush=True,
            )

    stop = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda *_: stop.set())  # first Ctrl-C: stop after this batch
    try:
        result = train(config, data, [report], stop)
    finally:
        signal.signal(signal.SIGINT, previous)
    if result.status == "diverged":
        print(f"error: {result.message}", file=sys.stderr)
        return 1
    print(result.message)
    info = store.save(result.model, name, result.metadata())
    print(f"test accuracy {result.test_accuracy:.2%} (loss {result.test_loss:.4f}) on {len(data.x_test):,} test images")
    print(f"saved as {info.name!r} in {info.path.parent}")
    return 0


def run_evaluate(args: argparse.Namespace, store: ModelStore) -> int:
    from model.inference import evaluate
    from utils.mnist import load_raw
    from utils.preprocess import mnist_as_trained

    info = store.resolve(args.model)
    name = info.name
    network = load_network(info.path, label=info.name)
    raw = load_raw()
    accuracy, loss = evaluate(network, mnist_as_trained(raw.x_test, info.preprocessing), raw.y_test)
    if args.json:
        print(json.dumps({"accuracy": accuracy, "loss": loss}))
    else:
        print(f"{name}: test accuracy {accuracy:.2%}, loss {loss:.4f} on {len(raw.y_test):,} images")
    return 0


def run_predict(args: argparse.Namespace, store: ModelStore) -> int:
    from model.inference import predict_probabilities
    from utils.image_io import read_image_file
    from utils.preprocess import ImageError, preprocess_digit

    info = store.resolve(args.model)
    network = load_network(info.path, label=info.name)
    failures = 0
    for path in args.files:
        try:
            digit_image = preprocess_digit(read_image_file(path), info.preprocessing)
        except ImageError as error:
            print(f"error: {error}", file=sys.stderr)
            failures += 1
            continue
        if digit_image is None:
            digit, probabilities = None, [0.0] * 10
        else:
            scores = predict_probabilities(network, digit_image)
            digit, probabilities = int(scores.argmax()), [round(float(p), 6) for p in scores]
        if args.json:
            print(json.dumps({"file": path, "digit": digit, "probabilities": probabilities}), flush=True)
        elif digit is None:
            print(f"{path}: nothing drawn", flush=True)
        else:
            print(f"{path}: {digit} ({probabilities[digit]:.1%})", flush=True)
    return 1 if failures else 0
