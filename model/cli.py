"""``python -m model``: train, evaluate, predict and explain from the command line.

``predict``, ``evaluate`` and ``explain`` read plain Dense networks with NumPy
(``model.storage.dense_file``), so they answer without importing TensorFlow.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import dataclasses
import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import numpy as np

from model.classroom.classes import Classroom, check_allowed
from model.classroom.db import ClassroomError, Database, database_path
from model.classroom.limits import Limits
from model.net.config import ACTIVATIONS, LIMITS, OPTIMIZERS, SETTING, SETTINGS, Setting, TrainingConfig, shown
from model.net.events import EpochEvent, Layer, LayerStatsEvent, dense_layer
from model.net.quiet import native_log_filtered
from model.storage.store import ModelLoadError, ModelStore, load_for_inference
from utils.errors import LabError, SettingsError
from utils.i18n import N_, Message
from utils.settings import MAX_TEST_RANGE, MAX_TRAIN_RANGE, read_settings, whole_number

if TYPE_CHECKING:
    from model.net.training import TrainingResult

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
    train.add_argument("--class", dest="class_code", metavar="CODE", help="train as a student of this class")
    train.add_argument("--student", help="the student's display name in the class (joins if new)")
    train.add_argument("--json", action="store_true", help="one JSON object: name, test_accuracy, ...")

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

    default = commands.add_parser(
        "default", parents=[common], help="make a saved model the server's default (what a new visitor uses)"
    )
    default.add_argument("name", metavar="NAME", help="a saved model's name")
    add_class_commands(commands, common)
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
            "default": run_default,
            "class": run_class,
        }
        with native_log_filtered():  # TensorFlow's native start-up lines, for train and learn
            return commands[args.command](args, store)
    except LabError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def run_train(args: argparse.Namespace, store: ModelStore) -> int:
    from model.net.data import load_mnist
    from model.net.events import TrainingEvent
    from model.net.training import train

    config = TrainingConfig(**{setting.field: getattr(args, setting.field) for setting in SETTINGS})
    name = store.name_for(config, args.name)  # a taken name is refused now, not after training
    store.check_writable()
    seat = (
        ClassRun.start(store, args.class_code, args.student, config, args.max_train)
        if args.class_code or args.student
        else None
    )
    max_train = seat.max_train if seat else args.max_train
    data = load_mnist(config.validation_fraction, config.seed, max_train=max_train, max_test=args.max_test)
    if not args.json:
        print(
            f"training {config.architecture} ({config.parameter_count:,} parameters) on {len(data.x_train):,} "
            f"images, validating on {len(data.x_val):,}",
            flush=True,
        )

    def report(event: TrainingEvent) -> None:
        if isinstance(event, EpochEvent) and seat:
            seat.epoch_done(event)
        if args.json:
            return
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
        if result.status == "diverged":
            print(f"error: {result.message}", file=sys.stderr)
            if seat:
                seat.ended("failed")
            return 1
        info = store.save(result.model, name, result.metadata(), result.extras(), as_default=seat is None)
    except BaseException:
        if seat:
            seat.ended("failed")
        raise
    finally:
        signal.signal(signal.SIGINT, previous)
    if seat:
        seat.saved(info.name, result)
    if args.json:
        record = {
            "name": info.name,
            "status": result.status,
            "test_accuracy": result.test_accuracy,
            "test_loss": result.test_loss,
            "val_accuracy": result.history["val_accuracy"][-1] if result.history.get("val_accuracy") else None,
            "epochs_completed": result.epochs_completed,
            "seconds": round(result.seconds, 3),
            "training_images": len(data.x_train),
            "class": seat.code if seat else None,
            "student": seat.student if seat else None,
        }
        print(json.dumps(record), flush=True)
        return 0
    print(result.message)
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


def run_default(args: argparse.Namespace, store: ModelStore) -> int:
    """The server owner's explicit act: every new browser session starts with this model (theirs stay as chosen)."""
    store.set_active(args.name)  # an unknown or damaged model is refused with the reason
    print(f"the server's default model is now {store.active().name!r}")
    return 0


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

    saved, blocked = save_taught(store, result, name, as_default=True)
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


