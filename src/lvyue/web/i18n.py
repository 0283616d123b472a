"""The pages' languages: zh-CN (the default) and English (ADR 0007).

Every visible string in templates and page code is written in English and marked:
``{{ _("Orders") }}`` in templates, ``N_("Orders")`` for Python constants (translated when
shown). The Chinese text lives in a gettext catalog,
``locale/zh_CN/LC_MESSAGES/messages.po``, kept with Babel (``scripts/i18n.py`` extracts and
updates it). The catalog is compiled in memory when first used, so nothing is built before
the package runs; a test fails when a marked string has no translation.
"""

from __future__ import annotations

import io
from contextvars import ContextVar
from functools import cache
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALE_DIR = Path(__file__).parent / "locale"
DEFAULT = "zh-CN"
# language tag -> (Babel locale of its catalog or None for the source language, own name)
LANGUAGES: dict[str, tuple[str | None, str]] = {
    "zh-CN": ("zh_CN", "中文"),
    "en": (None, "English"),
}
COOKIE = "lvyue_lang"

_current: ContextVar[str] = ContextVar("lvyue_language", default=DEFAULT)


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated where it is shown."""
    return message


def pick(value: str | None) -> str:
    """A supported language tag for a cookie or query value; the default otherwise."""
    if value:
        for tag in LANGUAGES:
            if value.strip().lower() == tag.lower():
                return tag
    return DEFAULT


@cache
def translations(language: str) -> NullTranslations:
    locale = LANGUAGES[pick(language)][0]
    if locale is None:
        return NullTranslations()
    path = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(fp=buffer)


def translate(language: str, message: str, **params: Any) -> str:
    """``message`` in ``language``, with ``%(name)s`` placeholders filled from ``params``."""
    text = translations(language).gettext(message)
    return text % params if params else text


class use_language:
    """``with use_language("en"):`` templates rendered inside speak English."""

    def __init__(self, language: str) -> None:
        self.language = pick(language)

    def __enter__(self) -> str:
        self._token = _current.set(self.language)
        return self.language

    def __exit__(self, *_: object) -> None:
        _current.reset(self._token)


def current() -> str:
    return _current.get()


def gettext(message: str) -> str:
    return translations(current()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current()).ngettext(singular, plural, n)
