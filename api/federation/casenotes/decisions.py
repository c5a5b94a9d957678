"""What a receiving unit does with a proposed rule: backtest it, adopt it in shadow, decline it.

Nothing here runs unless a rule_author of this unit asks (the routes check the role): a
received rule is only loaded and checked on arrival, never evaluated on the unit's data.

The backtest evaluates the pack *as it would be after adoption* — the active pack plus the
proposal written into ``adopted.yaml`` — over the unit's own scored and inspected history
(``api.services.rules.history_frame``, ``rules.backtest``), and reports the proposed rules:
hits, hits per day, precision, lift and recall against recorded outcomes, and the existing
rule they overlap most. Adoption stores that pack as a new version, activates it (the
proposed rules are experimental: shadow only, scores do not change) and tells the sender.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import Principal
from api.federation.casenotes import service, states
from api.federation.casenotes.tables import (
    FedCaseNote,
    FedCaseNoteBacktest,
    FedCaseNoteRecipient,
)
from api.federation.context import Federation
from api.federation.envelope import timestamp
from api.federation.errors import Forbidden, InvalidTransition
from api.federation.service import audit
from api.i18n import _N
from api.problems import ProblemException
from api.services import rules as rules_service
from api.state import AppState
from api.tables import RulePack
from rules import Adoption, AdoptionConflict, adopt_proposal, load_pack
from rules._backtest import backtest as run_backtest
from rules._loader import pack_files

_OUTPUTS = ("rule_score", "rule_hits", "rule_reasons", "rule_shadow_hits")
_TOTALS = ("rows", "days", "inspected", "positives", "base_rate")


def _received(
    session: Session, fed: Federation, note_id: str
) -> tuple[FedCaseNote, FedCaseNoteRecipient]:
    note = service.get_note(session, fed, note_id)
    if note.box != "inbox":
        raise Forbidden(
            f"case note {note.id} was sent by this unit; only a receiving unit decides on it"
        )
    row = next(
        r for r in service.recipients_of(session, note.id) if r.recipient_unit == fed.unit_id
    )
    return note, row


def _proposal(note: FedCaseNote) -> str:
    if note.rule_yaml is None:
        raise InvalidTransition(f"case note {note.id} carries no proposed rule")
    if not note.rule_valid:
        first = (note.rule_diagnostics or [{}])[0].get("rendered", "")
        raise InvalidTransition(
            f"the proposed rule of case note {note.id} does not load here: {first}",
            hint="decline it, telling the sender what to fix",
        )
    return note.rule_yaml


def active_pack(state: AppState, session: Session, unit_id: str) -> tuple[int | None, Path]:
    """The id (None: configured or shipped default) and folder of the unit's active pack."""
    from rules import DEFAULT_PACK

    row = session.scalar(
        select(RulePack).where(RulePack.unit_id == unit_id, RulePack.active.is_(True)).limit(1)
    )
    if row is not None:
        return row.id, state.settings.packs_dir / row.content_hash
    return None, state.settings.rules_dir or DEFAULT_PACK


def _pack_texts(folder: Path) -> dict[str, str]:
    files = {}
    for path in pack_files(folder):
        name = path.relative_to(folder).as_posix() if folder.is_dir() else path.name
        if "/" in name:
            raise ProblemException(
                409,
                _N("Pack has sub-folders"),
                f"the active pack {folder} keeps {name} in a sub-folder",
                hint="adoption writes a new pack version of plain files; flatten the pack",
            )
        files[name] = path.read_text(encoding="utf-8")
    return files


def _candidate(
    state: AppState,
    session: Session,
    fed: Federation,
    principal: Principal,
    note: FedCaseNote,
) -> tuple[int | None, Adoption]:
    """The active pack's id and the pack as it would be with the note's rule adopted now."""
    proposal = _proposal(note)
    base_id, folder = active_pack(state, session, principal.unit_id)
    provenance = {
        "source_unit": note.origin_unit,
        "case_note": note.id,
        "adopted_by": principal.key_id,
        "adopted_at": timestamp(fed.clock()),
    }
    try:
        return base_id, adopt_proposal(_pack_texts(folder), proposal, provenance=provenance)
    except AdoptionConflict as err:
        raise ProblemException(
            409, _N("Rule does not fit your pack"), err.message, hint=err.hint
        ) from err


