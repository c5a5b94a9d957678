"""Inspection results: recorded against a scored row of the caller's unit."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.audit import Auditor
from api.auth import Principal
from api.db import utcnow
from api.problems import ProblemException
from api.schemas.inspections import InspectionCreate, InspectionPublic
from api.services import _engine
from api.services.batches import get_batch
from api.state import AppState
from api.tables import Inspection, ScoredContainer

log = logging.getLogger("lookout.api.inspections")


def normalise_container(number: str) -> str:
    """Container numbers compare upper-case without spaces or dashes."""
    return number.replace(" ", "").replace("-", "").upper()


def record_inspection(
    state: AppState,
    session: Session,
    principal: Principal,
    audit: Auditor,
    body: InspectionCreate,
) -> InspectionPublic:
    """Record one inspection result; 404 if the container is not in that batch."""
    batch = get_batch(session, principal, body.batch_id)
    if batch.status != "done":
        raise ProblemException(
            409, "Batch not scored", f"batch {batch.id} is {batch.status}; wait until it is done"
        )
    number = normalise_container(body.container_number)
    query = select(ScoredContainer).where(
        ScoredContainer.batch_id == batch.id, ScoredContainer.container_number == number
    )
    if body.record_id is not None:
        query = query.where(ScoredContainer.record_id == body.record_id)
    rows = list(session.scalars(query.limit(50)))
    if not rows:
        raise ProblemException(
            404,
            "Container not in batch",
            f"container {number} (record {body.record_id or 'any'}) is not in batch {batch.id}",
        )
    if len(rows) > 1:
        records = ", ".join(r.record_id for r in rows)
        raise ProblemException(
            409,
            "Ambiguous container",
            f"container {number} appears on several rows of batch {batch.id} (records "
            f"{records}); send record_id to say which",
        )
    row = rows[0]
    inspection = Inspection(
        unit_id=principal.unit_id,
        batch_id=batch.id,
        scored_id=row.id,
        container_number=number,
        outcome=body.outcome,
        finding_type=body.finding_type,
        notes=body.notes,
        inspected_at=body.inspected_at or utcnow(),
        recorded_by=principal.key_id,
        recorded_at=utcnow(),
    )
    session.add(inspection)
    session.flush()
    audit(
        "inspection.record",
        f"{batch.id}/{row.record_id}",
        inspection_id=inspection.id,
        container_number=number,
        outcome=body.outcome,
        finding_type=body.finding_type,
    )
    session.commit()
    _feed_history(state, principal.unit_id, row, inspection)
    return inspection_public(inspection, row.record_id)


def _feed_history(
    state: AppState, unit_id: str, row: ScoredContainer, inspection: Inspection
) -> None:
    history = state.history_dir(unit_id)
    if history is None or row.bl_number is None:
        return
    try:
        _engine.record_outcome(
            history,
            container_number=inspection.container_number,
            bl_number=row.bl_number,
            inspection_result=inspection.outcome,
            finding_type=inspection.finding_type,
            recorded_at=inspection.inspected_at,
        )
    except Exception:
        # The inspection is recorded in the store; the history copy is best effort, logged.
        log.exception("could not add inspection %s to the history of %s", inspection.id, unit_id)


def inspection_public(inspection: Inspection, record_id: str) -> InspectionPublic:
    """The API view of an ``Inspection`` row."""
    return InspectionPublic(
        id=inspection.id,
        batch_id=inspection.batch_id,
        record_id=record_id,
        container_number=inspection.container_number,
        outcome=inspection.outcome,  # type: ignore[arg-type]
        finding_type=inspection.finding_type,
        notes=inspection.notes,
        inspected_at=inspection.inspected_at,
        recorded_by=inspection.recorded_by,
        recorded_at=inspection.recorded_at,
    )
