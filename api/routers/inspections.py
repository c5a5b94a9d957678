"""``/v1/inspections``: record what a physical inspection found."""

from __future__ import annotations

from fastapi import APIRouter

from api.audit import Audit
from api.auth import Analyst, SessionDep
from api.schemas.inspections import InspectionCreate, InspectionPublic
from api.services.inspections import record_inspection
from api.state import State

router = APIRouter(prefix="/v1/inspections", tags=["inspections"])


@router.post(
    "",
    status_code=201,
    response_model=InspectionPublic,
    summary="Record an inspection result",
    responses={
        404: {"description": "No such batch, or the container is not in it"},
        409: {"description": "Batch not scored yet, or the container is on several rows"},
    },
)
def create_inspection(
    state: State, session: SessionDep, principal: Analyst, audit: Audit, body: InspectionCreate
) -> InspectionPublic:
    """The result feeds the unit's history and the per-rule hit rates."""
    return record_inspection(state, session, principal, audit, body)
