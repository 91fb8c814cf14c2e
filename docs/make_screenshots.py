"""Regenerate the README's screenshots: python docs/make_screenshots.py (needs Chromium + playwright).

Desktop (1400 px) and phone (390x844, touch) views of every page, Train caught mid-training
(with augmentation on, so its preview shows) and Draw with a digit drawn.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.appserver import CHROMIUM, CHROMIUM_FLAGS, draw_on_canvas, running_app

OUT = Path(__file__).resolve().parent / "screenshots"
SEVEN = [(0.25, 0.2), (0.75, 0.2), (0.45, 0.85)]


def main() -> None:
    from playwright.sync_api import sync_playwright

    OUT.mkdir(exist_ok=True)
    with (
        tempfile.TemporaryDirectory() as scratch,
        running_app(Path(scratch), MNIST_LAB_MAX_TRAIN="20000") as url,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        views = {
            "desktop": {"viewport": {"width": 1400, "height": 1200}},
            "phone": {"viewport": {"width": 390, "height": 1600}, "has_touch": True, "is_mobile": True},
        }
        for view, options in views.items():
            page = browser.new_context(**options).new_page()
            for path in ("", "explore", "models"):
                page.goto(f"{url}/{path}")
                page.locator("h1").first.wait_for()
                page.wait_for_timeout(3000)
                page.screenshot(path=str(OUT / f"{path or 'home'}-{view}.png"), full_page=True)
            page.goto(f"{url}/draw")
            page.locator("canvas.upper-canvas").first.wait_for()
            page.wait_for_timeout(1500)
            draw_on_canvas(page, [SEVEN], steps=12)
            page.locator("[data-testid=stMetric]").first.wait_for()
            page.wait_for_timeout(1500)
            page.screenshot(path=str(OUT / f"draw-{view}.png"), full_page=True)
            page.goto(f"{url}/train")
            page.get_by_text("Augment training data").click()
            page.get_by_text("random distortions of it").wait_for(timeout=60_000)
            page.wait_for_timeout(1000)
            page.get_by_role("button", name="Train", exact=True).click()
            page.locator("[data-testid=stVegaLiteChart]").nth(1).wait_for(timeout=60_000)
            page.wait_for_timeout(6000)
            page.screenshot(path=str(OUT / f"train-{view}.png"), full_page=True)
            page.locator(".st-key-stop button").click()
            page.locator("[data-testid=stMetric]").first.wait_for(timeout=60_000)
            page.wait_for_timeout(2000)
            page.screenshot(path=str(OUT / f"train-done-{view}.png"), full_page=True)
        browser.close()


if __name__ == "__main__":
    main()
