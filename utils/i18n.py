"""The interface's language: gettext catalogs kept with Babel in ``locale/<language>/LC_MESSAGES/messages.po``.

Words are chosen at the edge. ``model/`` and ``utils/`` never translate: what they say to a
person (an error, an outcome, a label) is a ``Message``: an English msgid marked with ``N_()``
and named values, numbers among them as ``Number`` (``num``, ``pct``, ``sig``). Only ``ui/``
(``ui.language``, the browser session's language) and the CLI (English) turn a Message into
words, with the reader's number formats. ``pybabel extract`` finds ``N_()`` and ``_()`` alike
(see ``locale/README.md``). Placeholders are named, so a translation may reorder them.
"""

from __future__ import annotations

import functools
import gettext
import io
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent, format_scientific

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DOMAIN = "messages"
SOURCE_LANGUAGE = "en"
LANGUAGES = {"en": "English", "pt": "Português"}  # code -> its own name, as the switch shows it
NUMBER_LOCALES = {"en": "en_US", "pt": "pt_BR"}  # how each writes numbers: 1,234.5 / 1.234,5
WRITTEN_OUT_BELOW = 1e15  # past this a float is no longer an exact whole number: written 1.2E16


def N_(message: str) -> str:
    """Mark a string for translation where it is defined; ``_()`` translates it where it is shown."""
    return message


def N_plural(singular: str, plural: str) -> tuple[str, str]:
    """Mark the two English forms of a counted message for translation (``Message.counted``)."""
    return singular, plural


def catalog_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@functools.cache
def translations(language: str) -> gettext.NullTranslations:
    """The catalog compiled in memory from its ``.po`` (no ``.mo`` files to go stale); fuzzy entries stay English."""
    if language == SOURCE_LANGUAGE:
        return gettext.NullTranslations()
    with catalog_path(language).open("rb") as po:
        catalog = read_po(po, locale=language, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def language_for_locale(locale: str | None) -> str | None:
    """The supported language of a browser locale such as ``pt-BR`` or ``en_GB``; None if none fits."""
    if not locale:
        return None
    code = locale.replace("_", "-").split("-", 1)[0].lower()
    return code if code in LANGUAGES else None


@dataclass(frozen=True)
class Number:
    """A number a person reads, written in the reader's locale only when shown (1,234.5 / 1.234,5)."""

    value: float
    pattern: str = "#,##0"  # a Babel pattern: "#,##0.0", "@##" (significant digits), "#,##0.0%"

    def text(self, language: str = SOURCE_LANGUAGE) -> str:
        """Never an error: infinities and NaN as Babel writes them (∞), huge values as 1.2E16 (Babel's own
        formats give up past 28 digits)."""
        locale = NUMBER_LOCALES.get(language, NUMBER_LOCALES[SOURCE_LANGUAGE])
        sign = "%" if self.pattern.endswith("%") else ""
        shown = self.value * 100 if sign else self.value
        if not math.isfinite(shown):
            return format_decimal(shown, format="0", locale=locale) + sign
        if abs(shown) >= WRITTEN_OUT_BELOW:
            return format_scientific(shown, format="0.##E0", locale=locale) + sign
        if sign:
            return format_percent(self.value, format=self.pattern, locale=locale)
        if self.pattern.startswith("@") and self.value == 0:  # Babel writes 0 as "0.0" here
            return format_decimal(0, format="0", locale=locale)
        return format_decimal(self.value, format=self.pattern, locale=locale)

    def __str__(self) -> str:
        return self.text(SOURCE_LANGUAGE)


def _decimals(decimals: int) -> str:
    return "." + "0" * decimals if decimals else ""


def num(value: float, decimals: int = 0) -> Number:
    """A grouped number with ``decimals`` decimals: 12,345.6 in English, 12.345,6 in Portuguese."""
    return Number(value, "#,##0" + _decimals(decimals))


def sig(value: float, digits: int = 3) -> Number:
    """At most ``digits`` significant digits (like ``:.3g`` without exponents): 4.17 / 4,17."""
    return Number(value, "@" + "#" * (digits - 1))


def pct(share: float, decimals: int = 1) -> Number:
    """A share as a percentage: 97.5% in English, 97,5% in Portuguese."""
    return Number(share, "#,##0" + _decimals(decimals) + "%")


@dataclass(frozen=True, init=False)
class Message:
    """Words said where the reader is unknown (model/, utils/, the training worker), written where it is known.

    ``msgid`` (and ``plural``, chosen by ``count``) is English, marked with ``N_()``, with named
    placeholders filled from ``values``: Numbers and Messages are written in the reader's language,
    anything else as its text. ``str()`` is the English sentence (metadata, logs, the CLI);
    ``text(language)`` is the reader's.
    """

    msgid: str
    values: Mapping[str, object]
    plural: str | None
    count: int | None

    def __init__(self, msgid: str, values: Mapping[str, object] | None = None, /, **named: object) -> None:
        """``Message(N_("{name} is empty"), name=label)``, or the values as one mapping; plurals: ``counted``."""
        object.__setattr__(self, "msgid", msgid)
        object.__setattr__(self, "values", {**(values or {}), **named})
        object.__setattr__(self, "plural", None)
        object.__setattr__(self, "count", None)

    @classmethod
    def counted(cls, forms: tuple[str, str], count: int, **values: object) -> Message:
        """The form for ``count`` of ``forms`` (from ``N_plural``) in each language's own plural rule; ``{count}``
        is the number written out."""
        message = cls(forms[0], {"count": num(count), **values})
        object.__setattr__(message, "plural", forms[1])
        object.__setattr__(message, "count", count)
        return message

    def text(self, language: str = SOURCE_LANGUAGE, literal: Callable[[str], str] = str) -> str:
        """In ``language``; ``literal`` writes each value that is a plain string (the edge's Markdown escaping)."""
        catalog = translations(language if language in LANGUAGES else SOURCE_LANGUAGE)
        if self.plural is not None:
            template = catalog.ngettext(self.msgid, self.plural, self.count if self.count is not None else 2)
        else:
            template = catalog.gettext(self.msgid)
        if not self.values:  # a sentence without placeholders is shown as it is
            return template
        return template.format(**{name: render(value, language, literal) for name, value in self.values.items()})

    def __str__(self) -> str:
        return self.text(SOURCE_LANGUAGE)


def as_message(text: Message | str) -> Message:
    """A Message as it is; a plain string (a name, an error raised the old way) as a Message showing it as written."""
    return text if isinstance(text, Message) else Message("{text}", text=text)


def render(value: object, language: str = SOURCE_LANGUAGE, literal: Callable[[str], str] = str) -> str:
    """One value in ``language``: Messages (and a LabError's) translated, Numbers in its number format, a list as
    "a, b, c", None as "", anything else as its text written by ``literal``."""
    message = getattr(value, "message", None)
    if isinstance(message, Message):  # a LabError
        value = message
    if isinstance(value, Message):
        return value.text(language, literal)
    if isinstance(value, Number):
        return value.text(language)
    if isinstance(value, list):
        return ", ".join(render(item, language, literal) for item in value)
    return "" if value is None else literal(str(value))
