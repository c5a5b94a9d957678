"""Liveness, readiness and Prometheus metrics (no authentication)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from sqlalchemy import text

from api.i18n import _N
from api.problems import ProblemException
from api.state import State

router = APIRouter(tags=["operations"])


class Health(BaseModel):
    """Liveness or readiness."""

    status: Literal["ok"]
    unit_id: str
    checks: dict[str, str] = {}


@router.get("/healthz", response_model=Health, summary="The process is alive")
def healthz(state: State) -> Health:
    """Answers as long as the process serves requests."""
    return Health(status="ok", unit_id=state.settings.unit_id)


@router.get(
    "/readyz",
    response_model=Health,
    summary="The service can score",
    responses={503: {"description": "Database unreachable or scorer not loaded yet"}},
)
def readyz(state: State) -> Health:
    """Ready when the database answers and the scorer (rules and model) is loaded."""
    try:
        with state.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as err:
        raise ProblemException(503, _N("Not ready"), f"database unreachable: {err}") from err
    if state.scorer_error is not None:
        raise ProblemException(503, _N("Not ready"), f"scorer failed to load: {state.scorer_error}")
    if not state.scorer_ready:
        raise ProblemException(503, _N("Not ready"), "the scorer is still loading rules and model")
    return Health(
        status="ok", unit_id=state.settings.unit_id, checks={"database": "ok", "scorer": "ok"}
    )


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
def metrics(state: State) -> Response:
    """Requests, latencies, errors, batches scored and rows processed."""
    return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
