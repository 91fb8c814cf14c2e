"""What a person feels in the browser: start-up time, mouse-up-to-prediction time, click-to-curve time.

Runs the real app and, as the floor, a trivial page with the same canvas and no model
(bench/trivial_canvas_app.py), each on its own server, and draws with the mouse in
headless Chromium, alternating between the pages (A B C D A B C D ...). Latency is measured
inside the browser: from just before the mouse is released to the frame in which the
**Prediction** metric appears (the canvas is reset before each drawing). The Draw page is
timed with "Inside the network" hidden (the page as it was before those views), on its
default view (Activations), on its most expensive one (Why this digit), and in Portuguese
(``?lang=pt``, default view: what translating every string costs). Then, on the
Train page, from pressing Train to the first point of the live curves, for a first and a
second training in the same session (reference network, full data).

    MNIST_PATH=../shared/data/mnist.npz python -m bench.app_latency [--drawings 20] [--trainings 2]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from bench.appserver import CANVAS_SELECTOR, CHROMIUM, CHROMIUM_FLAGS, draw_on_canvas, running_app
from bench.measure import percentile
from bench.strokes import DIGITS

ANSWER = "m => m.innerText.includes('Prediction') || m.closest('.st-key-prediction')"  # the floor's, or the app's
APPEARED = f"""() => {{
  const metric = [...document.querySelectorAll('[data-testid=stMetric]')].find({ANSWER});
  return metric ? performance.now() : false;
}}"""
GONE = f"() => ![...document.querySelectorAll('[data-testid=stMetric]')].some({ANSWER})"


def draw_and_time(page, digit: str) -> float:
    """Reset, draw ``digit``, release the mouse; milliseconds until the Prediction metric is on screen."""
    page.get_by_role("button", name="Reset canvas & history").click()
    page.wait_for_function(GONE, timeout=30_000)
    page.wait_for_timeout(400)
    draw_on_canvas(page, DIGITS[digit], steps=3, release=False)
    released = page.evaluate("performance.now()")
    page.mouse.up()
    shown = page.wait_for_function(APPEARED, timeout=30_000, polling="raf").json_value()
    return shown - released


def open_and_wait(page, url: str) -> None:
    page.goto(url)
    page.locator(CANVAS_SELECTOR).first.wait_for(timeout=60_000)
    page.wait_for_timeout(500)


def show_inside(page, view: str | None) -> None:
    """Pick a view of "Inside the network" (None: hide them, by unselecting the default one)."""
    page.get_by_text("Inside the network").wait_for(timeout=30_000)
    button = page.locator("[data-testid=stButtonGroup] button").filter(has_text=view or "Activations").first
    button.click()
    page.wait_for_timeout(800)


FIRST_POINT = """() => {
  const bar = [...document.querySelectorAll('[data-testid=stProgress]')].map(e => e.innerText).join(' ');
  const charts = document.querySelectorAll('[data-testid=stVegaLiteChart]').length;
  const metrics = [...document.querySelectorAll('[data-testid=stMetric]')];
  const done = metrics.some(m => m.innerText.includes('Test accuracy'));
  return bar.includes('training') && charts > 0 && !done ? performance.now() : false;
}"""
FINISHED = (
    "() => [...document.querySelectorAll('[data-testid=stMetric]')].some(m => m.innerText.includes('Test accuracy'))"
)


def click_to_first_point(browser, folder: Path, trainings: int, epochs: int = 1) -> list[float]:
    """Seconds from pressing Train to the live curves' first point, for successive trainings of one session."""
    seconds = []
    with running_app(folder) as url:
        page = browser.new_page(viewport={"width": 1400, "height": 1200})
        page.goto(f"{url}/train?epochs={epochs}")
        page.get_by_role("button", name="Train", exact=True).wait_for(timeout=60_000)
        page.wait_for_timeout(15_000)  # a person reads the page: the warm worker gets ready meanwhile
        for _ in range(trainings):
            pressed = page.evaluate("performance.now()")
            page.get_by_role("button", name="Train", exact=True).click()
            shown = page.wait_for_function(FIRST_POINT, timeout=120_000, polling="raf").json_value()
            seconds.append((shown - pressed) / 1000)
            page.wait_for_function(FINISHED, timeout=600_000)
            page.wait_for_timeout(3_000)
        page.close()
    return seconds


