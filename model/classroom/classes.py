"""Classes without accounts: a join code, a teacher key, students by display name, their runs and what they made.

The teacher key is shown once and stored only as a salted scrypt hash, compared in constant
time. A student is (class code, display name) plus the browser session that took the name; the
same session may join again, another session may not take the name. Every method is one
transaction of the classroom database.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from model.classroom.db import ClassroomError, Database
from model.classroom.limits import Limits
from model.net.config import TrainingConfig
from utils.i18n import N_, Message, num

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read aloud or from a board without mistakes
CODE_LENGTH = 6
NAME_MAX_CHARS = 40
CLASS_NAME_MAX_CHARS = 80
STATUSES = ("queued", "training", "finished", "stopped", "failed")
KINDS = ("model", "set")
RUN_FIELDS = ("status", "model", "epoch", "epochs", "val_accuracy", "test_accuracy", "seconds", "history")
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class ClassInfo:
    code: str  # CODE_LENGTH characters of CODE_ALPHABET
    name: str
    created: str  # ISO time, UTC
    limits: Limits
    pinned_model: str | None
    ended: bool


@dataclass(frozen=True)
class Run:
    """One student's training, as the board shows it."""

    id: int
    student: str
    model: str | None  # the saved model's name once saved
    status: str  # one of STATUSES
    settings: dict[str, object]  # TrainingConfig.to_dict()-like
    epoch: int | None
    epochs: int | None
    val_accuracy: float | None  # fractions
    test_accuracy: float | None
    seconds: float | None
    started: str
    updated: str
    history: dict[str, list[float]]  # loss / val_loss per epoch (may be empty)


