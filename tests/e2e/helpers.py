"""Small Playwright helpers for Streamlit pages."""

from __future__ import annotations

from playwright.sync_api import Page, expect

APP_TIMEOUT = 60_000


def open_page(page: Page, url: str) -> None:
    page.goto(url)
    expect(page.locator("h1").first).to_be_visible(timeout=APP_TIMEOUT)
    wait_idle(page)


def wait_idle(page: Page, timeout: int = APP_TIMEOUT) -> None:
    """Until Streamlit is not running a script (its status widget disappears)."""
    page.wait_for_timeout(300)
    expect(page.locator("[data-testid=stStatusWidget]")).to_have_count(0, timeout=timeout)


def no_exception(page: Page) -> None:
    expect(page.locator("[data-testid=stException]")).to_have_count(0)


def draw(page: Page, strokes: list[list[tuple[float, float]]]) -> None:
    """Draw with the mouse on the drawing canvas; points are fractions of its width and height."""
    canvas = page.locator("canvas.upper-canvas").first
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box is not None, "the drawing canvas is not on the page"
    for stroke in strokes:
        x, y = stroke[0]
        page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"])
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"], steps=8)
        page.mouse.up()


def metric_value(page: Page, label: str) -> str:
    metric = page.locator("[data-testid=stMetric]").filter(has_text=label).first
    return metric.locator("[data-testid=stMetricValue]").inner_text().strip()
