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


def metric_value(page: Page, label: str) -> str:
    metric = page.locator("[data-testid=stMetric]").filter(has_text=label).first
    return metric.locator("[data-testid=stMetricValue]").inner_text().strip()
