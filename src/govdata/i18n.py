"""Translations (Babel/gettext). Message ids are the Simplified Chinese text itself, so the Chinese UI
needs no catalog; ``locale/en`` translates them to English. Catalogs are compiled in memory at start-up
from the committed .po files, so there is no build step to forget."""

from __future__ import annotations

import io
from contextvars import ContextVar
from functools import lru_cache
from gettext import NullTranslations
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALES = {"zh_CN": "简体中文", "en": "English"}
DEFAULT_LOCALE = "zh_CN"
_LOCALE_DIR = Path(__file__).parent / "locale"
current_locale: ContextVar[str] = ContextVar("current_locale", default=DEFAULT_LOCALE)


@lru_cache
def translations(locale: str) -> NullTranslations:
    po = _LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    if locale == DEFAULT_LOCALE or not po.exists():
        return NullTranslations()
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return Translations(buf)


def gettext(message: str) -> str:
    return translations(current_locale.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current_locale.get()).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark ``message`` for extraction without translating it (``babel.cfg`` lists ``N_`` as a keyword).
    Used for label dicts whose values are translated later, at render time, with ``_(label)``."""
    return message


def negotiate(cookie_value: str | None, query_value: str | None = None) -> str:
    for value in (query_value, cookie_value):
        if value in LOCALES:
            return value
    return DEFAULT_LOCALE
