"""Preparing a labelled history the way a batch is scored: one way in for training and
backtests.

:func:`prepare` runs validate → enrich (reference joins, then the given enrichers) on a
canonical frame, exactly as :meth:`engine.scorer.Scorer.prepare` does for a chunk.
:func:`prepare_history` adds the point-in-time history features of each row from the rows
filed before it (the frame as its own history), as a model is trained and a rule pack
backtested on.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import polars as pl

from engine.errors import LookoutError
from engine.policy import ScoringPolicy
from engine.reference import ReferenceData
from engine.scorer import Scorer
from engine.stages import Stage


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
    (kept as they are when the frame has them already, e.g. an export of scored batches).

    A step that cannot apply (a LookoutError, e.g. no ``filed_at`` for history features)
    raises; with ``notes`` it is noted there instead and the frame goes on without it (a
    backtest then skips the rules that need the missing fields).
    """
    from engine.history import HISTORY_COLUMNS, point_in_time_features

    try:
        frame = prepare(frame, refs=refs)
    except LookoutError as err:
        if notes is None:
            raise
        notes.append(f"validate + enrich not applied: {err.message}")
    if all(name in frame.columns for name in HISTORY_COLUMNS):
        return frame
    try:
        frame = point_in_time_features(frame)
    except LookoutError as err:
        if notes is None:
            raise
        notes.append(f"history features not applied: {err.message}")
    return frame


__all__ = ["prepare", "prepare_history"]
