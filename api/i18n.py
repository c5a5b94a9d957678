"""Translations of the web pages and CLI messages: gettext catalogues read with Babel.

The catalogues are ``api/locale/<locale>/LC_MESSAGES/lookout.po``, read at run time (no
compiled ``.mo`` is needed, so a fresh clone works as it is). Messages are extracted with
``pybabel extract -F babel.cfg -o api/locale/lookout.pot .`` and merged with ``pybabel
update -i api/locale/lookout.pot -d api/locale -D lookout``. The locale of the current
request (or CLI run) is a context variable: :func:`use_locale` sets it, :func:`gettext`
(imported as ``_``) reads it.
"""

from __future__ import annotations

import contextvars
import gettext as _gettext
import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import cache
from pathlib import Path

from babel import Locale
from babel.dates import format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent

from engine.i18n import DEFAULT_LOCALE, LOCALE_NAMES, LOCALES

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "lookout"
_current: contextvars.ContextVar[str] = contextvars.ContextVar("lookout_locale", default="")

__all__ = [
    "DEFAULT_LOCALE",
    "LOCALES",
    "LOCALE_NAMES",
    "current_locale",
    "format_number",
    "format_percentage",
    "format_when",
    "gettext",
    "negotiate",
    "ngettext",
    "use_locale",
]


def po_path(locale: str) -> Path:
    return LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def translations(locale: str) -> _gettext.NullTranslations:
    """The catalogue of ``locale`` (the identity for English and unknown locales)."""
    path = po_path(locale)
    if locale == DEFAULT_LOCALE or not path.is_file():
        return _gettext.NullTranslations()
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=locale, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)  # fuzzy entries are left out, as msgfmt does
    buffer.seek(0)
    return _gettext.GNUTranslations(buffer)


def current_locale() -> str:
    """The locale in force: the request's or run's, else ``LOOKOUT_LANG``, else English."""
    chosen = _current.get() or os.environ.get("LOOKOUT_LANG", "")
    return chosen if chosen in LOCALES else DEFAULT_LOCALE


@contextmanager
def use_locale(locale: str) -> Iterator[str]:
    """Run a block in ``locale`` (an unknown one means the default)."""
    token = _current.set(locale if locale in LOCALES else DEFAULT_LOCALE)
    try:
        yield current_locale()
    finally:
        _current.reset(token)


def set_locale(locale: str) -> None:
    """Set the locale of the current context (a request handler's, or the CLI's)."""
    _current.set(locale if locale in LOCALES else DEFAULT_LOCALE)


def gettext(message: str) -> str:
    """``message`` in the current locale."""
    return translations(current_locale()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural ``message`` for ``n`` in the current locale."""
    return translations(current_locale()).ngettext(singular, plural, n)


def negotiate(accept_language: str | None) -> str | None:
    """The best of our locales for an ``Accept-Language`` header, or None."""
    if not accept_language:
        return None
    weighted: list[tuple[float, str]] = []
    for part in accept_language.split(","):
        lang, _, q = part.strip().partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            continue
        weighted.append((weight, lang.strip().lower().split("-")[0]))
    for _weight, lang in sorted(weighted, key=lambda w: -w[0]):
        if lang in LOCALES:
            return lang
    return None


def format_number(value: float | int | None, digits: int = 0) -> str:
    """A number with the locale's grouping and decimal mark, or an em dash."""
    if value is None:
        return "—"
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(value, format=pattern, locale=Locale.parse(current_locale()))


def format_percentage(value: float | None, digits: int = 1) -> str:
    """A share as a percentage in the locale's form, or an em dash."""
    if value is None:
        return "—"
    pattern = "#,##0" + ("." + "0" * digits if digits else "") + "%"
    return format_percent(value, format=pattern, locale=Locale.parse(current_locale()))


def format_when(value: datetime) -> str:
    """A UTC time as ``2026-12-05 14:30 UTC`` in English, ``5 дек. 2026 г., 14:30 UTC`` in
    Russian."""
    if current_locale() == DEFAULT_LOCALE:
        return value.strftime("%Y-%m-%d %H:%M UTC")
    text = format_datetime(value, "d MMM y, HH:mm", tzinfo=None, locale=current_locale())
    return f"{text} UTC"
