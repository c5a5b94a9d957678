"""Urgent queries: open, acknowledge, reply, close, cancel, expire — the service layer.

Read views (``list_queries``, ``detail``, ...) live in ``views`` and are re-exported here.

Every change commits together with its outbox rows and audit events (the caller commits),
so what was promised to a partner is exactly what the local store says happened.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.audit import record_audit
from api.federation import states
from api.federation._ids import new_id
from api.federation.context import Federation
from api.federation.errors import Forbidden, InvalidTransition, NotFound
from api.federation.schemas import (
    QueryCreate,
    Subject,
    WireMessage,
    WireQuery,
)
from api.federation.tables import FedMessage, FedOutbox, FedQuery, FedRecipient, FedSubject
from api.federation.views import container_queries, detail, list_queries, recipients_of, summary
from api.i18n import _N
from api.problems import ProblemException
from api.services.inspections import normalise_container
from api.tables import Batch, ScoredContainer
from engine.i18n import LOCALES, localised_column

__all__ = [
    "acknowledge",
    "add_subjects",
    "audit",
    "cancel",
    "close",
    "container_queries",
    "detail",
    "enqueue",
    "enqueue_payload",
    "explanation_from_batch",
    "get_query",
    "list_queries",
    "open_query",
    "recipients_of",
    "refresh_status",
    "reply",
    "set_state",
    "summary",
    "sweep_expired",
    "wire_message",
    "wire_query",
]

MAX_EXPLAINED_ROWS = 20
_STAMP = {
    "delivered": "delivered_at",
    "acknowledged": "acknowledged_at",
    "answered": "answered_at",
    "closed": "closed_at",
}


def audit(
    session: Session, fed: Federation, actor: str, action: str, target: str, **detail: Any
) -> None:
    """Append one federation event to the API's append-only audit log."""
    record_audit(
        session, unit_id=fed.unit_id, actor=actor[:64], action=action, target=target, detail=detail
    )


def set_state(
    session: Session,
    fed: Federation,
    query: FedQuery,
    recipient: FedRecipient,
    target: str,
    *,
    actor: str,
    strict: bool = True,
) -> bool:
    """Move one recipient to ``target`` (audited); False if not allowed and not ``strict``."""
    current = recipient.state
    if current == target:
        return False
    if not strict and not states.can_move(current, target):
        audit(
            session,
            fed,
            actor,
            "query.state_unchanged",
            query.id,
            recipient=recipient.recipient_unit,
            state=current,
            refused=target,
        )
        return False
    states.move(current, target, what=f"query {query.id} for {recipient.recipient_unit}")
    now = fed.clock()
    recipient.state = target
    recipient.updated_at = now
    if target in _STAMP and getattr(recipient, _STAMP[target]) is None:
        setattr(recipient, _STAMP[target], now)
    audit(
        session,
        fed,
        actor,
        "query.state",
        query.id,
        recipient=recipient.recipient_unit,
        **{"from": current, "to": target},
    )
    refresh_status(session, query)
    query.updated_at = now
    return True


def refresh_status(session: Session, query: FedQuery) -> None:
    """Recompute the query's summary status from its recipients."""
    session.flush()
    rows = session.scalars(select(FedRecipient.state).where(FedRecipient.query_id == query.id))
    query.status = states.summarise(list(rows))


def _message(
    session: Session,
    fed: Federation,
    query_id: str,
    *,
    kind: str,
    author: str,
    author_unit: str,
    to: list[str],
    body: str,
    in_reply_to: str | None = None,
    message_id: str | None = None,
    created_at: datetime | None = None,
) -> FedMessage:
    row = FedMessage(
        id=message_id or new_id(fed.unit_id),
        query_id=query_id,
        unit_id=fed.unit_id,
        kind=kind,
        author_unit=author_unit,
        author=author,
        to_units=to,
        body=body,
        in_reply_to=in_reply_to,
        created_at=created_at or fed.clock(),
    )
    session.add(row)
    return row


def wire_message(row: FedMessage) -> dict[str, Any]:
    """A thread message as it travels in an envelope."""
    return WireMessage.model_validate(
        dict(
            id=row.id,
            kind=row.kind,
            author_unit=row.author_unit,
            author=row.author,
            to=row.to_units,
            body=row.body,
            in_reply_to=row.in_reply_to,
            created_at=row.created_at,
        )
    ).model_dump(mode="json")


