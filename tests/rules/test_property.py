"""Property test: random rules on random frames, compiled polars == plain-Python reference."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rules._evaluate as evaluation
from rules import load_pack_text
from rules._compile import hit_column, lowercase_exprs, lowercase_fields
from rules._compile import test_expr as leaf_expr
from rules._ir import iter_tests
from tests.rules._reference import eval_rule, eval_test

FIELDS: dict[str, pl.DataType] = {
    "s1": pl.String(),
    "s2": pl.String(),
    "n1": pl.Int64(),
    "f1": pl.Float64(),
    "b1": pl.Boolean(),
    "l1": pl.List(pl.String()),
}
WORDS = ["a", "A", "b", "B", "ab", "Ab", "ba", "aB", ""]
PATTERNS = ["^a", "b$", "a.b", "[ab]+", "A", "^$", "^(a|b)$"]
NUMS = [-2, -1, 0, 1, 2, 3]
FLOATS = [-1.5, 0.0, 0.5, 1.0, 2.0]

text_value = st.sampled_from(WORDS)
opt = st.none()


def _values(draw: st.DrawFn, base: st.SearchStrategy[Any]) -> Any:
    values = draw(st.lists(base, min_size=1, max_size=3))
    return values[0] if len(values) == 1 and draw(st.booleans()) else values


@st.composite
def field_test(draw: st.DrawFn) -> tuple[str, Any]:
    field = draw(st.sampled_from(list(FIELDS)))
    if field in ("s1", "s2", "l1"):
        op = draw(
            st.sampled_from(
                ["", "in", "neq", "contains", "startswith", "endswith", "re", "exists", "fieldref"]
                if field != "l1"
                else ["", "in", "contains", "startswith", "endswith", "re", "exists"]
            )
        )
        if op == "neq" and field == "l1":
            op = ""
        mods = [op] if op else []
        if op == "exists":
            return f"{field}|exists", draw(st.booleans())
        if op == "fieldref":
            other = "s2" if field == "s1" else "s1"
            extra = draw(st.sampled_from(["", "neq"]))
            mods = ["fieldref", *([extra] if extra else [])]
            if draw(st.booleans()):
                mods.append("cased")
            return f"{field}|" + "|".join(mods), other
        if draw(st.booleans()):
            mods.append("cased")
        base = st.sampled_from(PATTERNS) if op == "re" else text_value
        value = _values(draw, base)
        multi = op in ("contains", "startswith", "endswith", "re") or (
            field == "l1" and op in ("", "in")
        )
        if multi and isinstance(value, list) and len(value) > 1 and draw(st.booleans()):
            mods.append("all")
        return field + "".join(f"|{m}" for m in mods), value
    if field in ("n1", "f1"):
        base = st.sampled_from(NUMS) if field == "n1" else st.sampled_from(FLOATS + NUMS)
        op = draw(
            st.sampled_from(["", "neq", "gt", "gte", "lt", "lte", "between", "exists", "fieldref"])
        )
        if op == "exists":
            return f"{field}|exists", draw(st.booleans())
        if op == "fieldref":
            cmp = draw(st.sampled_from(["", "neq", "gt", "gte", "lt", "lte"]))
            other = "f1" if field == "n1" else "n1"
            return f"{field}|fieldref" + (f"|{cmp}" if cmp else ""), other
        if op == "between":
            a, b = draw(base), draw(base)
            return f"{field}|between", [min(a, b), max(a, b)]
        if op in ("gt", "gte", "lt", "lte"):
            return f"{field}|{op}", draw(base)
        return field + (f"|{op}" if op else ""), _values(draw, base)
    op = draw(st.sampled_from(["", "neq", "exists"]))
    return field + (f"|{op}" if op else ""), draw(st.booleans())


@st.composite
def selection(draw: st.DrawFn) -> Any:
    def one_map() -> dict[str, Any]:
        tests = draw(st.lists(field_test(), min_size=1, max_size=3, unique_by=lambda kv: kv[0]))
        return dict(tests)

    if draw(st.integers(0, 3)) == 0:
        return [one_map() for _ in range(draw(st.integers(2, 3)))]
    return one_map()


@st.composite
def condition(draw: st.DrawFn, names: list[str], depth: int = 0) -> str:
    choice = draw(st.integers(0, 7 if depth < 3 else 1))
    if choice <= 1:
        return draw(st.sampled_from(names))
    if choice == 2:
        return "not " + draw(condition(names, depth + 1))
    if choice == 3:
        return f"({draw(condition(names, depth + 1))})"
    if choice == 4:
        quant = draw(st.sampled_from(["1", "all"]))
        pattern = draw(st.sampled_from(["sel_*", "them", "sel_a*", *names]))
        if pattern == "sel_a*" and not any(n.startswith("sel_a") for n in names):
            pattern = "them"
        return f"{quant} of {pattern}"
    op = "and" if choice in (5, 6) else "or"
    return f"{draw(condition(names, depth + 1))} {op} {draw(condition(names, depth + 1))}"


@st.composite
def rule_doc(draw: st.DrawFn, index: int) -> dict[str, Any]:
    count = draw(st.integers(1, 4))
    names = [f"sel_{chr(ord('a') + i)}{i}" for i in range(count)]
    match: dict[str, Any] = {n: draw(selection()) for n in names}
    match["condition"] = draw(condition(names))
    doc: dict[str, Any] = {
        "kind": "rule",
        "id": f"r{index}",
        "title": "t",
        "description": "d",
        "status": draw(st.sampled_from(["active", "active", "experimental"])),
        "severity": "medium",
        "weight": draw(st.integers(10, 30)),
        "owner": "o",
        "reason": "s1={s1} n1={n1} f1={f1} l1={l1} b1={b1}",
        "match": match,
    }
    if draw(st.integers(0, 4)) == 0:
        doc["exceptions"] = [
            {
                "name": "e",
                "fields": ["s1", "n1"],
                "values": [[draw(text_value), draw(st.sampled_from(NUMS))]],
            }
        ]
    return doc


@st.composite
def frame(draw: st.DrawFn) -> pl.DataFrame:
    n = draw(st.integers(0, 12))
    maybe = lambda s: st.one_of(st.none(), s)  # noqa: E731
    data = {
        "s1": draw(st.lists(maybe(text_value), min_size=n, max_size=n)),
        "s2": draw(st.lists(maybe(text_value), min_size=n, max_size=n)),
        "n1": draw(st.lists(maybe(st.sampled_from(NUMS)), min_size=n, max_size=n)),
        "f1": draw(st.lists(maybe(st.sampled_from(FLOATS)), min_size=n, max_size=n)),
        "b1": draw(st.lists(maybe(st.booleans()), min_size=n, max_size=n)),
        "l1": draw(
            st.lists(maybe(st.lists(maybe(text_value), max_size=3)), min_size=n, max_size=n)
        ),
    }
    return pl.DataFrame(data, schema=FIELDS)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_compiled_rules_match_reference(data: st.DataObject) -> None:
    docs = [data.draw(rule_doc(i)) for i in range(data.draw(st.integers(1, 3)))]
    text = yaml.safe_dump_all(docs, sort_keys=False)
    pack = load_pack_text(text, fields=FIELDS)
    df = data.draw(frame())
    compiled = pack.compile(df.schema)
    assert compiled.skipped == []
    # Text tests on distinct values (dictionary-encoded) or over every row: both routes.
    share = 1.0 if data.draw(st.booleans(), label="encode text") else -1.0
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(evaluation, "ENCODE_MAX_DISTINCT_SHARE", share)
        out = compiled.apply(df, keep_rule_columns=True)
    rows = df.to_dicts()
    # Every field test on its own, so that a leaf bug cannot hide behind the condition.
    helpers = df.with_columns(lowercase_exprs(lowercase_fields(pack.rules, FIELDS), FIELDS))
    for rule in pack.rules:
        tests = iter_tests(rule.condition)
        leaves = helpers.select([leaf_expr(t, FIELDS).alias(str(i)) for i, t in enumerate(tests)])
        for i, test in enumerate(tests):
            expected = [eval_test(test, row, FIELDS) for row in rows]
            assert leaves[str(i)].to_list() == expected, (test, rows)
    for rule in pack.rules:
        expected = [eval_rule(rule, row, FIELDS) for row in rows]
        assert out[hit_column(rule.id)].to_list() == expected, (rule.id, text)
    active = [r for r in pack.rules if r.status == "active"]
    shadow = [r for r in pack.rules if r.status == "experimental"]
    for i, row in enumerate(rows):
        hits = [r.id for r in active if eval_rule(r, row, FIELDS)]
        assert out["rule_hits"][i].to_list() == hits
        assert out["rule_shadow_hits"][i].to_list() == [
            r.id for r in shadow if eval_rule(r, row, FIELDS)
        ]
        assert out["rule_score"][i] == sum(r.weight for r in active if r.id in hits)
        assert len(out["rule_reasons"][i]) == len(hits)
