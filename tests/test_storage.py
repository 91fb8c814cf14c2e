from __future__ import annotations

import contextlib
import errno
import json
import os
import threading
import time
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest

from model.net.config import TrainingConfig
from model.net.network import build_network
from model.storage.metadata import ModelMetadata
from model.storage.store import (
    DEFAULT_MODEL_NAME,
    LEFTOVER_AGE_S,
    ModelExistsError,
    ModelInfo,
    ModelLoadError,
    ModelNotFoundError,
    ModelStorageError,
    ModelStore,
    safe_name,
)
from utils.preprocess import LEGACY_PREPROCESSING, PREPROCESSING_VERSION

TINY = TrainingConfig(hidden_layers=1, units=8, epochs=1)


def _save(store, name, created_at):
    return store.save(build_network(TINY), name, ModelMetadata(config=TINY, test_accuracy=0.5, created_at=created_at))


def test_round_trip_list_load_delete(store):
    network = build_network(TINY)
    info = store.save(network, "first", ModelMetadata(config=TINY, history={"loss": (1.0, 0.5)}, test_accuracy=0.9))
    assert info.path.name == "first.keras" and info.metadata.created_at
    names = [model.name for model in store.list()]
    assert names == ["first", DEFAULT_MODEL_NAME]
    loaded = store.load("first")
    for saved, restored in zip(network.get_weights(), loaded.get_weights(), strict=True):
        assert (saved == restored).all()
    assert store.get("first").metadata.history == {"loss": (1.0, 0.5)} and store.get("first").metadata.config == TINY
    store.delete("first")
    assert [model.name for model in store.list()] == [DEFAULT_MODEL_NAME]
    with pytest.raises(ModelNotFoundError):
        store.load("first")


def test_latest_then_active_choice(store):
    assert store.active().name == DEFAULT_MODEL_NAME
    _save(store, "older", "2026-01-01T00:00:00+00:00")
    _save(store, "newer", "2026-02-01T00:00:00+00:00")
    assert store.latest().name == "newer" and store.active().name == "newer"
    store.set_active("older")
    assert store.active().name == "older"
    _save(store, "newest", "2026-03-01T00:00:00+00:00")  # a new model becomes active
    assert store.active().name == "newest"


def test_names_are_sanitised_and_unique(store):
    assert safe_name("../../etc/passwd") == "etc-passwd"
    assert safe_name("/abs/path\x00name") == "abs-pathname"
    assert safe_name("my model v2") == "my-model-v2"
    assert len(safe_name("x" * 500)) == 64
    with pytest.raises(ModelStorageError, match="no usable characters"):
        safe_name("../..")
    info = _save(store, "../escape", "2026-01-01T00:00:00+00:00")
    assert info.path.parent == store.root and info.name == "escape"
    with pytest.raises(ModelExistsError):
        _save(store, "escape", "2026-01-01T00:00:00+00:00")
    with pytest.raises(ModelExistsError, match="reserved"):
        _save(store, DEFAULT_MODEL_NAME, "2026-01-01T00:00:00+00:00")
    assert store.unique_name("escape") == "escape-2"


def test_pretrained_default_cannot_be_deleted(store):
    with pytest.raises(ModelStorageError, match="cannot be deleted"):
        store.delete(DEFAULT_MODEL_NAME)
    assert store.get(DEFAULT_MODEL_NAME).builtin


def test_crash_during_save_leaves_nothing_listed(store, monkeypatch):
    network = build_network(TINY)

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(type(network), "save", crash)
    with pytest.raises(ModelStorageError, match="disk full"):
        store.save(network, "broken", ModelMetadata(config=TINY))
    assert [m.name for m in store.list()] == [DEFAULT_MODEL_NAME]
    assert not [p for p in store.root.iterdir() if "broken" in p.name]


def test_model_without_metadata_is_not_listed(store):
    info = _save(store, "orphan", "2026-01-01T00:00:00+00:00")
    info.path.with_suffix(".json").unlink()  # as if the process died between the two renames
    assert "orphan" not in [m.name for m in store.list()]


def test_corrupt_and_foreign_files_give_clear_errors(store, tmp_path):
    info = _save(store, "victim", "2026-01-01T00:00:00+00:00")
    info.path.write_bytes(b"not a zip file at all")
    with pytest.raises(ModelLoadError, match="cannot load model 'victim'"):
        store.load("victim")
    import keras

    foreign = keras.Sequential([keras.Input((32,)), keras.layers.Dense(3)])
    path = tmp_path / "foreign.keras"
    foreign.save(path)
    with pytest.raises(ModelLoadError, match=r"takes \(32,\) and gives \(3,\)"):
        store.load(str(path))


def test_lambda_layer_with_code_is_refused(store, tmp_path):
    import keras

    model = keras.Sequential([keras.Input((784,)), keras.layers.Lambda(lambda x: x * 2), keras.layers.Dense(10)])
    path = tmp_path / "lambda.keras"
    model.save(path)
    with pytest.raises(ModelLoadError, match="cannot load model"):
        store.load(str(path))
    with zipfile.ZipFile(path) as archive:
        assert "lambda" in archive.read("config.json").decode().lower()