def enqueue(
    session: Session,
    fed: Federation,
    query_id: str,
    message: FedMessage,
    recipients: list[str],
    extra: dict[str, Any] | None = None,
) -> None:
    """Put ``message`` in the outbox once per recipient (same transaction as the change)."""
    payload = {"query_id": query_id, "message": wire_message(message), **(extra or {})}
    enqueue_payload(
        session,
        fed,
        thread_id=query_id,
        message_id=message.id,
        kind=message.kind,
        payload=payload,
        recipients=recipients,
    )


def enqueue_payload(
    session: Session,
    fed: Federation,
    *,
    thread_id: str,
    message_id: str,
    kind: str,
    payload: dict[str, Any],
    recipients: list[str],
) -> None:
    """Put one envelope payload in the outbox once per recipient; ``thread_id`` is the query
    or case note it belongs to."""
    now = fed.clock()
    for unit in recipients:
        session.add(
            FedOutbox(
                unit_id=fed.unit_id,
                message_id=message_id,
                query_id=thread_id,
                recipient_unit=unit,
                kind=kind,
                payload=payload,
                status="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )


# ---------------------------------------------------------------- opening a query


def explanation_from_batch(
    session: Session, unit_id: str, batch_id: str, container_number: str
) -> tuple[Subject, dict[str, Any]]:
    """Subject and risk explanation of a flagged container in one of the unit's batches."""
    batch = session.get(Batch, batch_id)
    if batch is None or batch.unit_id != unit_id:
        raise ProblemException(404, _N("Batch not found"), f"no batch {batch_id!r} in your unit")
    number = normalise_container(container_number)
    rows = list(
        session.scalars(
            select(ScoredContainer)
            .where(ScoredContainer.batch_id == batch_id, ScoredContainer.unit_id == unit_id)
            .where(ScoredContainer.container_number == number, ScoredContainer.flagged.is_(True))
            .order_by(ScoredContainer.risk_score.desc(), ScoredContainer.id)
            .limit(MAX_EXPLAINED_ROWS)
        )
    )
    if not rows:
        raise ProblemException(
            404,
            _N("Container not flagged"),
            f"container {number} is not among the flagged rows of batch {batch_id}",
            hint=f"see GET /v1/batches/{batch_id}/flagged for the flagged containers",
        )
    explained = []
    for row in rows:
        reasons = json.loads(row.reasons)
        explained.append(
            {
                "record_id": row.record_id,
                "bl_number": row.bl_number,
                "lane": row.lane,
                "risk_score": row.risk_score,
                "rule_score": row.rule_score,
                "model_probability": row.model_probability,
                "selected": row.selected,
                "rule_hits": reasons.get("rule_hits") or [],
                "rule_reasons": reasons.get("rule_reasons") or [],
                "model_reasons": reasons.get("model_reasons") or [],
                # The reasons in the other languages too: the recipient may read Russian.
                **{
                    localised_column(kind, loc): reasons.get(localised_column(kind, loc)) or []
                    for loc in LOCALES[1:]
                    for kind in ("rule_reasons", "model_reasons")
                },
                "fields": json.loads(row.fields),
            }
        )
    bls = sorted({row.bl_number for row in rows if row.bl_number})
    subject = Subject(containers=[number], bl_numbers=bls, batch_ref=batch_id)
    return subject, {
        "source": "batch",
        "batch_id": batch_id,
        "container_number": number,
        "rows": explained,
    }


def open_query(session: Session, fed: Federation, *, actor: str, body: QueryCreate) -> FedQuery:
    """Create a query to ``body.to`` and queue it for delivery; the caller commits."""
    recipients = fed.directory.expand(body.to)
    subject = body.subject or Subject(batch_ref=None)
    explanation = body.explanation or {}
    if body.batch_id or body.container_number:
        if not (body.batch_id and body.container_number):
            raise ProblemException(
                422, _N("Incomplete batch reference"), "give both batch_id and container_number"
            )
        subject, explanation = explanation_from_batch(
            session, fed.unit_id, body.batch_id, body.container_number
        )
    subject = Subject(
        containers=[normalise_container(c) for c in subject.containers],
        bl_numbers=[b.strip().upper() for b in subject.bl_numbers],
        batch_ref=subject.batch_ref,
    )
    if not (subject.containers or subject.bl_numbers or subject.batch_ref):
        raise ProblemException(
            422, _N("Empty subject"), "name at least one container, B/L number or batch reference"
        )
    now = fed.clock()
    query = FedQuery(
        id=new_id(fed.unit_id),
        unit_id=fed.unit_id,
        box="outbox",
        origin_unit=fed.unit_id,
        priority=body.priority,
        subject=subject.model_dump(),
        question=body.question,
        explanation=explanation,
        deadline_at=now + timedelta(seconds=fed.settings.deadline_for(body.priority)),
        status="sent",
        addressed_to=list(dict.fromkeys(body.to)),
        created_by=actor,
        created_at=now,
        updated_at=now,
    )
    session.add(query)
    session.flush()  # the query row first: children reference it
    add_subjects(session, fed, query.id, subject)
    for unit in recipients:
        session.add(
            FedRecipient(query_id=query.id, recipient_unit=unit, state="sent", updated_at=now)
        )
    message = _message(
        session,
        fed,
        query.id,
        kind="query",
        author=actor,
        author_unit=fed.unit_id,
        to=recipients,
        body=body.question,
    )
    audit(
        session,
        fed,
        actor,
        "query.create",
        query.id,
        to=recipients,
        addressed_to=query.addressed_to,
        priority=body.priority,
        deadline_at=query.deadline_at.isoformat(),
    )
    for unit in recipients:
        audit(
            session,
            fed,
            actor,
            "query.state",
            query.id,
            recipient=unit,
            **{"from": None, "to": "sent"},
        )
    wire = wire_query(query, recipients)
    enqueue(session, fed, query.id, message, recipients, {"query": wire})
    session.flush()
    return query


def wire_query(query: FedQuery, recipients: list[str]) -> dict[str, Any]:
    """The query as it travels in its ``query`` envelope."""
    return WireQuery.model_validate(
        dict(
            id=query.id,
            origin_unit=query.origin_unit,
            recipients=recipients,
            priority=query.priority,
            subject=query.subject,
            question=query.question,
            explanation=query.explanation,
            deadline_at=query.deadline_at,
            created_at=query.created_at,
            created_by=query.created_by,
        )
    ).model_dump(mode="json")


def add_subjects(session: Session, fed: Federation, query_id: str, subject: Subject) -> None:
    """Index a query's subject items (containers, B/Ls, batch) for look-ups by number."""
    items = [("container", c) for c in subject.containers] + [("bl", b) for b in subject.bl_numbers]
    if subject.batch_ref:
        items.append(("batch", subject.batch_ref))
    for kind, value in items:
        session.add(
            FedSubject(query_id=query_id, unit_id=fed.unit_id, kind=kind, value=value[:120])
        )


# ---------------------------------------------------------------- local actions


def get_query(session: Session, fed: Federation, query_id: str) -> FedQuery:
    """This unit's query ``query_id`` or NotFound."""
    query = session.get(FedQuery, query_id)
    if query is None or query.unit_id != fed.unit_id:
        raise NotFound(
            f"no query {query_id!r} in unit {fed.unit_id}",
            hint="list them with GET /v1/queries or `lookout queries list`",
        )
    return query


def _own_row(session: Session, fed: Federation, query: FedQuery, action: str) -> FedRecipient:
    if query.box != "inbox":
        raise Forbidden(
            f"only a recipient can {action} a query; {query.id} was sent by this unit",
            hint="the sending unit replies (follow-up), closes or cancels",
        )
    rows = [r for r in recipients_of(session, query.id) if r.recipient_unit == fed.unit_id]
    if not rows:
        raise NotFound(f"query {query.id} has no recipient {fed.unit_id}")
    return rows[0]


def acknowledge(
    session: Session, fed: Federation, query_id: str, *, actor: str, note: str = ""
) -> FedQuery:
    """Acknowledge a received query; the origin is told."""
    query = get_query(session, fed, query_id)
    sweep_expired(session, fed, query_ids=[query.id])
    row = _own_row(session, fed, query, "acknowledge")
    set_state(session, fed, query, row, "acknowledged", actor=actor)
    message = _message(
        session,
        fed,
        query.id,
        kind="ack",
        author=actor,
        author_unit=fed.unit_id,
        to=[query.origin_unit],
        body=note,
    )
    enqueue(session, fed, query.id, message, [query.origin_unit])
    return query


def reply(
    session: Session,
    fed: Federation,
    query_id: str,
    *,
    actor: str,
    body: str,
    in_reply_to: str | None = None,
) -> FedQuery:
    """A recipient's answer (→ answered) or the sending unit's follow-up to its recipients."""
    query = get_query(session, fed, query_id)
    sweep_expired(session, fed, query_ids=[query.id])
    replied = session.get(FedMessage, in_reply_to) if in_reply_to is not None else None
    if in_reply_to is not None and (replied is None or replied.query_id != query.id):
        raise NotFound(f"no message {in_reply_to!r} in query {query.id}")
    if query.box == "inbox":
        row = _own_row(session, fed, query, "answer")
        if row.state != "answered":
            set_state(session, fed, query, row, "answered", actor=actor)
        message = _message(
            session,
            fed,
            query.id,
            kind="reply",
            author=actor,
            author_unit=fed.unit_id,
            to=[query.origin_unit],
            body=body,
            in_reply_to=in_reply_to,
        )
        enqueue(session, fed, query.id, message, [query.origin_unit])
        return query
    live = [
        r.recipient_unit for r in recipients_of(session, query.id) if r.state not in states.FINAL
    ]
    if not live:
        raise InvalidTransition(f"query {query.id} is {query.status}; nobody to follow up with")
    message = _message(
        session,
        fed,
        query.id,
        kind="followup",
        author=actor,
        author_unit=fed.unit_id,
        to=live,
        body=body,
        in_reply_to=in_reply_to,
    )
    audit(session, fed, actor, "query.followup", query.id, to=live)
    enqueue(session, fed, query.id, message, live)
    return query


def close(
    session: Session, fed: Federation, query_id: str, *, actor: str, note: str = ""
) -> FedQuery:
    """Close a sent query once every live recipient has answered (or expired)."""
    return _finish(session, fed, query_id, "closed", actor=actor, note=note)


def cancel(
    session: Session, fed: Federation, query_id: str, *, actor: str, note: str = ""
) -> FedQuery:
    """Withdraw a sent query from every recipient that has not answered."""
    return _finish(session, fed, query_id, "cancelled", actor=actor, note=note)


def _finish(
    session: Session, fed: Federation, query_id: str, target: str, *, actor: str, note: str
) -> FedQuery:
    query = get_query(session, fed, query_id)
    verb = "close" if target == "closed" else "cancel"
    if query.box != "outbox":
        raise Forbidden(
            f"only the sending unit can {verb} a query; {query.id} came from {query.origin_unit}"
        )
    sweep_expired(session, fed, query_ids=[query.id])
    rows = [r for r in recipients_of(session, query.id) if r.state not in states.FINAL]
    if target == "closed":
        waiting = [r.recipient_unit for r in rows if r.state in states.AWAITING_ANSWER]
        if waiting:
            raise InvalidTransition(
                f"query {query.id} still awaits an answer from {', '.join(waiting)}",
                hint="wait for the answer, or cancel the query to withdraw it",
            )
    else:
        rows = [r for r in rows if states.can_move(r.state, "cancelled")]
    if not rows:
        raise InvalidTransition(f"query {query.id} is {query.status}; nothing to {verb}")
    for row in rows:
        set_state(session, fed, query, row, target, actor=actor)
    units = [r.recipient_unit for r in rows]
    message = _message(
        session,
        fed,
        query.id,
        kind=verb,
        author=actor,
        author_unit=fed.unit_id,
        to=units,
        body=note,
    )
    enqueue(session, fed, query.id, message, units)
    return query


def sweep_expired(session: Session, fed: Federation, *, query_ids: list[str] | None = None) -> int:
    """Mark recipients whose deadline passed without an answer as ``expired`` (audited)."""
    now = fed.clock()
    stmt = (
        select(FedRecipient, FedQuery)
        .join(FedQuery, FedQuery.id == FedRecipient.query_id)
        .where(FedQuery.unit_id == fed.unit_id, FedQuery.deadline_at < now)
        .where(FedRecipient.state.in_(sorted(states.AWAITING_ANSWER)))
    )
    if query_ids is not None:
        stmt = stmt.where(FedQuery.id.in_(query_ids))
    moved = 0
    for row, query in session.execute(stmt).all():
        set_state(session, fed, query, row, "expired", actor="system:deadline")
        moved += 1
    return moved
