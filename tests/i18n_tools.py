"""What the translation tests share: the marked strings, the catalog, and a detector of English left in a page."""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Iterator
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from markdown_it import MarkdownIt
from markdown_it.token import Token

from tests.helpers import PROJECT_ROOT
from utils.i18n import catalog_path

KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2), "N_plural": (1, 2)}
WORD = re.compile(r"[A-Za-zÀ-ÿ]{3,}")
# Names that are the same in both languages, and Streamlit's own words we cannot translate.
ALLOWED = {
    "mnist", "relu", "sigmoid", "tanh", "softmax", "adam", "rmsprop", "sgd", "keras", "tensorflow", "numpy",
    "mlp", "lab", "english", "português", "png", "jpg", "jpeg", "zip", "json", "csv", "url", "cli",
    "dropout", "pixel", "pixels", "default", "mine",
}  # fmt: skip
# Common English words a page in Portuguese must not contain even if no message of ours uses them.
ENGLISH = {"the", "and", "with", "this", "that", "your", "you", "from", "are", "not", "per", "file", "upload"}


def extracted_messages() -> dict[str | tuple[str, ...], str]:
    """Every string marked in the app's code (msgid, or (singular, plural)), with where it was found."""
    with (PROJECT_ROOT / "locale" / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    found = {}
    for filename, _line, message, _comments, _context in extract_from_dir(
        str(PROJECT_ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        found[message] = filename
    return found


@functools.cache
def portuguese() -> Catalog:
    with catalog_path("pt").open("rb") as po:
        return read_po(po, locale="pt")


def _words(text: str) -> set[str]:
    return {w.lower() for w in WORD.findall(re.sub(r"\{[^}]*\}|:material/\w+:|`[^`]*`", " ", text))}


@functools.cache
def english_only_words() -> frozenset[str]:
    """Words our English messages use that no Portuguese translation does: seeing one on a pt page is a leak."""
    english, translated = set(), set()
    for message in portuguese():
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strs = message.string if isinstance(message.string, tuple) else (message.string,)
        english |= set().union(*map(_words, ids))
        translated |= set().union(*map(_words, strs))
    return frozenset((english - translated - ALLOWED) | ENGLISH)


def english_in(text: str) -> list[str]:
    """The lines of ``text`` with English words in them, each with those words."""
    leaks = []
    for line in text.splitlines():
        words = _words(line) & english_only_words()
        if words:
            leaks.append(f"{line.strip()!r}: {sorted(words)}")
    return leaks


# --- strings shown without _() ---------------------------------------------------------------
ELEMENTS = {
    "title", "header", "subheader", "markdown", "caption", "write", "text", "code", "latex", "button",
    "download_button", "form_submit_button", "link_button", "page_link", "Page", "slider", "select_slider",
    "selectbox", "radio", "checkbox", "toggle", "multiselect", "segmented_control", "pills", "number_input",
    "text_input", "text_area", "file_uploader", "metric", "info", "warning", "error", "success", "exception",
    "toast", "spinner", "status", "progress", "expander", "tabs", "popover", "image", "dialog", "table",
}  # fmt: skip
SHOWN_KEYWORDS = {"label", "help", "caption", "placeholder", "body", "text", "title", "value", "delta", "format_func"}
UI_SOURCES = ("app.py", "pages", "ui")


def ui_files() -> Iterator[Path]:
    for name in UI_SOURCES:
        path = PROJECT_ROOT / name
        yield from sorted(path.rglob("*.py")) if path.is_dir() else [path]


def _has_words(node: ast.AST) -> bool:
    """A literal (or an f-string's literal parts, or a lambda's result) with a word in it."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):  # not a path, a key or a name
        text = re.sub(r":material/\w+:|^\w+$|^[\w/.-]+\.py$", "", node.value)
        return any(word.lower() not in ALLOWED for word in re.findall(r"[A-Za-z]{2,}", text))
    if isinstance(node, ast.JoinedStr):
        return any(_has_words(part) for part in node.values if isinstance(part, ast.Constant))
    if isinstance(node, (ast.List, ast.Tuple)):
        return any(_has_words(item) for item in node.elts)
    if isinstance(node, ast.Lambda):
        return _has_words(node.body)
    if isinstance(node, ast.IfExp):
        return _has_words(node.body) or _has_words(node.orelse)
    if isinstance(node, ast.BinOp):
        return _has_words(node.left) or _has_words(node.right)
    return False


def unmarked_strings(path: Path) -> list[str]:
    """Words passed straight to a Streamlit element (or as a chart title) instead of through _()."""
    tree = ast.parse(path.read_text(), str(path))
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        shown = list(node.args) if name in ELEMENTS else []
        shown += [k.value for k in node.keywords if k.arg in SHOWN_KEYWORDS]
        found += [f"{path.relative_to(PROJECT_ROOT)}:{n.lineno} {ast.unparse(n)[:80]}" for n in shown if _has_words(n)]
    return found


# --- Markdown as Streamlit's frontend reads it -----------------------------------------------------
# GitHub's Markdown also links bare addresses in plain text (http://..., www..., a@b.c), which
# CommonMark alone does not; in the browser a backslash before the ':' does not stop it.
AUTOLINK_LITERAL = re.compile(r"(?i)https?://|www\.|[\w.+-]@[\w-]+\.\w")
ACTIVE = {"link_open", "image", "html_inline", "html_block"}  # what would link, fetch or run in the browser


def _tokens(markdown: str) -> Iterator[Token]:
    for block in MarkdownIt("commonmark").parse(markdown):
        yield block
        yield from block.children or ()


def links_in(markdown: str) -> list[str]:
    """What Streamlit would show of ``markdown`` as a link, an image or HTML (empty when nothing)."""
    return [
        f"{token.type}: {token.content or token.attrs}"
        for token in _tokens(markdown)
        if token.type in ACTIVE or (token.type == "text" and AUTOLINK_LITERAL.search(token.content))
    ]


def shown_text(markdown: str) -> str:
    """The characters ``markdown`` shows, its formatting left out (and invisible word joiners)."""
    return "".join(token.content for token in _tokens(markdown) if token.type == "text").replace("\u2060", "")
