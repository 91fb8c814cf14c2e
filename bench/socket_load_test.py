"""Many users at once, measured at the server: websocket sessions drawing while another trains.

``bench/load_test.py`` drives real browser tabs, so on a small machine most of its time
goes to eleven Chromium pages rendering on the server's own cores. Here each user is a
``StreamlitSocket`` (``bench/streamlit_socket.py``): it opens the Draw page, then sends
a drawing of a 1 or a 0 as the canvas would, waits for the fragment run to finish,
checks the **Prediction** it sent back, pauses as a person would before the next digit
(``--pause``), and again. One more session opens the Train page, sets 100 epochs,
presses **Train** and asks for the live view every 0.75 s as the browser does
(``--keras-loaded``: first, one session switches on the Train page's augmentation
preview, which imports Keras and TensorFlow into the server). Latency
is from sending the drawing to the end of the server's run (the canvas' own 200 ms
debounce and the browser's rendering come on top, on the user's computer; the clients
themselves share the machine with the server, so this is an upper bound). Errors: an
exception in a run, a wrong digit, no answer within 30 s. Localhost only, bounded in time:

    MNIST_PATH=../shared/data/mnist.npz python -m bench.socket_load_test --sessions 10 --seconds 60
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.appserver import running_server
from bench.load_test import Tally, sample_memory
from bench.measure import rss_mb
from bench.streamlit_socket import StreamlitSocket, canvas_state
from bench.strokes import DIGITS

ANSWER_TIMEOUT_S = 30
LIVE_VIEW_EVERY_S = 0.75  # the Train page's fragment(run_every=...) in the browser


async def draw_until(
    session: StreamlitSocket, who: str, drawing: Callable[[], bool], pause: float, tally: Tally, query: str = ""
) -> None:
    """On the Draw page, a 1 then a 0 and again, each answer timed and checked, while ``drawing()`` says so."""
    page = await session.rerun("draw", query=query)
    canvas = next(element.bidi_component.id for element in page.of_type("bidi_component"))
    fragment = next(iter(page.fragment_ids))
    turn = sum(map(ord, who))  # users start on different digits
    while drawing():
        digit = "10"[turn % 2]
        turn += 1
        session.set_json(canvas, canvas_state(DIGITS[digit]))
        try:
            run = await asyncio.wait_for(session.rerun("draw", fragment, query=query), ANSWER_TIMEOUT_S)
        except TimeoutError:
            tally.errors.append(f"{who}: no answer within {ANSWER_TIMEOUT_S} s")
            return
        tally.latencies_ms.append(run.seconds * 1000)
        said = [element.metric.body for element in run.of_type("metric") if element.metric.label == "Prediction"]
        if run.exceptions or not run.succeeded or said != [digit]:
            tally.errors.append(f"{who}: drew a {digit}, got {said} {run.exceptions[:1]}")
        await asyncio.sleep(pause)


async def drawing_session(url: str, index: int, until: float, pause: float, tally: Tally) -> None:
    async with StreamlitSocket(url) as session:
        await draw_until(session, f"session {index}", lambda: time.monotonic() < until, pause, tally)


async def training_session(url: str, until: float, tally: Tally) -> None:
    async with StreamlitSocket(url) as session:
        page = await session.rerun("train")
        epochs = next(element.slider.id for element in page.of_type("slider") if element.slider.label == "Epochs")
        train = next(element.button.id for element in page.of_type("button") if element.button.label == "Train")
        session.set_number(epochs, 100)
        pressed = await session.rerun("train", press=train)
        live_view, run = next(iter(pressed.fragment_ids)), pressed
        while time.monotonic() < until:
            await asyncio.sleep(LIVE_VIEW_EVERY_S)
            run = await session.rerun("train", live_view)
            tally.training = next((element.progress.text for element in run.of_type("progress")), tally.training)
            if run.exceptions:
                tally.errors.append(f"training session: {run.exceptions[0]}")
        stop = [element.button.id for element in run.of_type("button") if element.button.label == "Stop"]
        if stop:
            await session.rerun("train", live_view, press=stop[0])


async def show_augmentation_preview(url: str) -> None:
    """Switch on the Train page's augmentation preview once: it imports Keras (and TensorFlow) into the server."""
    async with StreamlitSocket(url) as session:
        page = await session.rerun("train")
        toggle = next(e.checkbox.id for e in page.of_type("checkbox") if e.checkbox.label == "Augment training data")
        session.set_bool(toggle, True)
        if not any(True for _ in (await session.rerun("train")).of_type("imgs")):
            raise RuntimeError("the augmentation preview did not appear")


async def run(sessions: int, seconds: float, train: bool, pause: float, keras_loaded: bool = False) -> Tally:
    tally = Tally()
    with tempfile.TemporaryDirectory() as folder, running_server(Path(folder)) as (url, server):
        if keras_loaded:
            await show_augmentation_preview(url)
        tally.rss_mb.append(rss_mb(server.pid, children=True))
        until = time.monotonic() + seconds
        tasks = [drawing_session(url, index, until, pause, tally) for index in range(sessions)]
        if train:
            tasks.append(training_session(url, until, tally))
        tasks.append(sample_memory(server.pid, until, tally))
        results = await asyncio.gather(*tasks, return_exceptions=True)
        tally.errors += [f"{type(error).__name__}: {error}" for error in results if isinstance(error, Exception)]
    return tally


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=10, help="drawing sessions (default 10)")
    parser.add_argument("--seconds", type=float, default=60, help="how long they draw (default 60)")
    parser.add_argument("--pause", type=float, default=1.0, help="seconds between a user's drawings (default 1)")
    parser.add_argument("--no-training", action="store_true", help="without the training session")
    parser.add_argument("--keras-loaded", action="store_true", help="show the augmentation preview first")
    args = parser.parse_args(argv)
    tally = asyncio.run(run(args.sessions, args.seconds, not args.no_training, args.pause, args.keras_loaded))
    print(f"{args.sessions} websocket sessions for {args.seconds:.0f} s, pause {args.pause} s, "
          f"training: {not args.no_training}, Keras loaded first: {args.keras_loaded}")  # fmt: skip
    return tally.report("answers")


if __name__ == "__main__":
    raise SystemExit(main())
