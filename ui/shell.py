"""Keep every page inside app.py's navigation.

Streamlit still supports its legacy multipage mode, switched on by the mere existence of
a ``pages/`` folder and off by the first ``st.navigation`` call. On a fresh server, a
first visitor who opens ``/draw`` directly would get pages/draw.py run on its own (no
sidebar, wrong menu), and so would every later visitor until someone opened ``/``.
app.py runs each page inside ``app_shell()``; a page that finds itself outside it clears
Streamlit's flag, as ``st.navigation`` would, and runs app.py in its place, in the same
script run (so a click that started the run is not lost), which then serves the page.
"""

from __future__ import annotations

import contextlib
import runpy
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

APP_SCRIPT = Path(__file__).resolve().parent.parent / "app.py"
_run = threading.local()  # each script run has its own thread


@contextlib.contextmanager
def app_shell() -> Iterator[None]:
    _run.inside_app = True
    try:
        yield
    finally:
        _run.inside_app = False


def ensure_app_navigation() -> None:
    if getattr(_run, "inside_app", False):
        return
    PagesManager.uses_pages_directory = False
    runpy.run_path(str(APP_SCRIPT), run_name="__main__")
    st.stop()


def session_connected() -> Callable[[], bool] | None:
    """A check, safe to call from any thread, that this page's browser session is still connected.

    None outside a real server (``AppTest``), where there is no connection to lose.
    """
    from streamlit.runtime import Runtime
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    context = get_script_run_ctx()
    if context is None or not Runtime.exists():
        return None
    runtime, session_id = Runtime.instance(), context.session_id
    return lambda: runtime.is_active_session(session_id)
