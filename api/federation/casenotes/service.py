"""Case notes: send (parties masked, rule checked), receive (rule re-checked), state changes.

Backtesting and adopting a received rule live in ``decisions``; read views in ``views``.
Every change commits together with its outbox rows and audit events (the caller commits).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.federation._ids import new_id
from api.federation._payloads import payload_of
from api.federation.casenotes import states
from api.federation.casenotes.masking import mask_parties
from api.federation.casenotes.schemas import (
    CaseNoteCreate,
    WireCaseNote,
    WireCaseNotePayload,
    WireDecisionPayload,
)
from api.federation.casenotes.tables import FedCaseNote, FedCaseNoteRecipient
from api.federation.context import Federation
from api.federation.errors import NotFound, RejectedEnvelope
from api.federation.service import audit, enqueue_payload
from api.federation.tables import FedOutbox
from api.i18n import _N
from api.problems import ProblemException
from api.services.inspections import normalise_container
from engine.identity import fingerprint
from rules import ProposalCheck, check_proposal

KIND_NOTE = "casenote"
KIND_DECISION = "decision"


def diagnostics_of(check: ProposalCheck) -> list[dict[str, Any]]:
    """The proposal's diagnostics as stored and shown (file:line:col, rendered text)."""
    return [
        {
            "file": d.file,
            "line": d.line,
            "col": d.col,
            "severity": d.severity,
            "message": d.message,
            "hint": d.hint,
            "rendered": d.render(),
        }
        for d in check.diagnostics
    ]


def _invalid_rule(check: ProposalCheck) -> ProblemException:
    first = check.errors[0]
    return ProblemException(
        422,
        _N("Invalid proposed rule"),
        f"the proposed rule has {len(check.errors)} error(s); nothing was sent. First: "
        f"{first.file}:{first.line}:{first.col}: {first.message}",
        hint="fix the rule (`lookout rules check FILE` shows every problem) and send again",
        diagnostics=diagnostics_of(check),
    )


def recipients_of(session: Session, note_id: str) -> list[FedCaseNoteRecipient]:
    """The recipient rows of a case note, by unit id."""
    return list(
        session.scalars(
            select(FedCaseNoteRecipient)
            .where(FedCaseNoteRecipient.casenote_id == note_id)
            .order_by(FedCaseNoteRecipient.recipient_unit)
        )
    )


def get_note(session: Session, fed: Federation, note_id: str) -> FedCaseNote:
    """This unit's case note ``note_id`` or NotFound."""
    note = session.get(FedCaseNote, note_id)
    if note is None or note.unit_id != fed.unit_id:
        raise NotFound(
            f"no case note {note_id!r} in unit {fed.unit_id}",
            hint="list them with GET /v1/casenotes or `lookout casenotes list`",
        )
    return note


def set_state(
    session: Session,
    fed: Federation,
    note: FedCaseNote,
    row: FedCaseNoteRecipient,
    target: str,
    *,
    actor: str,
    strict: bool = True,
) -> bool:
    """Move one recipient to ``target`` (audited); False if not allowed and not ``strict``."""
    current = row.state
    if current == target:
        return False
    if not strict and not states.can_move(current, target):
        audit(
            session,
            fed,
            actor,
            "casenote.state_unchanged",
            note.id,
            recipient=row.recipient_unit,
            state=current,
            refused=target,
        )
        return False
    states.move(current, target, what=f"case note {note.id} for {row.recipient_unit}")
    now = fed.clock()
    row.state, row.updated_at = target, now
    if row.delivered_at is None:  # a decision may overtake the delivery receipt
        row.delivered_at = now
    audit(
        session,
        fed,
        actor,
        "casenote.state",
        note.id,
        recipient=row.recipient_unit,
        **{"from": current, "to": target},
    )
    session.flush()
    note.status = states.summarise([r.state for r in recipients_of(session, note.id)])
    note.updated_at = now
    return True


# ---------------------------------------------------------------- sending


