"""Start ``streamlit run`` on a free port and drive headless Chromium: shared by benchmarks and browser tests."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from bench.strokes import mouse_actions

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CANVAS_SELECTOR = "canvas.upper-canvas"  # the drawable canvas' top layer, which takes the mouse
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


class ServerDidNotStart(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def running_app(folder: Path, script: str = "app.py", **extra_env: str) -> Iterator[str]:
    """``streamlit run SCRIPT`` with models in ``folder/models``; yields its URL once healthy."""
    with running_server(folder, script, **extra_env) as (url, _):
        yield url


@contextlib.contextmanager
def running_server(folder: Path, script: str = "app.py", **extra_env: str) -> Iterator[tuple[str, subprocess.Popen]]:
    """``running_app`` that also yields the server process (to watch its memory)."""
    port = free_port()
    env = {**os.environ, "MNIST_MODELS_DIR": str(folder / "models"), **extra_env}
    command = [
        sys.executable, "-m", "streamlit", "run", script, "--server.headless", "true",
        "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", "none",
    ]  # fmt: skip
    with (folder / "server.log").open("w") as log:
        process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}"
            wait_healthy(url, process)
            yield url, process
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def wait_healthy(url: str, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.05)
    raise ServerDidNotStart(f"the Streamlit server at {url} did not start (exit code {process.poll()})")


def draw_on_canvas(page, strokes: list[list[tuple[float, float]]], steps: int = 8, release: bool = True) -> None:
    """Draw with the mouse on the app's canvas; points are fractions of its width and height.

    With ``release=False`` the mouse stays down at the end (to time from its release).
    """
    canvas = page.locator(CANVAS_SELECTOR).first
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    if box is None:
        raise AssertionError("the drawing canvas is not on the page")
    for method, args, kwargs in mouse_actions(box, strokes, steps, release):
        getattr(page.mouse, method)(*args, **kwargs)


async def draw_on_canvas_async(page, strokes: list[list[tuple[float, float]]], steps: int = 8, release: bool = True):
    """``draw_on_canvas`` for Playwright's async API."""
    box = await page.locator(CANVAS_SELECTOR).first.bounding_box()
    for method, args, kwargs in mouse_actions(box, strokes, steps, release):
        await getattr(page.mouse, method)(*args, **kwargs)
