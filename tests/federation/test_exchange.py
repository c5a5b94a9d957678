"""Service-level exchange between in-process units, on SQLite and PostgreSQL.

Delivery goes through the real worker functions and the real inbox, with an in-process
transport instead of HTTP and a settable clock instead of sleeping.
"""

from __future__ import annotations

import copy
import random
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from api.federation import InvalidTransition, RejectedEnvelope, inbox, run_once, seal, service
from api.federation.schemas import QueryCreate
from api.federation.tables import FedInbox, FedOutbox, FedQuery
from api.tables import AuditEvent

from .conftest import Units

RNG = random.Random(7)


def _open(units: Units, to: list[str], priority: str = "urgent") -> str:
    fed = units.feds["UZ-TAS-PCU"]
    with fed.sessions() as session:
        query = service.open_query(
            session,
            fed,
            actor="key-uz",
            body=QueryCreate(
                to=to,
                question="Who loaded MSCU1234565 in Almaty?",
                priority=priority,  # type: ignore[arg-type]
                subject={"containers": ["mscu 123456-5"], "bl_numbers": ["bl1"]},  # type: ignore[arg-type]
                explanation={"rule_hits": ["R-001"], "model_probability": 0.91},
            ),
        )
        session.commit()
        return query.id


def _deliver(units: Units, unit_id: str) -> int:
    return run_once(units.feds[unit_id], units.transport, RNG)


def _states(units: Units, unit_id: str, query_id: str) -> dict[str, str]:
    fed = units.feds[unit_id]
    with fed.sessions() as session:
        query = service.get_query(session, fed, query_id)
        return {r.recipient_unit: r.state for r in service.recipients_of(session, query.id)}


def _count(units: Units, unit_id: str, table: Any, *where: Any) -> int:
    with units.feds[unit_id].sessions() as session:
        return int(session.scalar(select(func.count()).select_from(table).where(*where)) or 0)


def _audit(units: Units, unit_id: str, action: str) -> list[AuditEvent]:
    with units.feds[unit_id].sessions() as session:
        return list(
            session.scalars(
                select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
            )
        )


def _act(units: Units, unit_id: str, fn: Any, query_id: str, **kwargs: Any) -> None:
    fed = units.feds[unit_id]
    with fed.sessions() as session:
        fn(session, fed, query_id, actor=f"key-{unit_id[:2].lower()}", **kwargs)
        session.commit()


