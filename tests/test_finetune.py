"""Learning from someone's handwriting: it learns their style, keeps MNIST, and never touches the parent.

The writer is simulated as in bench/handwriting.py (a hand turned far to the right, thick
pen); MNIST is scored on a slice to stay fast.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
from dataclasses import replace

import numpy as np
import pytest

from model.jobs.finetune import (
    MNIST_DROP_LIMIT,
    TeachOptions,
    holdout_split,
    mnist_drop_reason,
    mnist_reference,
    save_taught,
    teach,
)
from model.storage.store import PRETRAINED_DIR, ModelStore, safe_name
from tests.helpers import PROJECT_ROOT
from utils.errors import ConfigError
from utils.preprocess import PREPROCESSING_VERSION

FAST = TeachOptions(mnist_test_size=2000, max_epochs=12)  # a smaller replay pool forgets more: keep it


# -- rules that need no network ------------------------------------------------------


def test_holdout_takes_about_15_percent_spread_over_digits_and_never_a_digits_last_drawing():
    labels = np.repeat(np.arange(10), 3)
    taught, held = holdout_split(labels, 0.15, seed=0)
    assert len(held) == 5 and len(set(labels[held])) == 5
    assert sorted(np.concatenate([taught, held]).tolist()) == list(range(30))
    assert set(labels[taught]) == set(range(10))
    assert np.array_equal(held, holdout_split(labels, 0.15, seed=0)[1])  # seeded
    lopsided = np.array([7] * 20 + [1, 2])
    taught, held = holdout_split(lopsided, 0.15)
    assert len(held) == 3 and set(lopsided[held]) == {7} and {1, 2} <= set(lopsided[taught])


@pytest.mark.parametrize("labels", [[3], [1, 2, 3, 4, 5], [0, 0, 1, 2, 3, 4], []])
def test_too_few_drawings_hold_nothing_out(labels):
    taught, held = holdout_split(np.array(labels, np.int64), 0.15)
    assert len(held) == 0 and len(taught) == len(labels)


def test_an_mnist_drop_over_half_a_point_blocks_activation_with_a_reason():
    assert MNIST_DROP_LIMIT == 0.005
    assert mnist_drop_reason(0.9928, 0.9900) is None
    assert mnist_drop_reason(0.9928, 0.9940) is None
    reason = str(mnist_drop_reason(0.9928, 0.9850))
    assert reason and "99.28%" in reason and "98.50%" in reason and "0.78 points" in reason
    assert mnist_drop_reason(0.99, 0.98, limit=0.02) is None


def test_options_out_of_range_are_refused():
    with pytest.raises(ConfigError, match="learning_rate_factor"):
        TeachOptions(learning_rate_factor=0)
    with pytest.raises(ConfigError, match="holdout"):
        TeachOptions(holdout=1.0)


# -- teaching ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def writer():
    """A writer whose hand is turned 35 degrees right: 30 drawings to teach, 100 others to score."""
    from bench.handwriting import WRITERS, build_writer_sets

    (chosen,) = [w for w in WRITERS if w.name == "far-right"]
    (writer_set,) = build_writer_sets([chosen.name], PREPROCESSING_VERSION, score_per_digit=10, hands="own")
    return writer_set


@pytest.fixture(scope="module")
def parent():
    store = ModelStore(PRETRAINED_DIR)
    return store.resolve("default"), store.load("default")


@pytest.fixture(scope="module")
def mnist(mnist_raw):
    return mnist_reference(PREPROCESSING_VERSION, FAST, mnist_raw)


def error(network, writer) -> float:
    from model.net.inference import predict_batch

    return float(np.mean(predict_batch(network, writer.score_x).argmax(axis=1) != writer.score_y))


@pytest.fixture(scope="module")
def taught(parent, writer, mnist):
    info, network = parent
    weights = [w.copy() for w in network.get_weights()]
    events = []
    result = teach(network, info, writer.teach, FAST, [events.append], mnist=mnist)
    return result, weights, events


@pytest.fixture(scope="module")
def taught_without_replay(parent, writer, mnist):
    info, network = parent
    return teach(network, info, writer.teach, replace(FAST, replay=False), mnist=mnist)


@pytest.mark.slow
@pytest.mark.slow
def test_teaching_learns_the_writers_style_and_keeps_mnist(parent, writer, taught):
    result, _, _ = taught
    before, after = error(parent[1], writer), error(result.network, writer)
    assert before > 0.1  # the network misreads this writer...
    assert after < before / 2  # ...and reads their other drawings far better once taught
    assert result.mnist_before - result.mnist_after <= MNIST_DROP_LIMIT
    assert result.blocked is None
    assert result.status == "completed" and result.examples == 25 and result.held_out == 5
    assert result.yours_before is not None and result.yours_after is not None
    assert result.taught_after >= result.taught_before and result.mnist_tested == 2000


@pytest.mark.slow
@pytest.mark.slow
def test_teaching_only_the_drawings_forgets_more_mnist(taught, taught_without_replay):
    with_replay, _, _ = taught
    drop_with = with_replay.mnist_before - with_replay.mnist_after
    drop_without = taught_without_replay.mnist_before - taught_without_replay.mnist_after
    assert drop_without > drop_with + 0.002


@pytest.mark.slow
@pytest.mark.slow
def test_the_parent_network_is_untouched_and_the_result_can_be_saved(parent, taught, store):
    result, weights, events = taught
    info, network = parent
    for kept, now in zip(weights, network.get_weights(), strict=True):
        np.testing.assert_array_equal(kept, now)
    assert result.network is not network
    metadata = result.metadata
    assert metadata.base_model == "default" and metadata.config == info.metadata.config
    assert metadata.test_accuracy == result.mnist_after and metadata.preprocessing == info.metadata.preprocessing
    saved, blocked = save_taught(store, result, "default+mine")
    assert saved == safe_name("default+mine") and store.get(saved).metadata.base_model == "default"
    assert blocked == result.blocked and store.active().name == "default"  # a page uses it in its own session
    by_the_owner, _ = save_taught(store, result, "from-the-cli", as_default=True)  # learn on the server
    assert store.active().name == (by_the_owner if blocked is None else "default")
    assert any(type(e).__name__ == "BatchEvent" for e in events)
    assert sum(type(e).__name__ == "EpochEvent" for e in events) == result.epochs


@pytest.mark.slow
def test_stop_ends_teaching_after_the_current_batch(parent, writer, mnist):
    info, network = parent
    stop = threading.Event()
    result = teach(network, info, writer.teach[:10], FAST, [lambda event: stop.set()], stop, mnist)
    assert result.status == "stopped" and "Stopped by request" in str(result.message)
    assert result.epochs == 1


# -- the command line ----------------------------------------------------------------


def run_cli(*args: str, models_dir) -> subprocess.CompletedProcess:
    env = {**os.environ, "MNIST_MODELS_DIR": str(models_dir)}
    return subprocess.run(
        [sys.executable, "-m", "model", *args], capture_output=True, text=True, cwd=PROJECT_ROOT, env=env, timeout=300
    )


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow
@pytest.mark.slow
def test_learn_prints_one_json_object_and_leaves_the_parent_file_as_it_was(tmp_path, writer):
    from bench.handwriting import write_digit_folder

    models = tmp_path / "models"
    models.mkdir()
    for suffix in (".keras", ".json"):
        shutil.copy(PRETRAINED_DIR / f"default{suffix}", models / f"mine{suffix}")
    hashes = {path.name: digest(path) for path in models.iterdir()}
    folder = tmp_path / "drawings"
    write_digit_folder(writer.teach, folder)
    (folder / "5" / "notes.txt").write_text("not an image")
    done = run_cli("learn", str(folder), "--model", "mine", "--max-test", "500", "--json", models_dir=models)
    assert done.returncode == 0, done.stderr
    assert "notes.txt" in done.stderr  # reported, skipped
    record = json.loads(done.stdout.strip().splitlines()[-1])
    assert record["name"] == safe_name("mine+mine") and record["base"] == "mine"
    assert record["examples"] == 25 and record["held_out"] == 5
    assert isinstance(record["seconds"], float)
    for part in ("mnist", "yours"):
        assert set(record[part]) == {"before", "after"}
        assert all(isinstance(value, float) and 0 <= value <= 1 for value in record[part].values())
    assert {path.name: digest(path) for path in models.glob("mine.*")} == hashes
    saved = json.loads((models / f"{record['name']}.json").read_text())
    assert saved["base_model"] == "mine" and saved["test_accuracy"] == record["mnist"]["after"]


@pytest.mark.slow
@pytest.mark.slow
def test_learn_from_a_tiny_folder_holds_nothing_out(tmp_path, writer, capsys):
    from bench.handwriting import write_digit_folder
    from model.cli import main

    folder = tmp_path / "drawings"
    write_digit_folder(writer.teach[:3], folder)  # a 0, a 1 and a 2
    models = tmp_path / "models"
    assert main(["learn", str(folder), "--max-test", "300", "--json", "--models-dir", str(models)]) == 0
    record = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert record["yours"] is None and record["examples"] == 3 and record["name"] == safe_name("default+mine")


@pytest.mark.parametrize("broken", [False, True])
def test_learn_from_a_folder_without_usable_drawings_exits_2_with_a_message(tmp_path, capsys, broken):
    from model.cli import main

    folder = tmp_path / "drawings"
    (folder / "3").mkdir(parents=True)
    if broken:
        (folder / "3" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    assert main(["learn", str(folder), "--models-dir", str(tmp_path / "models")]) == 2
    err = capsys.readouterr().err
    assert "no usable drawing" in err and "sub-folders named 0 to 9" in err
    assert ("broken.png" in err) == broken
    assert not (tmp_path / "models").exists() or not list((tmp_path / "models").glob("*.keras"))


def test_learn_refuses_an_existing_name_before_reading_anything(tmp_path, capsys, monkeypatch):
    import utils.drawings
    from model.cli import main

    models = tmp_path / "models"
    models.mkdir()
    (models / "taken.keras").write_bytes(b"x")
    (models / "taken.json").write_text("{}")
    monkeypatch.setattr(utils.drawings, "read_digit_folder", lambda *a: pytest.fail("read before the name check"))
    assert main(["learn", str(tmp_path / "nowhere"), "--name", "taken", "--models-dir", str(models)]) == 2
    assert "already exists" in capsys.readouterr().err
