"""The model this browser session uses: its own, so one person's choice never changes another's page.

A session starts with the server's default (``ModelStore.active()``, changed only by
``python -m model default NAME`` or a teacher pinning a class model). Using another model
(the Models page, a finished training or teaching) changes this session only, and the URL
(``?model=NAME``) so a reload keeps it. The choice is also kept in the session, because
Streamlit drops the URL's parameters when the reader moves to another page.
"""

from __future__ import annotations

import uuid

import streamlit as st

from model.storage.store import ModelInfo, ModelNotFoundError, ModelStore
from ui.language import say
from utils.i18n import N_, Message

QUERY_KEY = "model"
CHOSEN_KEY = "session_model"  # the name this session chose, kept across pages
PINNED_KEY = "class_pinned_model"  # set by the class page while this session is in a class
OWNER_KEY = "job_owner"


def session_model(store: ModelStore) -> ModelInfo:
    """This session's model: the URL's if it names a usable saved model, else the class's pinned one, else the
    server default. A URL value that is not usable is dropped with a one-line notice."""
    wanted = st.query_params.get(QUERY_KEY) or st.session_state.get(CHOSEN_KEY)
    if wanted:
        info = _usable(store, wanted)
        if info is not None:
            use_model(info.name)
            return info
        st.session_state.pop(CHOSEN_KEY, None)
        st.query_params.pop(QUERY_KEY, None)
    pinned = st.session_state.get(PINNED_KEY)
    fallback = _usable(store, pinned) if pinned else None
    fallback = fallback or store.active()
    if wanted:
        said = N_("There is no usable model named {name}; {fallback} answers instead.")
        st.warning(say(Message(said, name=wanted, fallback=fallback.name)), icon=":material/link_off:")
    return fallback


def use_model(name: str) -> None:
    """Make ``name`` this session's model, and put it in the URL: nobody else's page changes."""
    st.session_state[CHOSEN_KEY] = name
    if st.query_params.get(QUERY_KEY) != name:
        st.query_params[QUERY_KEY] = name


def job_owner() -> str:
    """Who a job started here belongs to: this browser session (the queue lets owners take turns)."""
    return st.session_state.setdefault(OWNER_KEY, uuid.uuid4().hex)


def _usable(store: ModelStore, name: str) -> ModelInfo | None:
    try:
        info = store.get(name)
    except ModelNotFoundError:
        return None
    return info if info.usable else None