def backtest(
    state: AppState, session: Session, fed: Federation, principal: Principal, note_id: str
) -> FedCaseNoteBacktest:
    """Backtest the note's rule on this unit's history, as adopted into its pack."""
    note, _ = _received(session, fed, note_id)
    base_id, adoption = _candidate(state, session, fed, principal, note)
    history = rules_service.history_frame(state, session, principal, None)
    batches = int(history["batch_id"].n_unique()) if history.height else 0
    session.rollback()  # only read so far: no transaction held while the backtest runs
    with tempfile.TemporaryDirectory(prefix="lookout-casenote-") as tmp:
        for name, text in adoption.files.items():
            (Path(tmp) / name).write_text(text, encoding="utf-8")
        pack = load_pack(tmp)
        frame = history.drop([c for c in _OUTPUTS if c in history.columns])
        result = run_backtest(pack, frame, prepare=False)
    proposed = set(adoption.rule_ids)
    report: dict[str, Any] = {
        "rules": [r for r in result.rules.to_dicts() if r["rule"] in proposed],
        "skipped": [s for s in result.skipped if s["id"] in proposed],
        "totals": {k: result.totals[k] for k in _TOTALS} | {"batches": batches},
        "notes": result.notes,
        "base_pack_id": base_id,
        "pack_hash": pack.pack_hash,
    }
    note = service.get_note(session, fed, note_id)
    run = FedCaseNoteBacktest(
        casenote_id=note.id,
        unit_id=fed.unit_id,
        run_by=principal.key_id,
        run_at=fed.clock(),
        report=report,
    )
    session.add(run)
    session.flush()
    audit(
        session,
        fed,
        principal.key_id,
        "casenote.backtest",
        note.id,
        backtest_id=run.id,
        rows=report["totals"]["rows"],
        rules={
            r["rule"]: {"hits": r["hits"], "precision": r["precision"]} for r in report["rules"]
        },
    )
    return run


def adopt(
    state: AppState,
    session: Session,
    fed: Federation,
    principal: Principal,
    note_id: str,
    *,
    note_text: str = "",
) -> FedCaseNote:
    """Adopt the note's rule into this unit's pack in shadow, and tell the sender."""
    note, row = _received(session, fed, note_id)
    states.move(row.state, "adopted", what=f"case note {note.id} for {fed.unit_id}")
    base_id, adoption = _candidate(state, session, fed, principal, note)
    name = f"adopted {', '.join(adoption.rule_ids)} from {note.origin_unit} ({note.id})"
    pack = rules_service.store_pack_version(
        state,
        session,
        unit_id=principal.unit_id,
        uploaded_by=principal.key_id,
        name=name,
        files=adoption.files,
        rule_count=adoption.rule_count,
    )
    previous = rules_service.make_active(session, principal.unit_id, pack)
    if previous != base_id:
        raise ProblemException(
            409, _N("Pack changed"), "the active rule pack changed while adopting; adopt again"
        )
    actor = principal.key_id
    audit(
        session,
        fed,
        actor,
        "rule_pack.upload",
        str(pack.id),
        name=pack.name,
        content_hash=pack.content_hash,
        casenote=note.id,
    )
    audit(
        session,
        fed,
        actor,
        "rule_pack.activate",
        str(pack.id),
        content_hash=pack.content_hash,
        previous_pack_id=previous,
    )
    _decide(session, fed, note, row, "adopted", actor=actor, note_text=note_text)
    row.adopted_rules, row.pack_id = adoption.rule_ids, pack.id
    audit(
        session,
        fed,
        actor,
        "casenote.adopt",
        note.id,
        rule_ids=adoption.rule_ids,
        status="experimental",
        pack_id=pack.id,
        content_hash=pack.content_hash,
        reused=adoption.reused,
        source_unit=note.origin_unit,
    )
    service.enqueue_decision(session, fed, note, row, decision="adopted", actor=actor)
    return note


def decline(
    session: Session, fed: Federation, principal: Principal, note_id: str, *, note_text: str = ""
) -> FedCaseNote:
    """Decline the note's rule (nothing changes in the pack) and tell the sender."""
    note, row = _received(session, fed, note_id)
    if note.rule_yaml is None:
        raise InvalidTransition(f"case note {note.id} carries no proposed rule to decline")
    _decide(session, fed, note, row, "declined", actor=principal.key_id, note_text=note_text)
    audit(
        session,
        fed,
        principal.key_id,
        "casenote.decline",
        note.id,
        rule_ids=note.rule_ids,
        note=note_text,
        source_unit=note.origin_unit,
    )
    service.enqueue_decision(session, fed, note, row, decision="declined", actor=principal.key_id)
    return note


def _decide(
    session: Session,
    fed: Federation,
    note: FedCaseNote,
    row: FedCaseNoteRecipient,
    target: str,
    *,
    actor: str,
    note_text: str,
) -> None:
    states.move(row.state, target, what=f"case note {note.id} for {fed.unit_id}")
    service.set_state(session, fed, note, row, target, actor=actor)
    row.decided_at, row.decided_by, row.decision_note = fed.clock(), actor, note_text
