"""Evaluate a compiled pack on a frame: each distinct test once, text tests on distinct values.

The expression builders of ``rules._compile`` define what every test means; this module only
decides *where* each test is computed, so that a pack of hundreds of rules costs little more
than the distinct tests it contains:

- **Distinct tests, once.** Every field test of every rule (macros and exceptions included)
  is keyed by its content (:class:`~rules._ir.FieldTest` compares field, operator, values and
  flags), so the same test written in twenty rules is computed once. Sub-conditions that
  occur in several rules (a macro, a shared selection) are combined once too.
- **Text tests on distinct values.** A text column of a manifest repeats a few hundred
  values over a million rows. Such a column is dictionary-encoded once (Arrow), every test
  on it is evaluated by the very same polars expression on the distinct values (a few
  hundred rows, lower-cased there), and a row's verdict is read from its value's code. A
  column whose values barely repeat (free text) is lower-cased once and tested directly.
- **Other tests** (numbers, flags, times, field-to-field comparisons, list presence) are
  polars expressions evaluated together in one parallel ``select``.
- **Conditions** combine the tests' boolean arrays (numpy), pack order is kept, and rule
  hits become row positions; scores add up from those positions, and hit ids and reasons
  are laid out in Arrow list form with reasons rendered only for the rows a rule hit.

Results are identical to evaluating :func:`rules._compile.rule_expr` of every rule (a test
compares both on generated batches); :func:`render_reasons` renders the reasons of any row
subset later, from its ``rule_hits``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from rules._compile import (
    _case_insensitive,
    hit_column,
    lists_from_offsets,
    lowercase_exprs,
    render_rows,
    test_expr,
)
from rules._ir import And, Cond, ExceptionTuple, FieldTest, Not, Rule, Sel
from rules._types import family

# A text column is dictionary-encoded when a sample of it holds at most this share of
# distinct values (below, encoding plus tests on the distinct values is far cheaper than
# lower-casing and testing every row; above, the column is free text).
ENCODE_MAX_DISTINCT_SHARE = 0.3
_SAMPLE_ROWS = 4096

# Plan nodes: ("p", i) the i-th distinct test; ("and"|"or", (nodes...)); ("not", node).
Node = tuple[Any, ...]
_TRUE: Node = ("and", ())


@dataclass(frozen=True)
class _Route:
    """Where the distinct tests are computed."""

    encoded: dict[str, list[int]]  # text field -> tests evaluated on its distinct values
    direct: list[int]  # tests evaluated as polars expressions over all rows
    lowercase: list[str]  # fields lower-cased over all rows for the direct tests


class Plan:
    """The rules of a compiled pack as trees over their distinct field tests."""

    def __init__(self, rules: Sequence[Rule], schema: Mapping[str, pl.DataType]):
        self.rules = list(rules)
        self.schema = dict(schema)
        self.tests: list[FieldTest] = []
        self._index: dict[FieldTest, int] = {}
        self.roots: list[Node] = [self._rule(r) for r in self.rules]
        self.uses: Counter[Node] = Counter()
        for root in self.roots:
            self._count(root)

    # ---------------------------------------------------------------- building
    def _test(self, test: FieldTest) -> Node:
        index = self._index.get(test)
        if index is None:
            index = self._index[test] = len(self.tests)
            self.tests.append(test)
        return ("p", index)

    def _cond(self, cond: Cond) -> Node:
        if isinstance(cond, Sel):
            alternatives = tuple(
                self._and(tuple(self._test(t) for t in alt)) for alt in cond.selection.alternatives
            )
            return self._or(alternatives)
        if isinstance(cond, Not):
            return ("not", self._cond(cond.item))
        parts = tuple(self._cond(c) for c in cond.items)
        return self._and(parts) if isinstance(cond, And) else self._or(parts)

    def _exception(self, exc: ExceptionTuple) -> Node:
        """True where the row equals one tuple: the same tests as ``exception_expr``."""
        tuples = []
        for values in exc.values:
            parts = []
            for name, value in zip(exc.fields, values, strict=True):
                text = family(self.schema[name]) == "text"
                parts.append(self._test(FieldTest(name, "eq", (str(value) if text else value,))))
            tuples.append(self._and(tuple(parts)))
        return self._or(tuple(tuples)) if tuples else ("or", ())

    def _rule(self, rule: Rule) -> Node:
        parts = [self._cond(rule.condition)]
        parts.extend(("not", self._exception(e)) for e in rule.exceptions)
        return self._and(tuple(parts))

    @staticmethod
    def _and(parts: tuple[Node, ...]) -> Node:
        return parts[0] if len(parts) == 1 else ("and", parts)

    @staticmethod
    def _or(parts: tuple[Node, ...]) -> Node:
        return parts[0] if len(parts) == 1 else ("or", parts)

    def _count(self, node: Node) -> None:
        self.uses[node] += 1
        if self.uses[node] > 1:
            return  # computed once and kept; its parts are not evaluated again
        if node[0] == "not":
            self._count(node[1])
        elif node[0] in ("and", "or"):
            for part in node[1]:
                self._count(part)

    # ---------------------------------------------------------------- routing
    def route(self, frame: pl.DataFrame) -> _Route:
        """Which tests run on distinct values (per text field) and which over all rows."""
        by_field: dict[str, list[int]] = {}
        direct: list[int] = []
        for i, test in enumerate(self.tests):
            fam = family(self.schema[test.field])
            element_test = fam == "text_list" and test.op != "exists"
            if not test.fieldref and (fam == "text" or element_test):
                by_field.setdefault(test.field, []).append(i)
            else:
                direct.append(i)
        encoded: dict[str, list[int]] = {}
        for name, indices in by_field.items():
            if _repeats(frame.get_column(name), family(self.schema[name])):
                encoded[name] = indices
            else:
                direct.extend(indices)
        lowercase: dict[str, None] = {}
        for i in direct:
            test = self.tests[i]
            if _case_insensitive(test, family(self.schema[test.field])):
                lowercase[test.field] = None
                if test.fieldref:
                    lowercase.update({str(v): None for v in test.values})
        return _Route(encoded, sorted(direct), list(lowercase))


def _repeats(column: pl.Series, fam: str) -> bool:
    """Whether the column's values repeat enough for dictionary encoding to pay."""
    sample = column.head(_SAMPLE_ROWS)
    if fam == "text_list":
        sample = sample.explode()
    sample = sample.drop_nulls()
    return sample.n_unique() <= ENCODE_MAX_DISTINCT_SHARE * max(sample.len(), 64)


