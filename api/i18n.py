"""Translations of the web pages and CLI messages: gettext catalogues read with Babel.

The catalogues are ``api/locale/<locale>/LC_MESSAGES/lookout.po``, read at run time (no
compiled ``.mo`` is needed, so a fresh clone works as it is). Messages are extracted with
``pybabel extract -F babel.cfg -k _N -k N_ --no-location --sort-output -o
api/locale/lookout.pot .`` and merged with ``pybabel update -i api/locale/lookout.pot -d
api/locale -D lookout``. The locale of the current request (or CLI run) is a context
variable: :func:`use_locale` sets it, :func:`gettext` (imported as ``_``) reads it.

Texts made outside ``api`` (engine, rule and model errors) are marked with
``engine.i18n.N_``: a :class:`engine.i18n.Message` keeps its template and values and is
translated where it is shown (:func:`localise`, :func:`localise_error`). Notes and drift
warnings stored in run records as English are read back with :data:`KNOWN_TEXTS`
(:func:`localise_note`).
"""

from __future__ import annotations

import contextvars
import gettext as _gettext
import io
import os
import re
import string
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

from engine.errors import Location, LookoutError
from engine.i18n import DEFAULT_LOCALE, LOCALE_NAMES, LOCALES, Message

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
    "localise",
    "localise_error",
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


def _N(message: str) -> str:
    """Mark a module-level text for extraction; it is translated where it is shown."""
    return message


# Labels the pages and the CLI share (translated where shown).
LANE_LABELS = {"red": _N("Red"), "yellow": _N("Yellow"), "green": _N("Green")}
SELECTION_LABELS = {
    "forced": _N("forced (mandatory rule)"),
    "risk": _N("top risk within capacity"),
    "control": _N("random control"),
    "explore": _N("exploration (little-known data)"),
}
DRIFT_LABELS = {
    "ok": _N("no drift"),
    "alarm": _N("drift"),
    "too_few_rows": _N("too few rows to tell"),
    "no_rows": _N("no rows"),
}


def localise(text: str | None) -> str | None:
    """``text`` in the current locale: a :class:`engine.i18n.Message` through its template
    (the values stay as they are), any other text through the catalogue (the identity when
    it is not a message id)."""
    if text is None:
        return None
    if isinstance(text, Message):
        template = gettext(text.template)
        if not text.params:
            return template
        values = {k: localise(v) if isinstance(v, Message) else v for k, v in text.params.items()}
        return template.format(**values)
    return gettext(text)


def localise_location(location: Location) -> str:
    """``file:line:col, record 7, field 'x'`` with the words in the current locale; the
    file, line and column stay as they are."""
    return location.describe(gettext("record {n}"), gettext("field '{name}'"))


def localise_error(err: LookoutError) -> str:
    """``where: what`` and the hint on a second line, as ``str(err)`` reads, in the current
    locale."""
    message = localise(err.message) or ""
    text = f"{localise_location(err.location)}: {message}" if err.location else message
    if err.hint:
        text += "\n  " + gettext("hint: {hint}").format(hint=localise(err.hint))
    return text


def locale_from_environment(environ: dict[str, str] | None = None) -> str:
    """The CLI's locale when ``--lang`` does not say: ``LOOKOUT_LANG``, then the POSIX
    locale (``LC_ALL``, ``LC_MESSAGES``, ``LANG``: ``ru_RU.UTF-8`` is Russian), else English."""
    env = os.environ if environ is None else environ
    chosen = env.get("LOOKOUT_LANG", "").strip().lower()
    if chosen:
        return chosen if chosen in LOCALES else DEFAULT_LOCALE
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name, "")
        if value:  # the first one set decides, as in POSIX
            lang = value.split(".")[0].split("_")[0].split("@")[0].lower()
            return lang if lang in LOCALES else DEFAULT_LOCALE
    return DEFAULT_LOCALE


# Texts the engine and the model write into run records as plain English (notes, drift
# warnings): records are stored and shown later, so they are translated where shown, by
# reading their values back out of the English text with these templates (the gettext ids).
KNOWN_TEXTS: tuple[str, ...] = (
    _N(
        "history too short for party features: {rows} of {total} rows were filed less than "
        "{days} days after the history store begins, so their traders' ages and new-trader "
        "flags are unknown and the rules on them do not fire"
    ),
    _N(
        "batch {batch} is already in the history store ({stored}): its own rows are left out "
        "of its history features and it is not appended again"
    ),
    _N("model score: PSI {psi} (threshold {limit})"),  # before the feature's, which it fits
    _N("{field}: PSI {psi} (threshold {limit})"),
    _N("{field}: {missing} missing, {reference} in training"),
    _N(
        "{unseen} of rows have a category never seen in training, most in {field} ({share}) "
        "(threshold {limit})"
    ),
    _N("{unseen} of rows have a category never seen in training (threshold {limit})"),
)
_NESTED_TEXTS: dict[str, tuple[str, ...]] = {
    # engine.history.describe_batch, inside the note of a batch already in the store
    "stored": (
        _N("as {batch}, {rows} rows, added {added}"),
        _N("as {batch}, {rows} row, added {added}"),
        _N("{rows} rows, added {added}"),
        _N("{rows} row, added {added}"),
    ),
}
_FEATURE_FIELDS = frozenset({"field"})
_NUMBER = re.compile(r"\d[\d,]*(\.\d+)?%?")


@cache
def _known_patterns(
    templates: tuple[str, ...] = KNOWN_TEXTS,
) -> tuple[tuple[str, re.Pattern[str]], ...]:
    patterns = []
    for template in templates:
        regex = "".join(
            re.escape(literal) + (f"(?P<{name}>.+?)" if name else "")
            for literal, name, _spec, _conv in string.Formatter().parse(template)
        )
        patterns.append((template, re.compile(regex)))
    return tuple(patterns)


def _read_back(text: str, templates: tuple[str, ...]) -> str | None:
    """``text`` in the current locale if one of ``templates`` (English) wrote it."""
    for template, pattern in _known_patterns(templates):
        found = pattern.fullmatch(text)
        if found:
            values = {k: _value(k, v) for k, v in found.groupdict().items()}
            return gettext(template).format(**values)
    return None


def feature_words(name: str | None) -> str | None:
    """A model feature by its phrase-table label in the current locale; in English (and for
    a feature the table does not know) as it is named."""
    if not name or current_locale() == DEFAULT_LOCALE:
        return name
    from models.phrases import PHRASES

    phrase = PHRASES.get(name)
    return (phrase.label.get(current_locale()) or name) if phrase is not None else name


def _value(name: str, value: str) -> str:
    """A value read out of an English text, for the current locale: a model feature by its
    label, a number with the locale's marks, anything else as written."""
    if name in _FEATURE_FIELDS:
        return feature_words(value) or value
    if name in _NESTED_TEXTS:
        return _read_back(value, _NESTED_TEXTS[name]) or value
    if _NUMBER.fullmatch(value):
        number = float(value.rstrip("%").replace(",", ""))
        digits = len(value.rstrip("%").partition(".")[2])
        if value.endswith("%"):
            return format_percentage(number / 100, digits)
        return format_number(number, digits)
    return value


def localise_note(text: str) -> str:
    """A note or drift warning of a run record in the current locale (as written when it
    is not one of :data:`KNOWN_TEXTS`, or the locale is English)."""
    if current_locale() == DEFAULT_LOCALE:
        return text
    return _read_back(text, KNOWN_TEXTS) or text
