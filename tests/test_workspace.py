"""Every browser session its own model: the URL's, else its class's pinned one, else the server default."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from model.net.config import TrainingConfig
from model.net.network import build_network
from model.storage.metadata import ModelMetadata
from model.storage.store import DEFAULT_MODEL_NAME, ModelStore
from tests.helpers import PROJECT_ROOT

TINY = TrainingConfig(hidden_layers=1, units=8)


def shows_the_session_model(models_dir: str, chosen: str | None) -> None:
    """A page that names this session's model, after using ``chosen`` if given."""
    import streamlit as st

    from model.storage.store import ModelStore
    from ui.workspace import session_model, use_model

    store = ModelStore(models_dir)
    if chosen:
        use_model(chosen)
    st.write(f"model: {session_model(store).name}")


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_MODELS_DIR", str(tmp_path / "models"))
    store = ModelStore(tmp_path / "models")
    for name in ("mine", "pinned"):
        store.save(build_network(TINY), name, ModelMetadata(config=TINY), as_default=False)
    return store


def session(store: ModelStore, chosen: str | None = None, **query: str) -> AppTest:
    app = AppTest.from_function(shows_the_session_model, args=(str(store.root), chosen), default_timeout=30)
    for key, value in query.items():
        app.query_params[key] = value
    return app


def named(app: AppTest) -> str:
    assert not app.exception, [e.message for e in app.exception]
    return next(block.value for block in app.markdown if block.value.startswith("model: ")).removeprefix("model: ")


def test_a_new_session_uses_the_server_default(store):
    assert named(session(store).run()) == DEFAULT_MODEL_NAME == store.active().name


def test_the_url_names_the_sessions_model(store):
    app = session(store, model="mine").run()
    assert named(app) == "mine" and app.query_params["model"] == "mine" and not app.warning


@pytest.mark.parametrize("value", ["nobody", "[click](http://evil.example)", "../../etc/passwd"])
def test_a_url_value_that_is_no_usable_model_is_ignored_with_a_notice(store, value):
    app = session(store, model=value).run()
    assert named(app) == DEFAULT_MODEL_NAME and "model" not in app.query_params
    [notice] = [warning.value for warning in app.warning]
    assert "There is no usable model named" in notice and "default answers instead" in notice
    assert "[click](" not in notice and "http://" not in notice  # escaped: never a link


def test_a_damaged_model_in_the_url_is_ignored(store):
    (store.root / "mine.keras").write_bytes(b"not a zip")
    assert named(session(store, model="mine").run()) == DEFAULT_MODEL_NAME


def test_using_a_model_changes_this_session_and_its_url_only(store):
    app = session(store, chosen="mine").run()
    assert named(app) == "mine" and app.query_params["model"] == "mine"
    del app.query_params["model"]  # Streamlit drops the URL's parameters on another page
    app.run()
    assert named(app) == "mine" and app.query_params["model"] == "mine"  # the session kept it, and the URL again
    assert store.active().name == DEFAULT_MODEL_NAME == (store.root / "active.txt").read_text()
    assert named(session(store).run()) == DEFAULT_MODEL_NAME  # another session


def test_a_class_pin_comes_before_the_server_default_and_the_url_before_both(store):
    app = session(store)
    app.session_state["class_pinned_model"] = "pinned"
    assert named(app.run()) == "pinned"
    app.query_params["model"] = "mine"
    assert named(app.run()) == "mine"
    gone = session(store)
    gone.session_state["class_pinned_model"] = "deleted-since"
    assert named(gone.run()) == DEFAULT_MODEL_NAME


def test_two_sessions_of_the_app_each_keep_their_own_model(store):
    first, second = (AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=60) for _ in range(2))
    first.switch_page("pages/models.py").run()
    first.selectbox(key="manage_model").set_value("mine").run()
    make_active = first.button(key="make_active")
    assert make_active.label == "Use this model"
    make_active.click().run()
    assert not first.exception and first.query_params["model"] == "mine"
    assert any(block.value.startswith("**mine**") for block in first.sidebar.markdown)
    second.switch_page("pages/draw.py").run()
    assert not second.exception and second.selectbox(key="picked_model").value == DEFAULT_MODEL_NAME
    assert any(block.value.startswith(f"**{DEFAULT_MODEL_NAME}**") for block in second.sidebar.markdown)
    assert store.active().name == DEFAULT_MODEL_NAME
    first.switch_page("pages/draw.py").run()
    assert first.selectbox(key="picked_model").value == "mine"
