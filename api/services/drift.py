"""Drift of a unit's traffic against the model's training window, from its run records.

Every scored batch's run record holds a ``drift`` section (``models.drift``); this module
reads the short form of it for one batch, the series over the last days for the model page
and ``GET /v1/model/drift``, and the latest batch's for the banner on the web pages.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db import utcnow
from api.schemas.drift import DriftPoint, ModelDrift, drift_of
from api.tables import Batch

__all__ = ["drift_since", "latest_drift"]


def drift_since(session: Session, unit_id: str, days: int) -> ModelDrift:
    """The drift of every batch the unit finished in the last ``days`` days, oldest first."""
    since = utcnow() - timedelta(days=days)
    rows = session.execute(
        select(Batch.id, Batch.source_name, Batch.finished_at, Batch.run_record)
        .where(Batch.unit_id == unit_id, Batch.status == "done", Batch.finished_at >= since)
        .order_by(Batch.finished_at, Batch.id)
    ).all()
    points = [
        DriftPoint(batch_id=bid, source_name=name, finished_at=finished, drift=summary)
        for bid, name, finished, record in rows
        if (summary := drift_of(record)) is not None
    ]
    return ModelDrift(
        days=days,
        batches=len(points),
        batches_with_alarms=sum(1 for p in points if p.drift.alarms),
        latest=points[-1] if points else None,
        points=points,
    )


def latest_drift(session: Session, unit_id: str) -> DriftPoint | None:
    """The drift of the unit's most recently finished batch that has drift figures."""
    rows = session.execute(
        select(Batch.id, Batch.source_name, Batch.finished_at, Batch.run_record)
        .where(Batch.unit_id == unit_id, Batch.status == "done")
        .order_by(Batch.finished_at.desc(), Batch.id.desc())
        .limit(5)
    ).all()
    for bid, name, finished, record in rows:
        if (summary := drift_of(record)) is not None:
            return DriftPoint(batch_id=bid, source_name=name, finished_at=finished, drift=summary)
    return None
