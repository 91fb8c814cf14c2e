"""The Class page and the Train page in a class, run headless with AppTest: each AppTest is one browser session."""

from __future__ import annotations

import io
import zipfile

import pytest
from streamlit.testing.v1 import AppTest

from model.classroom.classes import Classroom
from model.classroom.db import Database, database_path
from model.classroom.limits import Limits
from model.storage.store import ModelStore
from tests.helpers import PROJECT_ROOT
from ui.class_teacher import class_drawings_zip

APP = str(PROJECT_ROOT / "app.py")


@pytest.fixture
def room(tmp_path, monkeypatch) -> Classroom:
    """The classes of a fresh server (its models folder in tmp_path), as the pages will find them."""
    models = tmp_path / "models"
    monkeypatch.setenv("MNIST_MODELS_DIR", str(models))
    monkeypatch.setenv("MNIST_LAB_MAX_TRAIN", "1500")
    monkeypatch.setenv("MNIST_LAB_MAX_TEST", "300")
    models.mkdir()
    return Classroom(Database(database_path(models)))


def session(page: str = "class", **params: str) -> AppTest:
    """A new browser session opening ``/page?params``."""
    app = AppTest.from_file(APP, default_timeout=60)
    for key, value in params.items():
        app.query_params[key] = value
    if page != "home":
        app.switch_page(f"pages/{page}.py")
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def press(app: AppTest, label: str) -> AppTest:
    next(button for button in app.button if button.label == label).click().run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def texts(elements) -> str:
    return "\n".join(element.value for element in elements)


def test_a_teacher_creates_a_class_and_gets_its_code_and_links(room):
    app = session()
    app.text_input(key="new_class").input("Room 7")
    press(app, "Create a class")
    code = app.metric[0].value
    assert app.metric[0].label == "Join code" and room.get(code).name == "Room 7"
    links = texts(app.code)
    assert f"/class?class={code}\n" in links + "\n"  # the students' link
    teacher_key = links.split(f"class={code}&teacher=")[1].strip()
    room.check_teacher(code, teacher_key)  # the teacher link holds the real key
    assert "Keep this link private" in texts(app.warning)
    assert f"Class **{code}** · teacher" in texts(app.sidebar.markdown)
    assert app.query_params["class"] == code and "teacher" not in app.query_params
    assert "Teacher's controls" in texts(app.subheader)


def test_students_join_by_code_or_link_and_a_taken_name_is_refused(room):
    info, _key = room.create("Room 7")
    ana = session()
    ana.text_input(key="join_code").input(info.code.lower())
    ana.text_input(key="join_name").input("Ana")
    press(ana, "Join")
    assert f"Class **{info.code}** · Ana" in texts(ana.sidebar.markdown)
    assert room.students(info.code) == ["Ana"]
    assert ana.query_params["class"] == info.code

    ben = session(**{"class": info.code})  # the students' link: only a name to give
    assert f"Class **{info.code}**" in texts(ben.sidebar.markdown)
    assert not any(box.key == "join_code" for box in ben.text_input)
    ben.text_input(key="join_name").input("ana")
    press(ben, "Join")
    assert "already taken" in texts(ben.error)
    assert "student" not in ben.query_params and room.students(info.code) == ["Ana"]
    ben.text_input(key="join_name").input("Ben")
    press(ben, "Join")
    assert f"Class **{info.code}** · Ben" in texts(ben.sidebar.markdown)


def test_a_reloaded_student_tab_keeps_its_name_and_another_browser_cannot_take_it(room):
    info, _key = room.create("Room 7")
    room.join(info.code, "Ana", "seat-of-ana")
    again = session(**{"class": info.code, "student": "Ana", "seat": "seat-of-ana"})
    assert f"Class **{info.code}** · Ana" in texts(again.sidebar.markdown)
    other = session(**{"class": info.code, "student": "Ana", "seat": "someone-else"})
    assert "· Ana" not in texts(other.sidebar.markdown) and "student" not in other.query_params


def test_a_wrong_teacher_key_is_refused(room):
    info, key = room.create("Room 7")
    wrong = session(**{"class": info.code, "teacher": key[:-2] + "xx"})
    assert "teacher key" in texts(wrong.error) and "not right" in texts(wrong.error)
    assert "Teacher's controls" not in texts(wrong.subheader) and not wrong.metric
    assert "teacher" not in wrong.query_params  # not left in the address bar
    right = session(**{"class": info.code, "teacher": key})
    assert "Teacher's controls" in texts(right.subheader) and right.metric[0].value == info.code