# -------------------------------------------------------------------- encoded text
def _encode(values: pl.Series) -> tuple[np.ndarray, pl.Series]:
    """(code per value, the distinct values followed by one null); a null's code is the last."""
    if values.dtype != pl.String:
        values = values.cast(pl.String)
    encoded = pc.dictionary_encode(values.to_arrow(compat_level=pl.CompatLevel.newest()))
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    distinct = pl.Series(values.name, pl.from_arrow(encoded.dictionary), dtype=pl.String)
    indices = pc.fill_null(encoded.indices, pa.scalar(len(distinct), encoded.indices.type))
    codes = indices.to_numpy(zero_copy_only=False)
    return codes, distinct.extend(pl.Series(values.name, [None], dtype=pl.String))


def _encoded_tests(
    column: pl.Series, tests: list[tuple[int, FieldTest]], fam: str
) -> dict[int, np.ndarray]:
    """Row verdicts of every test on one text (or text-list) field via its distinct values."""
    n = column.len()
    if fam == "text_list":
        offsets = column.list.len().fill_null(0).to_numpy().astype(np.int64)
        values = column.explode(empty_as_null=False, keep_nulls=False) if n else column.explode()
        owner = np.repeat(np.arange(n, dtype=np.int64), offsets)
    else:
        values = column
    codes, distinct = _encode(values)
    name = column.name
    schema: dict[str, pl.DataType] = {name: pl.String()}
    small = pl.DataFrame({name: distinct})
    lc = any(_case_insensitive(t, "text") for _, t in tests)
    if lc:
        small = small.with_columns(lowercase_exprs([name], schema))
    exprs: list[pl.Expr] = []
    keys: list[tuple[int, int]] = []  # (test index, value position or -1 for the whole test)
    for i, test in tests:
        if fam == "text_list" and test.match_all:
            # every value must be found in the list: one element test per value
            for k, value in enumerate(test.values):
                single = FieldTest(name, test.op, (value,), cased=test.cased)
                exprs.append(test_expr(single, schema).alias(f"t{i}_{k}"))
                keys.append((i, k))
        else:
            as_text = FieldTest(
                name, test.op, test.values, cased=test.cased, match_all=test.match_all
            )
            exprs.append(test_expr(as_text, schema).alias(f"t{i}"))
            keys.append((i, -1))
    masks = small.select(exprs)
    out: dict[int, np.ndarray] = {}
    for (i, k), series in zip(keys, masks.get_columns(), strict=True):
        on_values = np.take(series.to_numpy(), codes)
        if fam == "text_list":
            row = np.zeros(n, dtype=bool)
            row[owner[on_values]] = True
            on_values = row
        out[i] = on_values if k < 0 else (out[i] & on_values if k > 0 else on_values)
    return out


