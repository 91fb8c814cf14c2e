"""The classroom database: one SQLite file beside the models, safe for many sessions and processes at once.

Each thread has its own connection (sqlite3 connections are not shared across threads); the
file is in WAL mode, so readers never wait for a writer; every write is one ``BEGIN IMMEDIATE``
transaction, so it is all written or not at all. The schema's version is ``PRAGMA
user_version``; ``MIGRATIONS`` is ordered and only ever grows. Every sqlite3 failure a person
can meet (locked, damaged, read-only, full) becomes a ``ClassroomError`` that says so.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from utils.errors import LabError
from utils.i18n import N_, Message

DATABASE_NAME = "classes.sqlite3"
BUSY_TIMEOUT_S = 5.0

MIGRATIONS: tuple[str, ...] = (  # migration n takes the schema from version n to n + 1; never edit, only append
    """
    CREATE TABLE classes (
        code TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        created TEXT NOT NULL,
        key_salt BLOB NOT NULL,
        key_hash BLOB NOT NULL,
        limits TEXT NOT NULL DEFAULT '{}',
        pinned_model TEXT,
        ended INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE students (
        code TEXT NOT NULL REFERENCES classes (code),
        name TEXT NOT NULL,
        folded TEXT NOT NULL,
        session TEXT NOT NULL,
        joined TEXT NOT NULL,
        PRIMARY KEY (code, folded)
    );
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        code TEXT NOT NULL,
        student TEXT NOT NULL,
        model TEXT,
        status TEXT NOT NULL CHECK (status IN ('queued', 'training', 'finished', 'stopped', 'failed')),
        settings TEXT NOT NULL,
        epoch INTEGER,
        epochs INTEGER,
        val_accuracy REAL,
        test_accuracy REAL,
        seconds REAL,
        history TEXT NOT NULL DEFAULT '{}',
        started TEXT NOT NULL,
        updated TEXT NOT NULL,
        FOREIGN KEY (code, student) REFERENCES students (code, folded)
    );
    CREATE INDEX runs_of_class ON runs (code, id);
    CREATE TABLE items (
        kind TEXT NOT NULL CHECK (kind IN ('model', 'set')),
        name TEXT NOT NULL,
        code TEXT NOT NULL,
        student TEXT NOT NULL,
        PRIMARY KEY (kind, name),
        FOREIGN KEY (code, student) REFERENCES students (code, folded)
    );
    CREATE INDEX items_of_class ON items (code);
    """,
)


class ClassroomError(LabError):
    """A class cannot be found, joined or changed, a limit is passed, or the class database cannot be used."""


def database_path(models_dir: Path) -> Path:
    """Beside the models: one folder holds everything a server keeps."""
    return Path(models_dir) / DATABASE_NAME


class Database:
    """The classroom database at ``path``, created (with its folder) on first use."""

    def __init__(self, path: Path | str, *, timeout_s: float = BUSY_TIMEOUT_S) -> None:
        self.path = Path(path)
        self.timeout_s = timeout_s
        self._local = threading.local()
        self._migrated = False
        self._migrating = threading.Lock()

    def connection(self) -> sqlite3.Connection:
        """This thread's connection (a forked child opens its own), with the schema up to date."""
        held = getattr(self._local, "held", None)
        if held is not None and held[0] == os.getpid():
            return held[1]
        with failures_explained(self.path):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            try:
                connection = self._open(str(self.path), read_only=False)
            except sqlite3.OperationalError as error:
                if getattr(error, "sqlite_errorname", "") != "SQLITE_CANTOPEN" or not self.path.is_file():
                    raise
                # A folder that cannot be written (a read-only mount): WAL cannot keep its shared-memory file
                # beside the database, so read it as the unchanging file it is; every write says "read-only".
                connection = self._open(f"{self.path.resolve().as_uri()}?mode=ro&immutable=1", read_only=True)
        self._local.held = (os.getpid(), connection)
        return connection

    def _open(self, target: str, read_only: bool) -> sqlite3.Connection:
        connection = sqlite3.connect(target, timeout=self.timeout_s, isolation_level=None, uri=read_only)
        try:
            connection.execute(f"PRAGMA busy_timeout = {int(self.timeout_s * 1000)}")
            connection.execute("PRAGMA foreign_keys = ON")
            if not read_only and connection.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                connection.execute("PRAGMA journal_mode = WAL")
            self._migrate(connection)
        except BaseException:
            connection.close()
            raise
        return connection

    def _migrate(self, connection: sqlite3.Connection) -> None:
        """Apply the migrations this file lacks, all in one transaction (another process may be doing the same)."""
        with self._migrating:
            if self._migrated:
                return
            if connection.execute("PRAGMA user_version").fetchone()[0] != len(MIGRATIONS):
                with _rolled_back_unless_done(connection, "BEGIN IMMEDIATE"):
                    version = connection.execute("PRAGMA user_version").fetchone()[0]
                    if version > len(MIGRATIONS):
                        problem = N_("the class database {path} was written by a newer version of the lab")
                        raise ClassroomError(Message(problem, path=str(self.path)))
                    for migration in MIGRATIONS[version:]:
                        for statement in filter(str.strip, migration.split(";")):
                            connection.execute(statement)
                    connection.execute(f"PRAGMA user_version = {len(MIGRATIONS)}")
            self._migrated = True

    @contextmanager
    def transaction(self, write: bool = True) -> Iterator[sqlite3.Connection]:
        """One transaction: ``BEGIN IMMEDIATE`` for writes (take the write lock first, never fail half-way), a
        consistent snapshot for reads; committed at the end, rolled back on any error."""
        connection = self.connection()
        begin = "BEGIN IMMEDIATE" if write else "BEGIN"
        with failures_explained(self.path), _rolled_back_unless_done(connection, begin):
            yield connection

    def close(self) -> None:
        """Close this thread's connection."""
        held = getattr(self._local, "held", None)
        self._local.held = None
        if held is not None and held[0] == os.getpid():
            held[1].close()


