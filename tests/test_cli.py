"""The CLI end to end, as a user runs it: real processes, real files."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

from tests.helpers import PROJECT_ROOT, draw_canvas


def run_cli(*args: str, models_dir) -> subprocess.CompletedProcess:
    env = {**os.environ, "MNIST_MODELS_DIR": str(models_dir)}
    return subprocess.run(
        [sys.executable, "-m", "model", *args], capture_output=True, text=True, cwd=PROJECT_ROOT, env=env, timeout=300
    )


@pytest.fixture(scope="module")
def images(tmp_path_factory, mnist_raw):
    folder = tmp_path_factory.mktemp("images")
    paths = {}
    for digit in (0, 1, 7):
        index = int(np.flatnonzero(mnist_raw.y_test == digit)[0])
        big = cv2.resize(255 - mnist_raw.x_test[index], (280, 280), interpolation=cv2.INTER_CUBIC)  # dark on light
        paths[digit] = folder / f"digit{digit}.png"
        cv2.imwrite(str(paths[digit]), big)
    paths["blank"] = folder / "blank.png"
    cv2.imwrite(str(paths["blank"]), np.zeros((280, 280), np.uint8))
    paths["canvas"] = folder / "canvas.jpg"
    cv2.imwrite(str(paths["canvas"]), cv2.cvtColor(draw_canvas(), cv2.COLOR_RGBA2BGR))
    paths["broken"] = folder / "broken.png"
    paths["broken"].write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    return paths


@pytest.mark.slow
def test_train_then_evaluate_then_predict(tmp_path, images):
    models = tmp_path / "models"
    trained = run_cli(
        "train",
        "--layers",
        "1",
        "--units",
        "64",
        "--epochs",
        "2",
        "--max-train",
        "4000",
        "--max-test",
        "500",
        "--optimizer",
        "adam",
        "--name",
        "tiny",
        models_dir=models,
    )
    assert trained.returncode == 0, trained.stderr
    assert "epoch   1/2" in trained.stdout and "epoch   2/2" in trained.stdout
    assert "test accuracy" in trained.stdout and (models / "tiny.keras").is_file()
    metadata = json.loads((models / "tiny.json").read_text())
    assert metadata["config"]["units"] == 64 and metadata["status"] == "completed"

    evaluated = run_cli("evaluate", "--json", models_dir=models)  # no --model: the latest, "tiny"
    scores = json.loads(evaluated.stdout.strip())
    assert set(scores) == {"accuracy", "loss"} and 0.8 < scores["accuracy"] < 0.99

    default = json.loads(run_cli("evaluate", "--json", "--model", "default", models_dir=models).stdout)
    assert default["accuracy"] >= 0.98


def test_predict_json_blank_and_unreadable(tmp_path, images):
    files = [images[0], images[1], images["broken"], images[7], images["blank"], images["canvas"]]
    done = run_cli("predict", *map(str, files), "--json", models_dir=tmp_path / "empty")
    assert done.returncode != 0
    assert "broken.png" in done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    by_file = {os.path.basename(line["file"]): line for line in lines}
    assert set(by_file) == {"digit0.png", "digit1.png", "digit7.png", "blank.png", "canvas.jpg"}
    assert [by_file[f"digit{d}.png"]["digit"] for d in (0, 1, 7)] == [0, 1, 7]
    assert by_file["canvas.jpg"]["digit"] == 1  # the vertical stroke of draw_canvas
    assert by_file["blank.png"]["digit"] is None
    for line in lines:
        assert len(line["probabilities"]) == 10
    assert abs(sum(by_file["digit7.png"]["probabilities"]) - 1) < 1e-4


@pytest.mark.slow
def test_bad_arguments_exit_with_a_message(tmp_path):
    done = run_cli("train", "--layers", "9", models_dir=tmp_path)
    assert done.returncode == 2 and "hidden_layers must be between 1 and 8" in done.stderr
    reserved = run_cli("train", "--name", "default", "--epochs", "1", models_dir=tmp_path)
    assert reserved.returncode == 2 and "reserved" in reserved.stderr and "epoch" not in reserved.stdout
    missing = run_cli("evaluate", "--model", "nope", models_dir=tmp_path)
    assert missing.returncode == 2 and "no saved model named 'nope'" in missing.stderr


def test_class_create_limits_and_a_refused_training(tmp_path):
    created = run_cli("class", "create", "Turma 7B", "--json", models_dir=tmp_path)
    assert created.returncode == 0, created.stderr
    made = json.loads(created.stdout)
    code, key = made["code"], made["teacher_key"]
    assert made["teacher_link"] == f"http://localhost:8501/class?class={code}&teacher={key}"
    assert (tmp_path / "classes.sqlite3").is_file()  # beside the models

    wrong = run_cli("class", "limits", code, "--teacher-key", "wrong", "--max-epochs", "1", models_dir=tmp_path)
    assert wrong.returncode == 2 and "teacher key" in wrong.stderr
    limits = run_cli(
        "class", "limits", code, "--teacher-key", key, "--max-hidden-layers", "1", "--max-epochs", "2",
        "--max-train", "600", "--activations", "relu,tanh", "--fix", "batch_size=64", "--goal", "best with 1 layer",
        models_dir=tmp_path,
    )  # fmt: skip
    assert limits.returncode == 0, limits.stderr
    assert "At most 1 hidden layer" in limits.stdout and "Batch size is fixed at 64" in limits.stdout

    refused = run_cli(
        "train", "--class", code.lower(), "--student", "Ana", "--layers", "2", "--epochs", "1", "--json",
        models_dir=tmp_path,
    )  # fmt: skip
    assert refused.returncode == 2 and refused.stdout == ""
    assert "at most 1 hidden layer in this class; this has 2" in refused.stderr
    assert "Batch size is fixed at 64 in this class; this has 128" in refused.stderr
    board = run_cli("class", "board", code, "--json", models_dir=tmp_path)
    assert board.returncode == 0 and json.loads(board.stdout) == []  # nothing started, nothing recorded
    alone = run_cli("train", "--student", "Ana", "--epochs", "1", models_dir=tmp_path)
    assert alone.returncode == 2 and "--class and --student go together" in alone.stderr


@pytest.mark.slow
def test_train_as_a_student_of_a_class_lands_on_its_board(tmp_path):
    made = json.loads(run_cli("class", "create", "Turma 7B", "--json", models_dir=tmp_path).stdout)
    code, key = made["code"], made["teacher_key"]
    run_cli(
        "class", "limits", code, "--teacher-key", key, "--max-epochs", "2", "--max-train", "600", models_dir=tmp_path
    )
    trained = run_cli(
        "train", "--class", code, "--student", "Ana", "--layers", "1", "--units", "16", "--epochs", "2",
        "--batch-size", "32", "--max-test", "300", "--optimizer", "adam", "--json", models_dir=tmp_path,
    )  # fmt: skip
    assert trained.returncode == 0, trained.stderr
    result = json.loads(trained.stdout)
    assert result["training_images"] == 600  # the class's slice of MNIST
    assert 0.4 < result["test_accuracy"] < 1 and result["class"] == code and result["student"] == "Ana"

    board = json.loads(run_cli("class", "board", code, "--json", models_dir=tmp_path).stdout)
    assert len(board) == 1
    run = board[0]
    assert (run["student"], run["model"], run["status"]) == ("Ana", result["name"], "finished")
    assert run["test_accuracy"] == result["test_accuracy"] and (run["epoch"], run["epochs"]) == (2, 2)
    assert run["settings"]["units"] == 16
    csv_board = run_cli("class", "board", code, "--csv", models_dir=tmp_path).stdout.splitlines()
    assert csv_board[0].startswith("id,student,status,model") and f",Ana,finished,{result['name']}," in csv_board[1]

    from model.classroom.classes import Classroom
    from model.classroom.db import Database, database_path

    assert Classroom(Database(database_path(tmp_path))).owner("model", result["name"]) == (code, "Ana")


def test_default_makes_a_saved_model_the_servers_default_and_refuses_the_rest(tmp_path):
    from model.net.config import TrainingConfig
    from model.net.network import build_network
    from model.storage.metadata import ModelMetadata
    from model.storage.store import DEFAULT_MODEL_NAME, ModelStore

    store, config = ModelStore(tmp_path / "models"), TrainingConfig(hidden_layers=1, units=8)
    for name in ("mine", "damaged"):
        store.save(build_network(config), name, ModelMetadata(config=config), as_default=False)
    (store.root / "damaged.keras").write_bytes(b"not a zip")
    assert store.active().name == DEFAULT_MODEL_NAME  # saving alone changes no default
    done = run_cli("default", "mine", models_dir=store.root)
    assert done.returncode == 0 and "the server's default model is now 'mine'" in done.stdout
    assert store.active().name == "mine"
    for refused, said in [("nobody", "no saved model named 'nobody'"), ("damaged", "'damaged' cannot be made active")]:
        done = run_cli("default", refused, models_dir=store.root)
        assert done.returncode == 2 and said in done.stderr and store.active().name == "mine"
