"""Field type families, the modifier registry and literal coercion.

Each family says which operators make sense on it: a ``gt`` on a text field is a lint
error, not a runtime surprise.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Literal

import polars as pl

Family = Literal["text", "numeric", "bool", "temporal", "text_list", "other"]

# Modifier -> operator. `in` is equality against a list; both spellings are accepted.
OPERATORS: dict[str, str] = {
    "eq": "eq",
    "in": "eq",
    "neq": "neq",
    "contains": "contains",
    "startswith": "startswith",
    "endswith": "endswith",
    "re": "re",
    "gt": "gt",
    "gte": "gte",
    "lt": "lt",
    "lte": "lte",
    "between": "between",
    "exists": "exists",
}

# Modifiers that change how an operator is applied rather than choosing one.
FLAGS: dict[str, str] = {
    "cased": "match text case-sensitively (text is case-insensitive by default)",
    "all": "every value must match (values OR by default)",
    "fieldref": "the value names another field to compare with",
}

OPS_BY_FAMILY: dict[Family, frozenset[str]] = {
    "text": frozenset({"eq", "neq", "contains", "startswith", "endswith", "re", "exists"}),
    "numeric": frozenset({"eq", "neq", "gt", "gte", "lt", "lte", "between", "exists"}),
    "bool": frozenset({"eq", "neq", "exists"}),
    "temporal": frozenset({"eq", "neq", "gt", "gte", "lt", "lte", "between", "exists"}),
    "text_list": frozenset({"eq", "contains", "startswith", "endswith", "re", "exists"}),
    "other": frozenset({"exists"}),
}

TEXT_OPS = frozenset({"eq", "neq", "contains", "startswith", "endswith", "re"})
SINGLE_VALUE_OPS = frozenset({"gt", "gte", "lt", "lte"})
FIELDREF_OPS = frozenset({"eq", "neq", "gt", "gte", "lt", "lte"})

LIST_TYPES: dict[str, str] = {
    "string": "any text",
    "locode": "UN/LOCODE, 5 characters (e.g. ECGYE)",
    "hs_prefix": "HS code prefix, 2 to 10 digits (e.g. 2939)",
    "country": "ISO 3166 alpha-2 country code (e.g. EC)",
    "regex": "regular expression (use with the `re` modifier)",
}
_LIST_ITEM_PATTERNS: dict[str, re.Pattern[str]] = {
    "locode": re.compile(r"[A-Z]{2}[A-Z2-9]{3}"),
    "hs_prefix": re.compile(r"[0-9]{2,10}"),
    "country": re.compile(r"[A-Z]{2}"),
}

SEVERITY_BANDS: dict[str, tuple[float, float]] = {
    "low": (1, 15),
    "medium": (10, 30),
    "high": (25, 50),
    "critical": (40, 100),
}


def family(dtype: pl.DataType) -> Family:
    """The operator family of a polars dtype."""
    if dtype == pl.String or isinstance(dtype, pl.Categorical | pl.Enum):
        return "text"
    if dtype.is_numeric():
        return "numeric"
    if dtype == pl.Boolean:
        return "bool"
    if dtype.is_temporal() and not isinstance(dtype, pl.Duration | pl.Time):
        return "temporal"
    if isinstance(dtype, pl.List):
        inner = dtype.inner
        inner_type = inner if isinstance(inner, pl.DataType) else inner()
        return "text_list" if family(inner_type) == "text" else "other"
    return "other"


class ValueProblem(Exception):
    """A literal does not fit the field; the message says what was expected."""


def coerce(value: Any, fam: Family, field: str) -> Any:
    """A YAML literal as the Python value compared with ``field`` (of family ``fam``)."""
    if value is None:
        raise ValueProblem(f"null is not a value to compare '{field}' with")
    if fam in ("text", "text_list"):
        if isinstance(value, bool | dt.date):
            raise ValueProblem(f"'{field}' is text; quote the value to compare it as text")
        if isinstance(value, int | float | str):
            return str(value)
    elif fam == "numeric":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return value
        raise ValueProblem(f"'{field}' is numeric but {value!r} is not a number")
    elif fam == "bool":
        if isinstance(value, bool):
            return value
        raise ValueProblem(f"'{field}' is a flag: compare it with true or false, not {value!r}")
    elif fam == "temporal":
        if isinstance(value, dt.datetime):
            return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        if isinstance(value, dt.date):
            return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
        if isinstance(value, str):
            try:
                parsed = dt.datetime.fromisoformat(value)
            except ValueError:
                pass
            else:
                return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
        raise ValueProblem(f"'{field}' is a time; write a date like 2026-01-31, not {value!r}")
    raise ValueProblem(f"{value!r} cannot be compared with '{field}'")


def regex_problem(pattern: str) -> str | None:
    """Why ``pattern`` is not a usable regex (Python and polars' Rust engine), or None."""
    try:
        re.compile(pattern)
    except re.error as exc:
        return f"invalid regular expression: {exc}"
    try:
        pl.select(pl.lit("").str.contains(pattern))
    except pl.exceptions.PolarsError as exc:
        lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip().startswith("error:")]
        detail = lines[0].removeprefix("error:").strip() if lines else "parse error"
        return f"regular expression not supported by the engine: {detail}"
    return None


def list_item_problem(list_type: str, item: Any) -> str | None:
    """Why ``item`` does not belong in a list of ``list_type``, or None."""
    if not isinstance(item, str | int) or isinstance(item, bool):
        return f"list items must be text, got {item!r}"
    text = str(item)
    if list_type == "regex":
        return regex_problem(text)
    pattern = _LIST_ITEM_PATTERNS.get(list_type)
    if pattern is not None and not pattern.fullmatch(text):
        return f"'{text}' is not a valid {list_type}: expected {LIST_TYPES[list_type]}"
    return None
