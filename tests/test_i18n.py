"""Português as well as English: every shown string is marked, in the catalog, translated, and shown."""

from __future__ import annotations

import ast
import re
import shutil

import pytest

from tests.helpers import PROJECT_ROOT
from tests.i18n_tools import (
    english_in,
    extracted_messages,
    links_in,
    portuguese,
    shown_text,
    ui_files,
    unmarked_strings,
)
from ui.language import markdown_literal
from utils import i18n
from utils.errors import LabError
from utils.i18n import LANGUAGES, Message, render

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


def test_a_message_is_written_in_the_language_asked_and_falls_back_to_english():
    train = Message("Train")
    assert (str(train), train.text("pt"), train.text("xx")) == ("Train", "Treinar", "Train")
    drawings = [Message.counted(("{count} drawing", "{count} drawings"), count) for count in (0, 1, 2)]
    assert [drawing.text("pt") for drawing in drawings] == ["0 desenho", "1 desenho", "2 desenhos"]
    assert [str(drawing) for drawing in drawings] == ["0 drawings", "1 drawing", "2 drawings"]


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
    numbers = (i18n.num(401920), i18n.pct(0.9927, 2), i18n.num(2.25, 1), i18n.num(2.5, 1))
    assert [number.text("en") for number in numbers] == ["401,920", "99.27%", "2.2", "2.5"]
    assert [number.text("pt") for number in numbers] == ["401.920", "99,27%", "2,2", "2,5"]
    significant = (i18n.sig(4.1734), i18n.sig(0.0), i18n.sig(-0.01236, 2))
    assert [number.text("en") for number in significant] == ["4.17", "0", "-0.012"]
    assert [number.text("pt") for number in significant] == ["4,17", "0", "-0,012"]


def _session_words() -> None:
    """What a page writes with ui.language's helpers (run by AppTest as a page of its own)."""
    import streamlit as st

    from ui.language import _, language_ui, ngettext, number, percent, say, significant
    from utils.i18n import Message

    language_ui()
    st.markdown(_("Train"))
    st.markdown(ngettext("{count} drawing", "{count} drawings", 0).format(count=number(0)))
    st.markdown(f"{number(401920)} {percent(0.9927, 2)} {significant(4.1734)}")
    st.markdown(say(Message("{name} is ready", name="*x*")))


@pytest.mark.parametrize(
    ("language", "written"),
    [
        ("en", ["Train", "0 drawings", "401,920 99.27% 4.17", "\\*x\\* is ready"]),
        ("pt", ["Treinar", "0 desenho", "401.920 99,27% 4,17", "\\*x\\* is ready"]),
    ],
)
def test_pages_write_words_and_numbers_in_the_sessions_language(language, written):
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_function(_session_words, default_timeout=60)
    app.query_params["lang"] = language
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    assert [element.value for element in app.markdown] == written


# --- words at the edge ----------------------------------------------------------------------------
TRANSLATING = {"_", "ngettext", "number", "percent", "significant", "current_language"}


def _translating_calls(path) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    return [
        f"{path.relative_to(PROJECT_ROOT)}:{node.lineno} {ast.unparse(node)[:70]}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in TRANSLATING
    ]


def test_model_and_utils_say_messages_and_never_translate():
    """What model/ and utils/ say is a Message; only ui/, the pages and the CLI choose the words and numbers."""
    files = [path for folder in ("model", "utils") for path in sorted((PROJECT_ROOT / folder).rglob("*.py"))]
    found = [call for path in files for call in _translating_calls(path)]
    assert not found, f"{len(found)} calls that translate outside the edge:\n" + "\n".join(found)


# --- nothing from outside becomes a link, an image or HTML ----------------------------------------
HOSTILE = (
    "[Session expired: sign in again](http://evil.example)",
    "![i](http://evil.example/a.png)",
    "<img src=x onerror=alert(1)>",
    "<http://evil.example>",
    "see http://evil.example/login",
    "WWW.evil.example",
    "someone@evil.example",
    "[x]\n\n[x]: http://evil.example",
    "# **bold** _it_ `code` $x$ :red[x] :material/lock: &lt; ~~no~~",
)


