"""Urgent queries: inbox / outbox, thread, open (pre-filled, to units or groups), acknowledge,
answer, close."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal, TypeVar

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi import Path as PathParam
from pydantic import ValidationError
from sqlalchemy.orm import Session

from api.auth import Principal, SessionDep
from api.federation import service
from api.federation.context import Federation
from api.federation.errors import FederationError
from api.federation.schemas import QueryCreate, StateName
from api.i18n import _N, LANE_LABELS, gettext
from api.problems import ProblemException
from api.services.containers import container_detail
from api.state import State
from api.web._auth import Csrf, PageRoute, WebAnalyst, WebViewer, redirect
from api.web._render import reasons, render

router = APIRouter(prefix="/web/queries", route_class=PageRoute, include_in_schema=False)
T = TypeVar("T")
PAGE_SIZE = 50
QueryId = Annotated[str, PathParam(min_length=1, max_length=80, pattern=r"^[\w.:-]+$")]
# Partner country codes found on a row's route and parties suggest whom to ask.
ROUTE_COUNTRY_FIELDS = ("origin_country", "shipper_country", "consignee_country")
ROUTE_PORT_FIELDS = (
    "place_of_receipt",
    "port_of_loading",
    "port_of_discharge",
    "place_of_delivery",
)


def federation_of(request: Request, principal: Principal) -> Federation:
    """This unit's federation runtime, refusing a principal of another unit (as the API)."""
    fed: Federation | None = getattr(request.app.state, "federation", None)
    if fed is None:
        error = getattr(request.app.state, "federation_error", "unit not initialised")
        raise ProblemException(
            503,
            _N("Urgent queries not configured"),
            error,
            hint="run `lookout unit init`, add partners with `lookout unit trust`, restart",
        )
    if principal.unit_id != fed.unit_id:
        raise ProblemException(
            403,
            _N("Forbidden"),
            f"this server is unit {fed.unit_id}; your key belongs to {principal.unit_id}",
        )
    return fed


def act_and_wake(fed: Federation, session: Session, action: Callable[[], T]) -> T:
    """Run a federation service action, commit, wake the delivery worker (as the API)."""
    try:
        result = action()
        session.commit()
    except (FederationError, ProblemException):
        session.rollback()
        raise
    fed.wake.set()
    return result


