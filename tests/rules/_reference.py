"""A plain-Python reference evaluator of resolved rules, row by row (tests only).

It spells out the language's semantics with no polars at all, so the property tests can
check the compiler against it:

- two-valued logic: a field test on a null value is False, except ``exists: false``;
- text comparisons are case-insensitive unless ``cased`` (``re`` uses re.IGNORECASE);
- several values OR, unless ``all``; list fields match when any element matches;
- ``neq`` is "not equal to any of the values" and False on null;
- an exception drops the hit when the row equals one of its tuples.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import polars as pl

from rules._ir import And, Cond, ExceptionTuple, FieldTest, Not, Or, Rule, Sel
from rules._types import family


def _norm(value: Any, lower: bool) -> Any:
    return value.lower() if lower and isinstance(value, str) else value


def _text_match(text: str, op: str, value: str, cased: bool) -> bool:
    if op == "eq":
        return text == value
    if op == "contains":
        return value in text
    if op == "startswith":
        return text.startswith(value)
    if op == "endswith":
        return text.endswith(value)
    if op == "re":
        return re.search(value, text, 0 if cased else re.IGNORECASE) is not None
    raise AssertionError(op)


def _compare(left: Any, op: str, right: Any) -> bool:
    if left is None or right is None:
        return False
    return {
        "eq": left == right,
        "neq": left != right,
        "gt": left > right,
        "gte": left >= right,
        "lt": left < right,
        "lte": left <= right,
    }[op]


def eval_test(test: FieldTest, row: Mapping[str, Any], dtypes: Mapping[str, pl.DataType]) -> bool:
    value = row.get(test.field)
    fam = family(dtypes[test.field])
    if test.op == "exists":
        present = value is not None and (fam != "text_list" or len(value) > 0)
        return present == test.values[0]
    if value is None:
        return False
    lower = fam in ("text", "text_list") and not test.cased and test.op != "re"
    combine = all if test.match_all else any
    if test.fieldref:
        return combine(
            _compare(_norm(value, lower), test.op, _norm(row.get(str(o)), lower))
            for o in test.values
        )
    values = [_norm(v, lower) for v in test.values]
    if fam == "text_list":
        elements = [_norm(e, lower) for e in value if e is not None]
        return combine(
            any(_text_match(e, test.op, v, test.cased) for e in elements) for v in values
        )
    value = _norm(value, lower)
    if test.op == "eq":
        return any(value == v for v in values)
    if test.op == "neq":
        return all(value != v for v in values)
    if test.op == "between":
        return any(lo <= value <= hi for lo, hi in values)
    if test.op in ("gt", "gte", "lt", "lte"):
        return _compare(value, test.op, values[0])
    return combine(_text_match(value, test.op, v, test.cased) for v in values)


def eval_cond(cond: Cond, row: Mapping[str, Any], dtypes: Mapping[str, pl.DataType]) -> bool:
    if isinstance(cond, Sel):
        return any(
            all(eval_test(t, row, dtypes) for t in alt) for alt in cond.selection.alternatives
        )
    if isinstance(cond, Not):
        return not eval_cond(cond.item, row, dtypes)
    if isinstance(cond, And):
        return all(eval_cond(c, row, dtypes) for c in cond.items)
    assert isinstance(cond, Or)
    return any(eval_cond(c, row, dtypes) for c in cond.items)


def _excepted(
    exc: ExceptionTuple, row: Mapping[str, Any], dtypes: Mapping[str, pl.DataType]
) -> bool:
    for values in exc.values:
        ok = True
        for name, expected in zip(exc.fields, values, strict=True):
            actual = row.get(name)
            if family(dtypes[name]) == "text":
                ok = ok and actual is not None and actual.lower() == str(expected).lower()
            else:
                ok = ok and actual is not None and actual == expected
        if ok:
            return True
    return False


def eval_rule(rule: Rule, row: Mapping[str, Any], dtypes: Mapping[str, pl.DataType]) -> bool:
    """The rule's verdict on one row."""
    return eval_cond(rule.condition, row, dtypes) and not any(
        _excepted(e, row, dtypes) for e in rule.exceptions
    )
