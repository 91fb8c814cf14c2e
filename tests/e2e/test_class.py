"""In Chromium: a teacher and two students in one class, each in their own browser."""

from __future__ import annotations

import csv
import io
import re
import time

import pytest
from playwright.sync_api import Browser, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.e2e.helpers import APP_TIMEOUT, ARTIFACTS, no_exception, open_page, wait_idle
from tests.helpers import PROJECT_ROOT

pytestmark = pytest.mark.slow

SCREENSHOTS = PROJECT_ROOT / "docs" / "screenshots"
TRAINING_TIMEOUT = 240_000  # two small trainings in turn, on a shared 2-core machine


def new_page(browser: Browser, width: int = 1400, height: int = 1000) -> Page:
    return browser.new_context(viewport={"width": width, "height": height}, accept_downloads=True).new_page()


def create_class(page: Page, server: str) -> str:
    open_page(page, f"{server}/class")
    page.get_by_label("Class name", exact=True).fill("Room 7")
    page.get_by_role("button", name="Create a class").click()
    code_metric = page.locator("[data-testid=stMetric]").filter(has_text="Join code")
    expect(code_metric).to_be_visible(timeout=APP_TIMEOUT)
    code = code_metric.locator("[data-testid=stMetricValue]").inner_text().strip()
    assert re.fullmatch(r"[A-HJKMNP-Z2-9]{6}", code)
    return code


def set_limits(page: Page) -> None:
    page.get_by_label("Most hidden layers").fill("1")
    page.get_by_label("Most epochs").fill("1")
    page.get_by_label("Most training digits").fill("1000")
    page.get_by_label("Goal", exact=True).fill("Best test accuracy with one small layer")
    page.get_by_role("button", name="Save the limits").click()
    expect(page.get_by_text("Saved: students' Train pages use these limits now.")).to_be_visible(timeout=APP_TIMEOUT)


def join(page: Page, server: str, code: str, name: str) -> None:
    open_page(page, f"{server}/class?class={code}")  # the students' link
    page.get_by_label("Your name", exact=True).fill(name)
    page.get_by_role("button", name="Join").click()
    expect(page.locator("[data-testid=stSidebar]")).to_contain_text(f"Class {code} · {name}", timeout=APP_TIMEOUT)


def start_training(page: Page, units: str) -> None:
    page.locator("[data-testid=stSidebarNav] a").filter(has_text="Train").click()
    expect(page.get_by_text("At most 1 hidden layer", exact=True)).to_be_visible(timeout=APP_TIMEOUT)
    expect(page.get_by_text("Network: 784-512-10 —")).to_be_visible()  # the default 2 layers clamped to 1
    page.get_by_label("Model name").fill(f"class-{units}")
    page.get_by_label("Model name").press("Enter")
    wait_idle(page)
    page.get_by_role("button", name="Train", exact=True).click()


def choose(page: Page, key: str, option: str) -> None:
    """Pick ``option`` in the selectbox ``key`` (tried again if a redraw of the live board closed the list)."""
    for _attempt in range(5):
        wait_idle(page)
        page.locator(f".st-key-{key} [role=combobox]").click()
        try:
            page.get_by_role("option", name=option).click(timeout=3000)
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
        else:
            return
    raise AssertionError(f"could not choose {option}")


def board_csv(page: Page) -> list[dict[str, str]]:
    with page.expect_download() as download:
        page.get_by_role("button", name="Export CSV").click()
    return list(csv.DictReader(io.StringIO(download.value.path().read_text("utf-8"))))


def test_a_class_joins_trains_and_the_teacher_sees_both_runs(browser, server):
    teacher = new_page(browser)
    code = create_class(teacher, server)
    teacher_link = teacher.locator("[data-testid=stCode]").filter(has_text="teacher=").text_content().strip()
    set_limits(teacher)

    ana, ben = new_page(browser), new_page(browser)
    join(ana, server, code, "Ana")
    join(ben, server, code, "Ben")
    start_training(ana, "ana")
    start_training(ben, "ben")
    for student in (ana, ben):
        result = student.locator("[data-testid=stMetric]").filter(has_text="Test accuracy")
        expect(result).to_be_visible(timeout=TRAINING_TIMEOUT)
        no_exception(student)

    expect(teacher.get_by_text("Leaderboard")).to_be_visible(timeout=APP_TIMEOUT)
    deadline = time.monotonic() + 20  # the board is redrawn every 2 s
    while (rows := board_csv(teacher)) and time.monotonic() < deadline and any(r["status"] != "finished" for r in rows):
        teacher.wait_for_timeout(1000)
    assert sorted(row["student"] for row in rows) == ["Ana", "Ben"]
    for row in rows:
        assert row["status"] == "finished" and 0.5 < float(row["test accuracy"]) <= 1
        assert row["network"] == "1 x 512" and row["epochs"] == "1" and row["training digits"] == "1000"

    ana.locator("[data-testid=stSidebarNav] a").filter(has_text="Class").click()  # Ana tries to remove Ben's run
    expect(ana.get_by_text("Class board")).to_be_visible(timeout=APP_TIMEOUT)
    ben_run = next(row["run"] for row in rows if row["student"] == "Ben")
    choose(ana, "run_to_remove", f"#{ben_run} · Ben · finished")
    ana.get_by_role("button", name="Remove run").click()
    expect(ana.get_by_text(f"only the teacher or the student who trained it can remove run {ben_run}")).to_be_visible(
        timeout=APP_TIMEOUT
    )
    assert len(board_csv(teacher)) == 2

    for width, name in ((1400, "desktop"), (390, "phone")):
        viewer = new_page(browser, width, 1250 if name == "desktop" else 900)
        open_page(viewer, teacher_link)
        expect(viewer.get_by_text("Leaderboard")).to_be_visible(timeout=APP_TIMEOUT)
        viewer.wait_for_timeout(1500)  # the charts settle
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        ARTIFACTS.mkdir(exist_ok=True)
        target = SCREENSHOTS / "class-board-desktop.png" if name == "desktop" else ARTIFACTS / "class-board-phone.png"
        viewer.screenshot(path=str(target), full_page=True)
        no_exception(viewer)
        viewer.context.close()
    for page in (teacher, ana, ben):
        page.context.close()


def test_a_wrong_teacher_key_is_refused(browser, server):
    teacher = new_page(browser)
    code = create_class(teacher, server)
    intruder = new_page(browser)
    open_page(intruder, f"{server}/class?class={code}&teacher=not-the-key")
    expect(intruder.get_by_text(f"the teacher key of class {code} is not right")).to_be_visible()
    expect(intruder.get_by_text("Teacher's controls")).to_have_count(0)
    expect(
        intruder.get_by_label("Your name", exact=True)
    ).to_be_visible()  # a student's view of the class, nothing more
    assert "teacher=" not in intruder.url
    no_exception(intruder)
    for page in (teacher, intruder):
        page.context.close()