# -------------------------------------------------------------------- evaluation
class _Evaluator:
    def __init__(self, plan: Plan, frame: pl.DataFrame):
        self.plan = plan
        self.n = frame.height
        route = plan.route(frame)
        self.tests: dict[int, np.ndarray] = {}
        self._direct: pl.DataFrame | None = None
        if route.direct:
            lf = frame.lazy()
            if route.lowercase:
                lf = lf.with_columns(lowercase_exprs(route.lowercase, plan.schema))
            exprs = [test_expr(plan.tests[i], plan.schema).alias(f"t{i}") for i in route.direct]
            self._direct = lf.select(exprs).collect()
        for name, indices in route.encoded.items():
            fam = family(plan.schema[name])
            tests = [(i, plan.tests[i]) for i in indices]
            self.tests.update(_encoded_tests(frame.get_column(name), tests, fam))
        self.left = Counter(plan.uses)
        self.kept: dict[Node, np.ndarray] = {}

    def test(self, index: int) -> np.ndarray:
        found = self.tests.get(index)
        if found is None:
            assert self._direct is not None
            found = self._direct.get_column(f"t{index}").to_numpy()
        return found

    def node(self, node: Node) -> np.ndarray:
        """A node's verdicts; nodes used more than once are computed once and kept."""
        shared = self.plan.uses[node] > 1
        if shared and node in self.kept:
            self.left[node] -= 1
            value = self.kept[node]
            if self.left[node] == 0:
                del self.kept[node]
            return value
        kind = node[0]
        if kind == "p":
            value = self.test(node[1])
        elif kind == "not":
            value = ~self.node(node[1])
        else:
            parts = node[1]
            if not parts:
                value = np.full(self.n, kind == "and")
            else:
                value = self.node(parts[0])
                op = np.logical_and if kind == "and" else np.logical_or
                owned = False
                for part in parts[1:]:
                    other = self.node(part)
                    if owned:
                        op(value, other, out=value)
                    else:
                        value = op(value, other)
                        owned = True
        if shared:
            self.left[node] -= 1
            if self.left[node] > 0:
                self.kept[node] = value
        return value


def rule_hits(plan: Plan, frame: pl.DataFrame) -> list[np.ndarray]:
    """Per rule of the plan, the boolean hit array over the frame's rows."""
    evaluator = _Evaluator(plan, frame)
    return [evaluator.node(root) for root in plan.roots]


