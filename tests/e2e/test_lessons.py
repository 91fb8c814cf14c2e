"""In Chromium: the canvas' own Undo and Clear, the views inside the network, and a teacher's link."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from bench.appserver import draw_on_canvas
from bench.strokes import ONE, ZERO
from tests.e2e.helpers import APP_TIMEOUT, no_exception, open_page, prediction_value, wait_idle

pytestmark = pytest.mark.slow

SEVEN_BAR = [[(0.25, 0.2), (0.75, 0.2)]]
SEVEN_LEG = [[(0.75, 0.2), (0.45, 0.85)]]


def test_undo_and_clear_are_always_visible_buttons_that_work(page, server):
    open_page(page, f"{server}/draw")
    undo = page.get_by_role("button", name="Undo stroke")
    clear = page.get_by_role("button", name="Clear drawing")
    expect(undo).to_be_visible()
    expect(clear).to_be_visible()
    assert undo.bounding_box()["height"] >= 36  # large enough for a finger
    draw_on_canvas(page, ONE)
    assert prediction_value(page) == "1"
    draw_on_canvas(page, ZERO)  # a ring around the 1: no longer a 1
    expect(page.locator("[data-testid=stMetricValue]").filter(has_text="1")).to_have_count(0, timeout=APP_TIMEOUT)
    undo.click()  # the ring goes, the 1 stays
    expect(page.locator("[data-testid=stMetricValue]").filter(has_text="1")).to_have_count(1, timeout=APP_TIMEOUT)
    clear.click()
    expect(page.get_by_text("Draw a digit (0-9) in the black box")).to_be_visible(timeout=APP_TIMEOUT)
    expect(page.locator("[data-testid=stMetric]")).to_have_count(0)
    no_exception(page)


def test_inside_views_answer_for_the_drawing(page, server):
    open_page(page, f"{server}/draw")
    draw_on_canvas(page, SEVEN_BAR + SEVEN_LEG)
    prediction_value(page)  # whichever model is active (other tests train some): the views explain its answer
    expect(page.get_by_text(re.compile(r"Hidden layer 1: \d+ \w+ units"))).to_be_visible()
    page.get_by_text("Why this digit", exact=True).click()
    expect(page.get_by_text("Check:")).to_be_visible(timeout=APP_TIMEOUT)
    check = page.locator("p").filter(has_text="Check:").first.inner_text()
    assert float(re.search(r"off by ([\d.]+)%", check).group(1)) < 1.0
    page.get_by_text("One neuron", exact=True).click()
    expect(page.locator(".katex").first).to_be_visible(timeout=APP_TIMEOUT)
    no_exception(page)


def test_a_teachers_link_sets_and_hides_the_settings(page, server):
    open_page(page, f"{server}/train?layers=5&units=128&activation=sigmoid&optimizer=sgd&lr=0.1&hide=lr,optimizer")
    expect(page.get_by_text("Network: 784-128-128-128-128-128-10")).to_be_visible()
    page.get_by_text("More settings").click()
    expect(page.locator("[data-testid=stSlider]").filter(has_text="Learning rate")).to_have_count(0)
    expect(page.get_by_text("Optimizer", exact=True)).to_have_count(0)
    page.get_by_role("button", name="Copy link").click()
    link = page.locator("[data-testid=stCode]").first.inner_text()
    assert "layers=5" in link and "optimizer=sgd" in link and "hide=lr,optimizer" in link
    fresh = page.context.browser.new_context().new_page()  # a student's fresh browser
    open_page(fresh, link)
    expect(fresh.get_by_text("Network: 784-128-128-128-128-128-10")).to_be_visible()
    fresh.close()


def test_a_link_with_values_out_of_range_keeps_the_defaults_and_says_so(page, server):
    open_page(page, f"{server}/train?units=4096&epochs=abc")
    expect(page.get_by_text("units must be between 8 and 2,048")).to_be_visible()
    expect(page.get_by_text("Network: 784-512-512-10")).to_be_visible()
    no_exception(page)


def your_model(page) -> str:
    """The model the sidebar names as this session's."""
    sidebar = page.locator("[data-testid=stSidebar]")
    expect(sidebar).to_contain_text("Your model", timeout=APP_TIMEOUT)
    return sidebar.locator("strong").first.inner_text()


def test_draw_correct_keep_teach_and_see_the_after_bars(page, server):
    other = page.context.browser.new_context().new_page()  # someone else on the same server
    open_page(other, f"{server}/draw")
    theirs = your_model(other)
    open_page(page, f"{server}/draw")
    for strokes, label in ((ONE, "1"), (ZERO, "0"), (ONE, "1"), (ZERO, "0"), (ONE, "7"), (ZERO, "0")):
        clear = page.get_by_role("button", name="Clear drawing")
        if clear.is_enabled():
            clear.click()
            expect(page.locator("[data-testid=stMetric]")).to_have_count(0, timeout=APP_TIMEOUT)
        draw_on_canvas(page, strokes)
        answer = prediction_value(page)
        if answer == label:
            page.get_by_role("button", name="Right, keep it").click()
        else:  # "Wrong? It was a …": the pill with the true digit
            pills = page.locator("[data-testid=stButtonGroup] button")
            pills.filter(has_text=re.compile(f"^{label}$")).first.click()
        wait_idle(page)
    page.locator('[data-testid=stSidebarNav] a[href$="/drawings"]').click()  # same session: a new page load forgets
    expect(page.get_by_text("Drawings of each digit: 0: 3, 1: 2, 7: 1")).to_be_visible(timeout=APP_TIMEOUT)
    page.get_by_role("button", name="Teach the network").click()
    expect(page.get_by_text("Saved as")).to_be_visible(timeout=300_000)
    expect(page.locator("[data-testid=stVegaLiteChart]").filter(has_text="MNIST test")).to_be_visible()
    no_exception(page)
    open_page(other, f"{server}/draw")  # the other person's model did not change
    assert your_model(other) == theirs
    other.context.close()
