"""Learn from your handwriting in the app (issue 15): keep drawings, manage them, teach, compare, undo."""

from __future__ import annotations

import io
import os
import threading
import time

import cv2
import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from model.storage.store import DEFAULT_MODEL_NAME, ModelStore
from tests.helpers import PROJECT_ROOT
from utils.drawings import Drawing, drawing_from_image, drawings_to_zip

APP = str(PROJECT_ROOT / "app.py")


def canvas_of(image: np.ndarray) -> np.ndarray:
    """An MNIST digit drawn large on a canvas like the app's (white on black RGBA)."""
    canvas = np.zeros((280, 280), np.uint8)
    canvas[40:240, 40:240] = cv2.resize(image, (200, 200), interpolation=cv2.INTER_CUBIC)
    return np.dstack([canvas, canvas, canvas, np.full_like(canvas, 255)])


def png(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def app(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_MODELS_DIR", str(tmp_path / "models"))
    test = AppTest.from_file(APP, default_timeout=120)
    yield test
    job = test.session_state.get("teaching_job") if "teaching_job" in test.session_state else None
    if job is not None:
        job.stop()
        job.join(timeout=120)


@pytest.fixture(scope="module")
def drawings(mnist_raw):
    return [drawing_from_image(canvas_of(mnist_raw.x_test[i]), int(mnist_raw.y_test[i]), "default") for i in range(40)]


def test_an_upload_is_corrected_and_kept_with_its_true_digit(app, mnist_raw):
    app.switch_page("pages/draw.py").run()
    seven = 255 - cv2.resize(mnist_raw.x_test[0], (140, 140))  # a 7, dark on light paper
    app.file_uploader[0].upload("seven.png", png(seven), "image/png").run()
    assert not app.exception and app.metric[0].value == "7"
    next(b for b in app.button if b.label == "Right, keep it").click().run()
    kept = app.session_state["my_drawings"]
    assert [d.label for d in kept] == [7] and kept[0].model == DEFAULT_MODEL_NAME
    wrong = app.pills(key="upload_label")
    assert wrong.label == "Wrong? It was a …" and [str(o) for o in wrong.options] == [
        "0",
        "1",
        "2",
        "3",
        "4",
        "5",
        "6",
        "8",
        "9",
    ]
    wrong.set_value(1).run()  # the same picture, corrected: relabelled, not kept twice
    assert [d.label for d in app.session_state["my_drawings"]] == [1]
    assert app.pills(key="upload_label").value is None  # ready for the next drawing


def test_a_picture_with_pixels_that_are_not_numbers_gets_a_message_not_a_traceback(app):
    app.switch_page("pages/draw.py").run()
    buffer = io.BytesIO()
    Image.fromarray(np.full((40, 40), np.nan, np.float32)).save(buffer, "TIFF")
    app.file_uploader[0].upload("nan.png", buffer.getvalue(), "image/png").run()
    assert not app.exception
    assert any("not numbers" in error.value for error in app.error)


def test_the_gallery_counts_deletes_and_clears(app, drawings):
    app.session_state["my_drawings"] = list(drawings[:12])
    app.switch_page("pages/drawings.py").run()
    assert not app.exception
    counts = next(c.value for c in app.caption if c.value.startswith("Drawings of each digit"))
    first_digit = drawings[0].label
    assert f"{first_digit}: {sum(d.label == first_digit for d in drawings[:12])}" in counts
    next(b for b in app.button if b.label == "Delete").click().run()
    assert len(app.session_state["my_drawings"]) == 11
    app.checkbox(key="mine_clear_sure").check().run()
    next(b for b in app.button if b.label == "Clear all").click().run()
    assert app.session_state["my_drawings"] == []


def test_a_zip_of_drawings_round_trips_and_a_bad_one_gets_a_message(app, drawings):
    app.switch_page("pages/drawings.py").run()
    app.file_uploader(key="mine_upload").upload("mine.zip", drawings_to_zip(drawings[:6]), "application/zip").run()
    assert not app.exception and [d.label for d in app.session_state["my_drawings"]] == [d.label for d in drawings[:6]]
    app.file_uploader(key="mine_upload").clear().upload("broken.zip", b"PK not a zip", "application/zip").run()
    assert not app.exception and any("broken.zip" in error.value for error in app.error)


def test_a_named_set_survives_the_session(app, drawings, tmp_path):
    app.session_state["my_drawings"] = list(drawings[:5])
    app.switch_page("pages/drawings.py").run()
    app.text_input(key="set_name").input("ana").run()
    next(b for b in app.button if b.label == "Save set").click().run()
    assert ModelStore(tmp_path / "models").drawing_sets() == ["ana"]


@pytest.mark.slow
def test_teaching_shows_before_and_after_and_can_be_undone(app, drawings, tmp_path):
    store = ModelStore(tmp_path / "models")
    app.session_state["my_drawings"] = list(drawings)
    app.switch_page("pages/drawings.py").run()
    next(b for b in app.button if b.label == "Teach the network").click().run()
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and app.session_state["teaching_job"].state.active:
        time.sleep(1)
        app.run()
    job = app.session_state["teaching_job"]
    assert job.outcome is not None, job.error
    app.run()
    assert not app.exception
    assert job.outcome.model_name == "default+mine" and job.outcome.base == DEFAULT_MODEL_NAME
    assert job.outcome.yours_before is not None and job.outcome.held_out > 0
    assert store.get("default+mine").metadata.base_model == DEFAULT_MODEL_NAME
    assert app.get("vega_lite_chart") or app.get("arrow_vega_lite_chart")  # the before/after bars
    yours = "default+mine" if job.outcome.blocked is None else DEFAULT_MODEL_NAME
    assert any(block.value.startswith(f"**{yours}**") for block in app.sidebar.markdown)  # this session's model
    assert store.active().name == DEFAULT_MODEL_NAME  # the server default, everybody else's, stays
    if job.outcome.blocked is None:
        next(b for b in app.button if b.label.startswith("Undo")).click().run()
        assert any(block.value.startswith(f"**{DEFAULT_MODEL_NAME}**") for block in app.sidebar.markdown)
    assert store.active().name == DEFAULT_MODEL_NAME


def test_a_session_keeps_at_most_what_one_zip_holds_and_says_so(app, drawings):
    """Five 100 KB uploads cost the server 340 MB; over 2,000 drawings, "Download all" did nothing."""
    from ui.drawings import MAX_KEPT, MAX_KEPT_BYTES

    app.session_state["my_drawings"] = [drawings[0]] * MAX_KEPT
    app.switch_page("pages/drawings.py").run()
    app.file_uploader(key="mine_upload").upload("more.zip", drawings_to_zip(drawings[:6]), "application/zip").run()
    assert not app.exception and len(app.session_state["my_drawings"]) == MAX_KEPT
    assert any("6 not added: this session keeps at most 2,000 drawings" in info.value for info in app.info)
    assert drawings_to_zip(app.session_state["my_drawings"])  # "Download all" always has a zip to give
    big = Drawing(b"x" * (MAX_KEPT_BYTES - 1000), drawings[1].pixels, drawings[1].label)
    app.session_state["my_drawings"] = [big]
    app.file_uploader(key="mine_upload").clear().upload("two.zip", drawings_to_zip(drawings[:2]), "application/zip")
    app.run()
    assert len(app.session_state["my_drawings"]) == 1
    assert any("2 not added" in info.value and "9.4 MB of pictures" in info.value for info in app.info)


def test_the_sets_folder_with_a_dangling_link_a_pipe_or_a_save_in_progress_still_works(app, drawings, tmp_path):
    """A dangling symlink (or a save in progress) in drawings/ gave every visitor a traceback."""
    folder = tmp_path / "models" / "drawings"
    folder.mkdir(parents=True)
    (folder / "gone.zip").symlink_to(folder / "nowhere.zip")
    os.mkfifo(folder / "pipe.zip")
    (folder / "ana.zip").write_bytes(drawings_to_zip(drawings[:5]))
    app.session_state["my_drawings"] = list(drawings[:5])
    app.switch_page("pages/drawings.py").run()
    assert not app.exception
    assert app.selectbox(key="saved_set").options == ["ana"]
    app.text_input(key="set_name").input("ana").run()
    next(b for b in app.button if b.label == "Save set").click().run()
    assert any("a set of drawings named 'ana' already exists" in error.value for error in app.error)


def test_a_second_job_of_the_same_person_is_refused_in_one_sentence(app, drawings):
    """One job each at a time: this person's training holds the slot, so Teach says so instead of queueing."""
    from ui.resources import training_queue

    queue = training_queue()
    assert queue.acquire("their training", threading.Event(), "this-session")
    try:
        app.session_state["job_owner"] = "this-session"
        app.session_state["my_drawings"] = list(drawings)
        app.switch_page("pages/drawings.py").run()
        next(b for b in app.button if b.label == "Teach the network").click().run()
        assert not app.exception and "teaching_job" not in app.session_state
        assert any("You already have a training running or waiting" in w.value for w in app.warning)
    finally:
        queue.release("their training")
