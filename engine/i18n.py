"""The languages Lookout speaks and what differs between them in the engine's outputs.

Reasons are rendered at scoring time in every locale: ``rule_reasons`` and
``model_reasons`` in the default (English), ``rule_reasons_ru`` and ``model_reasons_ru`` in
Russian, so a page shows each officer the reasons in the language they chose. The web pages
and CLI messages are translated with gettext catalogues (``api/locale``).
"""

from __future__ import annotations

import polars as pl

LOCALES: tuple[str, ...] = ("en", "ru")
DEFAULT_LOCALE = "en"
LOCALE_NAMES: dict[str, str] = {"en": "English", "ru": "Русский"}


def localised_column(name: str, locale: str) -> str:
    """``rule_reasons`` for the default locale, ``rule_reasons_ru`` for Russian."""
    return name if locale == DEFAULT_LOCALE else f"{name}_{locale}"


_UNDER_ONE_PERCENT = {"en": "under 1 %", "ru": "менее 1 %"}


def share_text(value: pl.Expr, locale: str) -> pl.Expr:
    """A share (0–1) as a whole percentage, ``0 %`` for none and ``under 1 %`` (``менее
    1 %``) for a share that would round to 0 but is not 0; null stays null."""
    percent = value.mul(100).round(0)
    under = _UNDER_ONE_PERCENT.get(locale, _UNDER_ONE_PERCENT[DEFAULT_LOCALE])
    return (
        pl.when((value > 0) & (percent < 1))
        .then(pl.lit(under))
        .otherwise(
            pl.concat_str(percent.cast(pl.Int64, strict=False).cast(pl.String), pl.lit(" %"))
        )
    )


def localised_text(name: str, text: pl.Expr, locale: str) -> pl.Expr:
    """A text field the engine writes in English (``watchlist_party_match``, the watchlist
    match explanation) in ``locale``; any other field as it is."""
    if locale == DEFAULT_LOCALE or name != "watchlist_party_match":
        return text
    from engine._screen_match import explanation_in

    return explanation_in(text, locale)


def localised_value(name: str, value: str, locale: str) -> str:
    """One value of a text field, as :func:`localised_text` renders the column."""
    if locale == DEFAULT_LOCALE or name != "watchlist_party_match":
        return value
    from engine._screen_match import explanation_text

    return explanation_text(value, locale)


def decimal_text(value: pl.Expr, locale: str) -> pl.Expr:
    """A rounded number as text, integral values without ``.0``, with the locale's decimal
    mark (a comma in Russian)."""
    text = (
        pl.when((value == value.floor()) & (value.abs() < 1e15))
        .then(value.cast(pl.Int64, strict=False).cast(pl.String))
        .otherwise(value.cast(pl.String))
    )
    return text.str.replace(".", ",", literal=True) if locale == "ru" else text


class Message(str):
    """An English text that keeps its template and values, so that where it is shown (the
    CLI, a problem document, a page) it can be given in the reader's language: the template
    is the gettext message id (``api.i18n.localise``). It *is* the English text, so code
    that treats it as a ``str`` (logs, run records, ``str(err)``) is unchanged."""

    template: str
    params: dict[str, object]

    def __new__(cls, template: str, params: dict[str, object] | None = None) -> Message:
        values = dict(params or {})
        text = super().__new__(cls, template.format(**values) if values else template)
        text.template = template
        text.params = values
        return text

    def __getnewargs__(self) -> tuple[str, dict[str, object]]:  # type: ignore[override]
        return (self.template, self.params)


def N_(template: str, /, **params: object) -> Message:
    """Mark an English message for translation (extracted by Babel) and fill it in:
    ``N_("unknown engine '{name}'", name=engine)``. Translated where it is shown."""
    return Message(template, params)