def test_the_teacher_sets_limits_on_the_class_page(room):
    info, key = room.create("Room 7")
    app = session(**{"class": info.code, "teacher": key})
    app.number_input(key="limit_layers").set_value(1)
    app.number_input(key="limit_epochs").set_value(2)
    app.text_area(key="limit_goal").input("Best test accuracy with one layer")
    app.text_input(key="limit_fixed").input("batch=64")
    press(app, "Save the limits")
    assert "Saved" in texts(app.success)
    limits = room.get(info.code).limits
    assert (limits.max_hidden_layers, limits.max_epochs, limits.fixed) == (1, 2, {"batch_size": 64})
    assert limits.goal == "Best test accuracy with one layer"
    app.text_input(key="limit_fixed").input("batch=abc")
    press(app, "Save the limits")
    assert "batch" in texts(app.error) and room.get(info.code).limits.fixed == {"batch_size": 64}


def student_on_train(room: Classroom, code: str, name: str, **params: str) -> AppTest:
    room.join(code, name, f"seat-{name}")
    return session("train", **{"class": code, "student": name, "seat": f"seat-{name}"}, **params)


def test_the_train_page_shows_the_limits_and_its_widgets_cannot_pass_them(room):
    info, key = room.create("Room 7")
    room.set_limits(info.code, key, Limits(max_hidden_layers=1, max_epochs=1, max_units=64,
                                           activations=("relu", "tanh"), fixed={"batch_size": 64},
                                           goal="Best test accuracy"))  # fmt: skip
    app = student_on_train(room, info.code, "Ana", layers="5", epochs="50", units="512", activation="sigmoid")
    shown = texts(app.markdown)
    assert "Goal: Best test accuracy" in shown and "At most 1 hidden layer\n" in shown
    layers, epochs = app.number_input(key="layers"), app.number_input(key="epochs")  # one value left: not a slider
    assert (layers.value, layers.max, layers.disabled, epochs.value, epochs.max) == (1, 1, True, 1, 1)
    assert app.select_slider(key="units").value == 64 and app.select_slider(key="units").options[-1] == "64"
    assert app.radio(key="activation").value == "relu" and len(app.radio(key="activation").options) == 2
    assert app.select_slider(key="batch").value == 64 and app.select_slider(key="batch").disabled
    assert app.expander[-1].label.startswith("Network: 784-64-10")


def test_the_server_refuses_a_training_outside_the_limits_whatever_the_url_says(room):
    info, key = room.create("Room 7")
    room.set_limits(info.code, key, Limits(max_hidden_layers=1, max_epochs=1))
    app = student_on_train(room, info.code, "Ana", layers="5", hide="layers")  # hidden: no widget to clamp it
    press(app, "Train")
    assert "Not started" in texts(app.error) and "at most 1 hidden layer in this class; this has 5" in texts(app.error)
    assert "training_job" not in app.session_state
    assert room.board(info.code) == []


def test_a_student_removes_their_own_run_but_not_anothers(room):
    info, key = room.create("Room 7")
    for name in ("Ana", "Ben"):
        room.join(info.code, name, f"seat-{name}")
    ana_run = room.start_run(info.code, "Ana", {"hidden_layers": 1, "units": 32, "epochs": 1})
    ben_run = room.start_run(info.code, "Ben", {"hidden_layers": 1, "units": 64, "epochs": 1})
    ana = session(**{"class": info.code, "student": "Ana", "seat": "seat-Ana"})
    assert "Class board" in texts(ana.subheader)
    ana.selectbox(key="run_to_remove").set_value(ben_run)
    press(ana, "Remove run")
    assert "only the teacher or the student who trained it" in texts(ana.error)
    assert [run.id for run in room.board(info.code)] == [ana_run, ben_run]
    ana.selectbox(key="run_to_remove").set_value(ana_run)
    press(ana, "Remove run")
    assert [run.id for run in room.board(info.code)] == [ben_run]
    teacher = session(**{"class": info.code, "teacher": key})
    teacher.selectbox(key="run_to_remove").set_value(ben_run)
    press(teacher, "Remove run")
    assert room.board(info.code) == []