def send(session: Session, fed: Federation, *, actor: str, body: CaseNoteCreate) -> FedCaseNote:
    """Check the rule, mask the parties, commit the note and queue it for every recipient."""
    recipients = fed.directory.expand(body.to)
    check = None
    if body.rule is not None:
        check = check_proposal(body.rule.yaml, file=body.rule.file)
        if not check.valid:
            raise _invalid_rule(check)
    sent, local, masking = mask_parties(fed.identity, body.parties)
    now = fed.clock()
    rule = body.rule
    wire = WireCaseNote.model_validate(
        {
            **body.model_dump(exclude={"to", "parties", "rule", "containers"}),
            "id": new_id(fed.unit_id),
            "origin_unit": fed.unit_id,
            "recipients": recipients,
            "containers": [normalise_container(c) for c in body.containers],
            "parties": sent,
            "masking": masking,
            "rule": None
            if rule is None
            else {
                "file": rule.file,
                "yaml": rule.yaml,
                "sha256": fingerprint(rule.yaml),
            },
            "created_at": now,
            "created_by": actor,
        }
    )
    note = _row(fed, wire, check, box="outbox", status="sent", now=now)
    note.parties_local = [p.model_dump() for p in local]
    note.addressed_to = list(dict.fromkeys(body.to))
    session.add(note)
    session.flush()  # the note first: recipients reference it
    for unit in recipients:
        session.add(
            FedCaseNoteRecipient(
                casenote_id=note.id, recipient_unit=unit, state="sent", updated_at=now
            )
        )
    audit(
        session,
        fed,
        actor,
        "casenote.create",
        note.id,
        to=recipients,
        addressed_to=note.addressed_to,
        finding_type=note.finding_type,
        rule_ids=note.rule_ids,
        rule_sha256=note.rule_sha256,
    )
    if masking:
        audit(session, fed, actor, "casenote.mask", note.id, parties=masking)
    for unit in recipients:
        audit(
            session,
            fed,
            actor,
            "casenote.state",
            note.id,
            recipient=unit,
            **{"from": None, "to": "sent"},
        )
    enqueue_payload(
        session,
        fed,
        thread_id=note.id,
        message_id=note.id,
        kind=KIND_NOTE,
        payload={"casenote": wire.model_dump(mode="json")},
        recipients=recipients,
    )
    session.flush()
    return note


def _row(
    fed: Federation,
    wire: WireCaseNote,
    check: ProposalCheck | None,
    *,
    box: str,
    status: str,
    now: datetime,
) -> FedCaseNote:
    """The stored note of ``wire`` in this unit's ``box``, with this unit's check of its rule."""
    rule = wire.rule
    return FedCaseNote(
        **wire.model_dump(exclude={"recipients", "parties", "rule"}),
        unit_id=fed.unit_id,
        box=box,
        parties=[p.model_dump() for p in wire.parties],
        parties_local=None,
        rule_file=rule.file if rule else None,
        rule_yaml=rule.yaml if rule else None,
        rule_sha256=rule.sha256 if rule else None,
        rule_ids=check.rule_ids if check else [],
        rule_valid=check.valid if check else None,
        rule_diagnostics=diagnostics_of(check) if check else [],
        status=status,
        addressed_to=None,
        updated_at=now,
    )


def enqueue_decision(
    session: Session,
    fed: Federation,
    note: FedCaseNote,
    row: FedCaseNoteRecipient,
    *,
    decision: str,
    actor: str,
) -> None:
    """Tell the sending unit this unit's decision (a signed ``decision`` message)."""
    message_id = new_id(fed.unit_id)
    payload = WireDecisionPayload(
        casenote_id=note.id,
        message_id=message_id,
        decision=decision,  # type: ignore[arg-type]  # adopted | declined, set by the caller
        decided_by=actor,
        decided_at=row.decided_at or fed.clock(),
        note=row.decision_note,
        rule_ids=row.adopted_rules or [],
    ).model_dump(mode="json")
    enqueue_payload(
        session,
        fed,
        thread_id=note.id,
        message_id=message_id,
        kind=KIND_DECISION,
        payload=payload,
        recipients=[note.origin_unit],
    )


# ---------------------------------------------------------------- receiving


