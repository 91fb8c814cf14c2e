"""Classes in their SQLite database: joining, limits, the board, permissions, and the database under stress."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from model.classroom.classes import CODE_ALPHABET, CODE_LENGTH, Classroom, check_allowed
from model.classroom.db import MIGRATIONS, ClassroomError, Database, database_path
from model.classroom.limits import Limits
from model.net.config import TrainingConfig
from tests.helpers import PROJECT_ROOT


@pytest.fixture
def classroom(tmp_path) -> Classroom:
    return Classroom(Database(database_path(tmp_path / "models")))


@pytest.fixture
def made(classroom):
    """A class, its key, and two students: Ana (session s1) and Bruno (session s2)."""
    info, key = classroom.create("Turma 7B")
    classroom.join(info.code, "Ana", "s1")
    classroom.join(info.code, "Bruno", "s2")
    return info.code, key


def test_the_database_lives_beside_the_models(tmp_path):
    assert database_path(tmp_path) == tmp_path / "classes.sqlite3"


def test_a_new_class_has_a_short_unambiguous_unique_code_and_a_key_kept_only_as_a_salted_hash(tmp_path, classroom):
    made = [classroom.create(f"class {i}") for i in range(30)]
    codes = [info.code for info, _ in made]
    assert len(set(codes)) == 30
    assert all(len(code) == CODE_LENGTH and set(code) <= set(CODE_ALPHABET) for code in codes)
    assert not set("01OIL") & set(CODE_ALPHABET)
    info, key = made[0]
    assert info.name == "class 0" and not info.ended and info.limits == Limits() and info.pinned_model is None
    assert len(key) >= 32
    raw = b"".join(path.read_bytes() for path in (tmp_path / "models").iterdir())
    assert key.encode() not in raw
    with sqlite3.connect(tmp_path / "models" / "classes.sqlite3") as db:
        salts = [row[0] for row in db.execute("SELECT key_salt FROM classes")]
    assert len(set(salts)) == 30  # salted: the same key would hash differently in each class


def test_codes_are_read_in_any_case_and_unknown_codes_refused(classroom, made):
    code, _ = made
    assert classroom.get(f" {code.lower()} ").code == code
    with pytest.raises(ClassroomError, match="no class has the code"):
        classroom.get("ZZZZZZ")


def test_teacher_key_right_and_wrong(classroom, made):
    code, key = made
    classroom.check_teacher(code, key)
    for wrong in ("", key[:-1], key + "x", "A" * len(key)):
        with pytest.raises(ClassroomError, match="teacher key"):
            classroom.check_teacher(code, wrong)
    _, other_key = classroom.create("Another")
    with pytest.raises(ClassroomError, match="teacher key"):
        classroom.check_teacher(code, other_key)  # one class's key opens no other class


def test_names_are_unique_in_a_class_and_kept_by_the_session_that_took_them(classroom, made):
    code, _ = made
    assert classroom.join(code, "  ana ", "s1") == "Ana"  # the same session joins again under its name
    with pytest.raises(ClassroomError, match="Ana is already taken"):
        classroom.join(code, "ANA", "another session")
    other, _ = classroom.create("Other class")
    assert classroom.join(other.code, "Ana", "s9") == "Ana"  # unique per class only
    assert classroom.join(code, "Carla   Dias", "s3") == "Carla Dias"
    assert classroom.students(code) == ["Ana", "Bruno", "Carla Dias"]
    for bad in ("", "   ", "x" * 41, "tab\there\x00"):
        with pytest.raises(ClassroomError, match="display name"):
            classroom.join(code, bad, "s4")


def test_limits_name_what_they_refuse_and_apply_moves_a_config_inside():
    limits = Limits(
        max_hidden_layers=2, max_units=64, max_epochs=3, max_train=1000, activations=("relu", "tanh"),
        optimizers=("adam",), fixed={"batch_size": 64}, goal="best test accuracy",
    )  # fmt: skip
    wanted = TrainingConfig(hidden_layers=3, units=128, epochs=10, activation="sigmoid", optimizer="sgd")
    problems = [str(problem) for problem in limits.problems(wanted, max_train=5000)]
    assert problems == [
        "at most 2 hidden layers in this class; this has 3",
        "at most 64 units per layer in this class; this has 128",
        "at most 3 epochs in this class; this has 10",
        "at most 1,000 training digits in this class; this uses 5,000",
        "Activation sigmoid is not allowed in this class; allowed: relu, tanh",
        "Optimizer sgd is not allowed in this class; allowed: adam",
        "Batch size is fixed at 64 in this class; this has 128",
    ]
    inside = limits.apply(wanted)
    assert limits.problems(inside) == []
    assert (inside.hidden_layers, inside.units, inside.epochs, inside.activation, inside.optimizer) == (
        2, 64, 3, "relu", "adam",
    )  # fmt: skip
    assert inside.batch_size == 64 and inside.dropout == wanted.dropout
    assert limits.train_slice(None) == 1000 and limits.train_slice(500) == 500 and limits.train_slice(9000) == 1000
    assert Limits().train_slice(None) is None and Limits().problems(wanted, 60000) == []
    assert str(limits.describe()[0]) == "Goal: best test accuracy"
    assert "At most 1 hidden layer" in [str(line) for line in Limits(max_hidden_layers=1).describe()]
    assert Limits.from_json(limits.to_json()) == limits
    assert Limits.from_json('{"max_epochs": 2, "from_a_newer_version": 1}') == Limits(max_epochs=2)


@pytest.mark.parametrize(
    "bad",
    [
        {"max_epochs": 0}, {"max_units": 4096}, {"max_hidden_layers": True}, {"max_train": 50},
        {"activations": ("swish",)}, {"optimizers": ()}, {"fixed": {"units": 3}}, {"fixed": {"colour": 1}},
        {"goal": "x" * 501},
    ],
)  # fmt: skip
def test_limits_that_cannot_be_are_refused(bad):
    with pytest.raises(ClassroomError):
        Limits(**bad)


def test_limits_are_kept_by_the_class_and_checked_for_every_training(classroom, made):
    code, key = made
    limits = Limits(max_epochs=2, fixed={"optimizer": "adam"})
    with pytest.raises(ClassroomError, match="teacher key"):
        classroom.set_limits(code, "wrong", limits)
    classroom.set_limits(code, key, limits)
    assert classroom.get(code).limits == limits
    check_allowed(classroom, code, TrainingConfig(epochs=2, optimizer="adam"))
    with pytest.raises(ClassroomError, match="at most 2 epochs in this class; this has 5; Optimizer is fixed at adam"):
        check_allowed(classroom, code, TrainingConfig(epochs=5))


def test_the_board_records_every_run_with_its_progress(classroom, made):
    code, _ = made
    settings = TrainingConfig(epochs=2).to_dict()
    first = classroom.start_run(code, "ana", settings)
    second = classroom.start_run(code, "Bruno", settings)
    classroom.update_run(first, status="training", epoch=1, epochs=2, val_accuracy=0.9, history={"loss": [0.5]})
    classroom.update_run(first, status="finished", model="m-ana", test_accuracy=0.91, seconds=3.5)
    board = classroom.board(code)
    assert [(run.id, run.student, run.status) for run in board] == [
        (first, "Ana", "finished"), (second, "Bruno", "queued"),
    ]  # fmt: skip
    run = board[0]
    assert (run.model, run.epoch, run.epochs, run.val_accuracy, run.test_accuracy, run.seconds) == (
        "m-ana", 1, 2, 0.9, 0.91, 3.5,
    )  # fmt: skip
    assert run.settings == settings and run.history == {"loss": [0.5]} and run.started <= run.updated
    with pytest.raises(ClassroomError, match="has not joined"):
        classroom.start_run(code, "Zoe", settings)
    with pytest.raises(ValueError):
        classroom.update_run(first, status="exploded")
    with pytest.raises(ClassroomError, match="no run"):
        classroom.update_run(9999, status="failed")
    other, _ = classroom.create("Other")
    assert classroom.board(other.code) == []  # nobody sees another class's runs


def test_a_student_removes_only_their_own_runs_and_the_teacher_any(classroom, made):
    code, key = made
    ana = classroom.start_run(code, "Ana", {})
    bruno = classroom.start_run(code, "Bruno", {})
    with pytest.raises(ClassroomError, match="only the teacher or the student"):
        classroom.remove_run(code, ana, student="Bruno")
    with pytest.raises(ClassroomError, match="only the teacher or the student"):
        classroom.remove_run(code, ana)
    with pytest.raises(ClassroomError, match="teacher key"):
        classroom.remove_run(code, ana, key="wrong")
    other, other_key = classroom.create("Other")
    with pytest.raises(ClassroomError, match="has no run"):
        classroom.remove_run(other.code, ana, key=other_key)
    classroom.remove_run(code, ana, student="ana")
    classroom.remove_run(code, bruno, key=key)
    assert classroom.board(code) == []


def test_what_a_student_makes_is_theirs_and_ending_a_class_lists_it(classroom, made):
    code, key = made
    classroom.claim(code, "Ana", "model", "ana-net")
    classroom.claim(code, "bruno", "set", "bruno-sevens")
    assert classroom.owner("model", "ana-net") == (code, "Ana")
    assert classroom.owner("set", "bruno-sevens") == (code, "Bruno")
    assert classroom.owner("model", "bruno-sevens") is None and classroom.owner("model", "default") is None
    with pytest.raises(ClassroomError, match="has not joined"):
        classroom.claim(code, "Zoe", "model", "z")
    classroom.pin_model(code, key, "ana-net")
    assert classroom.get(code).pinned_model == "ana-net"
    with pytest.raises(ClassroomError, match="teacher key"):
        classroom.end(code, "wrong")
    run = classroom.start_run(code, "Ana", {})
    assert classroom.end(code, key) == [("model", "ana-net"), ("set", "bruno-sevens")]
    assert classroom.get(code).ended and [r.id for r in classroom.board(code)] == [run]  # the board stays
    for refused in (
        lambda: classroom.join(code, "Carla", "s3"),
        lambda: classroom.start_run(code, "Ana", {}),
        lambda: check_allowed(classroom, code, TrainingConfig()),
        lambda: classroom.set_limits(code, key, Limits()),
    ):
        with pytest.raises(ClassroomError, match="has ended"):
            refused()


def test_the_schema_version_is_recorded_and_a_newer_database_refused(tmp_path, classroom, made):
    path = classroom.db.path
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    with pytest.raises(ClassroomError, match="newer version"):
        Classroom(Database(path)).get(made[0])


# Many sessions writing at once: threads of one server and whole processes (several servers on one folder).


def record_runs(path: str, code: str, student: str, runs: int) -> int:
    """Join, then record ``runs`` runs from start to finish, as a student's session would."""
    classroom = Classroom(Database(path))
    classroom.join(code, student, f"session of {student}")
    for number in range(runs):
        run = classroom.start_run(code, student, {"seed": number})
        for epoch in range(1, 3):
            classroom.update_run(run, status="training", epoch=epoch, epochs=2, history={"loss": [1.0] * epoch})
        classroom.update_run(run, status="finished", model=f"{student}-{number}", test_accuracy=number / 100)
        classroom.claim(code, student, "model", f"{student}-{number}")
    return runs


