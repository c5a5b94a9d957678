"""``/v1/containers``: everything your unit knows about one container number."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from api.auth import ReadSessionDep, Viewer
from api.schemas.containers import ContainerDetail
from api.schemas.inspections import CONTAINER_PATTERN
from api.services.containers import container_detail
from api.state import State

router = APIRouter(prefix="/v1/containers", tags=["containers"])


@router.get(
    "/{container_number}",
    response_model=ContainerDetail,
    summary="Every scored appearance of a container",
)
def get_container(
    state: State,
    session: ReadSessionDep,
    principal: Viewer,
    container_number: Annotated[str, Path(min_length=1, max_length=40, pattern=CONTAINER_PATTERN)],
) -> ContainerDetail:
    """Appearances (newest first) with reasons, model contributions, inspections, queries."""
    return container_detail(state, session, principal, container_number)