def test_broken_metadata_is_listed_with_a_problem(store):
    info = _save(store, "halfmeta", "2026-01-01T00:00:00+00:00")
    info.path.with_suffix(".json").write_text("{ not json", encoding="utf-8")
    listed = store.get("halfmeta")
    assert "metadata unreadable" in str(listed.problem) and listed.metadata.config is None


def test_damaged_model_file_is_listed_with_a_problem_and_others_stay_usable(store):
    _save(store, "good", "2026-01-01T00:00:00+00:00")
    damaged = _save(store, "damaged", "2026-01-02T00:00:00+00:00")
    damaged.path.write_bytes(damaged.path.read_bytes()[:100])  # truncated, as by a full disk
    assert "model file damaged" in str(store.get("damaged").problem)
    assert store.get("good").problem is None and store.load("good") is not None


def test_storage_folder_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_MODELS_DIR", str(tmp_path / "elsewhere"))
    assert ModelStore().root == tmp_path / "elsewhere"
    assert json.loads(ModelStore().get(DEFAULT_MODEL_NAME).path.with_suffix(".json").read_text())["config"]


def test_each_model_is_fed_the_preprocessing_it_was_trained_with(store):
    _save(store, "older", "2026-01-01T00:00:00+00:00")  # saved before models recorded it
    assert store.get("older").metadata.preprocessing == LEGACY_PREPROCESSING
    newer = store.save(build_network(TINY), "newer", ModelMetadata(config=TINY, preprocessing=PREPROCESSING_VERSION))
    assert store.get("newer").metadata.preprocessing == PREPROCESSING_VERSION
    assert (
        store.resolve(str(newer.path)).metadata.preprocessing == PREPROCESSING_VERSION
    )  # a path reads the .json beside it


