"""The inbox: verify an inbound envelope, apply it exactly once, answer with a signed receipt.

Checks, in order: shape → sender in the partner directory → signature and payload hash →
addressed to this unit → timestamp within the allowed clock skew → not a replay of an
envelope already seen → message id not yet applied (a retransmission with a fresh signature
gets a ``duplicate`` receipt and no second effect) → the sender may do this to this query.
Each failure is a ``RejectedEnvelope`` with a short reason; the router audits it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.federation import envelope as env
from api.federation import service
from api.federation._payloads import payload_of
from api.federation.casenotes import service as casenotes
from api.federation.context import Federation
from api.federation.errors import RejectedEnvelope
from api.federation.schemas import Subject, WirePayload
from api.federation.tables import FedInbox, FedMessage, FedQuery, FedRecipient, FedSeenSignature


def handle(fed: Federation, envelope: Any, *, client: str | None = None) -> dict[str, Any]:
    """Receive ``envelope`` in its own transaction; a rejection is audited, then re-raised."""
    with fed.sessions() as session:
        try:
            receipt = receive(session, fed, envelope)
            session.commit()
            return receipt
        except RejectedEnvelope as err:
            session.rollback()
            rejected = err
    fields = envelope if isinstance(envelope, dict) else {}
    sender = fields.get("sender")
    with fed.sessions() as session:
        service.audit(
            session,
            fed,
            f"unit:{sender}" if isinstance(sender, str) else "unit:?",
            "federation.inbox.reject",
            str(fields.get("message_id", "?")),
            reason=rejected.reason,
            message=rejected.message,
            client=client,
            recipient=str(fields.get("recipient")),
        )
        session.commit()
    raise rejected


def receive(session: Session, fed: Federation, envelope: Any) -> dict[str, Any]:
    """Verify and apply ``envelope``; the signed receipt to return (the caller commits)."""
    problem = env.check_shape(envelope)
    if problem:
        raise RejectedEnvelope("malformed", problem, status=422)
    sender = envelope["sender"]
    partner = fed.directory.get(sender)
    if partner is None:
        raise RejectedEnvelope(
            "unknown_sender",
            f"{sender} is not in this unit's partner directory",
            status=403,
            hint="the receiving unit must list the sender (its `lookout unit show` entry)",
        )
    if not env.signature_valid(envelope, partner.public_key):
        raise RejectedEnvelope(
            "bad_signature",
            f"the signature or payload hash does not verify for {sender}",
            status=401,
        )
    if envelope["recipient"] != fed.unit_id:
        raise RejectedEnvelope(
            "wrong_recipient",
            f"the envelope is addressed to {envelope['recipient']}, this unit is {fed.unit_id}",
            status=403,
            hint="check the base_url of this unit in the sender's partner directory",
        )
    now = fed.clock()
    try:
        sent_at = env.parse_timestamp(envelope["timestamp"])
    except ValueError as err:
        raise RejectedEnvelope("malformed", f"bad timestamp: {err}", status=422) from err
    skew = timedelta(seconds=fed.settings.clock_skew_seconds)
    if not now - skew <= sent_at <= now + skew:
        raise RejectedEnvelope(
            "stale_timestamp",
            f"envelope timestamp {envelope['timestamp']} is outside "
            f"±{skew} of {env.timestamp(now)}",
            status=401,
            hint="check the sender's clock; delivery retries are re-signed",
        )
    signature_hash = hashlib.sha256(envelope["signature"].encode()).hexdigest()
    seen = session.scalar(
        select(FedSeenSignature.id).where(
            FedSeenSignature.unit_id == fed.unit_id,
            FedSeenSignature.signature_sha256 == signature_hash,
        )
    )
    if seen is not None:
        raise RejectedEnvelope(
            "replay",
            f"envelope {envelope['message_id']} was already received (replayed)",
            status=409,
        )
    session.add(
        FedSeenSignature(
            unit_id=fed.unit_id,
            signature_sha256=signature_hash,
            message_id=envelope["message_id"],
            seen_at=now,
        )
    )
    done = session.scalar(
        select(FedInbox).where(
            FedInbox.unit_id == fed.unit_id, FedInbox.message_id == envelope["message_id"]
        )
    )
    actor = f"unit:{sender}"
    if done is not None:
        if done.payload_sha256 != envelope["payload_sha256"] or done.sender_unit != sender:
            raise RejectedEnvelope(
                "message_id_conflict",
                f"message {envelope['message_id']} was received before with another payload",
                status=409,
            )
        done.deliveries += 1
        service.audit(
            session,
            fed,
            actor,
            "federation.inbox.duplicate",
            done.query_id,
            message_id=done.message_id,
            kind=done.kind,
            deliveries=done.deliveries,
        )
        return env.make_receipt(fed.identity, envelope, status="duplicate", now=now)
    thread_id = HANDLERS[envelope["kind"]](session, fed, envelope, sender, actor)
    session.add(
        FedInbox(
            unit_id=fed.unit_id,
            message_id=envelope["message_id"],
            sender_unit=sender,
            kind=envelope["kind"],
            query_id=thread_id,
            payload_sha256=envelope["payload_sha256"],
            received_at=now,
            deliveries=1,
        )
    )
    service.audit(
        session,
        fed,
        actor,
        "federation.inbox.accept",
        thread_id,
        message_id=envelope["message_id"],
        kind=envelope["kind"],
        payload_sha256=envelope["payload_sha256"],
    )
    return env.make_receipt(fed.identity, envelope, status="accepted", now=now)


def _store_message(session: Session, fed: Federation, payload: WirePayload) -> None:
    m = payload.message
    session.add(
        FedMessage(
            id=m.id,
            query_id=payload.query_id,
            unit_id=fed.unit_id,
            kind=m.kind,
            author_unit=m.author_unit,
            author=m.author,
            to_units=m.to,
            body=m.body,
            in_reply_to=m.in_reply_to,
            created_at=m.created_at,
        )
    )


def _apply_query(
    session: Session, fed: Federation, payload: WirePayload, sender: str, actor: str
) -> None:
    wire = payload.query
    if wire is None or wire.id != payload.query_id:
        raise RejectedEnvelope("malformed", "a query envelope must carry the query", status=422)
    if wire.origin_unit != sender:
        raise RejectedEnvelope("not_allowed", "the query's origin is not the sender", status=403)
    if fed.unit_id not in wire.recipients:
        raise RejectedEnvelope(
            "wrong_recipient", f"{fed.unit_id} is not a recipient of the query", status=403
        )
    if session.get(FedQuery, wire.id) is not None:
        raise RejectedEnvelope("message_id_conflict", f"query {wire.id} already exists", status=409)
    now = fed.clock()
    query = FedQuery(
        id=wire.id,
        unit_id=fed.unit_id,
        box="inbox",
        origin_unit=sender,
        priority=wire.priority,
        subject=wire.subject.model_dump(),
        question=wire.question,
        explanation=wire.explanation,
        deadline_at=wire.deadline_at,
        status="delivered",
        created_by=wire.created_by,
        created_at=wire.created_at,
        updated_at=now,
    )
    session.add(query)
    session.flush()  # the query row first: children reference it
    service.add_subjects(session, fed, wire.id, Subject(**wire.subject.model_dump()))
    session.add(
        FedRecipient(
            query_id=wire.id,
            recipient_unit=fed.unit_id,
            state="delivered",
            delivered_at=now,
            updated_at=now,
        )
    )
    _store_message(session, fed, payload)
    service.audit(
        session,
        fed,
        actor,
        "query.receive",
        wire.id,
        priority=wire.priority,
        deadline_at=wire.deadline_at.isoformat(),
    )
    service.audit(
        session,
        fed,
        actor,
        "query.state",
        wire.id,
        recipient=fed.unit_id,
        **{"from": None, "to": "delivered"},
    )


def _query_and_row(
    session: Session, fed: Federation, payload: WirePayload, sender: str, *, from_origin: bool
) -> tuple[FedQuery, FedRecipient | None]:
    query = session.get(FedQuery, payload.query_id)
    if query is None or query.unit_id != fed.unit_id:
        raise RejectedEnvelope("not_allowed", f"no query {payload.query_id} here", status=404)
    if from_origin:
        if query.box != "inbox" or query.origin_unit != sender:
            raise RejectedEnvelope(
                "not_allowed", f"{sender} did not send query {query.id}", status=403
            )
        unit = fed.unit_id
    else:
        if query.box != "outbox":
            raise RejectedEnvelope(
                "not_allowed", f"query {query.id} was not sent by this unit", status=403
            )
        unit = sender
    row = session.scalar(
        select(FedRecipient).where(
            FedRecipient.query_id == query.id, FedRecipient.recipient_unit == unit
        )
    )
    if row is None:
        raise RejectedEnvelope(
            "not_allowed", f"{sender} is not a recipient of query {query.id}", status=403
        )
    return query, row


def _from_recipient(target: str | None) -> Any:
    def apply(
        session: Session, fed: Federation, payload: WirePayload, sender: str, actor: str
    ) -> None:
        query, row = _query_and_row(session, fed, payload, sender, from_origin=False)
        _store_message(session, fed, payload)
        if target is not None and row is not None:
            # Tolerant: a valid, signed message is never refused for its timing (the
            # sender would retry forever); an impossible move is audited and skipped.
            service.set_state(session, fed, query, row, target, actor=actor, strict=False)

    return apply


def _from_origin(target: str | None) -> Any:
    def apply(
        session: Session, fed: Federation, payload: WirePayload, sender: str, actor: str
    ) -> None:
        query, row = _query_and_row(session, fed, payload, sender, from_origin=True)
        _store_message(session, fed, payload)
        if target is not None and row is not None:
            service.set_state(session, fed, query, row, target, actor=actor, strict=False)

    return apply


_APPLY = {
    "query": _apply_query,
    "ack": _from_recipient("acknowledged"),
    "reply": _from_recipient("answered"),
    "followup": _from_origin(None),
    "close": _from_origin("closed"),
    "cancel": _from_origin("cancelled"),
}


def _query_message(
    session: Session, fed: Federation, envelope: dict[str, Any], sender: str, actor: str
) -> str:
    """Apply a message of a query's thread; the query id."""
    payload = payload_of(WirePayload, envelope["payload"])
    if payload.message.id != envelope["message_id"] or payload.message.kind != envelope["kind"]:
        raise RejectedEnvelope(
            "malformed", "payload message id/kind differ from the envelope", status=422
        )
    if payload.message.author_unit != sender:
        raise RejectedEnvelope("not_allowed", "the message author is not the sender", status=403)
    _APPLY[envelope["kind"]](session, fed, payload, sender, actor)
    return payload.query_id


Handler = Callable[[Session, Federation, dict[str, Any], str, str], str]
HANDLERS: dict[str, Handler] = {
    **{kind: _query_message for kind in _APPLY},
    **casenotes.HANDLERS,
}
"""Every envelope kind and what applies it; each returns the thread (query or case note) id."""
