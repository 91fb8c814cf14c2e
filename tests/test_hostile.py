"""Hostile files and careless settings (issue 11): every failure is a message, nothing is lost.

Each test reproduces one attack that once put a traceback on a page, picked a damaged
model, or started work that could only fail; see also test_dense_file_hostile.py and
test_image_io.py for model archives and images.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from model.net.config import TrainingConfig
from model.net.network import build_network
from model.storage.metadata import MAX_METADATA_BYTES, ModelMetadata
from model.storage.store import DEFAULT_MODEL_NAME, ModelStore
from tests.helpers import PROJECT_ROOT
from utils.errors import ModelStorageError, SettingsError
from utils.settings import read_settings

APP = str(PROJECT_ROOT / "app.py")
TINY = TrainingConfig(hidden_layers=1, units=8, epochs=1)
WRONG_TYPES = {
    "accuracy as text": {"test_accuracy": "high"},
    "config as a list": {"config": [1, 2]},
    "seconds as text": {"training_seconds": "x"},
    "history as text": {"history": "garbage"},
    "curve of strings": {"history": {"loss": ["a"]}},
    "config out of range": {"config": {"units": 10**9}},
    "accuracy above 1": {"test_accuracy": 7},
    "epochs in range but huge": {"epochs_completed": 10**30},  # broke Models (Arrow overflow)
    "seconds in range but huge": {"training_seconds": 1e40},  # broke Train (Babel InvalidOperation)
}


def _save(store: ModelStore, name: str, created_at: str) -> Path:
    meta = ModelMetadata(config=TINY, test_accuracy=0.5, created_at=created_at)
    return store.save(build_network(TINY), name, meta).path


def _tamper(path: Path, **fields) -> None:
    meta_path = path.with_suffix(".json")
    record = json.loads(meta_path.read_text())
    meta_path.write_text(json.dumps({**record, **fields}))


@pytest.fixture
def app(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_MODELS_DIR", str(tmp_path / "models"))
    return AppTest.from_file(APP, default_timeout=60)


def _no_traceback(app: AppTest) -> None:
    assert not app.exception, [e.message for e in app.exception]


@pytest.mark.parametrize("fields", WRONG_TYPES.values(), ids=WRONG_TYPES.keys())
def test_metadata_of_the_wrong_types_is_listed_as_damaged_and_never_chosen(store, fields):
    _save(store, "older", "2026-01-01T00:00:00+00:00")
    newest = _save(store, "newest", "2026-02-01T00:00:00+00:00")
    _tamper(newest, **fields)
    listed = store.get("newest")
    assert not listed.usable and "metadata damaged" in str(listed.problem)
    assert store.active().name == "older" and store.latest().name == "older"
    with pytest.raises(ModelStorageError, match="cannot be made active"):
        store.set_active("newest")


def test_every_page_survives_damaged_metadata(app, tmp_path):
    store = ModelStore(tmp_path / "models")
    for index, fields in enumerate(WRONG_TYPES.values()):
        _tamper(_save(store, f"bad{index}", f"2026-0{index + 1}-01T00:00:00+00:00"), **fields)
    app.run()
    _no_traceback(app)
    assert any("default" in block.value for block in app.sidebar.markdown)  # the usable fallback answers
    for page in ("train", "draw", "explore", "models"):
        app.switch_page(f"pages/{page}.py").run()
        _no_traceback(app)
    notes = list(app.dataframe[0].value["note"])
    assert sum("metadata damaged" in note for note in notes) == len(WRONG_TYPES)


def test_huge_metadata_is_refused_before_it_is_parsed(store):
    path = _save(store, "bloated", "2026-01-01T00:00:00+00:00")
    _tamper(path, history={"loss": [0.5] * (MAX_METADATA_BYTES // 4)})
    assert path.with_suffix(".json").stat().st_size > MAX_METADATA_BYTES
    assert "larger than" in str(store.get("bloated").problem)


def test_a_damaged_newest_model_file_is_skipped_by_the_cli(store, tmp_path):
    _save(store, "good", "2026-01-01T00:00:00+00:00")
    _save(store, "broken", "2026-02-01T00:00:00+00:00").write_bytes(b"not a zip")
    assert store.active().name == "good"
    picture = tmp_path / "one.png"
    import cv2

    cv2.imwrite(str(picture), np.pad(np.full((120, 24), 255, np.uint8), 80))
    done = _cli("predict", str(picture), "--json", models_dir=store.root)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["digit"] is not None


@pytest.fixture
def read_only(monkeypatch):
    """The models folder as a read-only mount: root ignores chmod, so the refusal is simulated at the system call."""

    def refuse(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    def open_for_reading_only(path, flags, *args, **kwargs):
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            refuse()
        return real_open(path, flags, *args, **kwargs)

    real_open = os.open

    def arm() -> None:
        monkeypatch.setattr(os, "replace", refuse)
        monkeypatch.setattr(Path, "unlink", refuse)
        monkeypatch.setattr(os, "open", open_for_reading_only)

    return arm


def test_make_active_and_delete_on_a_read_only_folder_answer_with_a_message(store, read_only):
    _save(store, "mine", "2026-01-01T00:00:00+00:00")
    read_only()
    with pytest.raises(ModelStorageError, match="read-only"):
        store.set_active(DEFAULT_MODEL_NAME)
    with pytest.raises(ModelStorageError, match="read-only"):
        store.delete("mine")


def test_models_page_on_a_read_only_folder_stays_usable(app, tmp_path, read_only):
    store = ModelStore(tmp_path / "models")
    _save(store, "mine", "2026-01-01T00:00:00+00:00")
    app.switch_page("pages/models.py").run()
    read_only()
    app.selectbox(key="manage_model").set_value("default").run()
    next(b for b in app.button if b.label == "Use this model").click().run()
    _no_traceback(app)
    assert any(block.value.startswith("**default**") for block in app.sidebar.markdown)  # the session's: no write
    app.selectbox(key="manage_model").set_value("mine").run()
    app.checkbox(key="confirm_delete_mine").check().run()
    next(b for b in app.button if b.label == "Delete").click().run()
    _no_traceback(app)
    assert any("could not delete 'mine'" in error.value for error in app.error)


def test_models_page_does_not_read_model_files_to_offer_a_download(app, tmp_path, monkeypatch):
    _save(ModelStore(tmp_path / "models"), "mine", "2026-01-01T00:00:00+00:00")
    reads = []
    original = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda self: reads.append(self.name) or original(self))
    app.switch_page("pages/models.py").run()
    _no_traceback(app)
    assert app.get("download_button") and not [name for name in reads if name.endswith(".keras")]


def test_arrays_of_the_wrong_kind_beside_a_model_are_a_message_and_hide_nothing(app, tmp_path):
    """Labels missing gave a traceback that also hid Make active and Delete."""
    path = _save(ModelStore(tmp_path / "models"), "projected", "2026-01-01T00:00:00+00:00")
    np.savez(path.with_suffix(".npz"), projection=np.zeros((3, 5, 2), np.float32))
    app.switch_page("pages/models.py").run()
    _no_traceback(app)
    assert any("cannot be shown" in warning.value and "projection_labels" in warning.value for warning in app.warning)
    assert {"Use this model", "Delete"} <= {button.label for button in app.button}


def test_a_model_file_too_large_to_read_is_not_offered_for_download(app, tmp_path):
    """A sparse 2 GB file was read whole when Download .keras was pressed: server peak 6.4 GB."""
    from model.storage.dense_file import MAX_ARCHIVE_BYTES

    path = _save(ModelStore(tmp_path / "models"), "huge", "2026-01-01T00:00:00+00:00")
    with open(path, "r+b") as file:
        file.truncate(MAX_ARCHIVE_BYTES + 1)  # sparse: no disk used
    app.switch_page("pages/models.py").run()
    app.selectbox(key="manage_model").set_value("huge").run()
    _no_traceback(app)
    assert not app.get("download_button")
    assert any("No download" in caption.value and "larger than" in caption.value for caption in app.caption)


def test_a_fifo_named_active_txt_does_not_hang_the_cli(tmp_path):
    """The CLI and every page read it; as a FIFO it blocked them forever."""
    import cv2

    (tmp_path / "models").mkdir()
    os.mkfifo(tmp_path / "models" / "active.txt")
    picture = tmp_path / "one.png"
    cv2.imwrite(str(picture), np.pad(np.full((120, 24), 255, np.uint8), 80))
    done = _cli("predict", str(picture), "--json", models_dir=tmp_path / "models", timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["digit"] is not None


def test_a_model_named_like_a_file_is_reached_by_its_name(store, tmp_path, monkeypatch):
    saved = _save(store, "a.keras", "2026-01-01T00:00:00+00:00")
    assert store.resolve("a.keras").path == saved
    monkeypatch.chdir(tmp_path)
    other = build_network(TINY)
    other.save(tmp_path / "b.keras")
    assert store.resolve("b.keras").path == Path("b.keras")  # no such name: a path
    other.save(tmp_path / "a.keras")
    assert store.resolve("a.keras").path == saved  # the name wins over a file of that name...
    assert store.resolve("./a.keras").path == Path("a.keras")  # ...and a path with a folder means the file
    with pytest.raises(ModelStorageError, match=r"no saved model named 'c\.keras' and no model file"):
        store.resolve("c.keras")


def test_keras_load_errors_keep_their_reason(store, tmp_path):
    import keras

    path = tmp_path / "lambda.keras"
    keras.Sequential([keras.Input((784,)), keras.layers.Lambda(lambda x: x * 2), keras.layers.Dense(10)]).save(path)
    with pytest.raises(ModelStorageError) as caught:
        store.load(str(path))
    assert "safe_mode" in str(caught.value) or "arbitrary code" in str(caught.value)


@pytest.mark.parametrize("value", ["0", "-1", "abc", "2.5", "1e3"])
def test_bad_max_trainings_names_the_variable_value_and_range(value):
    with pytest.raises(SettingsError) as caught:
        read_settings({"MNIST_LAB_MAX_TRAININGS": value})
    assert str(caught.value) == (f"MNIST_LAB_MAX_TRAININGS={value!r} is not allowed: use a whole number from 1 to 64")


@pytest.mark.parametrize(
    ("name", "value"),
    [("MNIST_LAB_MAX_TRAIN", "abc"), ("MNIST_LAB_MAX_TRAIN", "0"), ("MNIST_LAB_MAX_TRAIN", "-5"),
     ("MNIST_LAB_MAX_TEST", "0"), ("MNIST_LAB_STRATEGY", "fastest")],
)  # fmt: skip
def test_bad_settings_stop_the_cli_and_the_app_in_one_line(name, value, tmp_path, monkeypatch):
    done = _cli("evaluate", models_dir=tmp_path, env={name: value})
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert done.stderr.startswith(f"error: {name}={value!r} is not allowed")
    monkeypatch.setenv(name, value)
    app = AppTest.from_file(APP, default_timeout=60).run()
    _no_traceback(app)
    assert any(name in error.value for error in app.error)


@pytest.mark.parametrize(("flag", "value"), [("--max-train", "0"), ("--max-train", "-5"), ("--max-test", "0")])
def test_cli_refuses_empty_or_negative_slices_before_training(flag, value, tmp_path):
    done = _cli("train", "--epochs", "1", flag, value, models_dir=tmp_path)
    assert done.returncode == 2 and f"{flag}={value!r} is not allowed" in done.stderr
    assert not tmp_path.exists() or not list(tmp_path.iterdir())  # nothing trained, nothing saved


def test_train_page_checks_the_name_before_training(app):
    app.switch_page("pages/train.py").run()
    app.text_input(key="model_name").input("!!!").run()
    next(b for b in app.button if b.label == "Train").click().run()
    _no_traceback(app)
    assert "training_job" not in app.session_state
    assert any("Not started" in error.value and "no usable characters" in error.value for error in app.error)


def test_cli_predict_skips_non_regular_files_and_names_each_bad_one(tmp_path):
    import cv2

    good = tmp_path / "seven.png"
    cv2.imwrite(str(good), np.pad(np.full((120, 24), 255, np.uint8), 80))
    nan_tiff = tmp_path / "nan.tiff"
    from PIL import Image

    Image.fromarray(np.full((40, 40), np.nan, np.float32)).save(nan_tiff)
    done = _cli("predict", "/dev/zero", str(nan_tiff), str(good), "--json", models_dir=tmp_path, timeout=60)
    assert done.returncode == 1
    assert json.loads(done.stdout.strip())["file"] == str(good)
    errors = done.stderr.strip().splitlines()
    assert len(errors) == 2 and errors[0].startswith("error: /dev/zero") and str(nan_tiff) in errors[1]


def _cli(*args: str, models_dir: Path, env: dict[str, str] | None = None, timeout: float = 300):
    environment = {**os.environ, "MNIST_MODELS_DIR": str(models_dir), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "model", *args],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        env=environment,
        timeout=timeout,
    )
