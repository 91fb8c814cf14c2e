"""``python -m model``: train, evaluate, predict and explain from the command line.

``predict``, ``evaluate`` and ``explain`` read plain Dense networks with NumPy
(``model.storage.dense_file``), so they answer without importing TensorFlow.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence

import numpy as np

from model.net.config import LIMITS, SETTINGS, Setting, TrainingConfig, shown
from model.net.events import Layer, LayerStatsEvent, dense_layer
from model.net.quiet import native_log_filtered
from model.storage.store import ModelLoadError, ModelStore, load_for_inference
from utils.errors import LabError, SettingsError
from utils.i18n import N_, Message
from utils.settings import MAX_TEST_RANGE, MAX_TRAIN_RANGE, read_settings, whole_number

os.environ.setdefault(
    "TF_CPP_MIN_LOG_LEVEL", "3"
)  # keep TensorFlow's start-up chatter (and CUDA errors on a CPU) off the terminal


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--models-dir", help="model storage folder (default: $MNIST_MODELS_DIR or ./saved_models)")
    parser = argparse.ArgumentParser(prog="python -m model", description="Train and use MNIST digit classifiers.")
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", parents=[common], help="train a network and save it")
    for setting in SETTINGS:
        add_setting_flag(train, setting)
    train.add_argument("--name", help="name to save under (default: architecture and time)")
    train.add_argument(
        "--max-train", type=whole_number_in("--max-train", MAX_TRAIN_RANGE), help="use only the first N training images"
    )
    train.add_argument(
        "--max-test", type=whole_number_in("--max-test", MAX_TEST_RANGE), help="score on the first N test images"
    )

    evaluate = commands.add_parser("evaluate", parents=[common], help="test accuracy and loss of a model")
    evaluate.add_argument("--model", help="saved model name or .keras path (default: the active model)")
    evaluate.add_argument("--json", action="store_true", help='one line: {"accuracy": ..., "loss": ...}')

    predict = commands.add_parser("predict", parents=[common], help="classify image files")
    predict.add_argument("files", nargs="+", metavar="FILE")
    predict.add_argument("--model", help="saved model name or .keras path (default: the active model)")
    predict.add_argument("--json", action="store_true", help="one JSON line per file")

    explain = commands.add_parser("explain", parents=[common], help="look inside the network for image files")
    explain.add_argument("files", nargs="+", metavar="FILE")
    explain.add_argument("--model", help="saved model name or .keras path (default: the active model)")
    explain.add_argument(
        "--versus", type=int, choices=range(10), metavar="DIGIT", help="attribute predicted minus this digit"
    )
    explain.add_argument("--json", action="store_true", help="one JSON object per file (see README)")

    learn = commands.add_parser(
        "learn", parents=[common], help="teach a copy of a model your own drawings (DIR/0/*.png ... DIR/9/*.png)"
    )
    learn.add_argument("folder", metavar="DIR", help="a folder with sub-folders 0 to 9 of digit images")
    learn.add_argument("--model", help="saved model name or .keras path to start from (default: the active model)")
    learn.add_argument("--name", help="name to save the taught copy under (default: <base>+mine)")
    learn.add_argument("--no-replay", action="store_true", help="teach on the drawings only, without MNIST replay")
    learn.add_argument("--last-layer-only", action="store_true", help="change only the output layer's weights")
    learn.add_argument(
        "--max-test", type=whole_number_in("--max-test", MAX_TEST_RANGE), help="score MNIST on the first N test images"
    )
    learn.add_argument("--json", action="store_true", help="one JSON object with the before/after scores")
    return parser


def add_setting_flag(parser: argparse.ArgumentParser, setting: Setting) -> None:
    """One training setting as a flag (with its older aliases), its range and help from the registry."""
    if setting.kind is bool:
        parser.add_argument(*setting.flags, dest=setting.field, action="store_true", help=setting.help)
        return
    parser.add_argument(
        *setting.flags,
        dest=setting.field,
        type=setting.kind,
        default=setting.default,
        choices=list(setting.options) if setting.options else None,
        metavar=None if setting.options else setting.kind.__name__.upper(),
        help=f"{setting.label} ({_allowed(setting)}; default {setting.default}). {setting.help}".replace("%", "%%"),
    )


def _allowed(setting: Setting) -> str:
    """What a setting allows: its names, or its range."""
    if setting.options is not None:
        return ", ".join(setting.options)
    return "{} to {}".format(*map(shown, LIMITS[setting.field])) if setting.field in LIMITS else "on or off"


def whole_number_in(flag: str, limits: tuple[int, int]) -> Callable[[str], int]:
    """An argparse type: a whole number within ``limits``, refused up front with the range."""

    def parse(raw: str) -> int:
        try:
            return whole_number(flag, raw, *limits)
        except SettingsError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return parse


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        read_settings()  # a bad environment setting stops here, in one line
        store = ModelStore(args.models_dir)
        commands = {
            "train": run_train,
            "evaluate": run_evaluate,
            "predict": run_predict,
            "explain": run_explain,
            "learn": run_learn,
        }
        with native_log_filtered():  # TensorFlow's native start-up lines, for train and learn
            return commands[args.command](args, store)
    except LabError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def run_train(args: argparse.Namespace, store: ModelStore) -> int:
    from model.net.data import load_mnist
    from model.net.events import EpochEvent, TrainingEvent
    from model.net.training import train

    config = TrainingConfig(**{setting.field: getattr(args, setting.field) for setting in SETTINGS})
    name = store.name_for(config, args.name)  # a taken name is refused now, not after training
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
        elif isinstance(event, LayerStatsEvent) and (event.step == 0 or event.end_of_epoch):
            print(gradient_line(event), flush=True)

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
    info = store.save(result.model, name, result.metadata(), result.extras())
    print(f"test accuracy {result.test_accuracy:.2%} (loss {result.test_loss:.4f}) on {len(data.x_test):,} test images")
    print(f"saved as {info.name!r} in {info.path.parent}")
    return 0


def gradient_line(event: LayerStatsEvent) -> str:
    """Per-layer gradient norms on one line, and how much smaller the first layer's is than the last hidden one's."""
    norms = event.gradient_norms
    when = "before training" if event.step == 0 else f"after epoch {event.step // event.batches_per_epoch}"
    parts = "  ".join(f"{_layer(dense_layer(i, len(norms)))} {norm:.2e}" for i, norm in enumerate(norms))
    line = f"gradient norm per layer {when}: {parts}"
    if len(norms) > 2 and norms[0] > 0:
        line += f"  (last hidden / first: {norms[-2] / norms[0]:,.1f}x)"
    return line


def _layer(layer: Layer) -> str:
    return "output" if layer.is_output else f"hidden {layer.number}"


def _counted(count: int, word: str) -> str:
    """'1 drawing', '3 drawings', never 'drawing(s)'."""
    return f"{count:,} {word if count == 1 else word + 's'}"


def run_evaluate(args: argparse.Namespace, store: ModelStore) -> int:
    from model.net.inference import evaluate
    from utils.mnist import load_raw
    from utils.preprocess import mnist_as_trained

    info = store.resolve(args.model)
    network = load_for_inference(info.path, label=info.name)
    raw = load_raw()
    accuracy, loss = evaluate(network, mnist_as_trained(raw.x_test, info.metadata.preprocessing), raw.y_test)
    if args.json:
        print(json.dumps({"accuracy": accuracy, "loss": loss}))
    else:
        print(f"{info.name}: test accuracy {accuracy:.2%}, loss {loss:.4f} on {len(raw.y_test):,} images")
    return 0


def read_digits(paths: Sequence[str], preprocessing: str) -> Iterator[tuple[str, np.ndarray | None]]:
    """(path, 28x28 input or None when blank) per readable file; the others are reported on stderr and skipped."""
    from utils.image_io import read_image_file
    from utils.preprocess import preprocess_digit

    for path in paths:
        try:
            yield path, preprocess_digit(read_image_file(path), preprocessing)
        except LabError as error:  # unreadable, not an image, or pixels that are not numbers
            message = str(error)
            print(f"error: {message if message.startswith(path) else f'{path}: {message}'}", file=sys.stderr)


def run_predict(args: argparse.Namespace, store: ModelStore) -> int:
    from model.net.inference import predict_probabilities

    info = store.resolve(args.model)
    network = load_for_inference(info.path, label=info.name)
    answered = 0
    for path, digit_image in read_digits(args.files, info.metadata.preprocessing):
        answered += 1
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
    return 0 if answered == len(args.files) else 1


def run_explain(args: argparse.Namespace, store: ModelStore) -> int:
    from model.inside.explain import integrated_gradients
    from model.storage.dense_file import DenseNetwork

    info = store.resolve(args.model)
    network = load_for_inference(info.path, label=info.name)
    if not isinstance(network, DenseNetwork):
        raise ModelLoadError(
            Message(
                N_("explain needs a plain stack of Dense layers; {name} is another kind of network"),
                name=repr(info.name),
            )
        )
    answered = 0
    for path, digit_image in read_digits(args.files, info.metadata.preprocessing):
        answered += 1
        record: dict[str, object] = {"file": path, "digit": None}
        if digit_image is not None:
            kept = network.trace(digit_image.reshape(-1))
            digit = int(kept.probabilities.argmax())
            versus = args.versus if args.versus is not None and args.versus != digit else None
            attribution = integrated_gradients(network, kept.inputs, digit, versus)
            record |= {
                "digit": digit,
                "versus": versus,
                "probabilities": kept.probabilities.tolist(),
                "logits": kept.logits.tolist(),
                "input": kept.inputs.tolist(),
                "hidden": [layer.tolist() for layer in kept.hidden],
                "attribution": attribution.attribution.tolist(),
                "attribution_target": attribution.target_delta,
            }
        if args.json:
            print(json.dumps(record), flush=True)
        elif digit_image is None:
            print(f"{path}: nothing drawn", flush=True)
        else:
            print(
                f"{path}: {digit}; attribution sums to {attribution.attribution.sum():.4f}, "
                f"target change {attribution.target_delta:.4f}",
                flush=True,
            )
    return 0 if answered == len(args.files) else 1


def run_learn(args: argparse.Namespace, store: ModelStore) -> int:
    """Teach a copy of a model the drawings in DIR/0 ... DIR/9 and save it; the parent is never changed."""
    from utils.drawings import DrawingsError, read_digit_folder

    base = store.resolve(args.model)
    name = store.check_new_name(args.name) if args.name else store.unique_name(f"{base.name}+mine")
    store.check_writable()
    drawings, problems = read_digit_folder(args.folder, base.metadata.preprocessing)
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    if not drawings:
        raise DrawingsError(
            Message(
                N_("{folder}: no usable drawing; put digit images in sub-folders named 0 to 9 (e.g. {example})"),
                folder=args.folder,
                example=os.path.join(args.folder, "7", "a.png"),
            )
        )

    from model.jobs.finetune import TeachOptions, load_parent, teach
    from model.net.events import EpochEvent, TrainingEvent

    options = TeachOptions(
        replay=not args.no_replay, last_layer_only=args.last_layer_only, mnist_test_size=args.max_test
    )

    def report(event: TrainingEvent) -> None:
        if isinstance(event, EpochEvent) and not args.json:
            print(
                f"epoch {event.epoch + 1:>3}/{event.epochs}  loss {event.loss:.4f}  acc {event.accuracy:.2%}",
                flush=True,
            )

    if not args.json:
        print(f"teaching {base.name!r} {_counted(len(drawings), 'drawing')} from {args.folder}", flush=True)
    stop = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda *_: stop.set())  # first Ctrl-C: stop after this batch
    try:
        result = teach(*load_parent(store, args.model), drawings, options, [report], stop)
    finally:
        signal.signal(signal.SIGINT, previous)
    if result.status == "diverged":
        print(f"error: {result.message}", file=sys.stderr)
        return 1
    from model.jobs.finetune import save_taught

    saved, blocked = save_taught(store, result, name)
    info = store.get(saved)
    if blocked:
        print(f"warning: {blocked}", file=sys.stderr)
    held = {"before": result.yours_before, "after": result.yours_after} if result.held_out else None
    if args.json:
        record = {
            "name": info.name,
            "base": base.name,
            "examples": result.examples,
            "held_out": result.held_out,
            "seconds": round(result.seconds, 3),
            "mnist": {"before": result.mnist_before, "after": result.mnist_after},
            "yours": held,
            "active": store.active().name == info.name,
        }
        print(json.dumps(record), flush=True)
        return 0
    print(result.message)
    if held is not None:
        print(
            f"your {_counted(result.held_out, 'held-out drawing')}: "
            f"{held['before']:.0%} right before, {held['after']:.0%} after"
        )
    else:
        print("too few drawings to hold any out for an honest before/after score")
    print(f"saved as {info.name!r} in {info.path.parent}")
    return 0
