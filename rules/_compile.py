"""Compile resolved rules to polars expressions and evaluate a whole pack in one pass.

Null semantics are two-valued (see ``rules._ir``): every field test is ``fill_null(False)``
so that ``and``/``or``/``not`` see plain booleans.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

from engine.i18n import LOCALES, localised_column, localised_text, share_text
from rules._ir import And, Cond, ExceptionTuple, FieldTest, Not, Rule, Sel, Selection
from rules._types import FIELDREF_OPS, OPS_BY_FAMILY, family

log = logging.getLogger(__name__)

HIT_PREFIX = "rule__"
_LC_PREFIX = "__lc__"
OUTPUT_COLUMNS = ("rule_score", "rule_hits", "rule_reasons", "rule_shadow_hits")
REASON_COLUMNS = tuple(localised_column("rule_reasons", loc) for loc in LOCALES)
"""``rule_reasons`` in every locale: ``rule_reasons`` (English), ``rule_reasons_ru``."""
_YES_NO = {"en": ("yes", "no"), "ru": ("да", "нет")}
REASON_TEXT_CHARS = 60
"""A text field longer than this (an HS heading, a goods description) is shortened in a
reason, at a word boundary, with an ellipsis; the container page shows it whole."""


def hit_column(rule_id: str) -> str:
    """Name of the per-rule boolean column kept for backtests."""
    return HIT_PREFIX + rule_id


def _lc_column(field: str) -> str:
    return _LC_PREFIX + field


def _case_insensitive(test: FieldTest, fam: str) -> bool:
    return (
        fam in ("text", "text_list") and not test.cased and test.op != "re" and test.op != "exists"
    )


def lowercase_fields(rules: Sequence[Rule], schema: Mapping[str, pl.DataType]) -> list[str]:
    """Text fields that some rule compares case-insensitively (lower-cased once, shared)."""
    out: dict[str, None] = {}
    for rule in rules:
        for test in _all_tests(rule):
            fam = family(schema[test.field])
            if _case_insensitive(test, fam):
                out[test.field] = None
                if test.fieldref:
                    out.update({str(v): None for v in test.values})
        for exc in rule.exceptions:
            for name in exc.fields:
                if family(schema[name]) == "text":
                    out[name] = None
    return list(out)


def _all_tests(rule: Rule) -> list[FieldTest]:
    from rules._ir import iter_tests

    return iter_tests(rule.condition)


def lowercase_exprs(fields: Sequence[str], schema: Mapping[str, pl.DataType]) -> list[pl.Expr]:
    """Helper columns holding lower-cased text, computed once for all rules."""
    exprs: list[pl.Expr] = []
    for name in fields:
        if family(schema[name]) == "text_list":
            expr = pl.col(name).list.eval(pl.element().cast(pl.String).str.to_lowercase())
        else:
            expr = pl.col(name).cast(pl.String).str.to_lowercase()
        exprs.append(expr.alias(_lc_column(name)))
    return exprs


def _literal(value: Any, dtype: pl.DataType) -> pl.Expr:
    if isinstance(value, dt.datetime):
        if dtype == pl.Date:
            return pl.lit(value.date())
        tz = getattr(dtype, "time_zone", None)
        if tz is None:
            return pl.lit(value.astimezone(dt.UTC).replace(tzinfo=None)).cast(dtype)
        return pl.lit(value).cast(dtype)
    return pl.lit(value)


def _combine(exprs: list[pl.Expr], match_all: bool) -> pl.Expr:
    if len(exprs) == 1:
        return exprs[0]
    return pl.all_horizontal(exprs) if match_all else pl.any_horizontal(exprs)


def _text_op(base: pl.Expr, op: str, value: str) -> pl.Expr:
    if op == "contains":
        return base.str.contains(value, literal=True)
    if op == "startswith":
        return base.str.starts_with(value)
    if op == "endswith":
        return base.str.ends_with(value)
    if op == "re":
        return base.str.contains(value)
    if op == "eq":
        return base == value
    raise AssertionError(op)


def _by_length(values: Sequence[str]) -> dict[int, list[str]]:
    groups: dict[int, list[str]] = {}
    for v in values:
        groups.setdefault(len(v), []).append(v)
    return groups


def _text_any(base: pl.Expr, op: str, values: Sequence[str]) -> pl.Expr:
    """``base`` matches any of ``values``, in one pass where polars allows it.

    Several prefixes/suffixes become one ``is_in`` per distinct length on a slice, several
    substrings one Aho-Corasick ``contains_any``: far cheaper than OR-ing one test per value.
    """
    if len(values) == 1:
        return _text_op(base, op, values[0])
    if op == "eq":
        return base.is_in(list(values))
    if op == "contains" and all(values):
        return base.str.contains_any(list(values))
    if op in ("startswith", "endswith"):
        parts = [
            (
                base.str.slice(0, length) if op == "startswith" else base.str.slice(-length, length)
            ).is_in(group)
            for length, group in _by_length(values).items()
        ]
        return parts[0] if len(parts) == 1 else pl.any_horizontal(parts)
    return pl.any_horizontal([_text_op(base, op, v) for v in values])


def test_expr(test: FieldTest, schema: Mapping[str, pl.DataType]) -> pl.Expr:
    """One field test as a non-null boolean expression."""
    dtype = schema[test.field]
    fam = family(dtype)
    lower = _case_insensitive(test, fam)
    col = pl.col(_lc_column(test.field)) if lower else pl.col(test.field)
    if fam == "text" and not lower:
        col = col.cast(pl.String)
    if test.op == "exists":
        present = col.is_not_null()
        if fam == "text_list":
            present = present & (col.list.len() > 0)
        expr = present if test.values[0] else ~present
        return expr.fill_null(False)
    if test.fieldref:
        others = [pl.col(_lc_column(str(v))) if lower else pl.col(str(v)) for v in test.values]
        expr = _combine([_compare(col, test.op, o) for o in others], test.match_all)
        return expr.fill_null(False)
    values: list[Any] = [v.lower() if lower and isinstance(v, str) else v for v in test.values]
    if test.op == "re" and not test.cased:
        values = [f"(?i){v}" for v in values]
    if fam == "text_list":
        return _list_expr(col, test.op, values, test.match_all).fill_null(False)
    if test.op == "eq":
        if fam == "text":
            expr = _text_any(col, "eq", values)
        else:
            expr = _combine([col == _literal(v, dtype) for v in values], False)
    elif test.op == "neq":
        if fam == "text":
            expr = col != values[0] if len(values) == 1 else ~col.is_in(values)
        else:
            expr = pl.all_horizontal([col != _literal(v, dtype) for v in values])
        expr = expr & col.is_not_null()
    elif test.op == "between":
        expr = _combine(
            [col.is_between(_literal(lo, dtype), _literal(hi, dtype)) for lo, hi in values], False
        )
    elif test.op in ("gt", "gte", "lt", "lte"):
        expr = _compare(col, test.op, _literal(values[0], dtype))
    elif test.match_all:
        expr = pl.all_horizontal([_text_op(col, test.op, v) for v in values])
    else:
        expr = _text_any(col, test.op, values)
    return expr.fill_null(False)


def _compare(left: pl.Expr, op: str, right: pl.Expr) -> pl.Expr:
    if op == "eq":
        return left == right
    if op == "neq":
        return (left != right) & left.is_not_null() & right.is_not_null()
    if op == "gt":
        return left > right
    if op == "gte":
        return left >= right
    if op == "lt":
        return left < right
    if op == "lte":
        return left <= right
    raise AssertionError(op)


def _list_expr(col: pl.Expr, op: str, values: list[Any], match_all: bool) -> pl.Expr:
    """Any element of the list matches (every value must be found when ``match_all``)."""
    if not match_all:
        return col.list.eval(_text_any(pl.element(), op, values).fill_null(False)).list.any()
    return pl.all_horizontal(
        [col.list.eval(_text_op(pl.element(), op, v).fill_null(False)).list.any() for v in values]
    )


def selection_expr(selection: Selection, schema: Mapping[str, pl.DataType]) -> pl.Expr:
    """A selection: OR over its alternatives, AND within each."""
    alternatives = [
        pl.all_horizontal([test_expr(t, schema) for t in alt])
        if len(alt) > 1
        else test_expr(alt[0], schema)
        for alt in selection.alternatives
    ]
    return alternatives[0] if len(alternatives) == 1 else pl.any_horizontal(alternatives)


def cond_expr(cond: Cond, schema: Mapping[str, pl.DataType]) -> pl.Expr:
    """A resolved condition tree as one boolean expression."""
    if isinstance(cond, Sel):
        return selection_expr(cond.selection, schema)
    if isinstance(cond, Not):
        return ~cond_expr(cond.item, schema)
    parts = [cond_expr(c, schema) for c in cond.items]
    return pl.all_horizontal(parts) if isinstance(cond, And) else pl.any_horizontal(parts)


def exception_expr(exc: ExceptionTuple, schema: Mapping[str, pl.DataType]) -> pl.Expr:
    """True where the row equals one of the exception's value tuples."""
    tuples = []
    for values in exc.values:
        parts = []
        for name, value in zip(exc.fields, values, strict=True):
            if family(schema[name]) == "text":
                parts.append(pl.col(_lc_column(name)) == str(value).lower())
            else:
                parts.append(pl.col(name) == _literal(value, schema[name]))
        tuples.append(pl.all_horizontal(parts).fill_null(False))
    return pl.any_horizontal(tuples) if tuples else pl.lit(False)