def _filled(marked: str | tuple[str, ...], value: str) -> Message:
    """The marked message (msgid, or (singular, plural)) with ``value`` in every placeholder."""
    forms = (marked,) if isinstance(marked, str) else marked
    names = {name for form in forms for name in PLACEHOLDER.findall(form)}
    if len(forms) == 2:
        return Message.counted(forms, 2, **dict.fromkeys(names - {"count"}, value))
    return Message(forms[0], dict.fromkeys(names, value))


@pytest.mark.parametrize("hostile", HOSTILE)
def test_no_value_becomes_a_link_an_image_or_html_in_any_message(hostile):
    """Every message that takes a value (a name, a URL value, an uploaded file's name), in every language."""
    marked = [m for m in extracted_messages() if PLACEHOLDER.search(m if isinstance(m, str) else m[1])]
    assert len(marked) > 100
    found = [
        f"{language} {m!r}: {links}"
        for language in LANGUAGES
        for m in marked
        if (links := links_in(render(_filled(m, hostile), language, markdown_literal)))
    ]
    assert not found, "\n".join(found)


@pytest.mark.parametrize("hostile", [value for value in HOSTILE if "\n" not in value])
def test_a_value_from_outside_is_shown_as_written(hostile):
    assert shown_text(markdown_literal(hostile)) == hostile


def test_a_messages_own_markdown_is_kept_and_a_plain_error_is_shown_as_written():
    shown = render(Message("**{name}** is ready", name="[x](http://evil.example)"), "en", markdown_literal)
    assert shown.startswith("**") and not links_in(shown)
    assert shown_text(shown) == "[x](http://evil.example) is ready"
    plain = LabError("[Session expired](http://evil.example)")  # an error still raised with an English string
    assert not links_in(render(plain, "pt", markdown_literal))


def _app(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("MNIST_MODELS_DIR", str(tmp_path / "models"))
    return AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=60)


def _shown_markdown(app) -> list[str]:
    elements = [*app.warning, *app.error, *app.info, *app.markdown, *app.caption, *app.sidebar.markdown]
    return [element.value for element in elements]


def _lesson_settings() -> None:
    """The Train page's settings, which read a lesson link (run by AppTest as a page of its own)."""
    from ui.language import language_ui
    from ui.widgets import settings_ui

    language_ui()
    settings_ui()


def test_a_crafted_lesson_link_shows_its_values_as_written_and_no_link():
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_function(_lesson_settings, default_timeout=60)
    crafted = {
        "lr": "[Session expired: sign in again](http://evil.example)",
        "units": "![i](http://evil.example/a.png)",
        "optimizer": "<img src=x>",
        "augment": "www.evil.example",
        "layers": "see http://evil.example",
        "hide": "[x](http://evil.example)",
        "lang": "[x](http://evil.example)",
    }
    for key, value in crafted.items():
        app.query_params[key] = value
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    warnings = " ".join(shown_text(warning.value) for warning in app.warning)
    assert all(value in warnings for key, value in crafted.items() if key not in {"hide", "lang"})
    assert not [links for body in _shown_markdown(app) if (links := links_in(body))]


def test_a_model_named_like_a_link_is_shown_as_written(tmp_path, monkeypatch):
    """The models folder is data from outside: a hand-copied model's name is a file name, not Markdown."""
    name = "[Session expired](https:evil.example)"
    (tmp_path / "models").mkdir()
    for suffix in (".keras", ".json"):
        shutil.copy(PROJECT_ROOT / "model" / "pretrained" / f"default{suffix}", tmp_path / "models" / f"{name}{suffix}")
    app = _app(tmp_path, monkeypatch)
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    shown = _shown_markdown(app)
    assert any(name in shown_text(body) for body in shown)
    assert not [links for body in shown if (links := links_in(body))]


def test_any_number_in_a_message_can_be_written_even_huge_or_not_finite():
    """Babel's own patterns raise past 28 digits (a metadata file's epochs of 1e30 broke the Train page)."""
    for value in (1e30, -2.5e308, float("inf"), float("nan")):
        for written in (i18n.num(value), i18n.sig(value), i18n.pct(value)):
            assert written.text("en") and written.text("pt")
    assert (i18n.num(3.4e16).text("pt"), i18n.num(float("inf")).text("en")) == ("3,4E16", "∞")


def test_layers_are_worded_at_the_edge_from_their_place():
    from model.net.events import dense_layer
    from ui.charts import layer_label

    assert [layer_label(dense_layer(index, 3)) for index in range(3)] == ["hidden 1", "hidden 2", "output"]