def startup(browser, folder: Path) -> dict[str, float]:
    """Seconds from launching ``streamlit run app.py`` to Home rendered, and to a first prediction on Draw."""
    started = time.perf_counter()
    with running_app(folder) as url:
        healthy = time.perf_counter() - started
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url)
        page.locator("h1").filter(has_text="MNIST MLP Lab").wait_for(timeout=60_000)
        home = time.perf_counter() - started
        page.goto(f"{url}/draw")
        page.locator(CANVAS_SELECTOR).first.wait_for(timeout=60_000)
        draw_on_canvas(page, DIGITS["1"], steps=5)
        page.wait_for_function(APPEARED, timeout=60_000, polling="raf")
        first_prediction = time.perf_counter() - started
        page.close()
    return {"server healthy": healthy, "home rendered": home, "first prediction on Draw": first_prediction}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--drawings", type=int, default=20, help="drawings per page (default 20)")
    parser.add_argument("--startups", type=int, default=3, help="cold starts to time (default 3)")
    parser.add_argument("--trainings", type=int, default=2, help="trainings to time from click to curve (default 2)")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright, tempfile.TemporaryDirectory() as scratch:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        starts = [startup(browser, Path(tempfile.mkdtemp(dir=scratch))) for _ in range(args.startups)]
        for key in starts[0]:
            values = [s[key] for s in starts]
            spread = f"(min {min(values):.2f}, max {max(values):.2f})"
            print(f"start-up, {key:26s} median {statistics.median(values):5.2f} s  {spread}")

        with (
            running_app(Path(tempfile.mkdtemp(dir=scratch)), "bench/trivial_canvas_app.py") as floor_url,
            running_app(Path(tempfile.mkdtemp(dir=scratch))) as app_url,
        ):
            pages = {}
            for name, url, view in (
                ("floor (trivial canvas page)", floor_url, ""),
                ("Draw page, inside views hidden", f"{app_url}/draw", None),
                ("Draw page, Activations (default)", f"{app_url}/draw", "Activations"),
                ("Draw page, Why this digit", f"{app_url}/draw", "Why this digit"),
                ("Draw page in Portuguese, Ativações", f"{app_url}/draw?lang=pt", "Activations"),
            ):
                pages[name] = browser.new_page(viewport={"width": 1400, "height": 1000})
                open_and_wait(pages[name], url)
                draw_and_time(pages[name], "1")  # warm-up: model load, first run
                if view != "" and view != "Activations":
                    show_inside(pages[name], view)
            timings: dict[str, list[float]] = {name: [] for name in pages}
            for index in range(args.drawings):
                digit = "10"[index % 2]
                for name, page in pages.items():
                    timings[name].append(draw_and_time(page, digit))
        starts_to_curve = click_to_first_point(browser, Path(tempfile.mkdtemp(dir=scratch)), args.trainings)
        browser.close()

    for name, values in timings.items():
        median, p95 = statistics.median(values), percentile(values, 95)
        print(f"mouse-up to prediction, {name:34s} median {median:6.0f} ms  p95 {p95:6.0f} ms  n={len(values)}")
    floor, hidden, *inside = (statistics.median(v) for v in timings.values())
    print(f"Draw page over the floor: {hidden - floor:+.0f} ms (median, inside views hidden)")
    for name, median in zip(list(timings)[2:4], inside, strict=False):
        print(f"{name} over the page without them: {median - hidden:+.0f} ms (median)")
    english, portuguese = inside[0], inside[-1]
    print(f"Draw page in Portuguese over English (default view): {portuguese - english:+.0f} ms (median)")
    for index, seconds in enumerate(starts_to_curve, start=1):
        print(f"Train pressed to the first curve point, training {index} of the session: {seconds:.2f} s")


if __name__ == "__main__":
    main()