def add_class_commands(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """``python -m model class create|board|limits``: a class on this server, without the browser."""
    group = commands.add_parser("class", help="classes on this server: create, board, limits")
    actions = group.add_subparsers(dest="class_command", required=True)
    create = actions.add_parser("create", parents=[common], help="create a class: its join code and teacher link")
    create.add_argument("name", metavar="NAME")
    create.add_argument("--app-url", default=APP_URL, help=f"the app's address in the teacher link (default {APP_URL})")
    create.add_argument("--json", action="store_true", help="one JSON object: code, teacher_key, teacher_link")
    board = actions.add_parser("board", parents=[common], help="every run of a class")
    board.add_argument("code", metavar="CODE")
    shape = board.add_mutually_exclusive_group()
    shape.add_argument("--json", action="store_true", help="a JSON list of runs (accuracies as fractions)")
    shape.add_argument("--csv", action="store_true", help="CSV with a header row")
    limits = actions.add_parser("limits", parents=[common], help="show or change a class's limits and goal")
    limits.add_argument("code", metavar="CODE")
    limits.add_argument("--teacher-key", required=True, metavar="KEY")
    for flag in ("--max-hidden-layers", "--max-units", "--max-epochs", "--max-train"):
        limits.add_argument(flag, type=int, metavar="N", help="at most N (0: no limit)")
    limits.add_argument("--activations", metavar="A,B", help=f"allowed activations, of {','.join(ACTIVATIONS)}")
    limits.add_argument("--optimizers", metavar="A,B", help=f"allowed optimizers, of {','.join(OPTIMIZERS)}")
    limits.add_argument(
        "--fix", action="append", default=[], metavar="NAME=VALUE", help="a setting everyone uses (repeatable)"
    )
    limits.add_argument("--goal", help="the challenge, in your words")
    limits.add_argument("--clear", action="store_true", help="remove every limit first")


APP_URL = "http://localhost:8501"
BOARD_COLUMNS = (
    "id", "student", "status", "model", "epoch", "epochs", "val_accuracy", "test_accuracy", "seconds", "started",
    "updated", "settings",
)  # fmt: skip


def _classroom(store: ModelStore) -> Classroom:
    return Classroom(Database(database_path(store.root)))


def run_class(args: argparse.Namespace, store: ModelStore) -> int:
    classroom = _classroom(store)
    if args.class_command == "create":
        info, key = classroom.create(args.name)
        link = f"{args.app_url.rstrip('/')}/class?{urlencode({'class': info.code, 'teacher': key})}"
        if args.json:
            print(json.dumps({"code": info.code, "name": info.name, "teacher_key": key, "teacher_link": link}))
        else:
            print(f"class {info.name!r}: students join with the code {info.code}")
            print(f"teacher key (shown only now; keep it): {key}")
            print(f"teacher link: {link}")
        return 0
    if args.class_command == "board":
        runs = [{column: getattr(run, column) for column in BOARD_COLUMNS} for run in classroom.board(args.code)]
        if args.json:
            print(json.dumps(runs))
        elif args.csv:
            writer = csv.DictWriter(sys.stdout, BOARD_COLUMNS)
            writer.writeheader()
            writer.writerows({**run, "settings": json.dumps(run["settings"])} for run in runs)
        else:
            for run in runs:
                accuracy = "" if run["test_accuracy"] is None else f"  test accuracy {run['test_accuracy']:.2%}"
                print(f"{run['id']:>4}  {run['student']}  {run['status']}  {run['model'] or ''}{accuracy}")
        return 0
    limits = _changed_limits(args, Limits() if args.clear else classroom.get(args.code).limits)
    classroom.set_limits(args.code, args.teacher_key, limits)
    for line in limits.describe() or [Message(N_("no limits"))]:
        print(line)
    return 0


def _changed_limits(args: argparse.Namespace, limits: Limits) -> Limits:
    """``limits`` with what the flags say (0: no limit; a flag not given keeps its limit)."""
    changes: dict[str, Any] = {}
    for field in ("max_hidden_layers", "max_units", "max_epochs", "max_train"):
        value = getattr(args, field)
        if value is not None:
            changes[field] = value or None
    for field in ("activations", "optimizers"):
        value = getattr(args, field)
        if value is not None:
            changes[field] = tuple(name.strip() for name in value.split(",") if name.strip()) or None
    if args.fix:
        changes["fixed"] = {**limits.fixed, **dict(map(_fixed_setting, args.fix))}
    if args.goal is not None:
        changes["goal"] = args.goal
    return dataclasses.replace(limits, **changes)


def _fixed_setting(text: str) -> tuple[str, object]:
    """``batch_size=64`` (or ``batch-size=64``) as the setting's own kind."""
    name, _, raw = text.partition("=")
    field = name.strip().replace("-", "_")
    if field not in SETTING or not raw.strip():
        problem = N_("--fix takes NAME=VALUE with NAME one of {names}, got {value}")
        raise ClassroomError(Message(problem, names=list(SETTING), value=repr(text)))
    kind = SETTING[field].kind
    raw = raw.strip()
    try:
        if kind is bool:
            return field, {"true": True, "on": True, "1": True, "false": False, "off": False, "0": False}[raw.lower()]
        return field, kind(raw)
    except (KeyError, ValueError):
        problem = N_("--fix {name}: {value} is not a {kind}")
        raise ClassroomError(Message(problem, name=field, value=repr(raw), kind=kind.__name__)) from None


@dataclasses.dataclass
class ClassRun:
    """A CLI training recorded on its class's board: allowed first, then its epochs and outcome; the model is
    the student's."""

    classroom: Classroom
    code: str
    student: str
    run_id: int
    max_train: int | None
    history: dict[str, list[float]] = dataclasses.field(default_factory=lambda: {"loss": [], "val_loss": []})

    @classmethod
    def start(
        cls, store: ModelStore, code: str | None, student: str | None, config: TrainingConfig, max_train: int | None
    ) -> ClassRun:
        """Refuse what the class does not allow (naming the limit) before any work; join as ``student`` if new."""
        if not code or not student:
            raise ClassroomError(Message(N_("--class and --student go together")))
        classroom = _classroom(store)
        check_allowed(classroom, code, config, max_train)
        info = classroom.get(code)
        folded = " ".join(student.split()).casefold()
        known = {name.casefold(): name for name in classroom.students(code)}
        name = known.get(folded) or classroom.join(code, student, CLI_SESSION)
        run_id = classroom.start_run(info.code, name, config.to_dict())
        return cls(classroom, info.code, name, run_id, info.limits.train_slice(max_train))

    def epoch_done(self, event: EpochEvent) -> None:
        for key, value in (("loss", event.loss), ("val_loss", event.val_loss)):
            if value is not None:
                self.history[key].append(value)
        self.classroom.update_run(
            self.run_id,
            status="training",
            epoch=event.epoch + 1,
            epochs=event.epochs,
            val_accuracy=event.val_accuracy,
            history=self.history,
        )

    def saved(self, model: str, result: TrainingResult) -> None:
        status = {"completed": "finished", "stopped": "stopped"}.get(result.status, "failed")
        self.classroom.update_run(
            self.run_id, status=status, model=model, test_accuracy=result.test_accuracy, seconds=result.seconds
        )
        self.classroom.claim(self.code, self.student, "model", model)

    def ended(self, status: str) -> None:
        """A failed run says so on the board; a database failure now must not hide the training's own error."""
        with contextlib.suppress(LabError):
            self.classroom.update_run(self.run_id, status=status)


CLI_SESSION = "command line"  # the session a student joined from the CLI holds; the browser's are random ids
