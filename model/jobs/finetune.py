"""Teach a saved network someone's own handwriting without it forgetting MNIST.

A network trained on MNIST misreads a writer whose style MNIST lacks (a crossed 7, a
boxy 4...). A few corrected drawings fix that, but fine-tuning on them alone pulls the
weights towards 30 pictures and the network forgets what it knew: catastrophic
forgetting (McCloskey & Cohen 1989). The remedies here are the simple, strong ones
(research notes 4.1), each chosen by measurement (``bench/handwriting.py``, results in
bench/RESULTS.md, "Learning from your handwriting"):

- a copy is trained; the parent's weights and file are never touched;
- **replay** (rehearsal): every epoch mixes the drawings with MNIST training images the
  network already knows, drawn afresh from a pool, so the old task keeps pulling back;
- a learning rate well below training's, so a few epochs move the weights a little;
- the drawings are few, so each is seen through fresh random distortions (the training
  distortions, ``model.net.augment.Augment``) and the network learns the style, not the pixels;
- early stopping on the drawings taught (clean) plus an MNIST probe, weighted equally, so
  teaching ends when learning the drawings stops paying for what MNIST loses.

As Teachable Machine does, about 15 % of the drawings are held out (stratified by digit,
seeded) for an honest before/after score; too few drawings leave none out.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields

import keras
import numpy as np
from keras import ops

from model.net.augment import Augment
from model.net.config import OPTIMIZERS, TrainingConfig
from model.net.events import Listener, StopFlag
from model.net.inference import evaluate, predict_batch
from model.net.network import steps_per_execution
from model.net.training import LiveMetrics
from model.storage.metadata import ModelMetadata
from model.storage.store import ModelInfo, ModelStore, load_network
from utils.drawings import Drawing, DrawingsError, labelled_inputs
from utils.errors import ConfigError
from utils.i18n import N_, Message, N_plural, num, pct, sig
from utils.mnist import N_PIXELS, RawMnist, load_raw
from utils.preprocess import mnist_as_trained

MNIST_DROP_LIMIT = 0.005  # half a point of MNIST test accuracy
MIN_PER_DIGIT_TO_HOLD_OUT = 2  # a digit drawn once is taught, never held out


@dataclass(frozen=True)
class TeachOptions:
    """How to teach; the defaults are the method measured in bench/handwriting.py."""

    replay: bool = True  # off: "teach on my drawings only", to watch the network forget MNIST
    last_layer_only: bool = False  # freeze every layer but the output layer
    learning_rate_factor: float = 0.3  # times the parent's training rate
    copies: int = 16  # distorted views of each drawing per epoch...
    max_views: int = 4096  # ...but no more than this many views an epoch (each drawing at least once)
    replay_ratio: float = 8.0  # MNIST images per drawing view
    max_epochs: int = 20
    patience: int = 3  # epochs without improvement before stopping
    batch_size: int = 128
    holdout: float = 0.15  # share of the drawings kept aside for the before/after score
    replay_pool: int = 6000  # MNIST training images replay draws from
    probe_size: int = 1000  # other MNIST training images watched by early stopping
    mnist_test_size: int | None = None  # MNIST test images scored before and after; None: all 10,000
    seed: int = 0

    def __post_init__(self) -> None:
        checks = {
            "learning_rate_factor": 0 < self.learning_rate_factor <= 10,
            "copies": 1 <= self.copies <= 1000,
            "max_views": 1 <= self.max_views <= 1_000_000,
            "replay_ratio": 0 <= self.replay_ratio <= 100,
            "max_epochs": 1 <= self.max_epochs <= 1000,
            "patience": 1 <= self.patience <= 1000,
            "batch_size": 1 <= self.batch_size <= 4096,
            "holdout": 0 <= self.holdout < 1,
            "replay_pool": 1 <= self.replay_pool <= 60_000,
            "probe_size": 0 <= self.probe_size <= 50_000,
            "mnist_test_size": self.mnist_test_size is None or 1 <= self.mnist_test_size <= 10_000,
        }
        wrong = [name for name, fine in checks.items() if not fine]
        if wrong:
            raise ConfigError(
                f"teaching option(s) out of range: {', '.join(f'{n}={getattr(self, n)!r}' for n in wrong)}"
            )


@dataclass(frozen=True)
class MnistReference:
    """The MNIST images teaching needs, in one preprocessing: test (scores), a replay pool, a probe.

    Pool and probe are disjoint seeded samples of the 60,000 training images; only those
    kept are preprocessed (about 70 us an image), so this costs about a second.
    """

    preprocessing: str
    test_x: np.ndarray
    test_y: np.ndarray
    pool_x: np.ndarray
    pool_y: np.ndarray
    probe_x: np.ndarray
    probe_y: np.ndarray


def mnist_reference(
    preprocessing: str, options: TeachOptions = TeachOptions(), raw: RawMnist | None = None
) -> MnistReference:
    """MNIST as teaching with ``options`` uses it, made ready for a model fed through ``preprocessing``."""
    raw = raw if raw is not None else load_raw()
    order = np.random.default_rng(options.seed).permutation(len(raw.x_train))
    pool = np.sort(order[: options.replay_pool])
    probe = np.sort(order[options.replay_pool : options.replay_pool + options.probe_size])
    test = slice(None, options.mnist_test_size)
    return MnistReference(
        preprocessing,
        mnist_as_trained(raw.x_test[test], preprocessing),
        raw.y_test[test].astype(np.int64),
        mnist_as_trained(raw.x_train[pool], preprocessing),
        raw.y_train[pool].astype(np.int64),
        mnist_as_trained(raw.x_train[probe], preprocessing),
        raw.y_train[probe].astype(np.int64),
    )


@dataclass(frozen=True)
class TeachResult:
    """A taught copy of the parent and what it changed; ``metadata`` is ready for ``ModelStore.save``."""

    network: keras.Model
    status: str  # "completed", "stopped" or "diverged"
    message: Message  # English as str() (metadata, CLI); translated on the page
    yours_before: float | None  # accuracy on the held-out drawings; None when none were held out
    yours_after: float | None
    held_out: int
    taught_before: float  # accuracy on the drawings taught (undistorted)
    taught_after: float
    mnist_before: float  # accuracy on MNIST test (``mnist_tested`` images)
    mnist_after: float
    mnist_tested: int
    seconds: float  # the whole teaching: scoring before and after included
    examples: int  # drawings taught (the held-out ones are not)
    epochs: int
    metadata: ModelMetadata
    history: dict[str, list[float]] = field(default_factory=dict)

    @property
    def blocked(self) -> Message | None:
        """Why this network should not become the active one, or None."""
        if self.status == "diverged":
            return self.message
        return mnist_drop_reason(self.mnist_before, self.mnist_after)


def mnist_drop_reason(before: float, after: float, limit: float = MNIST_DROP_LIMIT) -> Message | None:
    """The reason not to switch to the taught network when MNIST accuracy fell by more than ``limit``."""
    drop = before - after
    if drop <= limit:
        return None
    return Message(
        N_(
            "MNIST accuracy fell from {before} to {after} ({points} points, more than the {limit} allowed): "
            "the network is forgetting the handwriting it learned from. The current model stays active "
            "(teaching with MNIST replay on usually prevents this)."
        ),
        {
            "before": pct(before, 2),
            "after": pct(after, 2),
            "points": num(drop * 100, 2),
            "limit": num(limit * 100, 1),
        },
    )


def holdout_split(labels: np.ndarray, fraction: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(taught, held-out) indices: about ``fraction`` held out, spread over the digits, seeded.

    Nothing is held out when there are fewer than two drawings per digit present, and a
    digit never loses its last taught drawing: a score on one or two drawings is noise,
    and a digit nobody taught cannot improve.
    """
    labels = np.asarray(labels)
    everything, nothing = np.arange(len(labels)), np.zeros(0, np.int64)
    digits, counts = np.unique(labels, return_counts=True)
    wanted = math.floor(fraction * len(labels) + 0.5)
    if wanted == 0 or len(labels) < MIN_PER_DIGIT_TO_HOLD_OUT * len(digits):
        return everything, nothing
    rng = np.random.default_rng(seed)
    quota = np.minimum(np.floor(fraction * counts).astype(int), counts - 1)
    spare = np.flatnonzero(quota < counts - 1)
    for digit in rng.permutation(spare)[: max(0, wanted - int(quota.sum()))]:
        quota[digit] += 1
    held = [rng.permutation(np.flatnonzero(labels == digit))[:take] for digit, take in zip(digits, quota, strict=True)]
    held_out = np.sort(np.concatenate(held)).astype(np.int64)
    return np.setdiff1d(everything, held_out), held_out


