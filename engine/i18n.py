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


def decimal_text(value: pl.Expr, locale: str) -> pl.Expr:
    """A rounded number as text, integral values without ``.0``, with the locale's decimal
    mark (a comma in Russian)."""
    text = (
        pl.when((value == value.floor()) & (value.abs() < 1e15))
        .then(value.cast(pl.Int64, strict=False).cast(pl.String))
        .otherwise(value.cast(pl.String))
    )
    return text.str.replace(".", ",", literal=True) if locale == "ru" else text
