"""Embedded rule tests: each rule's mocked rows run through the real compiler."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

from rules._compile import hit_column
from rules._diagnostics import Diagnostic
from rules._evaluate import evaluate
from rules._ir import And, Cond, FieldTest, Not, Or, Rule, RuleTest, Sel, Selection
from rules._types import ValueProblem, coerce, family


@dataclass(frozen=True)
class TestOutcome:
    """The verdict of one embedded test."""

    rule_id: str
    index: int
    test: RuleTest
    hit: bool | None
    reason: str | None
    error: str | None = None

    @property
    def passed(self) -> bool:
        """The rule did what the test expects."""
        return self.error is None and self.hit == (self.test.expect == "hit")


def column_for(name: str, values: list[Any], dtype: pl.DataType) -> pl.Series:
    """A typed column from YAML/JSON values (text from numbers, times from ISO text)."""
    fam = family(dtype)
    if fam == "temporal":
        values = [None if v is None else coerce(v, "temporal", name) for v in values]
        if dtype == pl.Date:
            values = [None if v is None else v.date() for v in values]
        return pl.Series(name, values).cast(dtype)
    if fam == "text":
        values = [None if v is None else str(v) for v in values]
    elif fam == "text_list":
        values = [None if v is None else [None if x is None else str(x) for x in v] for v in values]
    return pl.Series(name, values, dtype=dtype, strict=True)


def frame_for_rows(
    rows: list[dict[str, Any]], fields: list[str], dtypes: Mapping[str, pl.DataType]
) -> pl.DataFrame:
    """Rows as a typed frame over ``fields`` (absent fields are null)."""
    return pl.DataFrame([column_for(f, [r.get(f) for r in rows], dtypes[f]) for f in fields])


def with_mocked_lists(
    rule: Rule, lists: Mapping[str, tuple[Any, ...]], dtypes: Mapping[str, pl.DataType]
) -> Rule:
    """The rule with the items of some $lists replaced (a test's ``lists:``)."""
    if not lists:
        return rule

    def fix_test(t: FieldTest) -> FieldTest:
        if not any(r in lists for r in t.list_refs):
            return t
        fam = family(dtypes[t.field])
        values = list(t.literals)
        for ref in t.list_refs:
            if ref in lists:
                values.extend(coerce(v, fam, t.field) for v in lists[ref])
        return dataclasses.replace(t, values=tuple(values))

    def fix(cond: Cond) -> Cond:
        if isinstance(cond, Sel):
            sel = cond.selection
            alts = tuple(tuple(fix_test(t) for t in alt) for alt in sel.alternatives)
            return Sel(Selection(sel.name, alts, sel.pos), cond.macro)
        if isinstance(cond, Not):
            return Not(fix(cond.item))
        items = tuple(fix(c) for c in cond.items)
        return And(items) if isinstance(cond, And) else Or(items)

    return dataclasses.replace(rule, condition=fix(rule.condition))


def run_rule_tests(rule: Rule, dtypes: Mapping[str, pl.DataType]) -> list[TestOutcome]:
    """Run every embedded test of ``rule``; experimental rules are tested as if active.

    Tests that share the pack's lists run together as the rows of one frame; a test that
    mocks lists runs on its own, against the rule re-resolved with those lists.
    """
    outcomes: dict[int, TestOutcome] = {}
    groups: list[list[int]] = []
    plain = [i for i, t in enumerate(rule.tests) if not t.lists]
    if plain:
        groups.append(plain)
    groups.extend([i] for i, t in enumerate(rule.tests) if t.lists)
    for group in groups:
        tests = [rule.tests[i] for i in group]
        try:
            mocked = with_mocked_lists(rule, tests[0].lists, dtypes)
            fields = sorted(
                mocked.fields() | set(mocked.reason_fields()) | {f for t in tests for f in t.row}
            )
            frame = frame_for_rows([t.row for t in tests], fields, dtypes)
            probe = dataclasses.replace(mocked, status="active")
            out = evaluate(frame, [probe], [], dict(frame.schema), keep_rule_columns=True)
        except (ValueProblem, pl.exceptions.PolarsError, TypeError, ValueError) as exc:
            if len(group) > 1:  # find the test(s) whose row is at fault
                for i in group:
                    single = dataclasses.replace(rule, tests=(rule.tests[i],))
                    outcomes[i] = dataclasses.replace(run_rule_tests(single, dtypes)[0], index=i)
            else:
                outcomes[group[0]] = TestOutcome(rule.id, group[0], tests[0], None, None, str(exc))
            continue
        hit_values = out[hit_column(rule.id)].to_list()
        reasons = out["rule_reasons"].to_list()
        for row_no, i in enumerate(group):
            reason = reasons[row_no][0] if reasons[row_no] else None
            outcomes[i] = TestOutcome(rule.id, i, rule.tests[i], bool(hit_values[row_no]), reason)
    return [outcomes[i] for i in range(len(rule.tests))]


def coverage_problem(rule: Rule) -> str | None:
    """Why an active rule's tests are not enough (needs at least one hit and one no_hit)."""
    if rule.status != "active":
        return None
    expects = {t.expect for t in rule.tests}
    missing = [e for e in ("hit", "no_hit") if e not in expects]
    if missing:
        return (
            "active rule needs at least one "
            + " and one ".join(f"'expect: {m}'" for m in missing)
            + " test"
        )
    return None


def failure_diagnostic(outcome: TestOutcome) -> Diagnostic:
    """A failed test as a diagnostic pointing at the test in the YAML."""
    p = outcome.test.pos
    label = f" '{outcome.test.name}'" if outcome.test.name else ""
    if outcome.error:
        message = (
            f"test {outcome.index + 1}{label} of rule '{outcome.rule_id}' cannot run: "
            f"{outcome.error}"
        )
        hint = "check the types of the mocked row's values"
    else:
        got = "hit" if outcome.hit else "no_hit"
        message = (
            f"test {outcome.index + 1}{label} of rule '{outcome.rule_id}' expected "
            f"{outcome.test.expect}, got {got}"
        )
        hint = (
            "run `lookout rules explain --rule "
            + outcome.rule_id
            + " --row '<the row as JSON>'` to see which selections matched"
        )
    return Diagnostic(p.file, p.line, p.col, "error", message, hint)