class DistortMarked(keras.layers.Layer):
    """Distorts the rows marked 1 (the person's drawings) when training; the others pass as they are.

    The same ``Augment`` as training uses, inside the compiled step, so every epoch sees
    fresh distortions; MNIST replay rows are left alone, as MNIST itself is how the test
    set looks.
    """

    def __init__(self, seed: int | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.augment = Augment(seed=seed, name="augment")

    def build(self, input_shapes) -> None:
        self.augment.build(input_shapes[0])

    def call(self, inputs, training: bool | None = None):
        pixels, marked = inputs
        if not training:
            return pixels
        return ops.where(marked > 0.5, self.augment(pixels, training=True), pixels)

    def compute_output_shape(self, input_shapes):
        return input_shapes[0]


class TeachingBatches(keras.utils.PyDataset):
    """One epoch: each drawing ``copies`` times (at most ``max_views`` in all) plus ``replay_ratio`` as many
    MNIST images, mixed afresh.

    Every epoch has the same whole number of full batches, so the compiled step is traced once.
    """

    def __init__(
        self, x: np.ndarray, y: np.ndarray, pool_x: np.ndarray, pool_y: np.ndarray, options: TeachOptions
    ) -> None:
        super().__init__()
        self.x, self.y, self.pool_x, self.pool_y = x, y, pool_x, pool_y
        self.batch_size = options.batch_size
        views = min(len(x) * options.copies, max(len(x), options.max_views))
        wanted_replay = round(views * options.replay_ratio) if options.replay and len(pool_x) else 0
        self.batches = max(1, math.ceil((views + wanted_replay) / self.batch_size))
        self.replay = max(0, self.batches * self.batch_size - views) if wanted_replay else 0
        self.views = self.batches * self.batch_size - self.replay
        self.rng = np.random.default_rng(options.seed)
        self.on_epoch_end()

    @property
    def size(self) -> int:
        return self.batches * self.batch_size

    def __len__(self) -> int:
        return self.batches

    def __getitem__(self, index: int):
        part = slice(index * self.batch_size, (index + 1) * self.batch_size)
        return (self._x[part], self._marked[part]), self._y[part]

    def on_epoch_end(self) -> None:
        mine = np.resize(self.rng.permutation(len(self.x)), self.views)  # each drawing equally often (±1)
        replay = self.rng.choice(len(self.pool_x), self.replay, replace=self.replay > len(self.pool_x))
        x = np.concatenate([self.x[mine], self.pool_x[replay]])
        y = np.concatenate([self.y[mine], self.pool_y[replay]])
        marked = np.concatenate([np.ones(len(mine), np.float32), np.zeros(len(replay), np.float32)])
        order = self.rng.permutation(len(x))
        self._x, self._y, self._marked = x[order], y[order], marked[order, None]


def load_parent(store: ModelStore, name_or_path: str | None) -> tuple[keras.Model, ModelInfo]:
    """The saved model ``name_or_path`` (None: the active one) and its entry: what ``teach`` copies."""
    base = store.resolve(name_or_path)
    return load_network(base.path, base.name), base


def teach(
    parent: keras.Model,
    base: ModelInfo,
    drawings: Sequence[Drawing],
    options: TeachOptions = TeachOptions(),
    listeners: Iterable[Listener] = (),
    stop: StopFlag | None = None,
    mnist: MnistReference | None = None,
) -> TeachResult:
    """Fine-tune a copy of ``parent`` (saved as ``base``) on ``drawings``; ``parent`` is left as it was.

    ``listeners`` get the same BatchEvent/EpochEvent as training; setting ``stop`` ends
    teaching after the current batch, keeping the best epoch so far. ``mnist`` may be
    prepared once with ``mnist_reference`` and shared by several calls.
    """
    started = time.perf_counter()
    if not drawings:
        raise DrawingsError(Message(N_("there are no drawings to learn from; correct a few answers first")))
    preprocessing = base.metadata.preprocessing
    if mnist is None or mnist.preprocessing != preprocessing:
        mnist = mnist_reference(preprocessing, options)
    x, y = labelled_inputs(drawings, preprocessing)
    taught, held = holdout_split(y, options.holdout, options.seed)
    network = copy_network(parent, options.last_layer_only)
    before = _scores(parent, x, y, taught, held, mnist)
    live, fit_seconds = _fit(network, base.metadata.config, x[taught], y[taught], mnist, options, listeners, stop)
    after = _scores(network, x, y, taught, held, mnist)
    outcome = _outcome(live, len(taught), fit_seconds, before, after, len(mnist.test_y))
    status, message = outcome.status, outcome.message
    history = {key: list(live.history[key]) for key in ("loss", "accuracy")}
    metadata = ModelMetadata(
        config=base.metadata.config,
        status=status,
        message=str(message),
        epochs_completed=len(history["loss"]),
        history={key: tuple(values) for key, values in history.items()},
        test_accuracy=after.mnist,
        test_loss=after.mnist_loss,
        training_seconds=round(fit_seconds, 3),
        preprocessing=preprocessing,
        keras_version=keras.__version__,
        base_model=base.name,
    )
    return TeachResult(
        network=network,
        status=status,
        message=message,
        yours_before=before.yours,
        yours_after=after.yours,
        held_out=len(held),
        taught_before=before.taught,
        taught_after=after.taught,
        mnist_before=before.mnist,
        mnist_after=after.mnist,
        mnist_tested=len(mnist.test_y),
        seconds=time.perf_counter() - started,
        examples=len(taught),
        epochs=len(history["loss"]),
        metadata=metadata,
        history=history,
    )


def save_taught(
    store: ModelStore, result: TeachResult, name: str, *, as_default: bool = False
) -> tuple[str, Message | None]:
    """Save a taught copy; returns its name and why it should not answer in its parent's place (MNIST
    suffered), if so. The server default changes only if ``as_default`` (the CLI's ``learn``) and nothing
    blocks it; a page uses the copy in its own session instead.
    """
    blocked = result.blocked
    info = store.save(result.network, name, result.metadata, as_default=as_default and blocked is None)
    return info.name, blocked


def copy_network(parent: keras.Model, last_layer_only: bool = False) -> keras.Model:
    """A new network with the parent's architecture and weights; training it never touches the parent."""
    network = keras.models.clone_model(parent)
    network.set_weights(parent.get_weights())
    if last_layer_only:
        with_weights = [layer for layer in network.layers if layer.weights]
        for layer in with_weights[:-1]:
            layer.trainable = False
    return network


@dataclass(frozen=True)
class _Scores:
    yours: float | None
    taught: float
    mnist: float
    mnist_loss: float


def _scores(
    network: keras.Model, x: np.ndarray, y: np.ndarray, taught: np.ndarray, held: np.ndarray, mnist: MnistReference
) -> _Scores:
    mnist_accuracy, mnist_loss = evaluate(network, mnist.test_x, mnist.test_y)
    return _Scores(
        _accuracy(network, x[held], y[held]) if len(held) else None,
        _accuracy(network, x[taught], y[taught]),
        mnist_accuracy,
        mnist_loss,
    )


def _accuracy(network: keras.Model, x: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(predict_batch(network, x).argmax(axis=1) == y))


def _fit(
    network: keras.Model,
    config: TrainingConfig | None,
    x: np.ndarray,
    y: np.ndarray,
    mnist: MnistReference,
    options: TeachOptions,
    listeners: Iterable[Listener],
    stop: StopFlag | None,
) -> tuple[LiveMetrics, float]:
    """Train ``network`` in place behind the distorting layer; returns the live record and the seconds."""
    batches = TeachingBatches(x, y, mnist.pool_x, mnist.pool_y, options)
    trainer = _trainer(network, config or TrainingConfig(), options, len(batches))
    live = LiveMetrics(listeners, stop, options.batch_size, batches.size)
    early = keras.callbacks.EarlyStopping(
        monitor="val_loss", patience=options.patience, min_delta=1e-3, restore_best_weights=True
    )
    started = time.perf_counter()
    trainer.fit(
        batches,
        epochs=options.max_epochs,
        validation_data=_validation(x, y, mnist, options),
        callbacks=[live, early],
        verbose=0,
    )
    return live, time.perf_counter() - started


def _trainer(network: keras.Model, config: TrainingConfig, options: TeachOptions, steps: int) -> keras.Model:
    """The compiled model that fit trains: (pixels, marked) -> distort the marked rows -> ``network``."""
    pixels = keras.Input(shape=(N_PIXELS,), name="pixels")
    marked = keras.Input(shape=(1,), name="marked")
    distorted = DistortMarked(seed=options.seed, name="distort_drawings")([pixels, marked])
    trainer = keras.Model([pixels, marked], network(distorted), name="teaching")
    build_optimizer = OPTIMIZERS[config.optimizer].build
    assert build_optimizer is not None  # every optimizer has its builder
    trainer.compile(
        optimizer=build_optimizer(config.learning_rate * options.learning_rate_factor),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=steps_per_execution(steps),
        jit_compile=False,  # measured: XLA's compile costs ~2 s and later epochs are no faster (bench/RESULTS.md)
    )
    return trainer


def _validation(x: np.ndarray, y: np.ndarray, mnist: MnistReference, options: TeachOptions):
    """What early stopping watches: the drawings taught (undistorted), and with replay an MNIST probe.

    The two halves weigh the same whatever their sizes. Without replay only the drawings
    count: teaching "on my drawings only" does not look at MNIST at all.
    """
    probe = options.replay and len(mnist.probe_y) > 0
    rows = np.concatenate([x, mnist.probe_x]) if probe else x
    labels = np.concatenate([y, mnist.probe_y]) if probe else y
    weights = np.ones(len(rows), np.float32)
    if probe:
        weights[: len(x)] = len(mnist.probe_y) / len(x)
    marked = np.zeros((len(rows), 1), np.float32)
    return (rows, marked), labels, weights


@dataclass(frozen=True)
class _Outcome:
    status: str
    message: Message


def _outcome(
    live: LiveMetrics, examples: int, seconds: float, before: _Scores, after: _Scores, tested: int
) -> _Outcome:
    """Status and message for people (English when made into a string, translated where a page shows it)."""
    epochs = len(live.history["loss"])
    if live.diverged_at is not None:
        return _Outcome("diverged", Message(
            N_(
                "Teaching stopped at epoch {epoch}: the loss became {loss}, so the taught network is meaningless; "
                "the original model is unchanged."
            ),
            {"epoch": num(live.diverged_at[0] + 1), "loss": sig(live.diverged_loss)},
        ))  # fmt: skip
    values = {
        "drawings": Message.counted(N_plural("{count} drawing", "{count} drawings"), examples),
        "epochs": Message.counted(N_plural("{count} epoch", "{count} epochs"), epochs),
        "seconds": num(seconds, 1),
        "before": pct(before.mnist, 2),
        "after": pct(after.mnist, 2),
        "tested": num(tested),
    }
    if tested == 10_000:
        summary = Message(N_("Taught {drawings} in {epochs}, {seconds} s; MNIST {before} -> {after}."), values)
    else:
        summary = Message(
            N_("Taught {drawings} in {epochs}, {seconds} s; MNIST {before} -> {after} (on {tested} test images)."),
            values,
        )
    if live.stopped_at is not None:
        return _Outcome("stopped", Message(
            N_("Stopped by request during epoch {epoch}. {summary}"),
            {"epoch": num(live.stopped_at[0] + 1), "summary": summary},
        ))  # fmt: skip
    return _Outcome("completed", summary)


def options_summary(options: TeachOptions) -> dict[str, object]:
    """The options as plain data, for benchmark reports and logs."""
    return {item.name: getattr(options, item.name) for item in fields(options)}
