"""Each page's widgets and flows, run headless with Streamlit's AppTest (no browser)."""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from model.net.config import TrainingConfig
from model.net.network import build_network
from model.storage.metadata import ModelMetadata
from model.storage.store import ModelStore
from tests.helpers import PROJECT_ROOT

APP = str(PROJECT_ROOT / "app.py")


@pytest.fixture
def app(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("MNIST_LAB_MAX_TRAIN", "1500")
    monkeypatch.setenv("MNIST_LAB_MAX_TEST", "300")
    test = AppTest.from_file(APP, default_timeout=60)
    yield test
    job = test.session_state.get("training_job")
    if job is not None:  # never leave a training behind for the next test
        job.stop()
        job.join(timeout=60)


def open_page(app: AppTest, page: str) -> AppTest:
    if page != "home":
        app.switch_page(f"pages/{page}.py")
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def button(app: AppTest, label: str):
    return next(button for button in app.button if button.label == label)


def test_home_says_what_it_is_and_names_the_sessions_model(app):
    open_page(app, "home")
    assert "MNIST" in app.title[0].value
    assert any("default" in block.value and "784-512-512-10" in block.value for block in app.sidebar.markdown)
    assert any("669,706 trainable parameters" in caption.value for caption in app.caption)


def test_train_sliders_update_the_architecture_before_training(app):
    open_page(app, "train")
    labels = {widget.label for widget in [*app.slider, *app.select_slider]}
    assert {"Hidden layers", "Units per layer", "Epochs", "Batch size", "Learning rate", "Dropout"} <= labels
    assert app.expander[1].label.startswith("Network: 784-512-512-10 — 669,706 parameters")
    app.slider(key="layers").set_value(3).run()
    app.select_slider(key="units").set_value(64).run()
    assert app.expander[1].label.startswith("Network: 784-64-64-64-10 — 59,210 parameters")
    assert app.selectbox(key="optimizer").options[0] == "Gradient descent (plain SGD)"


def test_train_sliders_at_their_extremes(app):
    open_page(app, "train")
    app.slider(key="layers").set_value(8).run()
    app.select_slider(key="units").set_value(2048).run()
    app.slider(key="epochs").set_value(100).run()
    assert not app.exception
    assert app.expander[1].label.startswith(
        "Network: 784-2048-2048-2048-2048-2048-2048-2048-2048-10 — 31,002,634 parameters"
    )  # 785x2048 + 7x2049x2048 + 2049x10
    app.slider(key="layers").set_value(1).run()
    app.select_slider(key="units").set_value(8).run()
    app.slider(key="epochs").set_value(1).run()
    assert not app.exception and app.expander[1].label.startswith("Network: 784-8-10 — 6,370 parameters")


@pytest.mark.slow
def test_augment_switch_and_schedule_are_trained_with(app):
    open_page(app, "train")
    assert not app.toggle(key="augment").value and not app.get("image")
    app.toggle(key="augment").set_value(True).run()
    assert not app.exception
    assert "random distortions" in app.get("image")[0].proto.imgs[0].caption
    button(app, "New samples").click().run()
    assert not app.exception and app.session_state["preview_seed"] == 1
    app.slider(key="layers").set_value(1).run()
    app.select_slider(key="units").set_value(16).run()
    app.slider(key="epochs").set_value(1).run()
    assert app.radio(key="schedule").value == "constant"
    app.radio(key="schedule").set_value("cosine").run()
    button(app, "Train").click().run()
    config = app.session_state["training_job"].work.config
    assert config.augment and config.schedule == "cosine"
    app.session_state["training_job"].stop()


@pytest.mark.slow
def test_train_flow_trains_saves_and_shows_results(app):
    open_page(app, "train")
    app.slider(key="layers").set_value(1).run()
    app.select_slider(key="units").set_value(32).run()
    app.slider(key="epochs").set_value(2).run()
    app.text_input(key="model_name").input("apptest-net").run()
    button(app, "Train").click().run()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not any(m.label == "Test accuracy" for m in app.metric):
        time.sleep(0.5)
        app.run()
    assert not app.exception
    assert any(m.label == "Test accuracy" and m.value.endswith("%") for m in app.metric)
    assert any("Saved as **apptest-net**" in message.value for message in app.success)
    assert any("apptest-net" in block.value for block in app.sidebar.markdown)  # now this session's model
    assert app.query_params["model"] == "apptest-net"  # a reload keeps it
    assert ModelStore().active().name == "default"  # and nobody else's changed


def test_draw_shows_a_prompt_not_a_prediction_for_an_empty_canvas(app):
    open_page(app, "draw")
    assert app.selectbox[0].label == "Model" and app.selectbox[0].value == "default"
    assert any("Draw a digit (0-9)" in info.value for info in app.info)
    assert not any(metric.label == "Prediction" for metric in app.metric)


def test_explore_browses_a_digit(app, mnist_raw):
    open_page(app, "explore")
    app.segmented_control(key="explore_digit").set_value(7).run()
    assert not app.exception
    assert "training samples of 7" in app.slider(key="explore_page").label
    first = app.session_state["explore_sample"]
    grid = app.dataframe[0].value
    assert grid.shape[0] < 28 and grid.shape[1] < 28 and grid.values.max() > 200  # opens on the ink
    assert grid.values.sum() == mnist_raw.x_train[first].astype(int).sum()  # and hides none of it
    app.toggle(key="explore_all").set_value(True).run()
    assert app.dataframe[0].value.shape == (28, 28)
    second = [b for b in app.button if b.key and b.key.startswith("sample_")][1]
    second.click().run()
    assert app.session_state["explore_sample"] == int(second.key.removeprefix("sample_")) != first


def test_models_page_uses_a_model_in_this_session_and_deletes_with_confirmation(app, tmp_path):
    store = ModelStore(tmp_path / "models")
    config = TrainingConfig(hidden_layers=1, units=8)
    store.save(build_network(config), "mine", ModelMetadata(config=config, history={"loss": (1.0, 0.5)}))
    open_page(app, "models")
    assert list(app.dataframe[0].value["architecture"]) == ["784-8-10", "784-512-512-10"]
    app.multiselect(key="overlay_models").set_value(["mine", "default"]).run()
    app.selectbox(key="manage_model").set_value("default").run()
    assert store.active().name == "mine"  # the server default: the CLI's way of saving makes it so
    button(app, "Use this model").click().run()
    assert any(block.value.startswith("**default**") for block in app.sidebar.markdown)
    assert store.active().name == "mine"  # this session changed, not the server default
    assert app.multiselect(key="overlay_models").value == ["mine", "default"]  # the overlay choice stays
    assert any("cannot be deleted" in caption.value for caption in app.caption)
    app.selectbox(key="manage_model").set_value("mine").run()
    assert button(app, "Delete").disabled  # not before confirming
    app.checkbox(key="confirm_delete_mine").check().run()
    button(app, "Delete").click().run()
    assert [info.name for info in store.list()] == ["default"]


def test_home_and_explore_never_import_tensorflow():
    script = (
        "import sys\n"
        "from streamlit.testing.v1 import AppTest\n"
        f"app = AppTest.from_file({APP!r}, default_timeout=60)\n"
        "app.run()\n"
        "app.switch_page('pages/explore.py').run()\n"
        "assert not app.exception, app.exception\n"
        "print('tensorflow' in sys.modules, 'keras' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=PROJECT_ROOT, check=True)
    assert done.stdout.strip().splitlines()[-1] == "False False"


def test_settings_come_from_the_link_and_go_back_into_it(app):
    for key, value in {"layers": "5", "units": "128", "activation": "sigmoid", "optimizer": "sgd", "lr": "0.1"}.items():
        app.query_params[key] = value
    open_page(app, "train")
    assert app.expander[1].label.startswith("Network: 784-128-128-128-128-128-10")
    assert app.selectbox(key="optimizer").value == "sgd" and app.radio(key="activation").value == "sigmoid"
    app.slider(key="epochs").set_value(3).run()
    assert app.query_params["epochs"] == "3"
    assert "units" in app.query_params and "dropout" not in app.query_params  # defaults stay out of the link


def test_a_link_outside_the_limits_is_refused_with_a_message_and_defaults_kept(app):
    app.query_params["layers"] = "80"
    app.query_params["optimizer"] = "lbfgs"
    app.query_params["units"] = "100"  # within the limits but not one of the page's steps
    open_page(app, "train")
    warnings = " ".join(warning.value for warning in app.warning)
    assert "hidden_layers must be between 1 and 8" in warnings and "optimizer must be one of" in warnings
    assert "units='100'" in warnings
    assert app.expander[1].label.startswith("Network: 784-512-512-10")


@pytest.mark.slow
def test_a_lesson_link_hides_the_named_controls(app):
    app.query_params["hide"] = "lr,optimizer,schedule"
    app.query_params["optimizer"] = "sgd"
    open_page(app, "train")
    keys = {widget.key for widget in [*app.slider, *app.select_slider, *app.selectbox, *app.radio]}
    assert {"lr", "optimizer", "schedule"}.isdisjoint(keys) and {"layers", "activation"} <= keys
    button(app, "Train").click().run()
    assert app.session_state["training_job"].work.config.optimizer == "sgd"  # hidden, yet taken from the link


def test_copy_link_builds_a_lesson_link_that_hides_the_chosen_controls(app):
    """A link with no settings yet gets its ``?``: the hint to append ``&hide=...`` by hand broke such links."""
    open_page(app, "train")
    app.multiselect(key="link_hide").select("lr").select("optimizer").run()
    assert app.code[0].value == "/train?hide=lr,optimizer"
    app.slider(key="layers").set_value(3).run()
    assert app.code[0].value == "/train?layers=3&hide=lr,optimizer"


def test_an_unsure_answer_says_so_next_to_the_prediction(app, monkeypatch):
    import model.net.inference

    flat = np.full(10, 0.05)
    flat[8] = 0.55  # a letter X got "8, 54 %"
    monkeypatch.setattr(model.net.inference, "answer", lambda network, digit: model.net.inference.Answer(flat, None))
    open_page(app, "draw")
    app.file_uploader[0].upload("x.png", _png_of(np.pad(np.eye(60, dtype=np.uint8) * 255, 40)), "image/png").run()
    assert not app.exception and app.metric[0].label == "Prediction" and app.metric[0].value == "8"
    assert any("not sure" in warning.value and "must always pick one" in warning.value for warning in app.warning)


def test_pages_that_need_mnist_say_what_to_do_when_it_cannot_be_downloaded(app, monkeypatch, tmp_path):
    import keras

    def offline():
        raise Exception("URL fetch failure on https://storage.googleapis.com/...: Name or service not known")

    monkeypatch.delenv("MNIST_PATH", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    import streamlit as st

    st.cache_resource.clear()  # MNIST, and the augmentation preview made from it, may be cached by another test
    st.cache_data.clear()
    open_page(app, "explore")
    assert any("could not be downloaded" in error.value and "MNIST_PATH" in error.value for error in app.error)
    try:
        open_page(app, "train")
        app.toggle(key="augment").set_value(True).run()
        assert not app.exception and any("could not be downloaded" in error.value for error in app.error)
    finally:  # the training process this page started has no MNIST: later tests must get a new one
        st.cache_resource.clear()


def _png_of(image: np.ndarray) -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.mark.slow
def test_a_training_in_portuguese_stays_in_portuguese_to_its_last_word(app):
    """The worker writes in English; the page says how it ended in the reader's language, and the language holds."""
    app.query_params["lang"] = "pt"
    open_page(app, "train")
    app.slider(key="layers").set_value(1).run()
    app.select_slider(key="units").set_value(32).run()
    app.slider(key="epochs").set_value(2).run()
    app.button(key="train").click().run()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not any(m.label == "Acurácia no teste" for m in app.metric):
        time.sleep(0.5)
        app.run()
    assert not app.exception and app.session_state["lang"] == "pt"
    said = " ".join(message.value for message in app.success)
    assert "2 épocas de treinamento em" in said and "Trained" not in said, said
    app.run()
    assert app.session_state["lang"] == "pt" and app.title[0].value == "Treinar uma rede neural"
