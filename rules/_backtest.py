"""Backtest a pack on a labelled history: hits, precision, lift and overlap per rule."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from engine.errors import Location, LookoutError
from engine.prepare import prepare_history, read_columns
from engine.prepare import read_history as engine_read_history
from engine.spec import DatasetSpec
from rules._compile import hit_column
from rules._pack import CompiledPack, RulePack

POSITIVE_RESULTS = ("seizure", "irregularity")
TIME_COLUMNS = ("filed_at", "departed_at", "arrival_eta")


class BacktestError(LookoutError):
    """A history cannot be read or lacks what a backtest needs."""


def read_history(
    path: Path | str, spec: DatasetSpec | None = None, *, notes: list[str] | None = None
) -> pl.DataFrame:
    """A labelled history file read the way a batch is (:func:`engine.prepare.read_history`:
    the format told by its content, columns mapped by ``spec``, default canonical names).

    Records that cannot be read are left out and counted in ``notes``; a file that cannot
    be read at all raises :class:`BacktestError` where it failed.
    """
    p = Path(path)
    if not p.is_file():
        raise BacktestError(
            "history file not found",
            location=Location(file=str(p)),
            hint="give a labelled history file (Parquet, CSV, Arrow IPC, NDJSON, ...)",
        )
    try:
        frame, rejected = engine_read_history([p], spec)
    except LookoutError as err:
        raise BacktestError(
            f"cannot read history: {err.message}", location=err.location, hint=err.hint
        ) from err
    if rejected.height and notes is not None:
        notes.append(f"{rejected.height:,} record(s) of {p} could not be read and were left out")
    return frame


def dataset_fields(path: Path | str, spec: DatasetSpec | None = None) -> dict[str, pl.DataType]:
    """Columns of a data file, read through ``spec`` as a batch is, that the engine's
    catalogue does not know (dataset fields), with the types rules will see."""
    from engine.schema import known_fields

    p = Path(path)
    if not p.is_file():
        raise BacktestError(
            f"cannot read the columns of '{p}'",
            location=Location(file=str(p)),
            hint="give an existing data file (Parquet, CSV, Arrow IPC, NDJSON, ...)",
        )
    try:
        schema = read_columns(p, spec)
    except LookoutError as err:
        raise BacktestError(
            f"cannot read the columns: {err.message}", location=err.location, hint=err.hint
        ) from err
    known = known_fields()
    return {name: dtype for name, dtype in schema.items() if name not in known}


@dataclass
class BacktestReport:
    """Per-rule statistics, pack totals, pairwise overlaps and what was skipped."""

    rules: pl.DataFrame
    totals: dict[str, Any]
    overlap: dict[str, dict[str, int]]
    skipped: list[dict[str, Any]]
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "rules": self.rules.to_dicts(),
            "totals": self.totals,
            "overlap": self.overlap,
            "skipped": self.skipped,
            "notes": self.notes,
        }


def _time_column(frame: pl.DataFrame) -> str | None:
    return next((c for c in TIME_COLUMNS if c in frame.columns), None)


def filter_period(
    frame: pl.DataFrame, start: dt.date | None, until: dt.date | None
) -> pl.DataFrame:
    """Rows whose filing (or departure) date lies in [start, until]."""
    if start is None and until is None:
        return frame
    col = _time_column(frame)
    if col is None:
        raise BacktestError(
            "--from/--until need a filed_at, departed_at or arrival_eta column",
            hint="add the filing time to the history or drop --from/--until",
        )
    day = pl.col(col).cast(pl.Date)
    if start is not None:
        frame = frame.filter(day >= start)
    if until is not None:
        frame = frame.filter(day <= until)
    return frame


def _labels(frame: pl.DataFrame) -> tuple[pl.Expr, pl.Expr]:
    result = (
        pl.col("inspection_result").cast(pl.String).str.to_lowercase()
        if "inspection_result" in frame.columns
        else pl.lit(None, pl.String)
    )
    inspected = (
        pl.col("inspected").fill_null(False)
        if "inspected" in frame.columns
        else result.is_not_null()
    )
    positive = inspected & result.is_in(list(POSITIVE_RESULTS)).fill_null(False)
    return inspected, positive


def _ratio(a: float, b: float) -> float | None:
    return a / b if b else None


def backtest(
    pack: RulePack,
    history: pl.DataFrame,
    *,
    start: dt.date | None = None,
    until: dt.date | None = None,
    prepare: bool = True,
) -> BacktestReport:
    """Run every non-retired rule (experimental ones in shadow) on a labelled history."""
    notes: list[str] = []
    if prepare:
        history = prepare_history(history, notes=notes)
    history = filter_period(history, start, until)
    compiled: CompiledPack = pack.compile(history.schema, ignore_validity=True)
    scored = compiled.apply(history, keep_rule_columns=True)
    inspected, positive = _labels(scored)
    tcol = _time_column(scored)
    n_days = (
        int(scored.select(pl.col(tcol).cast(pl.Date).n_unique()).item())
        if tcol and scored.height
        else 0
    )
    rows = scored.height
    base = scored.select(inspected.sum().alias("i"), positive.sum().alias("p")).row(0)
    n_inspected, n_positive = int(base[0] or 0), int(base[1] or 0)
    base_rate = _ratio(n_positive, n_inspected)
    ids = compiled.rule_ids
    counts = (
        scored.select(
            [pl.col(hit_column(i)).sum().alias(f"h{k}") for k, i in enumerate(ids)]
            + [(pl.col(hit_column(i)) & inspected).sum().alias(f"i{k}") for k, i in enumerate(ids)]
            + [(pl.col(hit_column(i)) & positive).sum().alias(f"p{k}") for k, i in enumerate(ids)]
        ).row(0, named=True)
        if ids
        else {}
    )
    overlap = _overlap(scored, ids)
    records = []
    for k, rule in enumerate(compiled.rules):
        hits, ins, pos = int(counts[f"h{k}"]), int(counts[f"i{k}"]), int(counts[f"p{k}"])
        precision = _ratio(pos, ins)
        others = {o: n for o, n in overlap.get(rule.id, {}).items() if o != rule.id}
        top = max(others.items(), key=lambda kv: kv[1]) if others else (None, 0)
        records.append(
            {
                "rule": rule.id,
                "status": rule.status,
                "weight": rule.weight,
                "hits": hits,
                "hits_per_day": _ratio(hits, n_days),
                "hit_rate": _ratio(hits, rows),
                "inspected_hits": ins,
                "hit_rate_inspected": _ratio(ins, n_inspected),
                "positives": pos,
                "precision": precision,
                "lift": None if precision is None or not base_rate else precision / base_rate,
                "recall": _ratio(pos, n_positive),
                "top_overlap": top[0] if top[1] else None,
                "top_overlap_share": _ratio(top[1], hits) if top[1] else None,
            }
        )
    table = pl.DataFrame(
        records,
        schema={
            "rule": pl.String,
            "status": pl.String,
            "weight": pl.Float64,
            "hits": pl.Int64,
            "hits_per_day": pl.Float64,
            "hit_rate": pl.Float64,
            "inspected_hits": pl.Int64,
            "hit_rate_inspected": pl.Float64,
            "positives": pl.Int64,
            "precision": pl.Float64,
            "lift": pl.Float64,
            "recall": pl.Float64,
            "top_overlap": pl.String,
            "top_overlap_share": pl.Float64,
        },
    )
    totals = _totals(
        scored, inspected, positive, rows, n_days, n_inspected, n_positive, base_rate, compiled
    )
    return BacktestReport(table, totals, overlap, compiled.skipped, notes)


def _overlap(scored: pl.DataFrame, ids: list[str]) -> dict[str, dict[str, int]]:
    """Rows hit by both rules, for every pair (chunked matrix product, bounded memory)."""
    if not ids:
        return {}
    total = np.zeros((len(ids), len(ids)), dtype=np.int64)
    step = 200_000
    for offset in range(0, scored.height, step):
        part = scored.slice(offset, step).select([hit_column(i) for i in ids])
        x = part.to_numpy().astype(np.float32)
        total += np.rint(x.T @ x).astype(np.int64)
    return {
        a: {b: int(total[i, j]) for j, b in enumerate(ids) if total[i, j]}
        for i, a in enumerate(ids)
    }


def _totals(
    scored: pl.DataFrame,
    inspected: pl.Expr,
    positive: pl.Expr,
    rows: int,
    n_days: int,
    n_inspected: int,
    n_positive: int,
    base_rate: float | None,
    compiled: CompiledPack,
) -> dict[str, Any]:
    any_active = pl.col("rule_hits").list.len() > 0
    any_shadow = pl.col("rule_shadow_hits").list.len() > 0
    agg = scored.select(
        any_active.sum().alias("a"),
        (any_active & inspected).sum().alias("ai"),
        (any_active & positive).sum().alias("ap"),
        any_shadow.sum().alias("s"),
        (any_shadow & inspected).sum().alias("si"),
        (any_shadow & positive).sum().alias("sp"),
        pl.col("rule_score").mean().alias("mean_score"),
    ).row(0, named=True)
    precision = _ratio(agg["ap"], agg["ai"])
    shadow_precision = _ratio(agg["sp"], agg["si"])
    return {
        "rows": rows,
        "days": n_days,
        "inspected": n_inspected,
        "positives": n_positive,
        "base_rate": base_rate,
        "rows_with_active_hit": int(agg["a"] or 0),
        "active_hit_rate": _ratio(agg["a"] or 0, rows),
        "active_inspected_hits": int(agg["ai"] or 0),
        "active_precision": precision,
        "active_lift": precision / base_rate if precision is not None and base_rate else None,
        "active_recall": _ratio(agg["ap"] or 0, n_positive),
        "rows_with_shadow_hit": int(agg["s"] or 0),
        "shadow_precision": shadow_precision,
        "mean_rule_score": agg["mean_score"],
        "rules_evaluated": len(compiled.rules),
        "rules_skipped": len(compiled.skipped),
    }