def test_the_board_shows_runs_their_scores_and_a_leaderboard_within_the_limits(room):
    info, key = room.create("Room 7")
    room.set_limits(info.code, key, Limits(max_hidden_layers=1))
    for name in ("Ana", "Ben"):
        room.join(info.code, name, f"seat-{name}")
    small = {"hidden_layers": 1, "units": 32, "epochs": 1, "activation": "relu", "optimizer": "adam"}
    ana = room.start_run(info.code, "Ana", small)
    room.update_run(ana, status="finished", epoch=1, epochs=1, val_accuracy=0.9, test_accuracy=0.91, seconds=4.0,
                    model="ana-net", history={"loss": [0.5], "val_loss": [0.4]})  # fmt: skip
    big = room.start_run(info.code, "Ben", small | {"hidden_layers": 3})  # outside the limits: not on the leaderboard
    room.update_run(big, status="finished", epoch=1, epochs=1, test_accuracy=0.97)
    room.start_run(info.code, "Ben", small)
    app = session(**{"class": info.code, "student": "Ana", "seat": "seat-Ana"})
    board, leaders = (frame.value for frame in app.dataframe[:2])
    assert list(board["student"]) == ["Ana", "Ben", "Ben"]
    assert list(board["status"]) == ["finished", "finished", "queued"]
    assert board["test accuracy"].iloc[0] == pytest.approx(0.91) and board["network"].iloc[1] == "3 x 32"
    assert list(leaders["student"]) == ["Ana"]
    assert app.get("download_button")


def test_the_teacher_collects_the_classs_drawing_sets_a_folder_per_student(room):
    info, _key = room.create("Room 7")
    other, _ = room.create("Room 8")
    store = ModelStore()
    for code, student, name in (
        (info.code, "Ana", "ana-sevens"),
        (info.code, "Ben", "ben-ones"),
        (other.code, "Cy", "cy"),
    ):
        room.join(code, student, f"seat-{student}")
        store.save_drawing_set(name, f"zip of {name}".encode())
        room.claim(code, student, "set", name)
    store.save_drawing_set("nobodys", b"not made in a class")
    with zipfile.ZipFile(io.BytesIO(class_drawings_zip(info.code))) as archive:
        assert sorted(archive.namelist()) == ["Ana/ana-sevens.zip", "Ben/ben-ones.zip"]  # not another class's
        assert archive.read("Ana/ana-sevens.zip") == b"zip of ana-sevens"


def test_ending_a_class_can_remove_what_its_students_made(room):
    info, key = room.create("Room 7")
    room.join(info.code, "Ana", "seat-Ana")
    store = ModelStore()
    store.save_drawing_set("ana-sevens", b"zip")
    room.claim(info.code, "Ana", "set", "ana-sevens")
    store.save_drawing_set("kept", b"zip")  # not the class's
    app = session(**{"class": info.code, "teacher": key})
    app.radio(key="end_remove").set_value(True)
    press(app, "End the class")
    assert "The class has ended" in texts(app.success)
    assert room.get(info.code).ended and store.drawing_sets() == ["kept"]


def test_a_model_made_in_a_class_is_deleted_only_by_its_maker_or_the_teacher(room, tmp_path):
    from model.net.config import TrainingConfig
    from model.net.network import build_network
    from model.storage.metadata import ModelMetadata

    info, key = room.create("Room 7")
    for name in ("Ana", "Ben"):
        room.join(info.code, name, f"seat-{name}")
    tiny = TrainingConfig(hidden_layers=1, units=8)
    ModelStore(tmp_path / "models").save(build_network(tiny), "anas-net", ModelMetadata(config=tiny), as_default=False)
    room.claim(info.code, "Ana", "model", "anas-net")

    def models_page(**params: str) -> AppTest:
        app = session("models", **{"class": info.code, **params})
        app.selectbox(key="manage_model").select("anas-net").run()
        return app

    ben = models_page(student="Ben", seat="seat-Ben")
    assert not [button for button in ben.button if button.label == "Delete"]
    assert "anas-net was made by Ana in a class: only they or their teacher can delete it." in texts(ben.caption)
    ana = models_page(student="Ana", seat="seat-Ana")
    assert [button for button in ana.button if button.label == "Delete"]
    teacher = models_page(teacher=key)
    assert [button for button in teacher.button if button.label == "Delete"]
    stranger = session("models")  # not in the class at all
    stranger.selectbox(key="manage_model").select("anas-net").run()
    assert not [button for button in stranger.button if button.label == "Delete"]
