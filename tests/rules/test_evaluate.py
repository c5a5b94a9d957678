"""The fast evaluator against the plain expression form of the rules, on generated batches.

``CompiledPack.apply`` computes each distinct test once and text tests on distinct values
(``rules._evaluate``); ``rules._compile.rule_expr`` is the rule as one polars expression.
Both must give the same hits, and the outputs must be what the hits imply.
"""

from __future__ import annotations

import polars as pl
import pytest
from polars.testing import assert_frame_equal, assert_series_equal

import rules._evaluate as evaluation
from benchmarks.bench_rules import generate_frame, synthetic_pack_text
from rules import CompiledPack, RulePack, load_pack, load_pack_text
from rules._compile import expression_hits, hit_column, reason_expr

ROWS = 3_000


@pytest.fixture(scope="module")
def packs() -> tuple[RulePack, RulePack]:
    return load_pack(), load_pack_text(synthetic_pack_text(60, seed=5), file="<synthetic>.yaml")


@pytest.fixture(scope="module")
def batch(packs: tuple[RulePack, RulePack]) -> pl.DataFrame:
    frame = generate_frame(list(packs), ROWS, seed=3)
    # a free-text column (values barely repeat) so that both text routes are exercised
    words = pl.Series([f"Item {i} of lot {i % 97}" for i in range(ROWS)])
    return frame.with_columns(
        pl.when(pl.int_range(ROWS) % 3 == 0)
        .then(words)
        .otherwise(pl.col("goods_description"))
        .alias("goods_description")
    )


_EXPECTED: dict[int, pl.DataFrame] = {}


def expected_outputs(compiled: CompiledPack, frame: pl.DataFrame) -> pl.DataFrame:
    """The four outputs built row by row from the expression form's hit columns."""
    hits = expression_hits(frame, compiled.rules, compiled.schema)
    ids, shadow, score = [], [], []
    reasons: dict[str, list[list[str]]] = {"en": [], "ru": []}
    # each rule's reason on every row, from its template expression alone (not the
    # per-rule rendering of the hit rows that apply() does)
    rendered = {
        (r.id, loc): frame.select(
            pl.repeat(0, pl.len()).alias("__rows"), reason_expr(r, compiled.schema, loc).alias("t")
        )["t"]
        .cast(pl.String)
        .to_list()
        for r in compiled.active
        for loc in reasons
    }
    columns = {r.id: hits[hit_column(r.id)].to_list() for r in compiled.rules}
    for i in range(frame.height):
        hit = [r for r in compiled.active if columns[r.id][i]]
        ids.append([r.id for r in hit])
        for loc, texts in reasons.items():
            texts.append([rendered[r.id, loc][i] for r in hit])
        shadow.append([r.id for r in compiled.shadow if columns[r.id][i]])
        score.append(sum((r.weight for r in hit), 0.0))
    return hits.with_columns(
        pl.Series("rule_score", score, dtype=pl.Float64),
        pl.Series("rule_hits", ids, dtype=pl.List(pl.String)),
        pl.Series("rule_reasons", reasons["en"], dtype=pl.List(pl.String)),
        pl.Series("rule_reasons_ru", reasons["ru"], dtype=pl.List(pl.String)),
        pl.Series("rule_shadow_hits", shadow, dtype=pl.List(pl.String)),
    )


@pytest.mark.parametrize("pack_index", [0, 1], ids=["shipped", "synthetic"])
@pytest.mark.parametrize("share", [-1.0, evaluation.ENCODE_MAX_DISTINCT_SHARE, 1.0])
def test_fast_evaluation_equals_expression_form(
    packs: tuple[RulePack, RulePack],
    batch: pl.DataFrame,
    pack_index: int,
    share: float,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(evaluation, "ENCODE_MAX_DISTINCT_SHARE", share)
    compiled = packs[pack_index].compile(batch.schema, ignore_validity=True)
    assert len(compiled.rules) > 30 and not compiled.skipped
    out = compiled.apply(batch, keep_rule_columns=True)
    if pack_index not in _EXPECTED:  # the same for every route: built once per pack
        _EXPECTED[pack_index] = expected_outputs(compiled, batch)
    expected = _EXPECTED[pack_index]
    assert_frame_equal(out.select(expected.columns), expected)
    assert out.columns[: batch.width] == batch.columns
    hit_rows = int((out["rule_hits"].list.len() > 0).sum())
    assert 0 < hit_rows < batch.height  # the batch exercises hits and misses


def test_reasons_later_for_a_subset_equal_the_full_output(
    packs: tuple[RulePack, RulePack], batch: pl.DataFrame
) -> None:
    compiled = packs[0].compile(batch.schema, ignore_validity=True)
    full = compiled.apply(batch)
    lean = compiled.apply(batch, reasons=False)
    assert "rule_reasons" not in lean.columns
    assert_frame_equal(lean, full.drop("rule_reasons", "rule_reasons_ru"))
    subset = lean.filter(pl.col("rule_score") > 0).reverse()  # any rows, any order
    expected = full.filter(pl.col("rule_score") > 0).reverse()
    assert_series_equal(compiled.reasons(subset), expected["rule_reasons"])
    assert_series_equal(compiled.reasons(subset, "ru"), expected["rule_reasons_ru"])
    assert compiled.reasons(lean.head(0)).to_list() == []


def test_empty_frame(packs: tuple[RulePack, RulePack], batch: pl.DataFrame) -> None:
    compiled = packs[1].compile(batch.schema, ignore_validity=True)
    out = compiled.apply(batch.head(0), keep_rule_columns=True)
    assert out.height == 0 and "rule_reasons" in out.columns
