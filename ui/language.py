"""The reader's language for this browser session.

First visit: the link's ``?lang=`` if it names a language we have, else the browser's locale
(``st.context.locale``), else English. Then the sidebar switch, which writes ``?lang=`` so the
address bar stays a link that opens in that language. A new ``?lang=`` (a teacher's link
opened in the same tab) wins over an earlier choice.
"""

from __future__ import annotations

import re

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from utils.i18n import (
    LANGUAGES,
    SOURCE_LANGUAGE,
    Number,
    language_for_locale,
    num,
    pct,
    render,
    sig,
    translations,
)

LANG_KEY = "lang"  # session-state key of the switch, and the URL parameter
_APPLIED_KEY = "_lang_from_url"  # the last ?lang= value taken from the address


def _session_language() -> str:
    """What ``_()`` asks: this session's language; English where no browser session runs (a worker thread)."""
    if get_script_run_ctx(suppress_warning=True) is None:
        return SOURCE_LANGUAGE
    return st.session_state.get(LANG_KEY, SOURCE_LANGUAGE)


def _(message: str) -> str:
    """``message`` in this session's language (the edge: only ``ui/`` and pages translate)."""
    return translations(_session_language()).gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    """The form for ``count`` in this session's language (Portuguese: 0 and 1 take the singular)."""
    return translations(_session_language()).ngettext(singular, plural, count)


def say(text: object) -> str:
    """Markdown for ``st.error``, captions, labels: a Message, a LabError or a Number in this session's language.

    The Message's own Markdown is kept; its values, and any plain string, came from outside (a link, an
    upload, a file name) and are shown as written (``markdown_literal``), never as a link, an image or HTML.
    """
    return render(text, _session_language(), markdown_literal)


def _written(value: Number) -> str:
    return value.text(_session_language())


def number(value: float, decimals: int = 0) -> str:
    """A grouped number this session's way: 12,345.6 in English, 12.345,6 in Portuguese."""
    return _written(num(value, decimals))


def significant(value: float, digits: int = 3) -> str:
    """At most ``digits`` significant digits this session's way: 4.17 / 4,17."""
    return _written(sig(value, digits))


def percent(share: float, decimals: int = 1) -> str:
    """A share as a percentage this session's way: 97.5% / 97,5%."""
    return _written(pct(share, decimals))


def accuracy(share: float | None) -> str:
    """A model's test accuracy this session's way: 98.16% (98,16%), or 'not scored'."""
    return _("not scored") if share is None else percent(share, 2)


_MARKDOWN_SIGNS = re.compile(r"[\\`*~\[\]<>&$|]|(?<![^\W_])_|_(?![^\W_])")  # a ``_`` inside a word is plain
_LINE_START = re.compile(r"^([ \t]*(?:\d+(?=[.)]))?)([#+=.)-])")  # a heading, list or rule where a line starts
_BARE_LINK = re.compile(r"(?=://)|(?<=\b[Ww]{3})(?=\.)|(?=@)|(?<=:)(?=\w)")  # http://, www., a@b.c, :icon:
WORD_JOINER = "\u2060"  # invisible; a backslash does not keep a bare address from becoming a link, nor an icon


def markdown_literal(text: str) -> str:
    """``text`` as Markdown that shows exactly ``text`` on one line: no link, image, HTML, emphasis, math or icon."""
    text = _BARE_LINK.sub(WORD_JOINER, " ".join(text.splitlines()))
    return _LINE_START.sub(r"\1\\\2", _MARKDOWN_SIGNS.sub(r"\\\g<0>", text))


def _language_to_url() -> None:
    st.query_params[LANG_KEY] = st.session_state[LANG_KEY]
    st.session_state[_APPLIED_KEY] = st.session_state[LANG_KEY]


def _css_text(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _translate_streamlit_words() -> None:
    """Streamlit writes the file uploader's button and size limit in English only; swap them in CSS.

    The English words are hidden (and so left out of the page's text) and the translation drawn
    in their place; the uploader's own label, ours, says which files it takes.
    """
    button = _css_text(_("Upload"))
    limit = _css_text(_("up to {size} MB per file").format(size=st.get_option("server.maxUploadSize")))
    st.html(
        "<style>"
        "[data-testid=stFileUploaderDropzone] button [data-testid=stMarkdownContainer] p,"
        "[data-testid=stFileUploaderDropzoneInstructions] span {font-size: 0; visibility: hidden}"
        "[data-testid=stFileUploaderDropzone] button [data-testid=stMarkdownContainer] p::after"
        f"{{content: {button}; font-size: 0.875rem; visibility: visible}}"
        f"[data-testid=stFileUploaderDropzoneInstructions] span::after {{content: {limit}; font-size: 0.875rem;"
        " visibility: visible}"
        "</style>"
    )


def language_ui() -> str:
    """The sidebar's language switch; call before anything on the page is written. Returns the language."""
    from_url = st.query_params.get(LANG_KEY)
    if from_url in LANGUAGES and from_url != st.session_state.get(_APPLIED_KEY):
        st.session_state[LANG_KEY] = st.session_state[_APPLIED_KEY] = from_url
    elif LANG_KEY not in st.session_state:
        st.session_state[LANG_KEY] = language_for_locale(st.context.locale) or SOURCE_LANGUAGE
    languages = list(LANGUAGES)
    st.sidebar.radio(
        _("Language"),
        languages,
        index=languages.index(st.session_state[LANG_KEY]),  # the default agrees with the state set above
        format_func=LANGUAGES.__getitem__,
        key=LANG_KEY,
        horizontal=True,
        label_visibility="collapsed",
        on_change=_language_to_url,
    )
    if st.session_state[LANG_KEY] != SOURCE_LANGUAGE:
        _translate_streamlit_words()
    return st.session_state[LANG_KEY]