def rule_expr(rule: Rule, schema: Mapping[str, pl.DataType]) -> pl.Expr:
    """The rule's hit column: condition and no exception."""
    expr = cond_expr(rule.condition, schema)
    for exc in rule.exceptions:
        expr = expr & ~exception_expr(exc, schema)
    return expr


def render_field(name: str, schema: Mapping[str, pl.DataType], locale: str = "en") -> pl.Expr:
    """A field as readable text for a reason: integral floats without '.0', ``*_days`` as
    whole days, ``*_share`` as a percentage, other floats to two decimals (a decimal comma
    in Russian), lists joined, yes/no in the locale, engine-made texts (the watchlist match
    explanation) in the locale, long texts shortened.

    Null stays null: :func:`reason_expr` never renders a template whose field is unknown.
    """
    dtype = schema[name]
    col = pl.col(name)
    fam = family(dtype)
    if dtype.is_float() and name.endswith("_share"):
        # "chapter 39 is 0 % of this shipper's past shipments", never "is 0 of".
        text = share_text(col, locale)
    elif dtype.is_float() and name.endswith("_days"):
        # "first seen 52 days ago": whole days elapsed, never "52.73 days".
        text = col.floor().cast(pl.Int64, strict=False).cast(pl.String)
    elif dtype.is_float():
        text = (
            pl.when((col == col.floor()) & (col.abs() < 1e15))
            .then(col.cast(pl.Int64, strict=False).cast(pl.String))
            .otherwise(col.round(2).cast(pl.String))
        )
        if locale == "ru":
            text = text.str.replace(".", ",", literal=True)
    elif fam == "text_list":
        text = pl.when(col.list.len() > 0).then(col.list.join(", "))
    elif fam == "bool":
        yes, no = _YES_NO.get(locale, _YES_NO["en"])
        text = pl.when(col).then(pl.lit(yes)).when(col.not_()).then(pl.lit(no))
    elif isinstance(dtype, pl.Datetime):
        text = col.dt.strftime("%Y-%m-%d %H:%M")
    else:
        text = shorten(localised_text(name, col.cast(pl.String), locale))
    return text


