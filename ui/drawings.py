"""Your drawings: kept in the browser session as you correct or confirm the network's answers.

A session keeps at most what one zip holds (``MAX_KEPT`` drawings, ``MAX_KEPT_BYTES`` of
pictures), so a class's sessions stay affordable on one server and "Download all" and
"Save set" always make a zip that loads back. What does not fit is said, never dropped silently.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
import streamlit as st

from model.storage.store import ModelInfo
from ui.language import _, say
from utils.drawings import MAX_DRAWINGS, MAX_ZIP_BYTES, Drawing, drawing_from_image
from utils.errors import LabError
from utils.i18n import N_, Message, num
from utils.untrusted import byte_size

SESSION_KEY = "my_drawings"
MAX_KEPT = MAX_DRAWINGS
MAX_KEPT_BYTES = MAX_ZIP_BYTES - 2**20  # the pictures; the rest of the zip is headers and the manifest


def my_drawings() -> list[Drawing]:
    """This session's drawings (the list itself: pages remove in place, and add through ``keep_all``)."""
    return st.session_state.setdefault(SESSION_KEY, [])


def keep_all(new: Sequence[Drawing], problems: list[Message]) -> list[Drawing]:
    """Add as many of ``new`` as this session may keep and return them; the rest are a line in ``problems``."""
    drawings = my_drawings()
    kept: list[Drawing] = []
    room = MAX_KEPT_BYTES - sum(len(drawing.png) for drawing in drawings)
    for drawing in new:
        if len(drawings) + len(kept) >= MAX_KEPT or len(drawing.png) > room:
            problems.append(_full(len(new) - len(kept)))
            break
        kept.append(drawing)
        room -= len(drawing.png)
    drawings.extend(kept)
    return kept


def _full(left_out: int) -> Message:
    return Message(
        N_(
            "{count} not added: this session keeps at most {limit} drawings and {size} of pictures (what one zip "
            "holds). Save or download your drawings, then clear some."
        ),
        count=num(left_out),
        limit=num(MAX_KEPT),
        size=byte_size(MAX_KEPT_BYTES),
    )


def _fingerprint(image: np.ndarray) -> str:
    return hashlib.sha1(np.ascontiguousarray(image).tobytes(), usedforsecurity=False).hexdigest()


def keep(image: np.ndarray, label: int, info: ModelInfo, key: str) -> None:
    """Keep this picture with its true digit; the same picture kept again only changes its label."""
    try:
        drawing = drawing_from_image(image, label, info.name, info.metadata.preprocessing)
    except LabError as error:
        st.session_state[f"{key}_problem"] = say(error)
        return
    drawings, fingerprint = my_drawings(), _fingerprint(image)
    if st.session_state.get(f"{key}_kept") == fingerprint and drawings:
        drawings[-1] = drawing
    else:
        problems: list[Message] = []
        if not keep_all([drawing], problems):
            st.session_state[f"{key}_problem"] = say(problems[0])
            return
    st.session_state[f"{key}_kept"] = fingerprint
    st.session_state[f"{key}_toast"] = _("Kept as digit {digit} in Your drawings ({count} in all).").format(
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