@pytest.mark.parametrize(
    ("failure", "reason"), [(errno.EROFS, "the folder is read-only"), (errno.ENOSPC, "the disk is full")]
)
def test_a_failed_save_says_why_and_loses_nothing(store, monkeypatch, failure, reason):
    _save(store, "kept", "2026-01-01T00:00:00+00:00")
    before = sorted(path.name for path in store.root.iterdir())
    real_write_text = Path.write_text

    def failing_metadata_write(self, *args, **kwargs):
        if self.suffix == ".json":
            raise OSError(failure, os.strerror(failure))
        return real_write_text(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", failing_metadata_write)  # the model file is written, its metadata fails
    with pytest.raises(ModelStorageError, match=f"could not save model 'lost' in .*: {reason}"):
        store.save(build_network(TINY), "lost", ModelMetadata(config=TINY))
    monkeypatch.undo()
    assert sorted(path.name for path in store.root.iterdir()) == before  # no orphan, no temporary file
    assert [info.name for info in store.list()] == ["kept", "default"] and store.load("kept")
    assert store.check_new_name("lost") == "lost"  # the name was not left taken


def test_an_unwritable_folder_is_reported_before_any_work(tmp_path, monkeypatch):
    store = ModelStore(tmp_path / "models")
    store.check_writable()

    def read_only(self, data):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(Path, "write_bytes", read_only)
    with pytest.raises(ModelStorageError, match=r"models cannot be saved in .*: the folder is read-only"):
        store.check_writable()


def test_leftovers_of_killed_saves_are_cleaned_up_but_not_a_save_in_progress(store):
    store.root.mkdir(parents=True, exist_ok=True)
    old = store.root / ".dead.0123.tmp.keras"
    fresh = store.root / ".running.4567.tmp.keras"
    old.write_bytes(b"half a model")
    fresh.write_bytes(b"a save in progress")
    an_hour_and_more = time.time() - LEFTOVER_AGE_S - 60
    os.utime(old, (an_hour_and_more, an_hour_and_more))
    _save(store, "next", "2026-01-02T00:00:00+00:00")  # every save tidies up first
    assert not old.exists() and fresh.exists()


# -- the models folder is data from outside (issue 21 §1, §6) -------------------------


def _without_waiting(function, fifo: Path, seconds: float = 5.0):
    """``function()`` in a thread; if it blocks on ``fifo``, the test fails (and the reader is let go)."""
    outcome: dict = {}
    thread = threading.Thread(target=lambda: outcome.update(value=function()), daemon=True)
    thread.start()
    thread.join(seconds)
    blocked = thread.is_alive()
    with contextlib.suppress(OSError):  # release a blocked reader: open the other end, close it
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    assert not blocked, "blocked on a FIFO"
    return outcome.get("value")


def test_active_txt_as_a_fifo_never_blocks(store):
    """The sidebar reads it on every run: a FIFO left every page of every session blank forever."""
    store.root.mkdir(parents=True)
    os.mkfifo(store.root / "active.txt")
    assert _without_waiting(lambda: store.active().name, store.root / "active.txt") == DEFAULT_MODEL_NAME


def test_saved_sets_list_only_what_can_be_loaded(store):
    folder = store.drawings_dir
    folder.mkdir(parents=True)
    (folder / "ana.zip").write_bytes(b"zip")
    (folder / "my set.zip").write_bytes(b"zip")  # copied by hand: no name leads to it
    (folder / ".ana.0123.tmp.zip").write_bytes(b"")  # a save in progress
    (folder / "gone.zip").symlink_to(folder / "nowhere.zip")
    os.mkfifo(folder / "pipe.zip")
    assert store.drawing_sets() == ["ana"]
    assert store.drawing_set("ana", 10) == b"zip"


def test_a_fifo_swapped_in_for_a_saved_set_is_refused_at_once(store):
    store.drawings_dir.mkdir(parents=True)
    os.mkfifo(store.drawings_dir / "ana.zip")

    def load() -> str:
        with pytest.raises(ModelStorageError) as caught:
            store.drawing_set("ana", 10_000)
        return str(caught.value)

    assert "named pipe (FIFO)" in _without_waiting(load, store.drawings_dir / "ana.zip")


def test_a_set_is_never_silently_replaced(store):
    """A second user saving the same name replaced the first's set, and both were told "Saved"."""
    assert store.save_drawing_set("ana", b"first") == "ana"
    with pytest.raises(ModelExistsError, match="a set of drawings named 'ana' already exists"):
        store.save_drawing_set("ana", b"second")
    assert store.drawing_set("ana", 100) == b"first"
    assert not [path for path in store.drawings_dir.iterdir() if path.name.startswith(".")]  # no temporary left


def test_killed_set_saves_leave_no_temporary_files(store):
    store.drawings_dir.mkdir(parents=True)
    stale, fresh = store.drawings_dir / ".ana.dead.tmp.zip", store.drawings_dir / ".bob.live.tmp.zip"
    for path in (stale, fresh):
        path.write_bytes(b"half a zip")
    old = time.time() - LEFTOVER_AGE_S - 60
    os.utime(stale, (old, old))
    store.save_drawing_set("carla", b"zip")
    assert not stale.exists() and fresh.exists()


def test_a_unique_name_always_fits_the_limit_and_is_free(store):
    """A 59+ character name failed after the teaching: '-2' went past 64 and was cut back to the taken name."""
    store.root.mkdir(parents=True)
    long = "a" * 64
    for name in (long, long[:62] + "-2"):
        (store.root / f"{name}.keras").write_bytes(b"")
        (store.root / f"{name}.json").write_bytes(b"{}")
    name = store.unique_name(long + "+mine")
    assert len(name) <= 64 and name == store.check_new_name(name) == long[:62] + "-3"


@pytest.fixture
def projected(store):
    """A saved model and a function that writes the arrays beside it."""
    info = _save(store, "projected", "2026-01-01T00:00:00+00:00")

    def write(**arrays) -> ModelInfo:
        np.savez(info.path.with_suffix(".npz"), **arrays)
        return info

    return write


POINTS, LABELS = np.zeros((3, 5, 2), np.float32), np.arange(5, dtype=np.uint8)
MISTYPED = {
    "labels missing": ({"projection": POINTS}, "holds no projection_labels.npy"),
    "0 epochs": ({"projection": POINTS[:0], "projection_labels": LABELS}, r"shape \(0, 5, 2\)"),
    "1-D": ({"projection": POINTS.ravel(), "projection_labels": LABELS}, "in 1 dimensions"),
    "strings": ({"projection": POINTS, "projection_labels": np.array(["a"] * 5)}, "<U1 numbers"),
    "length mismatch": ({"projection": POINTS, "projection_labels": LABELS[:4]}, "4 labels for 5 digits"),
    "scalar": ({"projection": POINTS, "projection_labels": np.uint8(3)}, "in 0 dimensions"),
    "not digits": ({"projection": POINTS, "projection_labels": LABELS + 7}, "not digits 0-9"),
}


@pytest.mark.parametrize(("arrays", "reason"), MISTYPED.values(), ids=MISTYPED.keys())
def test_mistyped_arrays_beside_a_model_are_a_clear_problem(projected, store, arrays, reason):
    info = projected(**arrays)
    with pytest.raises(ModelStorageError, match=reason) as caught:
        store.extras(info)
    assert "the projection saved with projected cannot be shown" in str(caught.value)
    assert store.get("projected").usable  # the model itself is fine


def test_arrays_beside_a_model_that_unpack_far_past_their_cap_are_refused_cheaply(projected, store):
    """195 KB unpacked to 200 MB on every run of the Models page."""
    info = projected(projection=POINTS, projection_labels=LABELS)
    assert store.extras(info)["projection"].shape == (3, 5, 2)
    path = info.path.with_suffix(".npz")
    np.savez_compressed(path, projection=np.zeros((100, 75_000, 2), np.float32), projection_labels=LABELS)
    assert path.stat().st_size < 1_000_000
    tracemalloc.start()
    try:
        with pytest.raises(ModelStorageError, match=r"projection\.npy would unpack to 60\.0 MB, more than the 20\.0"):
            store.extras(info)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * 2**20
