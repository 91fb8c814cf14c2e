"""The app as a person uses it: real server, real Chromium, mouse and keyboard."""

from __future__ import annotations

import json
import re
import time

import cv2
import numpy as np
import pytest
from playwright.sync_api import Page, expect

from bench.appserver import draw_on_canvas, running_app
from bench.strokes import ONE, ZERO
from model.jobs.engine import ABANDONED_AFTER_S
from tests.e2e.helpers import (
    APP_TIMEOUT,
    PREDICTION,
    UPLOAD_PREDICTION,
    metric_value,
    no_exception,
    open_page,
    wait_idle,
)

pytestmark = pytest.mark.slow  # a real server and Chromium: minutes in all

PAGES = {"": "MNIST MLP Lab", "train": "Train a network", "draw": "Draw a digit", "explore": "Explore MNIST",
         "models": "Models"}  # fmt: skip


def sidebar_link(page: Page, title: str):
    return page.locator(f'[data-testid=stSidebarNav] a[href$="/{title.lower()}"]')


def slider(page: Page, label: str):
    return page.locator("[data-testid=stSlider]").filter(has_text=label).locator("input[type=range]")


def progress_text(page: Page) -> str:
    return page.locator("[data-testid=stProgress]").first.inner_text()


def test_deep_link_on_a_fresh_server_keeps_the_app_navigation(page, tmp_path):
    with running_app(tmp_path) as url:
        open_page(page, f"{url}/draw")
        expect(page.locator("h1").first).to_have_text("Draw a digit")
        expect(page.get_by_text("Your model", exact=True)).to_be_visible()
        expect(sidebar_link(page, "Explore")).to_have_count(1)


@pytest.mark.parametrize("path", list(PAGES))
def test_every_page_renders_without_an_exception(page, server, path):
    open_page(page, f"{server}/{path}")
    expect(page.locator("h1").first).to_have_text(PAGES[path])
    expect(page.get_by_text("Your model", exact=True)).to_be_visible()
    no_exception(page)
    expect(page.locator("[data-testid=stAlertContainer]").filter(has_text="Error")).to_have_count(0)


def test_drawing_a_one_and_a_zero(page, server):
    open_page(page, f"{server}/draw")
    expect(page.get_by_text("Draw a digit (0-9) in the black box")).to_be_visible()
    expect(page.locator("[data-testid=stMetric]")).to_have_count(0)  # nothing drawn, nothing predicted
    draw_on_canvas(page, ONE)
    expect(page.locator(PREDICTION)).to_have_count(1, timeout=APP_TIMEOUT)
    _expect_prediction(page, "1")
    page.get_by_role("button", name="Reset canvas & history").click()
    expect(page.get_by_text("Draw a digit (0-9) in the black box")).to_be_visible(timeout=APP_TIMEOUT)
    draw_on_canvas(page, ZERO)
    _expect_prediction(page, "0")
    expect(page.get_by_text("What the network sees")).to_be_visible()
    no_exception(page)


def test_a_dot_gets_a_message_not_a_guess(page, server):
    open_page(page, f"{server}/draw")
    draw_on_canvas(page, [[(0.5, 0.5), (0.505, 0.505)]])
    expect(page.get_by_text("That is only a dot")).to_be_visible(timeout=APP_TIMEOUT)
    expect(page.locator("[data-testid=stMetric]")).to_have_count(0)
    no_exception(page)


def _expect_prediction(page: Page, digit: str, seconds: float = 20, answer: str = PREDICTION) -> None:
    deadline = time.monotonic() + seconds
    value = None
    while time.monotonic() < deadline:
        metrics = page.locator(answer)
        if metrics.count():
            value = metrics.locator("[data-testid=stMetricValue]").inner_text().strip()
            if value == digit:
                return
        page.wait_for_timeout(200)
    pytest.fail(f"the Prediction metric shows {value!r}, expected {digit!r}")


def test_uploading_a_photo_of_a_digit(page, server, mnist_raw, tmp_path):
    index = int(np.flatnonzero(mnist_raw.y_test == 3)[0])
    photo = 230 - cv2.resize(mnist_raw.x_test[index], (300, 300), interpolation=cv2.INTER_CUBIC) * 0.8  # dark on light
    path = tmp_path / "three.jpg"
    cv2.imwrite(str(path), photo.astype(np.uint8))
    open_page(page, f"{server}/draw")
    page.locator("[data-testid=stFileUploaderDropzoneInput]").set_input_files(str(path))
    _expect_prediction(page, "3", answer=UPLOAD_PREDICTION)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)
    page.locator("[data-testid=stFileUploaderDropzoneInput]").set_input_files(str(broken))
    expect(page.get_by_text("broken.png: ")).to_be_visible(timeout=APP_TIMEOUT)
    no_exception(page)


