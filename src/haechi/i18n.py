"""The language people read haechi in: Korean or English, from `HAECHI_LANG` or the system
locale. Messages are written in English inside `_()` and translated from gettext catalogues
(`haechi/locale/<lang>/LC_MESSAGES/haechi.mo`, compiled from the `.po` files with Babel: `make
i18n`). Machine output (`--json`, file formats, custody entries) is never translated.

This module sits at the bottom of the layers: any module that words a message for a person may
import `_` from here."""

from __future__ import annotations

import gettext
import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from importlib.resources import files

DOMAIN = "haechi"
LANGUAGES = ("en", "ko")
# The language of the person a web request is served to: errors raised deep in haechi during
# that request are worded for them, whatever the server's locale (see `reading_in`).
_READER: ContextVar[str | None] = ContextVar("haechi_reader_language", default=None)


def language() -> str:
    """'ko' or 'en': the web reader's language inside `reading_in`; otherwise `HAECHI_LANG`
    first, then the locale variables gettext reads."""
    if reader := _READER.get():
        return reader
    for var in ("HAECHI_LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var, "").strip().lower()
        if not value:
            continue
        code = value.split(":")[0].split("_")[0].split(".")[0].split("-")[0]
        return code if code in LANGUAGES else "en"
    return "en"


@cache
def _translations(lang: str) -> gettext.NullTranslations:
    if lang == "en":
        return gettext.NullTranslations()
    localedir = files("haechi") / "locale"
    return gettext.translation(DOMAIN, str(localedir), languages=[lang], fallback=True)


def _(message: str) -> str:
    """`message` in the reader's language (English when no translation exists)."""
    return _translations(language()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural form for `n` in the reader's language (English rules when no
    translation exists)."""
    return _translations(language()).ngettext(singular, plural, n)


def N_(message: str) -> str:  # noqa: N802  (the gettext convention Babel extracts)
    """Marks a message for the catalogue where it is defined (a table of words); translate it
    with `_()` where it is shown."""
    return message


def translator(lang: str) -> gettext.NullTranslations:
    """The catalogue for an explicit language (the web app serves each request in the
    language its reader chose, whatever the server's locale); English for anything unknown."""
    return _translations(lang if lang in LANGUAGES else "en")


@contextmanager
def reading_in(lang: str) -> Iterator[None]:
    """Word every message in `lang` (English for anything unknown) within this context: the
    web app wraps each request in it."""
    token = _READER.set(lang if lang in LANGUAGES else "en")
    try:
        yield
    finally:
        _READER.reset(token)
