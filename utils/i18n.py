"""The interface's language: gettext catalogs kept with Babel in ``locale/<language>/LC_MESSAGES/messages.po``.

Strings are written in English and marked where they are shown, ``_("Train")``, or with
``N_()`` where they are defined before anyone knows the reader (the settings registry, then
translated when shown). ``pybabel extract`` finds both (see ``locale/README.md``). Placeholders
are named, ``_("{count} drawings").format(count=3)``, so a translation may reorder them.

Which language ``_()`` answers in is asked of a source the UI installs (the browser session's
choice); without one, in the CLI and in plain tests, it is English.
"""

from __future__ import annotations

import functools
import gettext
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DOMAIN = "messages"
SOURCE_LANGUAGE = "en"
LANGUAGES = {"en": "English", "pt": "Português"}  # code -> its own name, as the switch shows it
NUMBER_LOCALES = {"en": "en_US", "pt": "pt_BR"}  # how each writes numbers: 1,234.5 / 1.234,5


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


def _english() -> str:
    return SOURCE_LANGUAGE


_language_source: Callable[[], str] = _english


def use_language_source(source: Callable[[], str] | None) -> None:
    """Install where ``_()`` learns the reader's language (None: English again)."""
    global _language_source
    _language_source = source or _english


def current_language() -> str:
    language = _language_source()
    return language if language in LANGUAGES else SOURCE_LANGUAGE


def _(message: str) -> str:
    return translations(current_language()).gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    """The form for ``count`` in the reader's language (Portuguese: 0 and 1 take the singular)."""
    return translations(current_language()).ngettext(singular, plural, count)


def number(value: float, decimals: int = 0) -> str:
    """A number the reader's way, grouped: 12,345.6 in English, 12.345,6 in Portuguese."""
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    return format_decimal(value, format=pattern, locale=NUMBER_LOCALES[current_language()])


def significant(value: float, digits: int = 3) -> str:
    """At most ``digits`` significant digits, the reader's way (like ``:.3g`` without exponents): 4.17 / 4,17."""
    if value == 0:  # Babel writes 0 as "0.0" here
        return number(0)
    pattern = "@" + "#" * (digits - 1)
    return format_decimal(value, format=pattern, locale=NUMBER_LOCALES[current_language()])


def percent(share: float, decimals: int = 1) -> str:
    """A share as a percentage the reader's way: 97.5% in English, 97,5% in Portuguese."""
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "") + "%"
    return format_percent(share, format=pattern, locale=NUMBER_LOCALES[current_language()])


def language_for_locale(locale: str | None) -> str | None:
    """The supported language of a browser locale such as ``pt-BR`` or ``en_GB``; None if none fits."""
    if not locale:
        return None
    code = locale.replace("_", "-").split("-", 1)[0].lower()
    return code if code in LANGUAGES else None


@dataclass(frozen=True)
class Message:
    """Words written where the reader's language is unknown (the training worker), shown where it is known.

    ``msgid`` (and ``plural``, chosen by ``count``) is English, marked with ``N_()``, with named
    placeholders filled from ``values``, which may be Messages themselves. ``str()`` is the English
    sentence (metadata, the CLI); ``translated()`` is the reader's.
    """

    msgid: str
    values: Mapping[str, object] = field(default_factory=dict)
    plural: str | None = None
    count: int | None = None

    @classmethod
    def counted(cls, forms: tuple[str, str], count: int, **values: object) -> Message:
        """The form for ``count`` of ``forms`` (from ``N_plural``) in each language's own plural rule; ``{count}``
        is the number written out."""
        return cls(forms[0], {"count": f"{count:,}", **values}, forms[1], count)

    def __str__(self) -> str:
        template = self.plural if self.plural is not None and self.count != 1 else self.msgid
        return template.format(**{name: str(value) for name, value in self.values.items()})

    def translated(self) -> str:
        if self.plural is not None:
            template = ngettext(self.msgid, self.plural, self.count if self.count is not None else 2)
        else:
            template = _(self.msgid)
        return template.format(**{name: say(value) for name, value in self.values.items()})


def say(text: Message | object | None) -> str:
    """A Message in the reader's language; anything else as its text ("" for None)."""
    if isinstance(text, Message):
        return text.translated()
    return "" if text is None else str(text)
