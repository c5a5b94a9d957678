"""``/v1/rules``: the active pack with statistics, validation, versions, backtests."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from starlette.concurrency import run_in_threadpool

from api.audit import Audit
from api.auth import ReadSessionDep, RuleAuthor, SessionDep, Viewer
from api.schemas.rules import (
    BacktestReport,
    BacktestRequest,
    RulePackFiles,
    RulePackPublic,
    RulesOverview,
    ValidationReport,
)
from api.services import rules as service
from api.state import State

router = APIRouter(prefix="/v1/rules", tags=["rules"])


@router.get("", response_model=RulesOverview, summary="Active pack, rules and hit statistics")
def get_rules(state: State, session: ReadSessionDep, principal: Viewer) -> RulesOverview:
    """Each rule of the active pack with hits (all, 30 d, 90 d) and inspection hit rate."""
    return service.overview(state, session, principal)


@router.post(
    "/validate",
    response_model=ValidationReport,
    summary="Check a pack; the same file:line:col diagnostics as `lookout rules check`",
)
def validate(principal: Viewer, body: RulePackFiles) -> ValidationReport:
    """Always 200 with the report; ``valid`` says whether the pack could be activated."""
    return service.validate_files(body)


@router.post(
    "/packs",
    status_code=201,
    response_model=RulePackPublic,
    summary="Upload a new pack version (rule_author)",
)
def upload_pack(
    state: State, session: SessionDep, principal: RuleAuthor, audit: Audit, body: RulePackFiles
) -> RulePackPublic:
    """Stores a valid pack, inactive; activate it with ``POST /v1/rules/packs/{id}/activate``."""
    return service.upload_pack(state, session, principal, audit, body)


@router.post(
    "/packs/{pack_id}/activate",
    response_model=RulePackPublic,
    summary="Make a pack version the active one (rule_author, audited)",
)
def activate_pack(
    state: State,
    session: SessionDep,
    principal: RuleAuthor,
    audit: Audit,
    pack_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
) -> RulePackPublic:
    """Batches uploaded afterwards are scored with this pack."""
    return service.activate_pack(state, session, principal, audit, pack_id)


@router.post(
    "/backtest",
    response_model=BacktestReport,
    summary="Run a pack over your unit's scored and inspected history",
    responses={409: {"description": "No scored batch to backtest on"}},
)
async def backtest(
    state: State, session: ReadSessionDep, principal: Viewer, body: BacktestRequest
) -> BacktestReport:
    """Per-rule hits, hit rate, precision against recorded inspections, and overlap."""
    return await run_in_threadpool(service.backtest, state, session, principal, body)
