"""Read views of case notes: lists and the full view with recipients and backtests."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.federation.casenotes.schemas import (
    BacktestRun,
    CaseNotePublic,
    CaseNoteRecipient,
    CaseNoteSummary,
)
from api.federation.casenotes.service import recipients_of
from api.federation.casenotes.tables import FedCaseNote, FedCaseNoteBacktest
from api.federation.context import Federation
from api.federation.tables import FedOutbox


def list_notes(
    session: Session,
    fed: Federation,
    *,
    box: str | None,
    status: str | None,
    offset: int,
    limit: int,
) -> tuple[list[CaseNoteSummary], int]:
    """The unit's case notes, newest first, by box and summary status."""
    where: list[Any] = [FedCaseNote.unit_id == fed.unit_id]
    if box:
        where.append(FedCaseNote.box == box)
    if status:
        where.append(FedCaseNote.status == status)
    total = session.scalar(select(func.count()).select_from(FedCaseNote).where(*where)) or 0
    rows = session.scalars(
        select(FedCaseNote)
        .where(*where)
        .order_by(FedCaseNote.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return [summary(session, note) for note in rows], int(total)


def _recipients(session: Session, note: FedCaseNote) -> list[CaseNoteRecipient]:
    pending: dict[str, list[FedOutbox]] = {}
    if note.box == "outbox":
        for message in session.scalars(
            select(FedOutbox)
            .where(FedOutbox.query_id == note.id, FedOutbox.status == "pending")
            .order_by(FedOutbox.id)
        ):
            pending.setdefault(message.recipient_unit, []).append(message)
    out = []
    for row in recipients_of(session, note.id):
        waiting = pending.get(row.recipient_unit, [])
        out.append(
            CaseNoteRecipient.model_validate(
                dict(
                    unit_id=row.recipient_unit,
                    state=row.state,
                    delivered_at=row.delivered_at,
                    decided_at=row.decided_at,
                    decided_by=row.decided_by,
                    decision_note=row.decision_note,
                    adopted_rules=row.adopted_rules,
                    pack_id=row.pack_id,
                    pending=len(waiting),
                    last_error=waiting[0].last_error if waiting else None,
                )
            )
        )
    return out


def summary(session: Session, note: FedCaseNote) -> CaseNoteSummary:
    """The list view of a case note."""
    return CaseNoteSummary.model_validate(
        dict(
            id=note.id,
            box=note.box,
            origin_unit=note.origin_unit,
            title=note.title,
            finding_type=note.finding_type,
            location=note.location,
            found_on=note.found_on,
            mode=note.mode,
            status=note.status,
            has_rule=note.rule_yaml is not None,
            rule_valid=note.rule_valid,
            addressed_to=note.addressed_to or [],
            created_at=note.created_at,
            recipients=_recipients(session, note),
        )
    )


def detail(session: Session, fed: Federation, note: FedCaseNote) -> CaseNotePublic:
    """Everything the note carries, this unit's check of its rule, recipients and backtests."""
    backtests = [
        BacktestRun(id=b.id, run_by=b.run_by, run_at=b.run_at, report=b.report)
        for b in session.scalars(
            select(FedCaseNoteBacktest)
            .where(
                FedCaseNoteBacktest.casenote_id == note.id,
                FedCaseNoteBacktest.unit_id == fed.unit_id,
            )
            .order_by(FedCaseNoteBacktest.id.desc())
        )
    ]
    return CaseNotePublic(
        **summary(session, note).model_dump(),
        finding=note.finding,
        location_name=note.location_name,
        route=note.route,
        concealment=note.concealment,
        containers=note.containers,
        parties=note.parties,  # type: ignore[arg-type]  # validated by the model
        parties_local=note.parties_local,  # type: ignore[arg-type]
        masking=note.masking,
        narrative=note.narrative,
        rule_file=note.rule_file,
        rule_yaml=note.rule_yaml,
        rule_sha256=note.rule_sha256,
        rule_ids=note.rule_ids,
        rule_diagnostics=note.rule_diagnostics,  # type: ignore[arg-type]
        created_by=note.created_by,
        updated_at=note.updated_at,
        backtests=backtests,
    )