def receive_note(
    session: Session, fed: Federation, envelope: dict[str, Any], sender: str, actor: str
) -> str:
    """Apply a ``casenote`` envelope: store the note and re-check its rule here."""
    wire = payload_of(WireCaseNotePayload, envelope["payload"]).casenote
    if wire.id != envelope["message_id"]:
        raise RejectedEnvelope(
            "malformed", "the case note id differs from the envelope", status=422
        )
    if wire.origin_unit != sender:
        raise RejectedEnvelope(
            "not_allowed", "the case note's origin is not the sender", status=403
        )
    if fed.unit_id not in wire.recipients:
        raise RejectedEnvelope(
            "wrong_recipient", f"{fed.unit_id} is not a recipient of the case note", status=403
        )
    if session.get(FedCaseNote, wire.id) is not None:
        raise RejectedEnvelope(
            "message_id_conflict", f"case note {wire.id} already exists", status=409
        )
    check = None
    if wire.rule is not None:
        if fingerprint(wire.rule.yaml) != wire.rule.sha256:
            raise RejectedEnvelope("malformed", "the proposed rule's sha256 differs", status=422)
        # Never trusted: loaded here with this unit's loader, never evaluated on receipt.
        check = check_proposal(wire.rule.yaml, file=wire.rule.file)
    now = fed.clock()
    note = _row(fed, wire, check, box="inbox", status="delivered", now=now)
    session.add(note)
    session.flush()
    session.add(
        FedCaseNoteRecipient(
            casenote_id=note.id,
            recipient_unit=fed.unit_id,
            state="delivered",
            delivered_at=now,
            updated_at=now,
        )
    )
    audit(
        session,
        fed,
        actor,
        "casenote.receive",
        note.id,
        finding_type=note.finding_type,
        rule_ids=note.rule_ids,
        rule_valid=note.rule_valid,
        masked_parties=len(note.masking),
    )
    if check is not None and not check.valid:
        audit(
            session,
            fed,
            actor,
            "casenote.rule_invalid",
            note.id,
            errors=[d.render() for d in check.errors[:5]],
        )
    audit(
        session,
        fed,
        actor,
        "casenote.state",
        note.id,
        recipient=fed.unit_id,
        **{"from": None, "to": "delivered"},
    )
    return note.id


def receive_decision(
    session: Session, fed: Federation, envelope: dict[str, Any], sender: str, actor: str
) -> str:
    """Apply a ``decision`` envelope: a recipient adopted or declined this unit's rule."""
    payload = payload_of(WireDecisionPayload, envelope["payload"])
    if payload.message_id != envelope["message_id"]:
        raise RejectedEnvelope("malformed", "the message id differs from the envelope", status=422)
    note = session.get(FedCaseNote, payload.casenote_id)
    if note is None or note.unit_id != fed.unit_id or note.box != "outbox":
        raise RejectedEnvelope(
            "not_allowed", f"no case note {payload.casenote_id} sent by this unit", status=404
        )
    row = next((r for r in recipients_of(session, note.id) if r.recipient_unit == sender), None)
    if row is None:
        raise RejectedEnvelope(
            "not_allowed", f"{sender} is not a recipient of case note {note.id}", status=403
        )
    # Tolerant: a valid, signed decision is never refused for its timing (the sender would
    # retry forever); an impossible move is audited and skipped.
    if set_state(session, fed, note, row, payload.decision, actor=actor, strict=False):
        row.decided_at, row.decided_by = payload.decided_at, payload.decided_by
        row.decision_note = payload.note
        row.adopted_rules = payload.rule_ids if payload.decision == "adopted" else None
    audit(
        session,
        fed,
        actor,
        "casenote.decision",
        note.id,
        recipient=sender,
        decision=payload.decision,
        rule_ids=payload.rule_ids,
        decided_by=payload.decided_by,
        note=payload.note,
    )
    return note.id


def delivered(session: Session, fed: Federation, row: FedOutbox) -> None:
    """The worker's hook once a ``casenote`` envelope is receipted: the recipient has it."""
    note = session.get(FedCaseNote, row.query_id)
    recipient = session.scalar(
        select(FedCaseNoteRecipient).where(
            FedCaseNoteRecipient.casenote_id == row.query_id,
            FedCaseNoteRecipient.recipient_unit == row.recipient_unit,
        )
    )
    if note is None or recipient is None:
        return
    if recipient.state == "sent":
        set_state(session, fed, note, recipient, "delivered", actor="system:outbox")
    elif recipient.delivered_at is None:
        recipient.delivered_at = fed.clock()


HANDLERS = {KIND_NOTE: receive_note, KIND_DECISION: receive_decision}
"""Inbox handlers by envelope kind: ``(session, fed, envelope, sender, actor) -> thread id``."""
