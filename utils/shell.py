"""Keep every page inside app.py's navigation.

Streamlit still supports its legacy multipage mode, switched on by the mere existence of
a ``pages/`` folder and off by the first ``st.navigation`` call. On a fresh server, a
first visitor who opens ``/draw`` directly would get pages/draw.py run on its own (no
sidebar, wrong menu), and every later visitor too, until someone opened ``/``. Each page
calls ``ensure_app_navigation()`` first: it clears that flag, as ``st.navigation`` would,
and reruns, so app.py runs and serves the requested page.
"""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager


def ensure_app_navigation() -> None:
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()
