"""Streamlit entry point: ``streamlit run app.py``. Navigation and the sidebar; pages live in pages/."""

from __future__ import annotations

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from ui.classroom import class_session_ui
from ui.gc_tuning import freeze_imported_frameworks
from ui.language import _, accuracy, language_ui, say
from ui.resources import model_store
from ui.shell import app_shell
from ui.workspace import session_model
from utils.errors import ModelStorageError, SettingsError
from utils.settings import read_settings

st.set_page_config(page_title="MNIST MLP Lab", page_icon=":material/draw:", layout="wide")


def pages() -> list[st.Page]:
    """The menu, in the reader's language (the URL paths stay English so links work in both)."""
    return [
        st.Page("pages/home.py", title=_("Home"), icon=":material/home:", default=True),
        st.Page("pages/train.py", title=_("Train"), icon=":material/monitoring:", url_path="train"),
        st.Page("pages/draw.py", title=_("Draw"), icon=":material/draw:", url_path="draw"),
        st.Page("pages/drawings.py", title=_("Your drawings"), icon=":material/school:", url_path="drawings"),
        st.Page("pages/explore.py", title=_("Explore"), icon=":material/grid_on:", url_path="explore"),
        st.Page("pages/models.py", title=_("Models"), icon=":material/inventory_2:", url_path="models"),
        st.Page("pages/class.py", title=_("Class"), icon=":material/groups:", url_path="class"),
    ]


def show_session_model(place: DeltaGenerator) -> None:
    """Every page shows which network answers in this session, read from metadata (no TensorFlow needed).

    Drawn once the page has run, so a model chosen there (Models, a finished training) is the one named.
    """
    with place:
        st.caption(_("Your model"))
        try:
            info = session_model(model_store())
        except ModelStorageError as error:
            st.error(say(error))
            return
        meta = info.metadata
        scored = _("Test accuracy: **{accuracy}**").format(accuracy=accuracy(meta.test_accuracy))
        st.markdown(f"**{say(info.name)}**  \n`{say(meta.architecture)}`  \n{scored}")


def stop_on_bad_settings() -> None:
    """A bad environment setting is one line on every page, never a traceback later."""
    try:
        read_settings()
    except SettingsError as error:
        st.error(
            _("The app cannot start: {error}. Fix the environment variable and restart it.").format(error=say(error))
        )
        st.stop()


language_ui()
navigation = st.navigation(pages())
stop_on_bad_settings()
class_session_ui()  # before the sidebar's model: a class may pin the session's model
model_place = st.sidebar.container()
with app_shell():
    try:
        navigation.run()
    finally:
        show_session_model(model_place)
        freeze_imported_frameworks()