def test_many_sessions_write_at_once_and_nothing_is_lost(classroom):
    info, _ = classroom.create("Busy class")
    path, runs = str(classroom.db.path), 8
    errors: list[BaseException] = []

    def thread_student(number: int) -> None:
        try:
            record_runs(path, info.code, f"thread {number}", runs)
        except BaseException as error:  # every error fails the test below, "database is locked" first of all
            errors.append(error)

    with ProcessPoolExecutor(4, mp_context=multiprocessing.get_context("spawn")) as processes:
        in_processes = [processes.submit(record_runs, path, info.code, f"process {n}", runs) for n in range(4)]
        threads = [threading.Thread(target=thread_student, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert [future.result() for future in in_processes] == [runs] * 4
    assert errors == []
    board = classroom.board(info.code)
    assert len(board) == 12 * runs and len(classroom.students(info.code)) == 12
    assert {run.status for run in board} == {"finished"} and all(run.epoch == 2 for run in board)
    assert len({run.model for run in board}) == 12 * runs
    assert classroom.owner("model", "process 3-7") == (info.code, "process 3")


# A locked, damaged or read-only database: a message naming it, and nothing lost.


def test_a_locked_database_says_so_and_loses_nothing(tmp_path):
    path = tmp_path / "classes.sqlite3"
    classroom = Classroom(Database(path, timeout_s=0.2))
    info, _ = classroom.create("Locked")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another program holds the write lock
    try:
        with pytest.raises(ClassroomError, match="is busy: another program holds it locked"):
            classroom.join(info.code, "Ana", "s1")
        assert classroom.get(info.code).name == "Locked"  # reading goes on meanwhile (WAL)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    classroom.join(info.code, "Ana", "s1")  # the same write, once the lock is gone
    assert classroom.students(info.code) == ["Ana"]


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_damaged_database_says_so_and_is_left_as_it_is(tmp_path, damage):
    path = tmp_path / "classes.sqlite3"
    if damage == "garbage":
        path.write_bytes(b"this is not a database " * 500)
    else:
        database = Database(path)
        Classroom(database).create("Lost")
        database.close()  # the last connection: its log is written into the file and removed
        assert not Path(f"{path}-wal").exists()
        whole = path.read_bytes()
        path.write_bytes(whole[:100] + b"\xff" * (len(whole) - 100))  # header kept, every page scrambled
    before = path.read_bytes()
    classroom = Classroom(Database(path))
    for attempt in (lambda: classroom.create("New"), lambda: classroom.get("ABCDEF")):
        with pytest.raises(ClassroomError, match=r"is damaged .*move it away to start anew") as caught:
            attempt()
        assert str(path) in str(caught.value)
    assert path.read_bytes() == before


READ_ONLY_CHECK = """
import sys
from model.classroom.classes import Classroom
from model.classroom.db import ClassroomError, Database
classroom = Classroom(Database(sys.argv[1], timeout_s=0.2))
print("students:", classroom.students(sys.argv[2]))
for write in (lambda: classroom.create("New"), lambda: classroom.join(sys.argv[2], "Bruno", "s2")):
    try:
        write()
        print("written")
    except ClassroomError as error:
        print("refused:", error)
"""


def test_a_read_only_database_can_be_read_and_refuses_writes_with_a_message(tmp_path):
    """Really read-only, also as root (who ignores file modes): a read-only bind mount in a mount namespace of its
    own; as another user, the file modes themselves."""
    folder = tmp_path / "models"
    classroom = Classroom(Database(database_path(folder)))
    info, _ = classroom.create("Read only")
    classroom.join(info.code, "Ana", "s1")
    classroom.db.close()
    before = database_path(folder).read_bytes()
    check = [sys.executable, "-c", READ_ONLY_CHECK, str(database_path(folder)), info.code]
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    if os.geteuid() == 0:
        mount = f'mount --bind -o ro {folder} {folder} && exec "$@"'
        check = [shutil.which("unshare") or "unshare", "--mount", "sh", "-c", mount, "sh", *check]
    else:
        database_path(folder).chmod(0o444)
        folder.chmod(0o555)
    try:
        done = subprocess.run(check, capture_output=True, text=True, env=env, timeout=120)
    finally:
        folder.chmod(0o755)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "students: ['Ana']"
    assert lines[1:] == [f"refused: the class database {database_path(folder)} is read-only: "
                         "attempt to write a readonly database; classes can be seen but not changed"] * 2  # fmt: skip
    assert database_path(folder).read_bytes() == before
    assert Classroom(Database(database_path(folder))).students(info.code) == ["Ana"]


def test_a_folder_that_cannot_be_made_says_so(tmp_path):
    blocker = tmp_path / "models"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(ClassroomError, match="cannot be created"):
        Classroom(Database(database_path(blocker))).create("X")


def test_connections_are_per_thread_and_per_process(tmp_path):
    database = Database(tmp_path / "classes.sqlite3")
    mine = database.connection()
    assert database.connection() is mine
    seen: list[sqlite3.Connection] = []
    thread = threading.Thread(target=lambda: seen.append(database.connection()))
    thread.start()
    thread.join()
    assert seen and seen[0] is not mine
