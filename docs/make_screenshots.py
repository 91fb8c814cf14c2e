"""Regenerate the README's screenshots: python docs/make_screenshots.py [--portuguese] (needs Chromium + playwright).

Desktop (1400 px) and phone (390 px, touch) views of every page: Draw with a 7 drawn and each
view inside the network, Train caught mid-training (a deep sigmoid network, so the gradient
flow shows vanishing gradients) and finished, Your drawings after keeping a few, Models
with what each neuron learned; and Draw and Train in Portuguese.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.appserver import CHROMIUM, CHROMIUM_FLAGS, draw_on_canvas, running_app
from bench.strokes import ONE, SEVEN, ZERO

OUT = Path(__file__).resolve().parent / "screenshots"
LESSON = "train?layers=5&units=128&activation=sigmoid&optimizer=sgd&lr=0.1&epochs=3"
VIEWS = {
    "desktop": {"viewport": {"width": 1400, "height": 2200}},
    "phone": {"viewport": {"width": 390, "height": 3200}, "has_touch": True, "is_mobile": True},
}


def settle(page, milliseconds: int = 1500) -> None:
    page.wait_for_timeout(milliseconds)
    page.locator("[data-testid=stStatusWidget]").wait_for(state="detached", timeout=60_000)


def shoot(page, name: str, view: str) -> None:
    page.screenshot(path=str(OUT / f"{name}-{view}.png"), full_page=True)


def draw_pages(page, url: str, view: str) -> None:
    page.goto(f"{url}/draw")
    page.locator("canvas.upper-canvas").first.wait_for()
    settle(page)
    draw_on_canvas(page, SEVEN, steps=12)
    page.locator("[data-testid=stMetric]").first.wait_for()
    settle(page)
    shoot(page, "draw", view)
    for label, name in (("One neuron", "draw-neuron"), ("Why this digit", "draw-why")):
        page.get_by_text(label, exact=True).click()
        settle(page)
        shoot(page, name, view)
    page.get_by_role("button", name="Right, keep it").dispatch_event("click")
    for strokes in (ONE, ZERO):
        page.get_by_role("button", name="Clear drawing").dispatch_event("click")
        settle(page)
        draw_on_canvas(page, strokes, steps=12)
        page.locator("[data-testid=stMetric]").first.wait_for()
        settle(page)
        page.get_by_role("button", name="Right, keep it").dispatch_event("click")
        settle(page)
    page.locator('[data-testid=stSidebarNav] a[href$="/drawings"]').dispatch_event("click")
    page.get_by_text("Drawings of each digit").wait_for(timeout=60_000)
    settle(page)
    shoot(page, "drawings", view)


def train_pages(page, url: str, view: str) -> None:
    page.goto(f"{url}/{LESSON}")
    page.get_by_role("button", name="Train", exact=True).wait_for(timeout=60_000)
    settle(page, 3000)
    page.get_by_role("button", name="Train", exact=True).dispatch_event("click")
    page.get_by_text("Gradient flow").wait_for(timeout=120_000)
    page.wait_for_timeout(8000)
    shoot(page, "train", view)
    page.locator("[data-testid=stMetric]").filter(has_text="Test accuracy").wait_for(timeout=300_000)
    settle(page, 2000)
    shoot(page, "train-done", view)


def portuguese_pages(browser, url: str) -> None:
    """Two pages as a Portuguese-speaking learner sees them (``?lang=pt``): Draw with a 7, and Train."""
    page = browser.new_context(locale="pt-BR", viewport={"width": 1400, "height": 1600}).new_page()
    page.goto(f"{url}/draw?lang=pt")
    page.locator("canvas.upper-canvas").first.wait_for()
    settle(page)
    draw_on_canvas(page, SEVEN, steps=12)
    page.locator(".st-key-prediction [data-testid=stMetric]").wait_for()
    settle(page)
    shoot(page, "pt-draw", "desktop")
    page.goto(f"{url}/train?lang=pt")
    page.locator("h1").first.wait_for()
    settle(page, 3000)
    shoot(page, "pt-train", "desktop")


def main(only_portuguese: bool = False) -> None:
    from playwright.sync_api import sync_playwright

    OUT.mkdir(exist_ok=True)
    with (
        tempfile.TemporaryDirectory() as scratch,
        running_app(Path(scratch), MNIST_LAB_MAX_TRAIN="20000") as url,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        if only_portuguese:
            portuguese_pages(browser, url)
            return
        pages = {view: browser.new_context(**options).new_page() for view, options in VIEWS.items()}
        for view, page in pages.items():  # with the pretrained default answering
            for path in ("", "explore"):
                page.goto(f"{url}/{path}")
                page.locator("h1").first.wait_for()
                settle(page, 3000)
                shoot(page, path or "home", view)
            draw_pages(page, url, view)
        portuguese_pages(browser, url)
        for view, page in pages.items():  # then a lesson in vanishing gradients
            train_pages(page, url, view)
            page.goto(f"{url}/models")
            page.get_by_text("What each neuron learned").wait_for(timeout=60_000)
            settle(page, 3000)
            shoot(page, "models", view)
        browser.close()


if __name__ == "__main__":
    main(only_portuguese=sys.argv[1:] == ["--portuguese"])
