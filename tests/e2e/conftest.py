"""A real server (``streamlit run app.py``) and a real headless Chromium driven by Playwright.

Screenshots of failing tests land in ``test-artifacts/``. Without Chromium these tests
skip locally, but fail under CI (``CI=true``), where a skip would hide a missing part.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.appserver import CHROMIUM, CHROMIUM_FLAGS, running_app
from tests.e2e.helpers import ARTIFACTS, require_browser


@pytest.fixture(scope="session")
def server_folder(tmp_path_factory) -> Path:
    """Where the shared server keeps its log and its models (``models/``)."""
    return tmp_path_factory.mktemp("e2e")


@pytest.fixture(scope="session")
def server(server_folder) -> Iterator[str]:
    """The app with its own model folder and a small training slice, shared by the browser tests."""
    require_browser()
    with running_app(server_folder, MNIST_LAB_MAX_TRAIN="3000", MNIST_LAB_MAX_TEST="1000") as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