def test_training_shows_live_curves_then_results(page, server):
    open_page(page, f"{server}/train")
    epochs = slider(page, "Epochs")
    epochs.focus()
    page.keyboard.press("Home")
    for _ in range(14):
        page.keyboard.press("ArrowRight")
    expect(epochs).to_have_value("15")
    wait_idle(page)
    page.get_by_role("button", name="Train", exact=True).click()
    seen = set()
    deadline = time.monotonic() + 90
    results = page.locator("[data-testid=stMetric]").filter(has_text="Test accuracy")
    while time.monotonic() < deadline and results.count() == 0:
        if page.locator("[data-testid=stProgress]").count():
            text = progress_text(page)
            if "Epoch" in text and page.locator("[data-testid=stVegaLiteChart]").count() >= 2:
                seen.add(text)
        page.wait_for_timeout(150)
    assert len(seen) >= 3, f"the curves were redrawn only for {seen}"
    expect(results).to_be_visible(timeout=APP_TIMEOUT)
    assert metric_value(page, "Test accuracy").endswith("%")
    expect(page.get_by_text("Confusion matrix")).to_be_visible()
    expect(page.get_by_text("Misclassified test digits")).to_be_visible()
    expect(page.locator("[data-testid=stSidebar]")).to_contain_text("2x512-relu-")  # the automatic name
    no_exception(page)


def test_stop_keeps_the_partly_trained_model_and_training_survives_navigation(page, server):
    open_page(page, f"{server}/train")
    slider(page, "Epochs").focus()
    page.keyboard.press("End")  # 100 epochs: far longer than this test
    page.get_by_label("Model name").fill("stopped-early")
    page.get_by_label("Model name").press("Enter")
    wait_idle(page)
    page.get_by_role("button", name="Train", exact=True).click()
    running = page.locator("[data-testid=stProgress]").filter(has_text=re.compile(r"Epoch ([2-9]|\d\d)/100"))
    expect(running).to_be_visible(timeout=APP_TIMEOUT)
    slider(page, "Hidden layers").focus()
    page.keyboard.press("ArrowRight")  # moving another widget must not restart training
    sidebar_link(page, "Draw").click()
    expect(page.locator("h1").first).to_have_text("Draw a digit", timeout=APP_TIMEOUT)
    sidebar_link(page, "Train").click()
    expect(
        page.locator("[data-testid=stProgress]").filter(has_text=re.compile(r"Epoch ([3-9]|\d\d+)/100"))
    ).to_be_visible(timeout=APP_TIMEOUT)
    page.locator(".st-key-stop button").click()  # not the status widget's own "Stop"
    expect(page.get_by_text("Stopped by request")).to_be_visible(timeout=APP_TIMEOUT)  # its latency: bench/load_test.py
    expect(page.get_by_text(re.compile(r"during epoch ([3-9]|[1-9]\d) \("))).to_be_visible()  # mid-run, not restarted
    expect(page.get_by_text("Saved as stopped-early")).to_be_visible()
    expect(page.locator("[data-testid=stSidebar]")).to_contain_text("stopped-early")
    no_exception(page)


def test_closing_the_browser_mid_training_frees_the_job(browser, server, server_folder):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    open_page(page, f"{server}/train")
    for name in ("Hidden layers", "Units per layer", "Epochs"):  # the largest network, for long enough
        slider(page, name).focus()
        page.keyboard.press("End")
        wait_idle(page)
    page.get_by_label("Model name").fill("abandoned")
    page.get_by_label("Model name").press("Enter")
    wait_idle(page)
    page.get_by_role("button", name="Train", exact=True).click()
    expect(page.locator("[data-testid=stProgress]").filter(has_text="Epoch 1/100")).to_be_visible(timeout=APP_TIMEOUT)
    context.close()  # the tab goes away mid-training
    metadata = server_folder / "models" / "abandoned.json"
    deadline = time.monotonic() + ABANDONED_AFTER_S + 30
    while time.monotonic() < deadline and not metadata.exists():
        time.sleep(0.5)
    assert metadata.exists(), "the abandoned training was neither stopped nor saved"
    saved = json.loads(metadata.read_text())
    assert saved["status"] == "stopped" and saved["epochs_completed"] < 100
