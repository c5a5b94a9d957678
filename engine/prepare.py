"""Preparing a labelled history the way a batch is scored: one way in for training and
backtests.

:func:`prepare` runs validate → enrich (reference joins, then the given enrichers) on a
canonical frame, exactly as :meth:`engine.scorer.Scorer.prepare` does for a chunk.
:func:`prepare_history` adds the point-in-time history features of each row from the rows
filed before it (the frame as its own history), as a model is trained and a rule pack
backtested on. :func:`read_history` reads the files of such a history the way a batch is
read (ingest with a dataset spec: the format told by the file's content, the same
conversions, keys and quarantine).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path

import polars as pl

from engine._canonical import empty_quarantine
from engine.errors import IngestError, Location, LookoutError
from engine.ingest import read_chunks
from engine.policy import ScoringPolicy
from engine.reference import ReferenceData
from engine.scorer import Scorer
from engine.spec import DatasetSpec
from engine.stages import Stage


def read_history(
    sources: Sequence[Path | str], spec: DatasetSpec | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The rows of history files (each a file or a glob) read through ``spec`` (default:
    canonical names, other columns kept as text), and the records quarantined on the way.

    Raises :class:`engine.errors.IngestError` (with the file) when a file cannot be read or
    no row of any file can be.
    """
    kept: list[pl.DataFrame] = []
    quarantine: list[pl.DataFrame] = [empty_quarantine()]
    for source in sources:
        for chunk in read_chunks(source, spec):
            if chunk.rows.height:
                kept.append(chunk.rows)
            quarantine.append(chunk.quarantine)
    rejected = pl.concat(quarantine)
    if not kept:
        first = rejected.row(0, named=True) if rejected.height else {}
        raise IngestError(
            "no rows could be read"
            + (
                f": {rejected.height:,} records rejected, the first: {first['reason']}"
                if first
                else ""
            ),
            location=Location(
                file=first.get("source_file") or ", ".join(str(s) for s in sources),
                line=first.get("source_line"),
                field=first.get("field"),
            ),
            hint="map the columns with a dataset spec (lookout spec infer FILE) and pass it",
        )
    return pl.concat(kept, how="vertical_relaxed"), rejected


def read_columns(source: Path | str, spec: DatasetSpec | None = None) -> pl.Schema:
    """The columns (and types) a file's rows have once read through ``spec``, from its
    first chunk."""
    for chunk in read_chunks(source, spec, chunk_rows=1_000):
        if chunk.rows.width:
            return chunk.rows.schema
    return pl.Schema()


def prepare(
    frame: pl.DataFrame,
    *,
    refs: ReferenceData | None = None,
    enrichers: Sequence[Stage] = (),
    present: Collection[str] | None = None,
) -> pl.DataFrame:
    """validate → enrich a canonical frame (reference data: the shipped tables by default)."""
    scorer = Scorer(
        refs=refs or ReferenceData.load(),
        policy=ScoringPolicy.load(None),
        enrichers=tuple(enrichers),
    )
    return scorer.prepare(frame, present)


def prepare_history(
    frame: pl.DataFrame,
    *,
    refs: ReferenceData | None = None,
    notes: list[str] | None = None,
) -> pl.DataFrame:
    """validate → enrich, then the history features of each row from the earlier rows
    (kept as they are when the frame has them already with their types, e.g. an export of
    scored batches read as it was written; computed again otherwise).

    A step that cannot apply (a LookoutError, e.g. no ``filed_at`` for history features)
    raises; with ``notes`` it is noted there instead and the frame goes on without it (a
    backtest then skips the rules that need the missing fields).
    """
    from engine.history import HISTORY_COLUMNS, point_in_time_features
    from engine.schema import known_fields

    try:
        frame = prepare(frame, refs=refs)
    except LookoutError as err:
        if notes is None:
            raise
        notes.append(f"validate + enrich not applied: {err.message}")
    known = known_fields()
    if all(frame.schema.get(name) == known[name].dtype for name in HISTORY_COLUMNS):
        return frame
    frame = frame.drop(HISTORY_COLUMNS, strict=False)  # e.g. read as text: computed again
    try:
        frame = point_in_time_features(frame)
    except LookoutError as err:
        if notes is None:
            raise
        notes.append(f"history features not applied: {err.message}")
    return frame


__all__ = ["prepare", "prepare_history", "read_columns", "read_history"]