def test_full_exchange_with_a_partner_down(units: Units) -> None:
    kz = units.feds["KZ-ALA-PCU"]
    kz.down = True  # type: ignore[attr-defined]
    qid = _open(units, ["KZ-ALA-PCU", "PK-KHI-PCU"])
    assert _states(units, "UZ-TAS-PCU", qid) == {"KZ-ALA-PCU": "sent", "PK-KHI-PCU": "sent"}

    assert _deliver(units, "UZ-TAS-PCU") == 1
    assert _states(units, "UZ-TAS-PCU", qid) == {"KZ-ALA-PCU": "sent", "PK-KHI-PCU": "delivered"}
    assert _states(units, "PK-KHI-PCU", qid) == {"PK-KHI-PCU": "delivered"}
    with units.feds["UZ-TAS-PCU"].sessions() as session:
        pending = session.scalar(select(FedOutbox).where(FedOutbox.status == "pending"))
        assert (
            pending is not None
            and pending.attempts == 1
            and "unreachable" in str(pending.last_error)
        )
        first_retry = pending.next_attempt_at
    assert timedelta(seconds=0.5) <= first_retry - units.clock.now <= timedelta(seconds=1)

    kz.down = False  # type: ignore[attr-defined]
    assert _deliver(units, "UZ-TAS-PCU") == 0  # not due yet: backoff is respected
    units.clock.advance(seconds=2)
    assert _deliver(units, "UZ-TAS-PCU") == 1
    assert _deliver(units, "UZ-TAS-PCU") == 0
    assert _count(units, "KZ-ALA-PCU", FedQuery) == 1
    assert _count(units, "KZ-ALA-PCU", FedInbox) == 1

    with kz.sessions() as session:
        received = service.detail(session, kz, service.get_query(session, kz, qid))
    assert received.box == "inbox" and received.subject.containers == ["MSCU1234565"]
    assert received.explanation["model_probability"] == 0.91

    _act(units, "KZ-ALA-PCU", service.acknowledge, qid, note="looking")
    _deliver(units, "KZ-ALA-PCU")
    assert _states(units, "UZ-TAS-PCU", qid)["KZ-ALA-PCU"] == "acknowledged"
    _act(units, "KZ-ALA-PCU", service.reply, qid, body="Shipper is a front company.")
    _act(units, "PK-KHI-PCU", service.reply, qid, body="Nothing known.")
    _deliver(units, "KZ-ALA-PCU")
    _deliver(units, "PK-KHI-PCU")
    assert _states(units, "UZ-TAS-PCU", qid) == {"KZ-ALA-PCU": "answered", "PK-KHI-PCU": "answered"}

    uz = units.feds["UZ-TAS-PCU"]
    with uz.sessions() as session:
        thread = service.detail(session, uz, service.get_query(session, uz, qid)).thread
    assert [m.kind for m in thread] == ["query", "ack", "reply", "reply"]
    assert {m.author_unit for m in thread if m.kind == "reply"} == {"KZ-ALA-PCU", "PK-KHI-PCU"}

    _act(units, "UZ-TAS-PCU", service.close, qid, note="thanks")
    _deliver(units, "UZ-TAS-PCU")
    assert set(_states(units, "UZ-TAS-PCU", qid).values()) == {"closed"}
    assert _states(units, "KZ-ALA-PCU", qid) == {"KZ-ALA-PCU": "closed"}
    assert _states(units, "PK-KHI-PCU", qid) == {"PK-KHI-PCU": "closed"}

    # Every state change is in the audit log on both sides.
    uz_moves = [
        (e.detail["recipient"], e.detail["to"]) for e in _audit(units, "UZ-TAS-PCU", "query.state")
    ]
    assert [m for m in uz_moves if m[0] == "KZ-ALA-PCU"] == [
        ("KZ-ALA-PCU", s) for s in ("sent", "delivered", "acknowledged", "answered", "closed")
    ]
    kz_moves = [e.detail["to"] for e in _audit(units, "KZ-ALA-PCU", "query.state")]
    assert kz_moves == ["delivered", "acknowledged", "answered", "closed"]


def test_deadline_expires_on_both_sides_and_late_answer_counts(units: Units) -> None:
    qid = _open(units, ["KZ-ALA-PCU"])
    _deliver(units, "UZ-TAS-PCU")
    units.clock.advance(hours=1, seconds=1)
    _deliver(units, "UZ-TAS-PCU")
    _deliver(units, "KZ-ALA-PCU")
    assert _states(units, "UZ-TAS-PCU", qid) == {"KZ-ALA-PCU": "expired"}
    assert _states(units, "KZ-ALA-PCU", qid) == {"KZ-ALA-PCU": "expired"}
    uz = units.feds["UZ-TAS-PCU"]
    with uz.sessions() as session:
        rows, total = service.list_queries(
            session, uz, box="outbox", status="expired", container=None, offset=0, limit=10
        )
    assert total == 1 and rows[0].status == "expired" and rows[0].overdue
    _act(units, "KZ-ALA-PCU", service.reply, qid, body="late, sorry")
    _deliver(units, "KZ-ALA-PCU")
    assert _states(units, "UZ-TAS-PCU", qid) == {"KZ-ALA-PCU": "answered"}
    assert [
        e.actor for e in _audit(units, "UZ-TAS-PCU", "query.state") if e.detail["to"] == "expired"
    ] == ["system:deadline"]


def test_routine_deadline_is_longer(units: Units) -> None:
    uz = units.feds["UZ-TAS-PCU"]
    qid = _open(units, ["PK-KHI-PCU"], priority="routine")
    with uz.sessions() as session:
        assert service.get_query(session, uz, qid).deadline_at - units.clock.now == timedelta(
            hours=2
        )


