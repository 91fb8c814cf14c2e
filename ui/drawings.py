"""Your drawings: kept in the browser session as you correct or confirm the network's answers."""

from __future__ import annotations

import hashlib

import numpy as np
import streamlit as st

from model.storage import ModelInfo
from utils.drawings import Drawing, drawing_from_image
from utils.errors import LabError
from utils.i18n import _

SESSION_KEY = "my_drawings"


def my_drawings() -> list[Drawing]:
    """This session's drawings (the list itself: pages add and remove in place)."""
    return st.session_state.setdefault(SESSION_KEY, [])


def _fingerprint(image: np.ndarray) -> str:
    return hashlib.sha1(np.ascontiguousarray(image).tobytes(), usedforsecurity=False).hexdigest()


def keep(image: np.ndarray, label: int, info: ModelInfo, key: str) -> None:
    """Keep this picture with its true digit; the same picture kept again only changes its label."""
    try:
        drawing = drawing_from_image(image, label, info.name, info.metadata.preprocessing)
    except LabError as error:
        st.session_state[f"{key}_problem"] = str(error)
        return
    drawings, fingerprint = my_drawings(), _fingerprint(image)
    if st.session_state.get(f"{key}_kept") == fingerprint and drawings:
        drawings[-1] = drawing
    else:
        drawings.append(drawing)
    st.session_state[f"{key}_kept"] = fingerprint
    st.session_state[f"{key}_toast"] = _("Kept as a {digit} in Your drawings ({count} in all).").format(
        digit=label, count=len(drawings)
    )


def feedback_ui(image: np.ndarray, predicted: int, info: ModelInfo, key: str) -> None:
    """'Right, keep it' and 'Wrong? It was a …' under an answer: each keeps the drawing with its true digit."""

    def corrected() -> None:
        label = st.session_state.get(f"{key}_label")
        if label is not None:
            keep(image, int(label), info, key)
            st.session_state[f"{key}_label"] = None  # ready for the next drawing

    st.button(
        _("Right, keep it"), icon=":material/check:", key=f"{key}_right", on_click=keep,
        args=(image, predicted, info, key), width="stretch",
    )  # fmt: skip
    st.pills(
        _("Wrong? It was a …"), [digit for digit in range(10) if digit != predicted], key=f"{key}_label",
        on_change=corrected,
    )  # fmt: skip
    if message := st.session_state.pop(f"{key}_toast", None):
        st.toast(message, icon=":material/bookmark_added:")
    if problem := st.session_state.pop(f"{key}_problem", None):
        st.warning(problem)
