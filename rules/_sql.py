"""Translate a compiled pack's rule tree to DuckDB SQL (the benchmark's peer).

Same semantics as the polars compiler: two-valued logic (every field test COALESCEd to
FALSE), case-insensitive text unless ``cased``, any-element matching on list fields.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from rules._compile import hit_column
from rules._ir import And, Cond, ExceptionTuple, FieldTest, Not, Or, Rule, Sel, Selection
from rules._pack import CompiledPack
from rules._types import family


def ident(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def literal(value: Any) -> str:
    """A SQL literal for a rule value."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dt.datetime):
        return f"TIMESTAMPTZ '{value.isoformat()}'"
    return "'" + str(value).replace("'", "''") + "'"


_CMP = {"eq": "=", "neq": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


def _any_all(parts: list[str], match_all: bool) -> str:
    if len(parts) == 1:
        return parts[0]
    return "(" + (" AND " if match_all else " OR ").join(parts) + ")"


def _text_op(col: str, op: str, value: str, cased: bool) -> str:
    if op == "eq":
        return f"{col} = {literal(value)}"
    if op == "contains":
        return f"contains({col}, {literal(value)})"
    if op == "startswith":
        return f"starts_with({col}, {literal(value)})"
    if op == "endswith":
        return f"ends_with({col}, {literal(value)})"
    if op == "re":
        return f"regexp_matches({col}, {literal(value if cased else '(?i)' + value)})"
    raise AssertionError(op)


def test_sql(test: FieldTest, schema: Mapping[str, pl.DataType]) -> str:
    """One field test as a non-null SQL boolean."""
    fam = family(schema[test.field])
    raw = ident(test.field)
    lower = fam in ("text", "text_list") and not test.cased and test.op not in ("re", "exists")
    if test.op == "exists":
        present = f"{raw} IS NOT NULL"
        if fam == "text_list":
            present += f" AND len({raw}) > 0"
        return (
            f"COALESCE({present}, FALSE)" if test.values[0] else f"NOT COALESCE({present}, FALSE)"
        )
    col = f"lower(CAST({raw} AS VARCHAR))" if lower and fam == "text" else raw
    if test.fieldref:
        parts = []
        for other in test.values:
            right = f"lower(CAST({ident(str(other))} AS VARCHAR))" if lower else ident(str(other))
            parts.append(f"{col} {_CMP[test.op]} {right}")
        return f"COALESCE({_any_all(parts, test.match_all)}, FALSE)"
    values: list[Any] = [v.lower() if lower and isinstance(v, str) else v for v in test.values]
    if fam == "text_list":
        elem = "lower(x)" if lower else "x"
        if test.op == "eq" and not test.match_all:
            inside = f"{elem} IN ({', '.join(literal(v) for v in values)})"
            return f"COALESCE(len(list_filter({raw}, lambda x: {inside})) > 0, FALSE)"
        parts = [
            f"len(list_filter({raw}, lambda x: {_text_op(elem, test.op, v, test.cased)})) > 0"
            for v in values
        ]
        return f"COALESCE({_any_all(parts, test.match_all)}, FALSE)"
    if test.op == "eq":
        sql = f"{col} IN ({', '.join(literal(v) for v in values)})"
    elif test.op == "neq":
        sql = f"{col} NOT IN ({', '.join(literal(v) for v in values)}) AND {raw} IS NOT NULL"
    elif test.op == "between":
        sql = _any_all(
            [f"{col} BETWEEN {literal(lo)} AND {literal(hi)}" for lo, hi in values], False
        )
    elif test.op in _CMP:
        sql = f"{col} {_CMP[test.op]} {literal(values[0])}"
    else:
        sql = _any_all([_text_op(col, test.op, v, test.cased) for v in values], test.match_all)
    return f"COALESCE({sql}, FALSE)"


def selection_sql(selection: Selection, schema: Mapping[str, pl.DataType]) -> str:
    """OR over alternatives, AND within each."""
    alts = [
        "(" + " AND ".join(test_sql(t, schema) for t in alt) + ")" for alt in selection.alternatives
    ]
    return alts[0] if len(alts) == 1 else "(" + " OR ".join(alts) + ")"


def cond_sql(cond: Cond, schema: Mapping[str, pl.DataType]) -> str:
    """A condition tree as SQL."""
    if isinstance(cond, Sel):
        return selection_sql(cond.selection, schema)
    if isinstance(cond, Not):
        return f"(NOT {cond_sql(cond.item, schema)})"
    joiner = " AND " if isinstance(cond, And) else " OR "
    assert isinstance(cond, And | Or)
    return "(" + joiner.join(cond_sql(c, schema) for c in cond.items) + ")"


def _exception_sql(exc: ExceptionTuple, schema: Mapping[str, pl.DataType]) -> str:
    tuples = []
    for values in exc.values:
        parts = []
        for name, value in zip(exc.fields, values, strict=True):
            if family(schema[name]) == "text":
                parts.append(
                    f"lower(CAST({ident(name)} AS VARCHAR)) = {literal(str(value).lower())}"
                )
            else:
                parts.append(f"{ident(name)} = {literal(value)}")
        tuples.append("COALESCE(" + " AND ".join(parts) + ", FALSE)")
    return "(" + " OR ".join(tuples) + ")" if tuples else "FALSE"


def rule_sql(rule: Rule, schema: Mapping[str, pl.DataType]) -> str:
    """The rule's hit as SQL: condition and no exception."""
    sql = cond_sql(rule.condition, schema)
    for exc in rule.exceptions:
        sql = f"({sql} AND NOT {_exception_sql(exc, schema)})"
    return sql


def _reason_sql(rule: Rule) -> str:
    if not rule.reason:
        return literal(rule.title)
    parts = [
        f"CAST({ident(p.text)} AS VARCHAR)" if p.is_field else literal(p.text) for p in rule.reason
    ]
    # As the polars renderer: an unknown field gives the title, never a "n/a" in a sentence.
    return f"COALESCE({' || '.join(parts)}, {literal(rule.title)})"


def _list(items: Sequence[str]) -> str:
    if not items:
        return "CAST([] AS VARCHAR[])"
    return "list_filter([" + ", ".join(items) + "], lambda x: x IS NOT NULL)"


def pack_sql(
    compiled: CompiledPack, table: str = "batch", *, keep_rule_columns: bool = False
) -> str:
    """A DuckDB query adding the rule outputs (and optionally the hit columns) to ``table``."""
    schema = compiled.schema
    hits = ",\n  ".join(
        f"{rule_sql(r, schema)} AS {ident(hit_column(r.id))}" for r in compiled.rules
    )
    inner = f"SELECT *{', ' + hits if hits else ''} FROM {ident(table)}"
    active, shadow = compiled.active, compiled.shadow
    score = (
        " + ".join(
            f"CASE WHEN {ident(hit_column(r.id))} THEN {r.weight!r} ELSE 0.0 END" for r in active
        )
        or "0.0"
    )
    hit_ids = _list(
        [f"CASE WHEN {ident(hit_column(r.id))} THEN {literal(r.id)} END" for r in active]
    )
    reasons = _list(
        [f"CASE WHEN {ident(hit_column(r.id))} THEN {_reason_sql(r)} END" for r in active]
    )
    shadow_ids = _list(
        [f"CASE WHEN {ident(hit_column(r.id))} THEN {literal(r.id)} END" for r in shadow]
    )
    drop = (
        ""
        if keep_rule_columns or not compiled.rules
        else " EXCLUDE (" + ", ".join(ident(hit_column(r.id)) for r in compiled.rules) + ")"
    )
    return (
        f"WITH hits AS (\n  {inner}\n)\nSELECT *{drop},\n  CAST({score} AS DOUBLE) AS "
        f"rule_score,\n  {hit_ids} AS rule_hits,\n  {reasons} AS rule_reasons,\n  "
        f"{shadow_ids} AS rule_shadow_hits\nFROM hits"
    )