def test_close_needs_answers_and_cancel_withdraws(units: Units) -> None:
    qid = _open(units, ["KZ-ALA-PCU", "PK-KHI-PCU"])
    _deliver(units, "UZ-TAS-PCU")
    with pytest.raises(
        InvalidTransition, match="still awaits an answer from KZ-ALA-PCU, PK-KHI-PCU"
    ):
        _act(units, "UZ-TAS-PCU", service.close, qid)
    _act(units, "PK-KHI-PCU", service.reply, qid, body="answer")
    _deliver(units, "PK-KHI-PCU")
    _act(units, "UZ-TAS-PCU", service.cancel, qid, note="no longer needed")
    _deliver(units, "UZ-TAS-PCU")
    assert _states(units, "UZ-TAS-PCU", qid) == {
        "KZ-ALA-PCU": "cancelled",
        "PK-KHI-PCU": "answered",
    }
    assert _states(units, "KZ-ALA-PCU", qid) == {"KZ-ALA-PCU": "cancelled"}
    with pytest.raises(InvalidTransition):
        _act(units, "KZ-ALA-PCU", service.acknowledge, qid)
    with pytest.raises(service.Forbidden, match="only the sending unit"):
        _act(units, "PK-KHI-PCU", service.close, qid)


def _sealed(units: Units, sender: str, recipient: str, **overrides: Any) -> dict[str, Any]:
    qid = _open(units, [recipient]) if sender == "UZ-TAS-PCU" else None
    with units.feds["UZ-TAS-PCU"].sessions() as session:
        row = session.scalar(select(FedOutbox).where(FedOutbox.query_id == qid))
        assert row is not None
        return seal(
            units.feds[sender].identity,
            message_id=row.message_id,
            recipient=recipient,
            kind=row.kind,
            payload=copy.deepcopy(row.payload),
            now=units.clock.now,
        )


def _rejected(units: Units, unit_id: str, envelope: Any) -> str:
    with pytest.raises(RejectedEnvelope) as err:
        inbox.handle(units.feds[unit_id], envelope, client="test")
    return err.value.reason


def test_inbox_rejections_are_refused_and_audited(units: Units, tmp_path: Any) -> None:
    from api.federation import init_unit

    good = _sealed(units, "UZ-TAS-PCU", "KZ-ALA-PCU")

    tampered = copy.deepcopy(good)
    tampered["payload"]["query"]["question"] = "changed"
    tampered["payload_sha256"] = service_hash(tampered["payload"])
    assert _rejected(units, "KZ-ALA-PCU", tampered) == "bad_signature"

    stranger = init_unit(
        tmp_path / "x", unit_id="TM-ASB-PCU", country="TM", name="?", base_url="http://x"
    )
    unknown = seal(
        stranger,
        message_id="M-X",
        recipient="KZ-ALA-PCU",
        kind="query",
        payload=good["payload"],
        now=units.clock.now,
    )
    assert _rejected(units, "KZ-ALA-PCU", unknown) == "unknown_sender"

    assert _rejected(units, "PK-KHI-PCU", good) == "wrong_recipient"

    old = copy.deepcopy(good)
    units.clock.advance(minutes=6)
    assert _rejected(units, "KZ-ALA-PCU", old) == "stale_timestamp"
    units.clock.advance(minutes=-6)

    receipt = inbox.handle(units.feds["KZ-ALA-PCU"], good)
    assert receipt["status"] == "accepted"
    assert _rejected(units, "KZ-ALA-PCU", good) == "replay"
    assert _rejected(units, "KZ-ALA-PCU", {"sender": "KZ"}) == "malformed"

    # A retransmission (same message id, fresh signature) is acknowledged, not re-applied.
    units.clock.advance(seconds=1)
    again = seal(
        units.feds["UZ-TAS-PCU"].identity,
        message_id=good["message_id"],
        recipient="KZ-ALA-PCU",
        kind="query",
        payload=good["payload"],
        now=units.clock.now,
    )
    assert inbox.handle(units.feds["KZ-ALA-PCU"], again)["status"] == "duplicate"
    assert _count(units, "KZ-ALA-PCU", FedQuery) == 1

    kz_reasons = [
        e.detail["reason"] for e in _audit(units, "KZ-ALA-PCU", "federation.inbox.reject")
    ]
    assert kz_reasons == [
        "bad_signature",
        "unknown_sender",
        "stale_timestamp",
        "replay",
        "malformed",
    ]
    assert [e.detail["reason"] for e in _audit(units, "PK-KHI-PCU", "federation.inbox.reject")] == [
        "wrong_recipient"
    ]
    assert len(_audit(units, "KZ-ALA-PCU", "federation.inbox.duplicate")) == 1
    assert _count(units, "PK-KHI-PCU", FedQuery) == 0