class Classroom:
    """Every class of one server, in its database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, name: str) -> tuple[ClassInfo, str]:
        """A new class and its teacher key (shown once: only a salted hash is kept)."""
        name = _display_name(name, CLASS_NAME_MAX_CHARS, N_("a class name"))
        key = secrets.token_urlsafe(24)
        salt = secrets.token_bytes(16)
        with self.db.transaction() as db:
            code = _new_code(db)
            db.execute(
                "INSERT INTO classes (code, name, created, key_salt, key_hash, limits) VALUES (?, ?, ?, ?, ?, ?)",
                (code, name, _now(), salt, _hashed(key, salt), Limits().to_json()),
            )
        return self.get(code), key

    def get(self, code: str) -> ClassInfo:
        """The class with this code (any case, spaces ignored)."""
        with self.db.transaction(write=False) as db:
            return _class(db, code)

    def check_teacher(self, code: str, key: str) -> None:
        """Refuse a wrong teacher key (the hashes compared in constant time)."""
        with self.db.transaction(write=False) as db:
            _check_key(db, _class(db, code).code, key)

    def join(self, code: str, student: str, session: str) -> str:
        """Join as ``student``; the display name as kept. The session that took a name may take it again."""
        name = _display_name(student, NAME_MAX_CHARS, N_("a display name"))
        with self.db.transaction() as db:
            info = _open_class(db, code)
            row = db.execute(
                "SELECT name, session FROM students WHERE code = ? AND folded = ?", (info.code, name.casefold())
            ).fetchone()
            if row is None:
                db.execute(
                    "INSERT INTO students (code, name, folded, session, joined) VALUES (?, ?, ?, ?, ?)",
                    (info.code, name, name.casefold(), session, _now()),
                )
                return name
            if not hmac.compare_digest(row[1].encode(), session.encode()):
                problem = N_("{name} is already taken in class {code}; choose another name")
                raise ClassroomError(Message(problem, name=row[0], code=info.code))
            return str(row[0])

    def students(self, code: str) -> list[str]:
        with self.db.transaction(write=False) as db:
            info = _class(db, code)
            rows = db.execute("SELECT name FROM students WHERE code = ? ORDER BY joined, name", (info.code,))
            return [row[0] for row in rows]

    def set_limits(self, code: str, key: str, limits: Limits) -> None:
        with self.db.transaction() as db:
            info = _open_class(db, code)
            _check_key(db, info.code, key)
            db.execute("UPDATE classes SET limits = ? WHERE code = ?", (limits.to_json(), info.code))

    def pin_model(self, code: str, key: str, model: str | None) -> None:
        """The class's default model for its students (None: the server's default)."""
        with self.db.transaction() as db:
            info = _open_class(db, code)
            _check_key(db, info.code, key)
            db.execute("UPDATE classes SET pinned_model = ? WHERE code = ?", (model, info.code))

    def start_run(self, code: str, student: str, settings: dict[str, object]) -> int:
        """A new run on the board, queued; its id for ``update_run``. The student must have joined."""
        with self.db.transaction() as db:
            info = _open_class(db, code)
            folded = _joined(db, info.code, student)
            now = _now()
            cursor = db.execute(
                "INSERT INTO runs (code, student, status, settings, started, updated) VALUES (?, ?, 'queued', ?, ?, ?)",
                (info.code, folded, json.dumps(settings), now, now),
            )
            return int(cursor.lastrowid or 0)

    def update_run(self, run_id: int, **changes: object) -> None:
        """Record a run's progress or outcome: any of RUN_FIELDS."""
        unknown = set(changes) - set(RUN_FIELDS)
        if unknown:
            raise TypeError(f"update_run() got unknown fields {sorted(unknown)}")
        if "status" in changes and changes["status"] not in STATUSES:
            raise ValueError(f"a run's status is one of {STATUSES}, got {changes['status']!r}")
        values = {key: _stored(key, value) for key, value in changes.items()}
        with self.db.transaction() as db:
            assignments = ", ".join(f"{key} = ?" for key in [*values, "updated"])
            cursor = db.execute(f"UPDATE runs SET {assignments} WHERE id = ?", (*values.values(), _now(), run_id))
            if cursor.rowcount == 0:
                raise ClassroomError(Message(N_("there is no run {run} on any class board"), run=run_id))

    def board(self, code: str) -> list[Run]:
        """Every run of the class, oldest first."""
        with self.db.transaction(write=False) as db:
            info = _class(db, code)
            rows = db.execute(
                "SELECT runs.id, students.name, model, status, settings, epoch, epochs, val_accuracy, test_accuracy, "
                "seconds, started, updated, history FROM runs JOIN students "
                "ON students.code = runs.code AND students.folded = runs.student WHERE runs.code = ? ORDER BY runs.id",
                (info.code,),
            ).fetchall()
        return [_run(row) for row in rows]

    def remove_run(self, code: str, run_id: int, *, key: str | None = None, student: str | None = None) -> None:
        """The teacher (with the key) may remove any run of the class; a student only their own."""
        with self.db.transaction() as db:
            info = _class(db, code)
            row = db.execute("SELECT student FROM runs WHERE id = ? AND code = ?", (run_id, info.code)).fetchone()
            if row is None:
                problem = N_("class {code} has no run {run}")
                raise ClassroomError(Message(problem, code=info.code, run=run_id))
            if key is not None:
                _check_key(db, info.code, key)
            elif student is None or student.strip().casefold() != row[0]:
                problem = N_("only the teacher or the student who trained it can remove run {run}")
                raise ClassroomError(Message(problem, run=run_id))
            db.execute("DELETE FROM runs WHERE id = ?", (run_id,))

    def claim(self, code: str, student: str, kind: str, name: str) -> None:
        """``student`` made the model or drawing set ``name``: it is theirs (a freed name made again changes hands)."""
        if kind not in KINDS:
            raise ValueError(f"kind is one of {KINDS}, got {kind!r}")
        with self.db.transaction() as db:
            info = _class(db, code)
            folded = _joined(db, info.code, student)
            db.execute(
                "INSERT INTO items (kind, name, code, student) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (kind, name) DO UPDATE SET code = excluded.code, student = excluded.student",
                (kind, name, info.code, folded),
            )

    def owner(self, kind: str, name: str) -> tuple[str, str] | None:
        """(class code, student's display name) of whoever made it in a class; None if not made in a class."""
        with self.db.transaction(write=False) as db:
            row = db.execute(
                "SELECT items.code, students.name FROM items JOIN students "
                "ON students.code = items.code AND students.folded = items.student WHERE kind = ? AND items.name = ?",
                (kind, name),
            ).fetchone()
        return None if row is None else (row[0], row[1])

    def end(self, code: str, key: str) -> list[tuple[str, str]]:
        """End the class (no more joining or training; the board stays) and list what its students made, so the
        caller may delete those files if the teacher asked."""
        with self.db.transaction() as db:
            info = _class(db, code)
            _check_key(db, info.code, key)
            db.execute("UPDATE classes SET ended = 1 WHERE code = ?", (info.code,))
            rows = db.execute("SELECT kind, name FROM items WHERE code = ? ORDER BY kind, name", (info.code,))
            return [(row[0], row[1]) for row in rows]