def shorten(text: pl.Expr, limit: int = REASON_TEXT_CHARS) -> pl.Expr:
    """``text`` cut to at most ``limit`` characters at a word boundary, with an ellipsis."""
    cut = text.str.slice(0, limit).str.replace(r"[\s,;:.(\-]+\S*$", "")
    return (
        pl.when(text.str.len_chars() > limit).then(pl.concat_str(cut, pl.lit("…"))).otherwise(text)
    )


def reason_expr(rule: Rule, schema: Mapping[str, pl.DataType], locale: str = "en") -> pl.Expr:
    """The rule's rendered reason template in ``locale``; its title where a field of the
    template is unknown (null, an empty list, or not in the data), so no reason ever reads
    "n/a"."""
    template, title = rule.reason_in(locale), rule.title_in(locale)
    if not template:
        return pl.lit(title)
    fields = list(dict.fromkeys(rule.reason_fields(locale)))
    if any(f not in schema for f in fields):
        return pl.lit(title)
    pieces = [
        render_field(p.text, schema, locale) if p.is_field else pl.lit(p.text) for p in template
    ]
    # concat_str is null as soon as one piece is null: then the title stands instead.
    return pl.concat_str(pieces).fill_null(pl.lit(title))


def applicability(rule: Rule, schema: Mapping[str, pl.DataType]) -> tuple[list[str], str | None]:
    """(missing fields, type problem) of a rule on a frame schema; both empty = applicable."""
    missing = sorted(f for f in rule.fields() if f not in schema)
    if missing:
        return missing, None
    for test in _all_tests(rule):
        fam = family(schema[test.field])
        if test.op not in OPS_BY_FAMILY[fam]:
            return [], f"'{test.op}' does not apply to '{test.field}' ({schema[test.field]})"
        if test.fieldref and (
            test.op not in FIELDREF_OPS or any(family(schema[str(v)]) != fam for v in test.values)
        ):
            return [], f"fieldref on '{test.field}' compares different kinds of field"
    for exc in rule.exceptions:
        for name in exc.fields:
            if family(schema[name]) in ("text_list", "other"):
                return [], f"exception field '{name}' is not a single value"
    return [], None


