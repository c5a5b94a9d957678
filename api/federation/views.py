"""Read views of queries: lists, the full view with its thread, container look-ups."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.federation import states
from api.federation.context import Federation
from api.federation.schemas import (
    Delivery,
    MessagePublic,
    QueryPublic,
    QuerySummary,
    RecipientPublic,
)
from api.federation.tables import FedMessage, FedOutbox, FedQuery, FedRecipient, FedSubject
from api.services.inspections import normalise_container


def recipients_of(session: Session, query_id: str) -> list[FedRecipient]:
    """The recipient rows of a query, by unit id."""
    return list(
        session.scalars(
            select(FedRecipient)
            .where(FedRecipient.query_id == query_id)
            .order_by(FedRecipient.recipient_unit)
        )
    )


def list_queries(
    session: Session,
    fed: Federation,
    *,
    box: str | None,
    status: str | None,
    container: str | None,
    offset: int,
    limit: int,
) -> tuple[list[QuerySummary], int]:
    """The unit's queries, newest first, filtered by box, status (any recipient) or container."""
    where: list[Any] = [FedQuery.unit_id == fed.unit_id]
    if box:
        where.append(FedQuery.box == box)
    if status:
        where.append(
            FedQuery.id.in_(select(FedRecipient.query_id).where(FedRecipient.state == status))
        )
    if container:
        where.append(
            FedQuery.id.in_(
                select(FedSubject.query_id).where(
                    FedSubject.unit_id == fed.unit_id,
                    FedSubject.kind == "container",
                    FedSubject.value == normalise_container(container),
                )
            )
        )
    total = session.scalar(select(func.count()).select_from(FedQuery).where(*where)) or 0
    rows = list(
        session.scalars(
            select(FedQuery).where(*where).order_by(FedQuery.id.desc()).offset(offset).limit(limit)
        )
    )
    return [summary(session, fed, q) for q in rows], int(total)


def _recipients_public(session: Session, fed: Federation, query: FedQuery) -> list[RecipientPublic]:
    out = []
    for row in recipients_of(session, query.id):
        delivery = None
        if query.box == "outbox":
            pending = list(
                session.scalars(
                    select(FedOutbox)
                    .where(
                        FedOutbox.query_id == query.id,
                        FedOutbox.recipient_unit == row.recipient_unit,
                        FedOutbox.status == "pending",
                    )
                    .order_by(FedOutbox.id)
                )
            )
            head = pending[0] if pending else None
            delivery = Delivery(
                pending=len(pending),
                attempts=head.attempts if head else 0,
                next_attempt_at=head.next_attempt_at if head else None,
                last_error=head.last_error if head else None,
            )
        out.append(
            RecipientPublic.model_validate(
                dict(
                    unit_id=row.recipient_unit,
                    state=row.state,
                    delivered_at=row.delivered_at,
                    acknowledged_at=row.acknowledged_at,
                    answered_at=row.answered_at,
                    closed_at=row.closed_at,
                    delivery=delivery,
                )
            )
        )
    return out


def summary(session: Session, fed: Federation, query: FedQuery) -> QuerySummary:
    """The list view of a query."""
    recipients = _recipients_public(session, fed, query)
    overdue = query.deadline_at < fed.clock() and any(
        r.state in states.AWAITING_ANSWER or r.state == "expired" for r in recipients
    )
    return QuerySummary.model_validate(
        dict(
            id=query.id,
            box=query.box,
            origin_unit=query.origin_unit,
            priority=query.priority,
            subject=query.subject,
            status=query.status,
            addressed_to=query.addressed_to or [],
            overdue=overdue,
            deadline_at=query.deadline_at,
            created_at=query.created_at,
            recipients=recipients,
        )
    )


def detail(session: Session, fed: Federation, query: FedQuery) -> QueryPublic:
    """The full view of a query with its thread, oldest message first."""
    thread = [
        MessagePublic.model_validate(
            dict(
                id=m.id,
                kind=m.kind,
                author_unit=m.author_unit,
                author=m.author,
                to=m.to_units,
                body=m.body,
                in_reply_to=m.in_reply_to,
                created_at=m.created_at,
            )
        )
        for m in session.scalars(
            select(FedMessage)
            .where(FedMessage.query_id == query.id)
            .order_by(FedMessage.created_at, FedMessage.id)
        )
    ]
    return QueryPublic(
        **summary(session, fed, query).model_dump(),
        question=query.question,
        explanation=query.explanation,
        created_by=query.created_by,
        updated_at=query.updated_at,
        thread=thread,
    )


def container_queries(
    session: Session, fed: Federation, container_number: str
) -> list[dict[str, Any]]:
    """Queries naming a container, for the container look-up of the API."""
    rows, _ = list_queries(
        session, fed, box=None, status=None, container=container_number, offset=0, limit=100
    )
    return [row.model_dump(mode="json") for row in rows]
