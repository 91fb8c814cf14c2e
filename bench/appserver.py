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

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
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


def draw_on_canvas(page, strokes: list[list[tuple[float, float]]], steps: int = 8) -> None:
    """Draw with the mouse on the app's canvas; points are fractions of its width and height."""
    canvas = page.locator("canvas.upper-canvas").first
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    if box is None:
        raise AssertionError("the drawing canvas is not on the page")
    for stroke in strokes:
        x, y = stroke[0]
        page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"])
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"], steps=steps)
        page.mouse.up()


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants (training workers), in MB."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        todo.extend(children.get(current, []))
        with contextlib.suppress(OSError, StopIteration, ValueError):
            status = Path(f"/proc/{current}/status").read_text().splitlines()
            total += int(next(line for line in status if line.startswith("VmRSS:")).split()[1]) / 1024
    return total
