"""Inspection results: recorded against a scored row of the caller's unit."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.audit import Auditor
from api.auth import Principal
from api.db import utcnow
from api.i18n import _N
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
    """Record one inspection result; 404 if the container (or air waybill) is not in that
    batch, 409 if it names several rows."""
    batch = get_batch(session, principal, body.batch_id)
    if batch.status != "done":
        raise ProblemException(
            409,
            _N("Batch not scored"),
            f"batch {batch.id} is {batch.status}; wait until it is done",
        )
    if body.awb_number is not None:
        row = _air_waybill_row(session, batch.id, body)
        number = row.record_id  # the waybill inspected: master AWB, "/house" for a house
    else:
        number = normalise_container(body.container_number or "")
        row = _container_row(session, batch.id, number, body.record_id)
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
    if body.awb_number is not None:
        master, _, house = row.record_id.partition("/")
        _feed_history(state, principal.unit_id, row, inspection, air=(master, house or None))
        return inspection_public(inspection, row.record_id, air=(master, house or None))
    _feed_history(state, principal.unit_id, row, inspection)
    return inspection_public(inspection, row.record_id)


def _container_row(
    session: Session, batch_id: str, number: str, record_id: str | None
) -> ScoredContainer:
    query = select(ScoredContainer).where(
        ScoredContainer.batch_id == batch_id, ScoredContainer.container_number == number
    )
    if record_id is not None:
        query = query.where(ScoredContainer.record_id == record_id)
    rows = list(session.scalars(query.limit(50)))
    if not rows:
        raise ProblemException(
            404,
            _N("Container not in batch"),
            f"container {number} (record {record_id or 'any'}) is not in batch {batch_id}",
        )
    if len(rows) > 1:
        records = ", ".join(r.record_id for r in rows)
        raise ProblemException(
            409,
            _N("Ambiguous container"),
            f"container {number} appears on several rows of batch {batch_id} (records "
            f"{records}); send record_id to say which",
        )
    return rows[0]


def _air_waybill_row(session: Session, batch_id: str, body: InspectionCreate) -> ScoredContainer:
    """The scored row of an air waybill: keyed by the master AWB, and its house if given.

    A master given without a house names its own row, or its only house; a master with
    several houses needs ``house_awb_number``.
    """
    master = normalise_container(body.awb_number or "")
    house = body.house_awb_number.strip() if body.house_awb_number else None
    key = f"{master}/{house}" if house else master
    in_batch = select(ScoredContainer).where(ScoredContainer.batch_id == batch_id)
    rows = list(session.scalars(in_batch.where(ScoredContainer.record_id == key).limit(2)))
    if not rows and house is None:
        houses = in_batch.where(ScoredContainer.record_id.startswith(f"{master}/", autoescape=True))
        rows = list(session.scalars(houses.limit(50)))
    if not rows:
        raise ProblemException(
            404, _N("Air waybill not in batch"), f"air waybill {key} is not in batch {batch_id}"
        )
    if len(rows) > 1:
        records = ", ".join(r.record_id for r in rows)
        raise ProblemException(
            409,
            _N("Ambiguous air waybill"),
            f"master AWB {master} has several houses in batch {batch_id} ({records}); "
            "send house_awb_number to say which",
        )
    return rows[0]


def _feed_history(
    state: AppState,
    unit_id: str,
    row: ScoredContainer,
    inspection: Inspection,
    *,
    air: tuple[str, str | None] | None = None,
) -> None:
    history = state.history_dir(unit_id)
    if history is None or (air is None and row.bl_number is None):
        return
    try:
        _engine.record_outcome(
            history,
            container_number=None if air else inspection.container_number,
            bl_number=None if air else row.bl_number,
            awb_number=air[0] if air else None,
            house_awb_number=air[1] if air else None,
            inspection_result=inspection.outcome,
            finding_type=inspection.finding_type,
            recorded_at=inspection.inspected_at,
        )
    except Exception:
        # The inspection is recorded in the store; the history copy is best effort, logged.
        log.exception("could not add inspection %s to the history of %s", inspection.id, unit_id)


def inspection_public(
    inspection: Inspection, record_id: str, *, air: tuple[str, str | None] | None = None
) -> InspectionPublic:
    """The API view of an ``Inspection`` row; ``air`` is the master and house AWB of an air
    waybill's inspection (its ``container_number`` column then holds the waybill key)."""
    return InspectionPublic(
        id=inspection.id,
        batch_id=inspection.batch_id,
        record_id=record_id,
        container_number=None if air else inspection.container_number,
        awb_number=air[0] if air else None,
        house_awb_number=air[1] if air else None,
        outcome=inspection.outcome,  # type: ignore[arg-type]
        finding_type=inspection.finding_type,
        notes=inspection.notes,
        inspected_at=inspection.inspected_at,
        recorded_by=inspection.recorded_by,
        recorded_at=inspection.recorded_at,
    )
