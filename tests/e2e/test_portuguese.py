"""In Chromium, in Portuguese: no English left on any page, and switching language loses nothing."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from bench.appserver import draw_on_canvas
from bench.strokes import ONE
from tests.e2e.helpers import APP_TIMEOUT, no_exception, open_page, prediction_value, wait_idle
from tests.i18n_tools import english_in

pytestmark = pytest.mark.slow

PAGES = ["", "train", "draw", "drawings", "explore", "models"]


def visible_text(page: Page) -> str:
    """What a reader reads: the sidebar and the page, less icon names (Material ligatures such as "home") and
    code (commands and names, the same in both languages)."""
    page.add_style_tag(content="[data-testid=stIconMaterial], code {display: none !important}")
    parts = page.locator("[data-testid=stSidebar], [data-testid=stMain]")
    return "\n".join(part.inner_text() for part in parts.all())


@pytest.mark.parametrize("path", PAGES, ids=[p or "home" for p in PAGES])
def test_every_page_in_portuguese_shows_no_english(page, server, path):
    open_page(page, f"{server}/{path}?lang=pt")
    texts = [visible_text(page)]
    if path == "draw":  # the answer and each view inside the network, for a drawing
        draw_on_canvas(page, ONE)
        prediction_value(page)
        views = page.locator(".st-key-inside_view button")
        expect(views.first).to_be_visible()
        for index in range(views.count()):
            views.nth(index).click()
            wait_idle(page)
            texts.append(visible_text(page))
    no_exception(page)
    leaks = english_in("\n".join(texts))
    assert not leaks, "English on a Portuguese page:\n" + "\n".join(leaks)


def test_a_portuguese_browser_opens_in_portuguese_and_english_stays_english(browser, server):
    for locale, title in (("pt-BR", "Treinar"), ("en-US", "Train")):
        context = browser.new_context(locale=locale, viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        open_page(page, f"{server}/train")
        expect(page.locator("[data-testid=stSidebarNav]").get_by_text(title, exact=True)).to_be_visible()
        context.close()


def test_switching_language_keeps_the_settings_and_the_drawing(page, server):
    open_page(page, f"{server}/train?layers=3&units=64")
    page.locator("[data-testid=stSidebar]").get_by_text("Português", exact=True).click()
    wait_idle(page)
    expect(page.locator("[data-testid=stSidebarNav]").get_by_text("Treinar", exact=True)).to_be_visible()
    assert "layers=3" in page.url and "units=64" in page.url and "lang=pt" in page.url
    expect(page.locator(".st-key-layers input[type=range]")).to_have_value("3", timeout=APP_TIMEOUT)

    page.locator("[data-testid=stSidebarNav]").get_by_text("Desenhar", exact=True).click()
    wait_idle(page)
    draw_on_canvas(page, ONE)
    assert prediction_value(page) == "1"
    page.locator("[data-testid=stSidebar]").get_by_text("English", exact=True).click()
    wait_idle(page)
    expect(page.get_by_text("Draw a digit", exact=False).first).to_be_visible()
    assert prediction_value(page) == "1"  # the canvas kept its drawing, the answer is still there
