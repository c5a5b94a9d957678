"""Explain one rule on one row: which selections and field tests were true, on what values."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

from engine.errors import LookoutError
from rules._compile import (
    exception_expr,
    hit_column,
    lowercase_exprs,
    lowercase_fields,
    selection_expr,
    test_expr,
)
from rules._diagnostics import did_you_mean
from rules._evaluate import evaluate
from rules._ir import Rule, iter_selections
from rules._pack import RulePack
from rules._selftest import frame_for_rows


class ExplainError(LookoutError):
    """The row or rule given to explain is not usable."""


@dataclass(frozen=True)
class TestLine:
    """One field test with its verdict and the row's value(s)."""

    key: str
    result: bool
    values: dict[str, Any]


@dataclass(frozen=True)
class SelectionLine:
    """One selection (possibly from a macro) with its verdict and field tests."""

    name: str
    macro: str | None
    result: bool
    tests: list[TestLine]


@dataclass(frozen=True)
class Explanation:
    """Everything about one rule on one row."""

    rule: Rule
    hit: bool
    condition_result: bool
    selections: list[SelectionLine]
    exceptions: dict[str, bool]
    reason: str | None

    def render(self) -> str:
        """Plain text for a terminal."""
        r = self.rule
        lines = [
            f"rule {r.id} ({r.status}, {r.severity}, weight {r.weight:g}): {r.title}",
            f"condition: {r.condition_text}  ->  {self.condition_result}",
        ]
        for sel in self.selections:
            origin = f" (macro {sel.macro})" if sel.macro else ""
            lines.append(f"  selection {sel.name}{origin}: {sel.result}")
            for t in sel.tests:
                shown = ", ".join(f"{k}={v!r}" for k, v in t.values.items())
                lines.append(f"    {t.key}: {t.result}   [{shown}]")
        for name, value in self.exceptions.items():
            lines.append(f"  exception {name}: {value}")
        lines.append(f"verdict: {'HIT' if self.hit else 'no hit'}")
        if self.reason:
            lines.append(f"reason: {self.reason}")
        return "\n".join(lines)


def explain(pack: RulePack, rule_id: str, row: Mapping[str, Any]) -> Explanation:
    """Evaluate ``rule_id`` on ``row`` (field -> value; derived fields may be mocked)."""
    try:
        rule = pack.rule(rule_id)
    except KeyError:
        raise ExplainError(
            f"no rule '{rule_id}' in the pack", hint=did_you_mean(rule_id, pack.rule_ids)
        ) from None
    unknown = [k for k in row if k not in pack.fields]
    if unknown:
        raise ExplainError(
            f"unknown field(s) in the row: {', '.join(unknown)}",
            hint=did_you_mean(unknown[0], pack.fields),
        )
    fields = sorted(rule.fields() | set(rule.reason_fields()) | set(row))
    try:
        frame = frame_for_rows([dict(row)], fields, pack.fields)
    except (pl.exceptions.PolarsError, TypeError, ValueError) as exc:
        raise ExplainError(
            f"the row's values do not fit the fields' types: {exc}",
            hint="numbers unquoted, flags true/false, lists as [..]",
        ) from None
    schema = dict(frame.schema)
    leaves = iter_selections(rule.condition)
    lc = lowercase_fields([rule], schema)
    base = frame.with_columns(lowercase_exprs(lc, schema)) if lc else frame
    exprs: list[pl.Expr] = []
    for s_i, leaf in enumerate(leaves):
        exprs.append(selection_expr(leaf.selection, schema).alias(f"s{s_i}"))
        for a_i, alt in enumerate(leaf.selection.alternatives):
            for t_i, test in enumerate(alt):
                exprs.append(test_expr(test, schema).alias(f"t{s_i}_{a_i}_{t_i}"))
    for e_i, exception in enumerate(rule.exceptions):
        exprs.append(exception_expr(exception, schema).alias(f"e{e_i}"))
    verdicts = base.select(exprs).row(0, named=True) if exprs else {}
    full = evaluate(frame, [_as_active(rule)], [], schema, keep_rule_columns=True)
    from rules._compile import cond_expr

    cond_result = bool(base.select(cond_expr(rule.condition, schema)).item())
    values = frame.row(0, named=True)
    selections = []
    for s_i, leaf in enumerate(leaves):
        tests = []
        for a_i, alt in enumerate(leaf.selection.alternatives):
            for t_i, test in enumerate(alt):
                shown = {test.field: values.get(test.field)}
                if test.fieldref:
                    shown.update({str(v): values.get(str(v)) for v in test.values})
                tests.append(TestLine(test.key, bool(verdicts[f"t{s_i}_{a_i}_{t_i}"]), shown))
        selections.append(
            SelectionLine(leaf.selection.name, leaf.macro, bool(verdicts[f"s{s_i}"]), tests)
        )
    reasons = full["rule_reasons"][0].to_list()
    return Explanation(
        rule=rule,
        hit=bool(full[hit_column(rule.id)][0]),
        condition_result=cond_result,
        selections=selections,
        exceptions={e.name: bool(verdicts[f"e{i}"]) for i, e in enumerate(rule.exceptions)},
        reason=reasons[0] if reasons else None,
    )


def _as_active(rule: Rule) -> Rule:
    import dataclasses

    return dataclasses.replace(rule, status="active")