def check_allowed(classroom: Classroom, code: str, config: TrainingConfig, max_train: int | None = None) -> None:
    """Refuse a training the class does not allow (an ended class, or a limit passed), naming every limit passed."""
    info = classroom.get(code)
    if info.ended:
        raise ClassroomError(Message(N_("class {code} has ended"), code=info.code))
    problems = info.limits.problems(config, max_train)
    if problems:
        listed = problems[0]
        for problem in problems[1:]:
            listed = Message(N_("{first}; {then}"), first=listed, then=problem)
        raise ClassroomError(Message(N_("not allowed in class {code}: {problems}"), code=info.code, problems=listed))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _hashed(key: str, salt: bytes) -> bytes:
    return hashlib.scrypt(key.encode(), salt=salt, **_SCRYPT)


def _new_code(db: sqlite3.Connection) -> str:
    """A join code no class has (inside the write transaction, so no other writer can take it meanwhile)."""
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if db.execute("SELECT 1 FROM classes WHERE code = ?", (code,)).fetchone() is None:
            return code


def _display_name(raw: str, longest: int, what: str) -> str:
    """Trimmed, inner spaces single, 1 to ``longest`` characters, no control characters."""
    name = " ".join(str(raw).split())
    if not name or len(name) > longest or _CONTROL.search(name):
        problem = N_("{what} must be 1 to {count} characters, got {value}")
        raise ClassroomError(Message(problem, what=Message(what), count=num(longest), value=repr(str(raw)[:60])))
    return name


def _class(db: sqlite3.Connection, code: str) -> ClassInfo:
    wanted = "".join(str(code).split()).upper()
    row = db.execute(
        "SELECT code, name, created, limits, pinned_model, ended FROM classes WHERE code = ?", (wanted,)
    ).fetchone()
    if row is None:
        raise ClassroomError(Message(N_("no class has the code {code}"), code=repr(str(code)[:20])))
    return ClassInfo(row[0], row[1], row[2], Limits.from_json(row[3]), row[4], bool(row[5]))


def _open_class(db: sqlite3.Connection, code: str) -> ClassInfo:
    info = _class(db, code)
    if info.ended:
        raise ClassroomError(Message(N_("class {code} has ended"), code=info.code))
    return info


def _check_key(db: sqlite3.Connection, code: str, key: str) -> None:
    salt, expected = db.execute("SELECT key_salt, key_hash FROM classes WHERE code = ?", (code,)).fetchone()
    if not hmac.compare_digest(_hashed(str(key), salt), expected):
        raise ClassroomError(Message(N_("the teacher key of class {code} is not right"), code=code))


def _joined(db: sqlite3.Connection, code: str, student: str) -> str:
    """The student's folded name, if they joined the class."""
    folded = " ".join(str(student).split()).casefold()
    if db.execute("SELECT 1 FROM students WHERE code = ? AND folded = ?", (code, folded)).fetchone() is None:
        problem = N_("{name} has not joined class {code}")
        raise ClassroomError(Message(problem, name=str(student)[:NAME_MAX_CHARS], code=code))
    return folded


def _stored(key: str, value: object) -> object:
    """A run's field as a column holds it: history as JSON, numbers as numbers (never NaN)."""
    if key == "history":
        return json.dumps(value or {})
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _run(row: tuple[Any, ...]) -> Run:
    return Run(
        id=row[0],
        student=row[1],
        model=row[2],
        status=row[3],
        settings=json.loads(row[4]),
        epoch=row[5],
        epochs=row[6],
        val_accuracy=row[7],
        test_accuracy=row[8],
        seconds=row[9],
        started=row[10],
        updated=row[11],
        history=json.loads(row[12]),
    )
