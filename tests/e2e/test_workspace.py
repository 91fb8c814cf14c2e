"""Two people on one server: what one chooses, trains or teaches never changes the other's model."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from bench.appserver import running_app
from model.net.config import TrainingConfig
from model.net.network import build_network
from model.storage.metadata import ModelMetadata
from model.storage.store import DEFAULT_MODEL_NAME, ModelStore
from tests.e2e.helpers import APP_TIMEOUT, ARTIFACTS, no_exception, open_page, wait_idle

pytestmark = pytest.mark.slow  # a real server and two browsers

SIDEBAR = "[data-testid=stSidebar]"


def sidebar_link(page: Page, path: str):
    return page.locator(f'[data-testid=stSidebarNav] a[href$="/{path}"]')


def go(page: Page, path: str, title: str) -> None:
    """To another page by the menu, as a person does: the same browser session."""
    sidebar_link(page, path).click()
    expect(page.locator("h1").first).to_have_text(title, timeout=APP_TIMEOUT)
    wait_idle(page)


def pick(page: Page, key: str, option: str) -> None:
    """Pick ``option`` in the selectbox ``key`` (tried again if a redraw closed the list)."""
    for _attempt in range(5):
        wait_idle(page)
        page.locator(f".st-key-{key} [role=combobox]").click()
        try:
            page.get_by_role("option", name=option, exact=True).click(timeout=3000)
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
        else:
            wait_idle(page)
            return
    raise AssertionError(f"could not choose {option}")


def to_the_start(page: Page, label: str) -> None:
    page.locator("[data-testid=stSlider]").filter(has_text=label).locator("input[type=range]").focus()
    page.keyboard.press("Home")
    wait_idle(page)


def names_in_sidebar(page: Page, name: str) -> None:
    expect(page.locator(SIDEBAR)).to_contain_text("Your model", timeout=APP_TIMEOUT)
    expect(page.locator(SIDEBAR).locator("strong").filter(has_text=name).first).to_have_text(name)


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"workspace-{name}.png"), full_page=True)


def test_one_session_uses_and_trains_its_own_model_while_the_others_stays(browser, tmp_path):
    store = ModelStore(tmp_path / "models")
    tiny = TrainingConfig(hidden_layers=1, units=8)
    store.save(build_network(tiny), "other", ModelMetadata(config=tiny), as_default=False)
    with running_app(tmp_path, MNIST_LAB_MAX_TRAIN="2000", MNIST_LAB_MAX_TEST="500") as url:
        wide = browser.new_context(viewport={"width": 1400, "height": 1000})
        phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
        mine, theirs = wide.new_page(), phone.new_page()
        try:
            open_page(theirs, f"{url}/draw")
            names_in_sidebar(theirs, DEFAULT_MODEL_NAME)

            open_page(mine, f"{url}/models")
            pick(mine, "manage_model", "other")
            mine.get_by_role("button", name="Use this model").click()
            wait_idle(mine)
            names_in_sidebar(mine, "other")
            assert "model=other" in mine.url
            screenshot(mine, "models-1400")

            open_page(theirs, f"{url}/draw")  # a reload: still the server default
            names_in_sidebar(theirs, DEFAULT_MODEL_NAME)
            expect(theirs.locator(".st-key-picked_model input")).to_have_value(DEFAULT_MODEL_NAME)

            go(mine, "draw", "Draw a digit")
            expect(mine.locator(".st-key-picked_model input")).to_have_value("other")
            go(mine, "train", "Train a network")
            for label in ("Hidden layers", "Units per layer", "Epochs"):
                to_the_start(mine, label)
            mine.get_by_label("Model name").fill("my-tiny")
            mine.get_by_label("Model name").press("Enter")
            wait_idle(mine)
            mine.get_by_role("button", name="Train", exact=True).click()
            expect(mine.get_by_text("Saved as my-tiny, now your model.")).to_be_visible(timeout=120_000)
            names_in_sidebar(mine, "my-tiny")
            mine.reload()  # the address keeps it
            expect(mine.locator("h1").first).to_have_text("Train a network", timeout=APP_TIMEOUT)
            names_in_sidebar(mine, "my-tiny")
            no_exception(mine)

            open_page(theirs, f"{url}/models")
            names_in_sidebar(theirs, DEFAULT_MODEL_NAME)
            screenshot(theirs, "models-390")
            theirs.locator("[data-testid=stExpandSidebarButton]").click()
            theirs.wait_for_timeout(500)
            screenshot(theirs, "sidebar-390")
            theirs.keyboard.press("Escape")
            no_exception(theirs)
            assert store.active().name == DEFAULT_MODEL_NAME  # the server default never moved
        finally:
            wide.close()
            phone.close()
