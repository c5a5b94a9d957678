"""``/v1/queries`` (urgent queries between partner units) and ``/v1/federation`` (inbox, unit)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Body, Depends, Query, Request
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.auth import Analyst, Principal, SessionDep, Viewer
from api.federation import inbox, service
from api.federation.context import Federation
from api.federation.errors import FederationError, RejectedEnvelope
from api.federation.keys import public_key_b64
from api.federation.schemas import (
    GroupPublic,
    NoteBody,
    PartnerPublic,
    QueryCreate,
    QueryPage,
    QueryPublic,
    Receipt,
    ReplyBody,
    StateName,
    UnitPublic,
)
from api.i18n import _N
from api.problems import ProblemException

T = TypeVar("T")


def get_federation(request: Request) -> Federation:
    """The app's federation runtime; 503 if the unit has no identity yet."""
    fed: Federation | None = getattr(request.app.state, "federation", None)
    if fed is None:
        error = getattr(request.app.state, "federation_error", "unit not initialised")
        raise ProblemException(
            503,
            _N("Federation not configured"),
            error,
            hint="run `lookout unit init` and restart the server",
        )
    return fed


FederationDep = Annotated[Federation, Depends(get_federation)]


def _problem(err: FederationError) -> ProblemException:
    return ProblemException(err.status, type(err).__name__, err.message, hint=err.hint)


def own_unit(fed: Federation, principal: Principal) -> None:
    if principal.unit_id != fed.unit_id:
        raise ProblemException(
            403,
            _N("Forbidden"),
            f"this server is unit {fed.unit_id}; your key belongs to {principal.unit_id}",
        )


def run_action(
    fed: Federation, session: Session, principal: Principal, action: Callable[[], T]
) -> T:
    """Run a service action, commit it, and wake the worker; federation errors → problems."""
    own_unit(fed, principal)
    try:
        result = action()
        session.commit()
    except FederationError as err:
        session.rollback()
        raise _problem(err) from err
    fed.wake.set()
    return result


_PROBLEMS: dict[int | str, dict[str, Any]] = {
    409: {"description": "The query's state does not allow this (e.g. closing before an answer)"},
    503: {"description": "This unit has no identity yet (`lookout unit init`)"},
}
queries = APIRouter(prefix="/v1/queries", tags=["queries"], responses=_PROBLEMS)


@queries.post(
    "",
    status_code=201,
    response_model=QueryPublic,
    summary="Open a query to one or more partner units",
)
def open_query(
    body: QueryCreate, principal: Analyst, session: SessionDep, fed: FederationDep
) -> QueryPublic:
    """Commit the query and its outbox rows, then deliver in the background.

    With ``batch_id`` and ``container_number`` the subject and risk explanation (rule hits
    and reasons, model probability and contributions, key manifest fields) are taken from
    that batch's flagged rows.
    """
    query = run_action(
        fed,
        session,
        principal,
        lambda: service.open_query(session, fed, actor=principal.key_id, body=body),
    )
    return service.detail(session, fed, query)


