"""``/v1/casenotes``: send, list and read case notes; backtest, adopt or decline their rules."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from starlette.concurrency import run_in_threadpool

from api.auth import Analyst, RuleAuthor, SessionDep, Viewer
from api.federation.casenotes import decisions, service, views
from api.federation.casenotes.schemas import (
    BacktestRun,
    CaseNoteCreate,
    CaseNotePage,
    CaseNotePublic,
    CaseNoteStatus,
    DecisionBody,
)
from api.federation.routers import FederationDep, own_unit, run_action
from api.state import State

NoteId = Annotated[str, Path(min_length=1, max_length=80, pattern=r"^[\w.:-]+$")]
_PROBLEMS: dict[int | str, dict[str, Any]] = {
    409: {"description": "Not possible in the note's state, or the rule does not fit the pack"},
    503: {"description": "This unit has no identity yet (`lookout unit init`)"},
}
router = APIRouter(prefix="/v1/casenotes", tags=["case notes"], responses=_PROBLEMS)


@router.post(
    "",
    status_code=201,
    response_model=CaseNotePublic,
    summary="Send a case note (and a proposed rule) to partner units or a group",
    responses={422: {"description": "Invalid note, or a proposed rule that does not load"}},
)
def send_note(
    body: CaseNoteCreate, principal: Analyst, session: SessionDep, fed: FederationDep
) -> CaseNotePublic:
    """The proposed rule is checked first (every problem at ``file:line:col``; nothing is
    sent when it has errors); parties marked ``mask`` are replaced by keyed tokens before
    signing. The note is committed with its outbox rows and delivered in the background."""
    note = run_action(
        fed,
        session,
        principal,
        lambda: service.send(session, fed, actor=principal.key_id, body=body),
    )
    return views.detail(session, fed, note)


@router.get("", response_model=CaseNotePage, summary="List case notes")
def list_notes(
    principal: Viewer,
    session: SessionDep,
    fed: FederationDep,
    box: Annotated[Literal["inbox", "outbox"] | None, Query(description="received or sent")] = None,
    status: Annotated[CaseNoteStatus | None, Query()] = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> CaseNotePage:
    """Newest first."""
    own_unit(fed, principal)
    rows, total = views.list_notes(session, fed, box=box, status=status, offset=offset, limit=limit)
    return CaseNotePage(data=rows, count=total, offset=offset, limit=limit)


@router.get("/{note_id}", response_model=CaseNotePublic, summary="A case note")
def get_note(
    note_id: NoteId, principal: Viewer, session: SessionDep, fed: FederationDep
) -> CaseNotePublic:
    """The note, this unit's check of its rule, each recipient's state and the backtests."""
    note = run_action(fed, session, principal, lambda: service.get_note(session, fed, note_id))
    return views.detail(session, fed, note)


@router.post(
    "/{note_id}/backtest",
    response_model=BacktestRun,
    summary="Backtest the proposed rule on this unit's history (rule_author)",
)
async def backtest(
    note_id: NoteId,
    state: State,
    principal: RuleAuthor,
    session: SessionDep,
    fed: FederationDep,
) -> BacktestRun:
    """Evaluates the active pack with the proposal adopted (in shadow) over the unit's scored
    and inspected history: per proposed rule hits, hits per day, precision, lift, recall and
    the existing rule it overlaps most. Stored with the note and audited."""

    def run() -> BacktestRun:
        done = run_action(
            fed,
            session,
            principal,
            lambda: decisions.backtest(state, session, fed, principal, note_id),
        )
        return BacktestRun(id=done.id, run_by=done.run_by, run_at=done.run_at, report=done.report)

    return await run_in_threadpool(run)


@router.post(
    "/{note_id}/adopt",
    response_model=CaseNotePublic,
    summary="Adopt the proposed rule into this unit's pack in shadow (rule_author)",
)
def adopt(
    note_id: NoteId,
    body: DecisionBody,
    state: State,
    principal: RuleAuthor,
    session: SessionDep,
    fed: FederationDep,
) -> CaseNotePublic:
    """Writes the rules into ``adopted.yaml`` of a new pack version as ``experimental`` with
    provenance, activates it, and sends the decision to the sending unit."""
    note = run_action(
        fed,
        session,
        principal,
        lambda: decisions.adopt(state, session, fed, principal, note_id, note_text=body.note),
    )
    return views.detail(session, fed, note)


@router.post(
    "/{note_id}/decline",
    response_model=CaseNotePublic,
    summary="Decline the proposed rule (rule_author)",
)
def decline(
    note_id: NoteId,
    body: DecisionBody,
    principal: RuleAuthor,
    session: SessionDep,
    fed: FederationDep,
) -> CaseNotePublic:
    """Nothing changes in the pack; the sending unit is told, with the note."""
    note = run_action(
        fed,
        session,
        principal,
        lambda: decisions.decline(session, fed, principal, note_id, note_text=body.note),
    )
    return views.detail(session, fed, note)
