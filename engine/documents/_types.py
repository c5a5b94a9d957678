"""Value types shared by the document models."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, WithJsonSchema


def _non_blank(text: str) -> str:
    if not text.strip():
        raise ValueError("must be non-empty text")
    return text


def _scalar_text(value: Any) -> Any:
    """A YAML scalar as text (a date or a number written where text is expected)."""
    if isinstance(value, int | float | dt.date) and not isinstance(value, bool):
        return str(value)
    return value


def _as_date(value: Any) -> Any:
    return value.date() if isinstance(value, dt.datetime) else value


NonEmptyText = Annotated[str, AfterValidator(_non_blank)]
"""Text with something in it (a plain number is refused: quote it)."""
ScalarText = Annotated[str, BeforeValidator(_scalar_text)]
"""Text; a number or a date written where text is expected is taken as its text."""
NonEmptyScalar = Annotated[str, BeforeValidator(_scalar_text), AfterValidator(_non_blank)]
"""Non-empty :data:`ScalarText`."""
TextList = tuple[str, ...] | str
"""A list of text, or one text."""
Date = Annotated[
    dt.date,
    BeforeValidator(_as_date),
    Field(strict=True),
    WithJsonSchema({"type": "string", "format": "date"}),
]
"""A YAML date (2026-01-31, unquoted); a timestamp counts as its day."""
