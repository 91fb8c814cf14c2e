"""Many people at once: browser sessions drawing and predicting while another trains.

One server, one headless Chromium with a separate context (its own Streamlit session)
per user. Each drawing session resets the canvas, draws a 1 or a 0 with the mouse and
waits for the **Prediction** (latency measured inside the browser, from just before the
mouse is released to the frame the answer appears, as in ``bench/app_latency.py``),
again and again for the whole run; meanwhile one more session trains the reference
network on full MNIST. Counted as errors: a Python exception shown on a page, an answer
that never comes, a wrong digit. The server's memory (its process and its training
worker) is sampled twice a second. At the end the training is stopped with its **Stop**
button, timed until the page says so. Localhost only, bounded in time:

    MNIST_PATH=../shared/data/mnist.npz python -m bench.load_test --sessions 10 --seconds 60
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from bench.app_latency import APPEARED, GONE
from bench.appserver import CANVAS_SELECTOR, CHROMIUM, CHROMIUM_FLAGS, draw_on_canvas_async, running_server
from bench.measure import percentile, rss_mb
from bench.strokes import DIGITS

ANSWER_TIMEOUT_MS = 30_000


class Tally:
    """What all sessions saw."""

    def __init__(self) -> None:
        self.latencies_ms: list[float] = []
        self.errors: list[str] = []
        self.rss_mb: list[float] = []
        self.training = "not started"
        self.stop_seconds: float | None = None  # from pressing Stop to the page saying the run stopped

    def report(self, answers: str) -> int:
        """Print latencies, memory, the training's state and the errors; the exit status (1 on any error)."""
        latencies = self.latencies_ms
        if latencies:
            print(
                f"{answers} {len(latencies)}  p50 {statistics.median(latencies):.0f} ms  "
                f"p95 {percentile(latencies, 95):.0f} ms  max {max(latencies):.0f} ms  "
                f"within 1 s: {sum(value <= 1000 for value in latencies) / len(latencies):.1%}"
            )
        print(f"server RSS (with its training worker): idle {self.rss_mb[0]:.0f} MB, peak {max(self.rss_mb):.0f} MB")
        print(f"training at the end: {self.training}")
        if self.stop_seconds is not None:
            print(f"Stop pressed: the page said the training stopped {self.stop_seconds:.1f} s later")
        print(f"errors: {len(self.errors)}")
        for error in self.errors[:20]:
            print(f"  {error}")
        return 1 if self.errors or not latencies else 0


async def draw_once(page, digit: str) -> tuple[float, str]:
    """Reset, draw ``digit``, release; (milliseconds to the answer, the digit shown)."""
    await page.get_by_role("button", name="Reset canvas & history").click()
    await page.wait_for_function(GONE, timeout=ANSWER_TIMEOUT_MS)
    await draw_on_canvas_async(page, DIGITS[digit], steps=3, release=False)
    released = await page.evaluate("performance.now()")
    await page.mouse.up()
    shown = await (await page.wait_for_function(APPEARED, timeout=ANSWER_TIMEOUT_MS, polling="raf")).json_value()
    metric = page.locator("[data-testid=stMetric]").filter(has_text="Prediction").first
    said = (await metric.locator("[data-testid=stMetricValue]").inner_text()).strip()
    return shown - released, said


async def open_page(browser, url: str, path: str, ready: str):
    """A new browser context (its own Streamlit session) on ``path``, once ``ready`` is on screen."""
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await context.new_page()
    await page.goto(f"{url}/{path}")
    await page.locator(ready).first.wait_for(timeout=180_000)
    return context, page


async def drawing_session(page, index: int, until: float, tally: Tally) -> None:
    turn = index
    while time.monotonic() < until:
        digit = "10"[turn % 2]
        turn += 1
        try:
            milliseconds, said = await draw_once(page, digit)
            tally.latencies_ms.append(milliseconds)
            if said != digit:
                tally.errors.append(f"session {index}: drew a {digit}, the page said {said}")
        except Exception as error:  # a timeout is an error of the app under load, not of the script
            tally.errors.append(f"session {index}: {type(error).__name__}: {str(error).splitlines()[0]}")
        if await page.locator("[data-testid=stException]").count():
            tally.errors.append(f"session {index}: an exception is shown on the page")
            break


async def start_training(page) -> None:
    """A long training (100 epochs of the reference network on full MNIST), running once this returns."""
    epochs = page.locator("[data-testid=stSlider]").filter(has_text="Epochs").locator("input[type=range]")
    await epochs.focus()
    await page.keyboard.press("End")
    await page.wait_for_timeout(1000)
    await page.get_by_role("button", name="Train", exact=True).click()
    running = page.locator("[data-testid=stProgress]").filter(has_text="Epoch")
    await running.first.wait_for(timeout=180_000)


async def watch_training(page, until: float, tally: Tally) -> None:
    """Keeps the training page open (it polls the job) until the run ends, then stops the training.

    Times the Stop button: from the click until the page says the run stopped.
    """
    progress = page.locator("[data-testid=stProgress]")
    while time.monotonic() < until:
        await asyncio.sleep(1)
        if await progress.count():
            tally.training = (await progress.first.inner_text()).strip()
    if await page.locator(".st-key-stop button").count():
        clicked = time.perf_counter()
        await page.locator(".st-key-stop button").click()
        try:
            await page.get_by_text("Stopped by request").wait_for(timeout=ANSWER_TIMEOUT_MS)
            tally.stop_seconds = time.perf_counter() - clicked
        except Exception as error:  # as for a drawing: the app's failure under load, reported
            tally.errors.append(f"training session: no sign of stopping: {type(error).__name__}")


async def sample_memory(pid: int, until: float, tally: Tally) -> None:
    while time.monotonic() < until:
        tally.rss_mb.append(rss_mb(pid, children=True))
        await asyncio.sleep(0.5)


async def run(sessions: int, seconds: float, train: bool) -> Tally:
    from playwright.async_api import async_playwright

    tally = Tally()
    with tempfile.TemporaryDirectory() as folder, running_server(Path(folder)) as (url, server):
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            idle = rss_mb(server.pid, children=True)
            # Everyone gets their page first (a cold server imports TensorFlow once); then the clock runs.
            drawers = await asyncio.gather(*(open_page(browser, url, "draw", CANVAS_SELECTOR) for _ in range(sessions)))
            trainer = None
            if train:
                trainer = await open_page(browser, url, "train", "[data-testid=stSlider]")
                await start_training(trainer[1])
            until = time.monotonic() + seconds
            tasks = [drawing_session(page, index, until, tally) for index, (_, page) in enumerate(drawers)]
            if trainer is not None:
                tasks.append(watch_training(trainer[1], until, tally))
            tasks.append(sample_memory(server.pid, until, tally))
            await asyncio.gather(*tasks)
            await browser.close()
        tally.rss_mb.insert(0, idle)
    return tally


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=10, help="drawing sessions (default 10)")
    parser.add_argument("--seconds", type=float, default=60, help="how long they draw (default 60)")
    parser.add_argument("--no-training", action="store_true", help="without the training session")
    args = parser.parse_args(argv)
    tally = asyncio.run(run(args.sessions, args.seconds, not args.no_training))
    print(f"{args.sessions} drawing sessions for {args.seconds:.0f} s, training: {not args.no_training}")
    return tally.report("predictions")


if __name__ == "__main__":
    raise SystemExit(main())
