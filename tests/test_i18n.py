"""Português as well as English: every shown string is marked, in the catalog, translated, and shown."""

from __future__ import annotations

import re

import pytest

from tests.i18n_tools import english_in, extracted_messages, portuguese, ui_files, unmarked_strings
from utils import i18n

PLACEHOLDER = re.compile(r"\{(\w*)[^}]*\}")


def test_no_shown_string_skips_translation():
    unmarked = [line for path in ui_files() for line in unmarked_strings(path)]
    assert not unmarked, "shown without _():\n" + "\n".join(unmarked)


def test_every_marked_string_has_a_portuguese_translation():
    catalog = portuguese()
    missing = []
    for message, where in extracted_messages().items():
        key = message[0] if isinstance(message, tuple) else message
        entry = catalog.get(key)
        strings = () if entry is None else entry.string if isinstance(entry.string, tuple) else (entry.string,)
        if entry is None or entry.fuzzy or not strings or not all(strings):
            missing.append(f"{where}: {key!r}")
    assert not missing, f"{len(missing)} strings without a translation (see locale/README.md):\n" + "\n".join(missing)


def test_the_catalog_holds_no_message_the_code_dropped():
    used = {m[0] if isinstance(m, tuple) else m for m in extracted_messages()}
    stale = [m.id for m in portuguese() if m.id and (m.id[0] if isinstance(m.id, tuple) else m.id) not in used]
    assert not stale, "run pybabel update (locale/README.md); no longer in the code:\n" + "\n".join(map(repr, stale))


def test_translations_keep_every_placeholder():
    broken = []
    for message in portuguese():
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strs = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = set(PLACEHOLDER.findall(ids[-1]))
        broken += [f"{ids[0]!r} -> {s!r}" for s in strs if set(PLACEHOLDER.findall(s)) != wanted]
    assert not broken, "\n".join(broken)


def test_the_language_follows_its_source_and_falls_back_to_english():
    assert i18n._("Train") == "Train"  # no source installed: English, as the CLI speaks
    try:
        i18n.use_language_source(lambda: "pt")
        assert i18n._("Train") == "Treinar"
        assert i18n.ngettext("{count} drawing", "{count} drawings", 1) != i18n.ngettext(
            "{count} drawing", "{count} drawings", 2
        )
        i18n.use_language_source(lambda: "xx")
        assert i18n._("Train") == "Train"
    finally:
        i18n.use_language_source(None)


@pytest.mark.parametrize(
    ("locale", "language"),
    [("pt-BR", "pt"), ("pt_PT", "pt"), ("PT", "pt"), ("en-US", "en"), ("de-DE", None), ("", None), (None, None)],
)
def test_a_browser_locale_picks_a_language_we_have(locale, language):
    assert i18n.language_for_locale(locale) == language


def test_the_english_detector_finds_english_and_passes_portuguese():
    assert english_in("Train the network with your drawings")
    assert not english_in("Treine a rede neural com os seus desenhos (MNIST, ReLU, Adam)")


TEXT_FIELDS = {"body", "label", "help", "options", "title", "caption", "placeholder", "text", "formattedOptions"}


def _shown_text(node) -> list[str]:
    """Every text an element of an AppTest tree shows: bodies, labels, help, options, captions."""
    from google.protobuf.json_format import MessageToDict

    found = []
    proto = getattr(node, "proto", None)
    if proto is not None and hasattr(proto, "DESCRIPTOR"):
        stack = [MessageToDict(proto)]
        while stack:
            item = stack.pop()
            for key, value in item.items() if isinstance(item, dict) else enumerate(item):
                if isinstance(value, (dict, list)):
                    stack.append(value)
                elif isinstance(value, str) and (key in TEXT_FIELDS or isinstance(key, int)):
                    found.append(value)
    for child in getattr(node, "children", {}).values():
        found += _shown_text(child)
    return found


@pytest.mark.parametrize("page", ["home", "train", "draw", "drawings", "explore", "models"])
def test_every_page_speaks_portuguese_down_to_help_texts(page, tmp_path, monkeypatch):
    """Help texts and options are not on screen until hovered or opened; AppTest reads them all."""
    from streamlit.testing.v1 import AppTest

    from tests.helpers import PROJECT_ROOT

    monkeypatch.setenv("MNIST_MODELS_DIR", str(tmp_path / "models"))
    app = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=60)
    app.query_params["lang"] = "pt"
    if page != "home":
        app.switch_page(f"pages/{page}.py")
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    text = "\n".join(_shown_text(app.main) + _shown_text(app.sidebar))
    leaks = english_in(text)
    assert not leaks, "English on a Portuguese page:\n" + "\n".join(leaks)


def test_numbers_are_written_the_readers_way():
    assert (i18n.number(401920), i18n.percent(0.9927, 2), i18n.number(2.25, 1)) == ("401,920", "99.27%", "2.2")
    assert (i18n.significant(4.1734), i18n.significant(0.0), i18n.significant(-0.01236, 2)) == ("4.17", "0", "-0.012")
    try:
        i18n.use_language_source(lambda: "pt")
        assert (i18n.number(401920), i18n.percent(0.9927, 2), i18n.number(2.5, 1)) == ("401.920", "99,27%", "2,5")
        assert i18n.significant(4.1734) == "4,17"
    finally:
        i18n.use_language_source(None)