@queries.get("", response_model=QueryPage, summary="List queries")
def list_queries(
    principal: Viewer,
    session: SessionDep,
    fed: FederationDep,
    box: Annotated[Literal["inbox", "outbox"] | None, Query(description="received or sent")] = None,
    status: Annotated[StateName | None, Query(description="any recipient in this state")] = None,
    container: Annotated[str | None, Query(max_length=40)] = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> QueryPage:
    """Newest first; overdue queries are marked ``expired`` before listing."""
    own_unit(fed, principal)
    if service.sweep_expired(session, fed):
        session.commit()
    rows, total = service.list_queries(
        session, fed, box=box, status=status, container=container, offset=offset, limit=limit
    )
    return QueryPage(data=rows, count=total, offset=offset, limit=limit)


@queries.get("/{query_id}", response_model=QueryPublic, summary="A query with its thread")
def get_query(
    query_id: str, principal: Viewer, session: SessionDep, fed: FederationDep
) -> QueryPublic:
    """The query, each recipient's state and delivery, and the thread."""

    def action() -> Any:
        query = service.get_query(session, fed, query_id)
        service.sweep_expired(session, fed, query_ids=[query.id])
        return query

    query = run_action(fed, session, principal, action)
    return service.detail(session, fed, query)


@queries.post("/{query_id}/ack", response_model=QueryPublic, summary="Acknowledge a received query")
def ack_query(
    query_id: str, body: NoteBody, principal: Analyst, session: SessionDep, fed: FederationDep
) -> QueryPublic:
    """The recipient confirms it is working on the query; the sending unit is told."""
    query = run_action(
        fed,
        session,
        principal,
        lambda: service.acknowledge(session, fed, query_id, actor=principal.key_id, note=body.note),
    )
    return service.detail(session, fed, query)


@queries.post(
    "/{query_id}/reply",
    response_model=QueryPublic,
    summary="Answer a received query, or follow up on a sent one",
)
def reply_query(
    query_id: str, body: ReplyBody, principal: Analyst, session: SessionDep, fed: FederationDep
) -> QueryPublic:
    """From a recipient: the answer (state ``answered``). From the sender: a follow-up."""
    query = run_action(
        fed,
        session,
        principal,
        lambda: service.reply(
            session,
            fed,
            query_id,
            actor=principal.key_id,
            body=body.body,
            in_reply_to=body.in_reply_to,
        ),
    )
    return service.detail(session, fed, query)


@queries.post("/{query_id}/close", response_model=QueryPublic, summary="Close an answered query")
def close_query(
    query_id: str, body: NoteBody, principal: Analyst, session: SessionDep, fed: FederationDep
) -> QueryPublic:
    """The sending unit closes the query once every live recipient answered (or expired)."""
    query = run_action(
        fed,
        session,
        principal,
        lambda: service.close(session, fed, query_id, actor=principal.key_id, note=body.note),
    )
    return service.detail(session, fed, query)


@queries.post("/{query_id}/cancel", response_model=QueryPublic, summary="Withdraw a sent query")
def cancel_query(
    query_id: str, body: NoteBody, principal: Analyst, session: SessionDep, fed: FederationDep
) -> QueryPublic:
    """The sending unit withdraws the query from every recipient that has not answered."""
    query = run_action(
        fed,
        session,
        principal,
        lambda: service.cancel(session, fed, query_id, actor=principal.key_id, note=body.note),
    )
    return service.detail(session, fed, query)


federation = APIRouter(prefix="/v1/federation", tags=["federation"])


@federation.post(
    "/inbox",
    response_model=Receipt,
    summary="Receive a signed envelope from a partner",
    responses={
        401: {"description": "Bad signature or timestamp outside the allowed window"},
        403: {"description": "Unknown sender, wrong recipient, or not a party to the query"},
        409: {"description": "Replayed envelope, or a known message id with another payload"},
        503: _PROBLEMS[503],
    },
)
def receive(
    fed: FederationDep,
    request: Request,
    envelope: Annotated[dict[str, Any], Body(description="a signed envelope")],
) -> Any:
    """Partners post here; authentication is the Ed25519 signature, not an API key.

    Answers with this unit's signed receipt (``accepted``, or ``duplicate`` for a re-sent
    message id); rejections are problem documents with a ``reason`` and are audited.
    """
    client = request.client.host if request.client else None
    try:
        receipt = inbox.handle(fed, envelope, client=client)
    except RejectedEnvelope as err:
        raise ProblemException(
            err.status, "Envelope rejected", err.message, reason=err.reason, hint=err.hint
        ) from err
    except IntegrityError as err:
        # Two copies of one message raced; the loser is retried by its sender.
        raise ProblemException(
            409, _N("Conflict"), "message being received concurrently; retry"
        ) from err
    fed.wake.set()
    return receipt


@federation.get("/unit", response_model=UnitPublic, summary="This unit, its partners and groups")
def unit(principal: Viewer, fed: FederationDep) -> UnitPublic:
    """Public facts only: ids, endpoints and public keys (never the private key), and the group
    addresses (``all-trusted`` and the directory's named groups) with their members."""
    return UnitPublic(
        unit=PartnerPublic(**fed.identity.directory_entry()),
        groups=[GroupPublic(name=n, members=list(m)) for n, m in fed.directory.groups().items()],
        partners=[
            PartnerPublic(
                unit_id=p.unit_id,
                country=p.country,
                name=p.name,
                base_url=p.base_url,
                public_key=public_key_b64(p.public_key),
            )
            for p in fed.directory.all()
        ],
    )