def hit_exprs(rules: Sequence[Rule], schema: Mapping[str, pl.DataType]) -> list[pl.Expr]:
    """One boolean expression per rule, named ``rule__<id>``."""
    return [rule_expr(r, schema).alias(hit_column(r.id)) for r in rules]


def lists_from_offsets(offsets: np.ndarray, values: pl.Series) -> pl.Series:
    """A List column from row offsets and the flat values (Arrow's own list layout)."""
    # The offsets go to Arrow through polars: pa.array() asks pandas whether the numpy
    # array is one of its objects, and importing pandas costs every run ~0.3 s. The values
    # go as polars holds them (string views, no copy): as Arrow's default large strings
    # they were copied there and back (~40 ms for the 2M reasons of 200 rules at 1M rows,
    # against 0.5 ms).
    positions = pl.Series(offsets, dtype=pl.Int64).to_arrow()
    texts = values.cast(pl.String).to_arrow(compat_level=pl.CompatLevel.newest())
    array = pa.LargeListArray.from_arrays(positions, texts)
    series = pl.from_arrow(array)
    assert isinstance(series, pl.Series)
    return series.cast(pl.List(pl.String))


def _title_or_text(rule: Rule, locale: str) -> str:
    template = rule.reason_in(locale)
    return "".join(p.text for p in template) if template else rule.title_in(locale)


def render_rows(
    frame: pl.DataFrame,
    rule: Rule,
    rows: np.ndarray,
    schema: Mapping[str, pl.DataType],
    locale: str = "en",
) -> pl.Series:
    """The rule's reason in ``locale`` for the given rows only."""
    return render_rules_in(frame, [rule], [rows], schema, (locale,))[0][0]


def render_rules_in(
    frame: pl.DataFrame,
    rules: Sequence[Rule],
    positions: Sequence[np.ndarray],
    schema: Mapping[str, pl.DataType],
    locales: Sequence[str],
) -> list[list[pl.Series]]:
    """Each rule's reason in each of ``locales`` for its rows ``positions[i]`` only: the
    fields a rule's templates show are gathered once for its rows, and the templates of all
    the rules rendered in one polars call (``collect_all``). One query per rule, collected
    one after the other, cost a fixed ~2 ms each (most of the time of 200 rules' reasons)
    and ran on one core at a time."""
    pending: list[tuple[dict[str, pl.Series], list[str]]] = []
    queries: list[pl.LazyFrame] = []
    for rule, rows in zip(rules, positions, strict=True):
        out: dict[str, pl.Series] = {}
        exprs: dict[str, pl.Expr] = {}
        for locale in locales:
            if rule.reason_fields(locale):
                exprs[locale] = reason_expr(rule, schema, locale)
            else:
                out[locale] = pl.repeat(
                    _title_or_text(rule, locale), len(rows), dtype=pl.String, eager=True
                )
        if exprs:
            wanted = dict.fromkeys(f for loc in exprs for f in rule.reason_fields(loc))
            fields = [f for f in wanted if f in frame.columns]
            part = (
                pl.DataFrame([frame.get_column(f) for f in fields]).gather(rows)
                if fields
                else pl.DataFrame({"_": np.zeros(len(rows), dtype=np.int8)})
            )
            # a template that is all literal text still gets one value per row
            width = pl.col(part.columns[0]).alias("__rows")
            queries.append(part.lazy().select(width, *[e.alias(loc) for loc, e in exprs.items()]))
        pending.append((out, list(exprs)))
    done = iter(pl.collect_all(queries) if queries else [])
    rendered: list[list[pl.Series]] = []
    for out, rendered_here in pending:
        if rendered_here:
            frame_done = next(done)
            out.update({loc: frame_done.get_column(loc).cast(pl.String) for loc in rendered_here})
        rendered.append([out[locale].alias("reason") for locale in locales])
    return rendered


def expression_hits(
    frame: pl.DataFrame, rules: Sequence[Rule], schema: Mapping[str, pl.DataType]
) -> pl.DataFrame:
    """One ``rule__<id>`` column per rule from :func:`rule_expr` alone, in one lazy pass.

    The plain expression form of the rules (shared lower-cased helpers, polars' common
    subexpression elimination); ``rules._evaluate`` computes the same columns faster and is
    checked against this in the tests.
    """
    lc = lowercase_fields(rules, schema)
    lf = frame.lazy()
    if lc:
        lf = lf.with_columns(lowercase_exprs(lc, schema))
    return lf.select(hit_exprs(rules, schema)).collect()