@router.get("")
def queries_page(
    request: Request,
    session: SessionDep,
    principal: WebViewer,
    box: Literal["inbox", "outbox"] = "inbox",
    status: Annotated[StateName | Literal[""], Query()] = "",
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Response:
    """Inbox or outbox, newest first, overdue ones highlighted."""
    fed = federation_of(request, principal)
    if service.sweep_expired(session, fed):
        session.commit()
    rows, total = service.list_queries(
        session,
        fed,
        box=box,
        status=status or None,
        container=None,
        offset=offset,
        limit=PAGE_SIZE,
    )
    return render(
        request,
        "queries.html",
        {
            "box": box,
            "status": status,
            "rows": rows,
            "total": total,
            "offset": offset,
            "page_size": PAGE_SIZE,
            "states": (
                "sent",
                "delivered",
                "acknowledged",
                "answered",
                "closed",
                "expired",
                "cancelled",
            ),
            "fed": fed,
        },
    )


@router.get("/new")
def new_query_page(
    request: Request,
    state: State,
    session: SessionDep,
    principal: WebAnalyst,
    batch_id: Annotated[str, Query(max_length=40, pattern=r"^[0-9A-Za-z-]*$")] = "",
    container: Annotated[str, Query(max_length=40, pattern=r"^[A-Za-z0-9 -]*$")] = "",
) -> Response:
    """The form, pre-filled from a flagged container: subject, question, suggested partners."""
    fed = federation_of(request, principal)
    suggested: set[str] = set()
    question = ""
    if container:
        detail = container_detail(state, session, principal, container)
        row = next((a for a in detail.appearances if a.batch_id == batch_id), detail.appearances[0])
        batch_id = row.batch_id
        countries = {str(row.fields.get(f) or "")[:2] for f in ROUTE_COUNTRY_FIELDS}
        ports = [row.fields.get(f) for f in ROUTE_PORT_FIELDS]
        ports += list(row.fields.get("transshipment_ports") or [])
        countries |= {str(p)[:2] for p in ports if p}
        suggested = {p.unit_id for p in fed.directory.all() if p.country in countries}
        why = "; ".join(reasons(row, "rule_reasons")[:3]) or gettext("model score")
        lane = gettext(LANE_LABELS[row.lane]).lower() if row.lane in LANE_LABELS else ""
        # A suggestion in the reader's language; the officer edits it, and it is sent as
        # written.
        question = gettext(
            "Container {container} (B/L {bl}) was flagged {lane} with risk score {risk} "
            "({reasons}). Please check what you hold on the shipper, consignee and the loading "
            "of this container, and tell us whether you have related seizures or open cases."
        ).format(
            container=detail.container_number,
            bl=row.bl_number or gettext("unknown"),
            lane=lane,
            risk=f"{row.risk_score or 0:.0f}",
            reasons=why,
        )
    return render(
        request,
        "query_new.html",
        {
            "partners": fed.directory.all(),
            "groups": fed.directory.groups(),
            "suggested": suggested,
            "batch_id": batch_id,
            "container": container,
            "question": question,
            "error": None,
        },
    )


@router.post("", dependencies=[Csrf])
def open_query(
    request: Request,
    session: SessionDep,
    principal: WebAnalyst,
    to: Annotated[list[str], Form(max_length=20)],
    question: Annotated[str, Form(max_length=10_000)],
    priority: Annotated[Literal["urgent", "routine"], Form()] = "urgent",
    batch_id: Annotated[str, Form(max_length=40)] = "",
    container: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Open the query through the same service as ``POST /v1/queries``."""
    fed = federation_of(request, principal)
    try:
        body = QueryCreate(
            to=to,
            question=question,
            priority=priority,
            batch_id=batch_id or None,
            container_number=container or None,
            subject={"containers": [container]} if container and not batch_id else None,  # type: ignore[arg-type]
        )
    except ValidationError as err:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors())
        raise ProblemException(422, _N("Invalid query"), problems) from err
    query = act_and_wake(
        fed, session, lambda: service.open_query(session, fed, actor=principal.key_id, body=body)
    )
    return redirect(request, f"/web/queries/{query.id}")


@router.get("/{query_id}")
def query_page(
    request: Request, session: SessionDep, principal: WebViewer, query_id: QueryId
) -> Response:
    """A query with its recipients, risk explanation, thread and the actions allowed now."""
    fed = federation_of(request, principal)

    def load() -> object:
        query = service.get_query(session, fed, query_id)
        service.sweep_expired(session, fed, query_ids=[query.id])
        return query

    query = act_and_wake(fed, session, load)
    detail = service.detail(session, fed, query)  # type: ignore[arg-type]
    mine = next((r for r in detail.recipients if r.unit_id == fed.unit_id), None)
    return render(
        request,
        "query.html",
        {
            "q": detail,
            "mine": mine,
            "fed": fed,
            "can_ack": detail.box == "inbox"
            and mine is not None
            and mine.state in ("sent", "delivered"),
            "can_answer": detail.box == "inbox"
            and mine is not None
            and mine.state not in ("closed", "cancelled"),
            "can_close": detail.box == "outbox"
            and any(r.state in ("answered", "expired") for r in detail.recipients),
            "can_followup": detail.box == "outbox"
            and any(r.state not in ("closed", "cancelled") for r in detail.recipients),
        },
    )


Note = Annotated[str, Form(max_length=10_000)]


@router.post("/{query_id}/ack", dependencies=[Csrf])
def ack(
    request: Request,
    session: SessionDep,
    principal: WebAnalyst,
    query_id: QueryId,
    note: Note = "",
) -> Response:
    """Acknowledge a received query."""
    fed = federation_of(request, principal)
    act_and_wake(
        fed,
        session,
        lambda: service.acknowledge(session, fed, query_id, actor=principal.key_id, note=note),
    )
    return redirect(request, f"/web/queries/{query_id}")


@router.post("/{query_id}/reply", dependencies=[Csrf])
def reply(
    request: Request,
    session: SessionDep,
    principal: WebAnalyst,
    query_id: QueryId,
    body: Annotated[str, Form(min_length=1, max_length=50_000)],
) -> Response:
    """Answer (recipient) or follow up (sender)."""
    fed = federation_of(request, principal)
    act_and_wake(
        fed,
        session,
        lambda: service.reply(session, fed, query_id, actor=principal.key_id, body=body),
    )
    return redirect(request, f"/web/queries/{query_id}")


@router.post("/{query_id}/close", dependencies=[Csrf])
def close(
    request: Request,
    session: SessionDep,
    principal: WebAnalyst,
    query_id: QueryId,
    note: Note = "",
) -> Response:
    """Close an answered query (sending unit)."""
    fed = federation_of(request, principal)
    act_and_wake(
        fed,
        session,
        lambda: service.close(session, fed, query_id, actor=principal.key_id, note=note),
    )
    return redirect(request, f"/web/queries/{query_id}")


@router.post("/{query_id}/cancel", dependencies=[Csrf])
def cancel(
    request: Request,
    session: SessionDep,
    principal: WebAnalyst,
    query_id: QueryId,
    note: Note = "",
) -> Response:
    """Withdraw a sent query (sending unit)."""
    fed = federation_of(request, principal)
    act_and_wake(
        fed,
        session,
        lambda: service.cancel(session, fed, query_id, actor=principal.key_id, note=note),
    )
    return redirect(request, f"/web/queries/{query_id}")