@contextmanager
def _rolled_back_unless_done(connection: sqlite3.Connection, begin: str) -> Iterator[None]:
    """``begin`` ... COMMIT; whatever fails on the way (the body, or the commit itself) rolls everything back."""
    connection.execute(begin)
    try:
        yield
        connection.execute("COMMIT")
    finally:
        if connection.in_transaction:
            with suppress(sqlite3.Error):
                connection.execute("ROLLBACK")


@contextmanager
def failures_explained(path: Path) -> Iterator[None]:
    """sqlite3 errors as ClassroomErrors a person can act on; nothing else changes."""
    try:
        yield
    except sqlite3.Error as error:
        raise ClassroomError(_explained(error, path)) from error
    except OSError as error:  # the folder cannot be made
        problem = N_("the class database {path} cannot be created: {reason}")
        raise ClassroomError(Message(problem, path=str(path), reason=error.strerror or str(error))) from error


def _explained(error: sqlite3.Error, path: Path) -> Message:
    code = getattr(error, "sqlite_errorname", "") or ""
    reason = str(error)
    if code.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in reason:
        problem = N_("the class database {path} is busy: another program holds it locked; try again in a moment")
    elif code.startswith("SQLITE_READONLY") or "readonly" in reason:
        problem = N_("the class database {path} is read-only: {reason}; classes can be seen but not changed")
    elif code.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")):
        problem = N_("the class database {path} is damaged ({reason}); it is left as it is: move it away to start anew")
    elif code.startswith("SQLITE_FULL"):
        problem = N_("the class database {path} cannot grow: the disk is full")
    elif code.startswith("SQLITE_CANTOPEN"):
        problem = N_("the class database {path} cannot be opened: {reason}; is its folder readable and writable?")
    else:
        problem = N_("the class database {path} failed: {reason}")
    return Message(problem, path=str(path), reason=reason)
