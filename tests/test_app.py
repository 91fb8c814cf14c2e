"""The Streamlit app's pages, run headless with AppTest."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.conftest import PROJECT_ROOT


def test_home_says_what_it_is_and_names_the_active_model(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_MODELS_DIR", str(tmp_path))
    app = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=60).run()
    assert not app.exception
    assert "MNIST" in app.title[0].value
    assert any("default" in block.value and "784-512-512-10" in block.value for block in app.sidebar.markdown)