def test_only_parties_may_move_a_query(units: Units) -> None:
    qid = _open(units, ["KZ-ALA-PCU"])
    _deliver(units, "UZ-TAS-PCU")
    # PK is a trusted partner but not a recipient: its "answer" is refused and audited.
    pk = units.feds["PK-KHI-PCU"]
    forged_reply = {
        "query_id": qid,
        "message": {
            "id": "01JX-PK-KHI-PCU",
            "kind": "reply",
            "author_unit": "PK-KHI-PCU",
            "author": "k",
            "to": ["UZ-TAS-PCU"],
            "body": "x",
            "in_reply_to": None,
            "created_at": units.clock.now.isoformat(),
        },
    }
    envelope = seal(
        pk.identity,
        message_id="01JX-PK-KHI-PCU",
        recipient="UZ-TAS-PCU",
        kind="reply",
        payload=forged_reply,
        now=units.clock.now,
    )
    assert _rejected(units, "UZ-TAS-PCU", envelope) == "not_allowed"
    assert _states(units, "UZ-TAS-PCU", qid) == {"KZ-ALA-PCU": "delivered"}


def service_hash(payload: dict[str, Any]) -> str:
    from api.federation.envelope import sha256_hex

    return sha256_hex(payload)


def test_metrics_show_expired_backlog_and_rejections(units: Units) -> None:
    from prometheus_client import CollectorRegistry, generate_latest

    from api.federation.metrics import FederationCollector

    units.feds["KZ-ALA-PCU"].down = True  # type: ignore[attr-defined]
    qid = _open(units, ["KZ-ALA-PCU", "PK-KHI-PCU"])
    _deliver(units, "UZ-TAS-PCU")
    units.clock.advance(hours=2)
    _deliver(units, "UZ-TAS-PCU")
    _deliver(units, "PK-KHI-PCU")  # its worker round marks the query expired on PK's side too
    assert _rejected(units, "PK-KHI-PCU", {"sender": "x"}) == "malformed"

    def scrape(unit_id: str) -> str:
        registry = CollectorRegistry()
        registry.register(FederationCollector(units.feds[unit_id]))
        return generate_latest(registry).decode()

    uz = scrape("UZ-TAS-PCU")
    assert 'lookout_federation_queries{box="outbox",status="expired"} 1.0' in uz
    assert 'lookout_federation_recipients{box="outbox",state="expired"} 2.0' in uz
    assert 'lookout_federation_queries_overdue{box="outbox"} 1.0' in uz
    assert 'lookout_federation_outbox_pending{recipient="KZ-ALA-PCU"} 1.0' in uz
    pk = scrape("PK-KHI-PCU")
    assert 'lookout_federation_inbox_rejected{reason="malformed"} 1.0' in pk
    assert 'lookout_federation_queries{box="inbox",status="expired"} 1.0' in pk
    assert qid


def test_follow_ups_form_a_thread_on_every_side(units: Units) -> None:
    qid = _open(units, ["KZ-ALA-PCU", "PK-KHI-PCU"])
    other = _open(units, ["PK-KHI-PCU"])
    _deliver(units, "UZ-TAS-PCU")
    _act(units, "PK-KHI-PCU", service.reply, qid, body="Known exporter.")
    _deliver(units, "PK-KHI-PCU")
    uz = units.feds["UZ-TAS-PCU"]
    with uz.sessions() as session:
        answer = service.detail(session, uz, service.get_query(session, uz, qid)).thread[-1]
        foreign = service.detail(session, uz, service.get_query(session, uz, other)).thread[0]
    _act(units, "UZ-TAS-PCU", service.reply, qid, body="Which consignee?", in_reply_to=answer.id)
    with pytest.raises(service.NotFound, match="no message"):
        _act(units, "UZ-TAS-PCU", service.reply, qid, body="x", in_reply_to=foreign.id)
    _deliver(units, "UZ-TAS-PCU")
    for unit_id in ("KZ-ALA-PCU", "PK-KHI-PCU"):
        fed = units.feds[unit_id]
        with fed.sessions() as session:
            thread = service.detail(session, fed, service.get_query(session, fed, qid)).thread
        assert thread[-1].kind == "followup" and thread[-1].body == "Which consignee?"
        assert thread[-1].in_reply_to == answer.id
    # A follow-up moves no state.
    assert _states(units, "UZ-TAS-PCU", qid) == {
        "KZ-ALA-PCU": "delivered",
        "PK-KHI-PCU": "answered",
    }
