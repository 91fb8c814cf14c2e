"""A class on one server: students join by code, train the challenge's network and draw while they wait.

Each student is a ``StreamlitSocket`` session (``bench/streamlit_socket.py``, no browser):
it opens the Class page with the class' link (``?class=CODE``), types a name and joins,
opens Train (the class' limits narrow its settings), presses **Train**, then draws a 1 or
a 0 on the Draw page every ``--pause`` seconds until its run is over. A teacher session
watches the board (``?class=CODE&teacher=KEY``), its live part asked for every 2 s as a
browser does. The class is created and its limits set through ``model.classroom`` (what
the Class page and ``python -m model class`` call). Measured: the time until every student
has a result on the board, each drawing's answer (from sending it to the end of the
server's run), the server's memory with its workers, and errors (an exception, a wrong
digit, a failed or missing run). Localhost only, bounded in time:

    MNIST_PATH=../shared/data/mnist.npz python -m bench.class_load --students 30
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from bench.appserver import running_server
from bench.load_test import Tally, sample_memory
from bench.measure import rss_mb
from bench.socket_load_test import draw_until
from bench.streamlit_socket import StreamlitSocket
from model.classroom.classes import Classroom
from model.classroom.db import Database, database_path
from model.classroom.limits import Limits

BOARD_EVERY_S = 2.0  # the Class page's fragment(run_every=...)
OVER = {"finished", "stopped", "failed"}
CHALLENGE = Limits(max_hidden_layers=1, max_units=64, max_epochs=1, max_train=1000, goal="Best test accuracy")


def _widget(run, kind: str, label: str) -> str:
    return next(getattr(element, kind).id for element in run.of_type(kind) if getattr(element, kind).label == label)


async def student(url: str, code: str, index: int, pause: float, tally: Tally, done: asyncio.Event) -> None:
    link = f"class={code}"
    async with StreamlitSocket(url) as session:
        page = await session.rerun("class", query=link)
        session.set_text(_widget(page, "text_input", "Your name"), f"student {index + 1:02d}")
        joined = await session.rerun("class", press=_widget(page, "button", "Join"), query=link)
        if joined.exceptions:
            tally.errors.append(f"student {index + 1}: joining: {joined.exceptions[0]}")
            return
        train = await session.rerun("train", query=link)
        pressed = await session.rerun("train", press=_widget(train, "button", "Train"), query=link)
        if pressed.exceptions:
            tally.errors.append(f"student {index + 1}: training: {pressed.exceptions[0]}")
        await draw_until(session, f"student {index + 1}", lambda: not done.is_set(), pause, tally, query=link)


async def teacher(url: str, code: str, key: str, tally: Tally, done: asyncio.Event) -> None:
    async with StreamlitSocket(url) as session:
        page = await session.rerun("class", query=f"class={code}&teacher={key}")
        board = next(iter(page.fragment_ids))
        while not done.is_set():
            await asyncio.sleep(BOARD_EVERY_S)
            run = await session.rerun("class", board, query=f"class={code}")
            if run.exceptions:
                tally.errors.append(f"teacher: {run.exceptions[0]}")


async def results(room: Classroom, code: str, students: int, limit_s: float, done: asyncio.Event) -> float | None:
    """Seconds until every student has a run that is over; None if that did not happen within ``limit_s``."""
    started = time.monotonic()
    try:
        while time.monotonic() - started < limit_s:
            runs = room.board(code)
            if len({run.student for run in runs if run.status in OVER}) >= students:
                return time.monotonic() - started
            await asyncio.sleep(1.0)
        return None
    finally:
        done.set()


async def run(students: int, pause: float, limit_s: float) -> tuple[Tally, float | None, Classroom, str]:
    tally = Tally()
    with tempfile.TemporaryDirectory() as folder, running_server(Path(folder)) as (url, server):
        models = Path(folder) / "models"
        models.mkdir(exist_ok=True)
        room = Classroom(Database(database_path(models)))
        info, key = room.create("Load test")
        room.set_limits(info.code, key, CHALLENGE)
        done = asyncio.Event()
        tally.rss_mb.append(rss_mb(server.pid, children=True))
        tasks = [student(url, info.code, index, pause, tally, done) for index in range(students)]
        tasks.append(teacher(url, info.code, key, tally, done))
        finished = asyncio.ensure_future(results(room, info.code, students, limit_s, done))
        memory = asyncio.ensure_future(sample_memory(server.pid, time.monotonic() + limit_s, tally))
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
        seconds = await finished
        memory.cancel()
        tally.errors += [f"{type(error).__name__}: {error}" for error in outcomes if isinstance(error, Exception)]
        runs = room.board(info.code)
        tally.errors += [f"{run.student}: run {run.status}" for run in runs if run.status == "failed"]
        if seconds is None:
            tally.errors.append(f"not every student had a result within {limit_s:.0f} s")
        tally.training = f"{sum(run.status == 'finished' for run in runs)} of {len(runs)} runs finished"
        return tally, seconds, room, info.code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=30, help="students in the class (default 30)")
    parser.add_argument("--pause", type=float, default=2.0, help="seconds between a student's drawings (default 2)")
    parser.add_argument("--limit", type=float, default=900, help="give up after this many seconds (default 900)")
    args = parser.parse_args(argv)
    tally, seconds, _room, _code = asyncio.run(run(args.students, args.pause, args.limit))
    print(f"{args.students} students, challenge {CHALLENGE.max_hidden_layers} hidden layer x {CHALLENGE.max_units} "
          f"units, {CHALLENGE.max_epochs} epoch, {CHALLENGE.max_train:,} training digits")  # fmt: skip
    print(f"every student had a result after {seconds:.0f} s" if seconds is not None else "not every student finished")
    return tally.report("drawing answers")


if __name__ == "__main__":
    raise SystemExit(main())
