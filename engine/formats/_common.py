"""Shared pieces of the industry-format readers: the columns they emit, units, quarantine."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl
import pyarrow as pa

from engine._canonical import QUARANTINE_SCHEMA
from engine.schema import CANONICAL, LABEL_FIELDS, NOT_IN_MESSAGES
from engine.spec import UNITS_TO_KG

RAW_SNIPPET = 300

# Units of measure the readers convert to kilograms: the spec's table (UN/ECE Rec 20 codes
# KGM, TNE, LBR, GRM and plain names), plus the Rec 20 code for grams and common spellings.
WEIGHT_UNITS: dict[str, float] = {**UNITS_TO_KG, "grm": 0.001, "kgs": 1.0, "lbs": 0.45359237}

# Canonical fields the readers fill, in the catalogue's order, with the dtype they emit (the
# canonical dtype, except times, which stay ISO text so the spec's conversion applies as for
# any other source).
EMITTED: tuple[str, ...] = tuple(
    name for name in CANONICAL if name not in LABEL_FIELDS and name not in NOT_IN_MESSAGES
)


def emitted_schema(extras: Sequence[str]) -> dict[str, pl.DataType]:
    """The schema of a reader's frame: canonical fields it fills, then its extra columns."""
    schema: dict[str, pl.DataType] = {}
    for name in EMITTED:
        dtype = CANONICAL[name].dtype
        schema[name] = pl.String() if isinstance(dtype, pl.Datetime) else dtype
    for name in extras:
        schema[name] = pl.String()
    return schema


def weight_factor(unit: pl.Expr) -> pl.Expr:
    """Kilograms per unit of ``unit`` (a unit code), null where the unit is unknown."""
    return (
        unit.str.strip_chars()
        .str.to_lowercase()
        .replace_strict(WEIGHT_UNITS, default=None, return_dtype=pl.Float64)
    )


def known_units() -> str:
    return ", ".join(sorted({u.upper() for u in WEIGHT_UNITS}))


def joined(expr: pl.Expr, separator: str = ";") -> pl.Expr:
    """Distinct non-empty values of a list expression (in an aggregation), joined; null if none."""
    values = expr.list.explode(keep_nulls=False, empty_as_null=False).drop_nulls()
    text = values.unique(maintain_order=True).str.join(separator)
    return pl.when(text.str.len_chars() > 0).then(text).otherwise(None)


def quarantine_frame(
    source_file: str,
    lines: list[int],
    fields: list[str | None],
    reasons: list[str],
    raws: list[str | None],
) -> pl.DataFrame:
    """Quarantine records in the shared QUARANTINE_SCHEMA."""
    return pl.DataFrame(
        {
            "source_file": [source_file] * len(lines),
            "source_line": lines,
            "field": fields,
            "reason": reasons,
            "raw": [None if r is None else r[:RAW_SNIPPET] for r in raws],
        },
        schema=QUARANTINE_SCHEMA,
    )


_ARROW_TYPES: dict[pl.DataType, pa.DataType] = {
    pl.String(): pa.string(),
    pl.Int64(): pa.int64(),
    pl.Float64(): pa.float64(),
    pl.Boolean(): pa.bool_(),
    pl.List(pl.String()): pa.list_(pa.string()),
}


def columns_frame(
    rows: list[dict[str, Any]], schema: Mapping[str, pl.DataType] | None = None
) -> pl.DataFrame:
    """Row dicts → frame, built column by column through Arrow (polars 2 builds nested list
    columns from Python objects one value at a time; Arrow does it in one C call)."""
    names = list(schema) if schema is not None else list(dict.fromkeys(k for r in rows for k in r))
    arrays = {}
    for name in names:
        values = [r.get(name) for r in rows]
        arrow_type = _ARROW_TYPES.get(schema[name]) if schema is not None else None
        arrays[name] = pa.array(values, type=arrow_type)
    frame = pl.from_arrow(pa.table(arrays)) if names else pl.DataFrame()
    assert isinstance(frame, pl.DataFrame)
    if schema is not None:
        frame = frame.cast(pl.Schema(dict(schema)))
    return frame
