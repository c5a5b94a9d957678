"""The append-only audit log: every write records who, when, what and from where.

Routes take ``Audit`` and call it after their change, in the same transaction::

    def revoke(..., audit: Audit) -> ...:
        ...
        audit("key.revoke", key_id, reason="lost")
        session.commit()
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import CurrentKey, Principal, SessionDep
from api.db import utcnow
from api.tables import AuditEvent


def record_audit(
    session: Session,
    *,
    unit_id: str,
    actor: str,
    action: str,
    target: str,
    role: str | None = None,
    client: str | None = None,
    request_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add one audit event to ``session`` (the caller commits it with its change)."""
    event = AuditEvent(
        at=utcnow(),
        unit_id=unit_id,
        actor=actor,
        role=role,
        action=action,
        target=target[:200],
        client=client,
        request_id=request_id,
        detail=detail or {},
    )
    session.add(event)
    return event


class Auditor:
    """``record_audit`` bound to one request's caller, client address and request id."""

    def __init__(self, session: Session, principal: Principal, request: Request):
        self.session = session
        self.principal = principal
        self.client = request.client.host if request.client else None
        self.request_id: str | None = getattr(request.state, "request_id", None)

    def __call__(self, action: str, target: str, **detail: Any) -> AuditEvent:
        """Record ``action`` on ``target`` by the current caller."""
        return record_audit(
            self.session,
            unit_id=self.principal.unit_id,
            actor=self.principal.key_id,
            role=self.principal.role,
            action=action,
            target=target,
            client=self.client,
            request_id=self.request_id,
            detail=detail,
        )


def get_auditor(request: Request, session: SessionDep, principal: CurrentKey) -> Auditor:
    """The request's auditor (same session as the route, so one commit covers both)."""
    return Auditor(session, principal, request)


Audit = Annotated[Auditor, Depends(get_auditor)]


def audit_events(session: Session, *, unit_id: str, limit: int = 100) -> list[AuditEvent]:
    """The most recent audit events of a unit, newest first."""
    query = (
        select(AuditEvent)
        .where(AuditEvent.unit_id == unit_id)
        .order_by(AuditEvent.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))
