"""Helpers for the browser tests: whether they can run, and small Playwright steps for Streamlit pages.

Playwright is imported only when a step runs, so ``require_browser`` can skip (or, under
CI, fail) cleanly where it is not installed.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from bench.appserver import CHROMIUM
from tests.helpers import PROJECT_ROOT

if TYPE_CHECKING:
    from playwright.sync_api import Page

APP_TIMEOUT = 60_000
ARTIFACTS = PROJECT_ROOT / "test-artifacts"  # screenshots of failed browser tests


def require_browser() -> None:
    """Skip without Chromium, the ``streamlit`` command or playwright; under CI (``CI=true``) fail instead."""
    missing = not Path(CHROMIUM).exists() or shutil.which("streamlit", path=str(Path(sys.executable).parent)) is None
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing = True
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests need Chromium at {CHROMIUM} and the playwright package")
        pytest.skip("Chromium or playwright is not installed")


def _expect(locator):
    from playwright.sync_api import expect

    return expect(locator)


def open_page(page: Page, url: str) -> None:
    page.goto(url)
    _expect(page.locator("h1").first).to_be_visible(timeout=APP_TIMEOUT)
    wait_idle(page)


def wait_idle(page: Page, timeout: int = APP_TIMEOUT) -> None:
    """Until Streamlit is not running a script (its status widget disappears)."""
    page.wait_for_timeout(300)
    _expect(page.locator("[data-testid=stStatusWidget]")).to_have_count(0, timeout=timeout)


def no_exception(page: Page) -> None:
    _expect(page.locator("[data-testid=stException]")).to_have_count(0)


def metric_value(page: Page, label: str) -> str:
    metric = page.locator("[data-testid=stMetric]").filter(has_text=label).first
    return metric.locator("[data-testid=stMetricValue]").inner_text().strip()


PREDICTION = ".st-key-prediction [data-testid=stMetric]"  # the Draw page's answer, in any language
UPLOAD_PREDICTION = ".st-key-prediction_upload [data-testid=stMetric]"  # its answer for an uploaded photo


def prediction_value(page: Page) -> str:
    """The digit the Draw page shows, once it has answered (found by its key, not its label)."""
    metric = page.locator(PREDICTION)
    _expect(metric).to_have_count(1, timeout=APP_TIMEOUT)
    wait_idle(page)
    return metric.locator("[data-testid=stMetricValue]").inner_text().strip()
