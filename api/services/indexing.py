"""Index a scored Parquet file into the store: one row per scored container, one per rule hit.

The Parquet file stays the record of the run; the index holds what lists, filters and
container look-ups need. JSON payloads are encoded by polars, never row by row in Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl
from sqlalchemy import String, insert, select
from sqlalchemy.orm import Session

from api.db import utcnow
from api.tables import RuleHit, ScoredContainer
from engine.i18n import LOCALES, localised_column
from engine.schema import SHOWN_FIELDS

CHUNK_ROWS = 5_000

DISPLAY_FIELDS = SHOWN_FIELDS
"""Fields shown with a flagged row, when the batch has them (``engine.schema`` places them)."""
_LISTS = (
    "rule_hits",
    "rule_reasons",
    "rule_shadow_hits",
    "model_reasons",
    *(localised_column(c, loc) for loc in LOCALES[1:] for c in ("rule_reasons", "model_reasons")),
)
"""The lists kept as JSON per row; reasons in every locale (``rule_reasons_ru``, ...)."""
_SCALARS: dict[str, pl.DataType] = {
    "record_id": pl.String(),
    "row_index": pl.Int64(),
    "source_line": pl.Int64(),
    "container_number": pl.String(),
    "bl_number": pl.String(),
    "lane": pl.String(),
    "risk_score": pl.Float64(),
    "rule_score": pl.Float64(),
    "model_probability": pl.Float64(),
    "selected": pl.Boolean(),
    "selection_reason": pl.String(),
}


@dataclass(frozen=True)
class IndexCounts:
    """How many rows the index received."""

    scored: int
    flagged: int
    selected: int
    rule_hits: int


def flagged_expr() -> pl.Expr:
    """A row is flagged when it is selected or its lane is not green."""
    return pl.col("selected").fill_null(False) | pl.col("lane").is_in(["red", "yellow"]).fill_null(
        False
    )


def _complete(scored: pl.DataFrame) -> pl.DataFrame:
    """Add the columns a scorer without a model (or without rules) does not write."""
    frame = scored.with_columns(
        [pl.lit(None, dtype=t).alias(c) for c, t in _SCALARS.items() if c not in scored.columns]
        + [pl.lit([], dtype=pl.List(pl.String)).alias(c) for c in _LISTS if c not in scored.columns]
    )
    if "row_index" not in scored.columns:
        frame = frame.with_columns(pl.int_range(pl.len(), dtype=pl.Int64).alias("row_index"))
    return frame.with_columns(
        pl.col("record_id").cast(pl.String).fill_null(pl.col("row_index").cast(pl.String)),
        pl.col("selected").fill_null(False),
        # Look-ups normalise the same way (api.services.inspections.normalise_container).
        pl.col("container_number").str.replace_all(r"[\s-]", "").str.to_uppercase(),
        *[pl.col(c).cast(pl.List(pl.String)).fill_null([]) for c in _LISTS],
    ).with_columns(flagged_expr().alias("flagged"))


_TEXT_LENGTHS: dict[str, int] = {
    column.name: column.type.length
    for column in ScoredContainer.__table__.columns
    if isinstance(column.type, String) and column.type.length
}
"""The bounded text columns of ``scored_containers`` and their lengths (PostgreSQL refuses a
longer value; SQLite would take it)."""


def _scalar(column: str, dtype: pl.DataType) -> pl.Expr:
    expr = pl.col(column).cast(dtype)
    length = _TEXT_LENGTHS.get(column)
    return expr.str.slice(0, length) if length else expr


def index_frame(scored: pl.DataFrame) -> pl.DataFrame:
    """The ``scored_containers`` columns computed from an engine ``scored.parquet`` frame.

    Text the upload supplies (``record_id``, ``container_number``, ``bl_number``) is cut to
    its index column's length: the index holds the first characters of an over-long value,
    the batch's ``scored.parquet`` the whole of it."""
    frame = _complete(scored)
    display = [c for c in DISPLAY_FIELDS if c in frame.columns]
    dq = sorted(c for c in frame.columns if c.startswith("dq_"))
    fields = pl.struct([*display, *dq]).struct.json_encode() if display or dq else pl.lit("{}")
    return frame.select(
        *[_scalar(c, t) for c, t in _SCALARS.items()],
        pl.col("flagged"),
        pl.struct(list(_LISTS)).struct.json_encode().alias("reasons"),
        pl.when(pl.col("flagged")).then(fields).otherwise(pl.lit("{}")).alias("fields"),
    )


def index_scored(
    session: Session, *, batch_id: str, unit_id: str, scored_path: Path
) -> IndexCounts:
    """Insert the index rows of one batch (the caller commits)."""
    scored = _complete(pl.read_parquet(scored_path))
    frame = index_frame(scored).with_columns(
        # PostgreSQL text and JSON refuse NUL, which an upload's values may carry.
        pl.col(pl.String)
        .str.replace_all("\x00", "\ufffd", literal=True)
        .str.replace_all("\\u0000", "\\ufffd", literal=True),
        pl.lit(batch_id).alias("batch_id"),
        pl.lit(unit_id).alias("unit_id"),
    )
    for start in range(0, frame.height, CHUNK_ROWS):
        session.execute(insert(ScoredContainer), frame.slice(start, CHUNK_ROWS).to_dicts())
    ids = pl.DataFrame(
        session.execute(
            select(ScoredContainer.id, ScoredContainer.row_index).where(
                ScoredContainer.batch_id == batch_id
            )
        ).all(),
        schema={"scored_id": pl.Int64, "row_index": pl.Int64},
        orient="row",
    )
    hits = (
        scored.select("row_index", "rule_hits")
        .explode("rule_hits")
        .drop_nulls("rule_hits")
        .join(ids, on="row_index")
        .select(
            "scored_id",
            pl.col("rule_hits").alias("rule_id"),
            pl.lit(batch_id).alias("batch_id"),
            pl.lit(unit_id).alias("unit_id"),
            pl.lit(utcnow()).alias("created_at"),
        )
    )
    for start in range(0, hits.height, CHUNK_ROWS):
        session.execute(insert(RuleHit), hits.slice(start, CHUNK_ROWS).to_dicts())
    return IndexCounts(
        scored=frame.height,
        flagged=int(frame["flagged"].sum()),
        selected=int(frame["selected"].sum()),
        rule_hits=hits.height,
    )