def _list_layout(
    positions: Sequence[np.ndarray], n: int
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """(row offsets, rule index per slot, slots of each rule) of per-row lists in rule order."""
    counts = np.zeros(n, dtype=np.int64)
    for rows in positions:
        counts[rows] += 1  # rows are unique within a rule, so fancy += is exact
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    fill = offsets[:-1].copy()
    codes = np.empty(int(offsets[-1]), dtype=np.int64)
    slots: list[np.ndarray] = []
    for j, rows in enumerate(positions):
        slot = fill[rows]
        codes[slot] = j
        fill[rows] += 1
        slots.append(slot)
    return offsets, codes, slots


def id_lists(rules: Sequence[Rule], positions: Sequence[np.ndarray], n: int) -> pl.Series:
    """Per row, the ids of the rules that hit, in pack order."""
    offsets, codes, _ = _list_layout(positions, n)
    ids = pl.Series("id", [r.id for r in rules], dtype=pl.String).gather(codes)
    return lists_from_offsets(offsets, ids)


def reason_lists(
    frame: pl.DataFrame,
    rules: Sequence[Rule],
    positions: Sequence[np.ndarray],
    schema: Mapping[str, pl.DataType],
) -> pl.Series:
    """Per row, the rendered reasons of the rules that hit (only those rows are rendered)."""
    offsets, codes, slots = _list_layout(positions, frame.height)
    rendered = [
        render_rows(frame, rule, rows, schema) for rule, rows in zip(rules, positions, strict=True)
    ]
    flat = pl.concat(rendered) if rendered else pl.Series("reason", [], dtype=pl.String)
    order = np.empty(len(codes), dtype=np.int64)
    if slots:
        order[np.concatenate(slots)] = np.arange(len(codes), dtype=np.int64)
    return lists_from_offsets(offsets, flat.gather(order))


def score(rules: Sequence[Rule], positions: Sequence[np.ndarray], n: int) -> np.ndarray:
    """Sum of the weights of the rules that hit, added in pack order."""
    total = np.zeros(n, dtype=np.float64)
    for rule, rows in zip(rules, positions, strict=True):
        total[rows] += float(rule.weight)
    return total


def evaluate_plan(
    frame: pl.DataFrame,
    plan: Plan,
    active: Sequence[Rule],
    shadow: Sequence[Rule],
    *,
    keep_rule_columns: bool = False,
    reasons: bool = True,
) -> pl.DataFrame:
    """``frame`` with ``rule_score``, ``rule_hits``, ``rule_reasons`` (unless ``reasons`` is
    False) and ``rule_shadow_hits``; ``keep_rule_columns`` adds ``rule__<id>`` columns."""
    hits = rule_hits(plan, frame)
    n = frame.height
    by_id = dict(zip((r.id for r in plan.rules), hits, strict=True))
    active_rows = [np.flatnonzero(by_id[r.id]) for r in active]
    shadow_rows = [np.flatnonzero(by_id[r.id]) for r in shadow]
    columns: list[pl.Series] = []
    if keep_rule_columns:
        columns.extend(pl.Series(hit_column(r.id), by_id[r.id]) for r in [*active, *shadow])
    columns.append(pl.Series("rule_score", score(active, active_rows, n)))
    columns.append(id_lists(active, active_rows, n).alias("rule_hits"))
    if reasons:
        columns.append(reason_lists(frame, active, active_rows, plan.schema).alias("rule_reasons"))
    columns.append(id_lists(shadow, shadow_rows, n).alias("rule_shadow_hits"))
    return frame.with_columns(columns)


def evaluate(
    frame: pl.DataFrame,
    active: Sequence[Rule],
    shadow: Sequence[Rule],
    schema: Mapping[str, pl.DataType],
    *,
    keep_rule_columns: bool = False,
    reasons: bool = True,
) -> pl.DataFrame:
    """:func:`evaluate_plan` with a plan made for these rules (one-off evaluations)."""
    plan = Plan([*active, *shadow], schema)
    return evaluate_plan(
        frame, plan, active, shadow, keep_rule_columns=keep_rule_columns, reasons=reasons
    )


def render_reasons(
    frame: pl.DataFrame, active: Sequence[Rule], schema: Mapping[str, pl.DataType]
) -> pl.Series:
    """``rule_reasons`` of the rows of ``frame`` from their ``rule_hits`` (any row subset:
    e.g. only the flagged rows, after scoring with ``reasons=False``)."""
    hit_ids = frame.get_column("rule_hits")
    row = np.repeat(
        np.arange(frame.height, dtype=np.int64),
        hit_ids.list.len().fill_null(0).to_numpy().astype(np.int64),
    )
    flat = hit_ids.explode(empty_as_null=False, keep_nulls=False).to_numpy()
    positions = [row[flat == r.id] for r in active]
    return reason_lists(frame, active, positions, schema).alias("rule_reasons")
