"""Case notes between in-process units, on SQLite and PostgreSQL: group addresses, masking,
the rule checked at send and re-checked at receipt, decisions back to the sender, and the
inbox's signature, replay and permission checks for the new message kinds."""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select

from api.auth import Principal
from api.federation import InvalidTransition, RejectedEnvelope, inbox, run_once, seal
from api.federation.casenotes import decisions, service, views
from api.federation.casenotes.schemas import CaseNoteCreate
from api.federation.casenotes.tables import FedCaseNote
from api.federation.envelope import sha256_hex
from api.federation.errors import InvalidAddress
from api.federation.tables import FedOutbox
from api.problems import ProblemException
from api.tables import AuditEvent

from ._casenote import BROKEN, MASKED_NAME, RULE_ID, note_body
from .conftest import Units

UZ, KZ, PK = "UZ-TAS-PCU", "KZ-ALA-PCU", "PK-KHI-PCU"
RNG = random.Random(11)


def _define_group(units: Units, unit_id: str, name: str, members: list[str]) -> None:
    path = units.feds[unit_id].directory.path
    document = yaml.safe_load(path.read_text())
    document["groups"] = {name: members}
    path.write_text(yaml.safe_dump(document, sort_keys=False))


def _send(units: Units, to: list[str], **kwargs: Any) -> str:
    fed = units.feds[UZ]
    with fed.sessions() as session:
        note = service.send(
            session,
            fed,
            actor="key-uz",
            body=CaseNoteCreate.model_validate(note_body(to, **kwargs)),
        )
        session.commit()
        return note.id


def _deliver(units: Units, unit_id: str) -> int:
    return run_once(units.feds[unit_id], units.transport, RNG)


def _note(units: Units, unit_id: str, note_id: str) -> Any:
    fed = units.feds[unit_id]
    with fed.sessions() as session:
        return views.detail(session, fed, service.get_note(session, fed, note_id))


def _audit(units: Units, unit_id: str, action: str) -> list[AuditEvent]:
    with units.feds[unit_id].sessions() as session:
        return list(
            session.scalars(
                select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
            )
        )


def _decline(units: Units, unit_id: str, note_id: str, text: str) -> None:
    fed = units.feds[unit_id]
    author = Principal(key_id=f"author-{unit_id[:2].lower()}", unit_id=unit_id, role="rule_author")
    with fed.sessions() as session:
        decisions.decline(session, fed, author, note_id, note_text=text)
        session.commit()


def test_a_note_to_a_group_reaches_each_member_masked_and_comes_back_decided(
    units: Units,
) -> None:
    # The group lists UZ itself too (one list shared by every member): UZ is skipped.
    _define_group(units, UZ, "IREN", [KZ, PK, UZ])
    note_id = _send(units, ["IREN"])
    sent = _note(units, UZ, note_id)
    assert sent.addressed_to == ["IREN"]
    assert {r.unit_id: r.state for r in sent.recipients} == {KZ: "sent", PK: "sent"}
    assert sent.rule_valid and sent.rule_ids == [RULE_ID]
    # Masked before signing: the envelope carries a keyed token; the sender keeps the name.
    consignee = sent.parties[1]
    assert consignee.masked and consignee.name.startswith("P-") and consignee.address == ""
    assert sent.parties_local is not None and sent.parties_local[1].name == MASKED_NAME
    (masking,) = _audit(units, UZ, "casenote.mask")
    assert masking.detail["parties"] == [
        {"party": 1, "role": "consignee", "token": consignee.name, "fields": ["name", "address"]}
    ]
    with units.feds[UZ].sessions() as session:
        payloads = [r.payload for r in session.scalars(select(FedOutbox))]
    assert len(payloads) == 2 and all(MASKED_NAME not in str(p) for p in payloads)

    assert _deliver(units, UZ) == 2
    assert {r.unit_id: r.state for r in _note(units, UZ, note_id).recipients} == {
        KZ: "delivered",
        PK: "delivered",
    }
    received = _note(units, KZ, note_id)
    assert received.box == "inbox" and received.parties_local is None
    assert received.parties[1].name == consignee.name and received.rule_valid
    assert received.containers == ["MSCU1000001"]
    assert received.route == ["ECGYE", "PAMIT", "TRMER", "GEPTI"]

    # The same party masked in a second note gets the same token.
    second = _send(units, [PK])
    assert _note(units, UZ, second).parties[1].name == consignee.name

    _decline(units, KZ, note_id, "our history has no reefers from Ecuador")
    with pytest.raises(InvalidTransition, match="declined; it cannot become declined"):
        _decline(units, KZ, note_id, "again")
    _deliver(units, KZ)
    back = {r.unit_id: r for r in _note(units, UZ, note_id).recipients}
    assert back[KZ].state == "declined" and back[PK].state == "delivered"
    assert back[KZ].decision_note == "our history has no reefers from Ecuador"
    assert back[KZ].decided_by == "author-kz"
    assert _note(units, UZ, note_id).status == "delivered"  # PK has not decided yet

    (decided,) = _audit(units, UZ, "casenote.decision")
    assert decided.actor == f"unit:{KZ}" and decided.detail["decision"] == "declined"
    assert [e.detail["to"] for e in _audit(units, UZ, "casenote.state") if e.target == note_id][
        -1
    ] == "declined"
    (declined,) = _audit(units, KZ, "casenote.decline")
    assert declined.actor == "author-kz" and declined.detail["rule_ids"] == [RULE_ID]


def test_group_addresses_and_queries(units: Units) -> None:
    from api.federation import service as queries
    from api.federation.schemas import QueryCreate

    fed = units.feds[UZ]
    with fed.sessions() as session:
        query = queries.open_query(
            session,
            fed,
            actor="k",
            body=QueryCreate(
                to=["all-trusted"],
                question="?",
                subject={"containers": ["MSCU1234565"]},  # type: ignore[arg-type]
            ),
        )
        session.commit()
        summary = queries.summary(session, fed, query)
    assert [r.unit_id for r in summary.recipients] == [KZ, PK]
    assert summary.addressed_to == ["all-trusted"]
    with fed.sessions() as session:
        for to, error, text in (
            (["NOPE"], InvalidAddress, "no group 'NOPE'"),
            ([UZ], Exception, "cannot send to itself"),
            (["TJ-DYU-PCU"], Exception, "not in the partner directory"),
        ):
            with pytest.raises(error, match=text):
                service.send(
                    session, fed, actor="k", body=CaseNoteCreate.model_validate(note_body(to))
                )


def test_a_broken_rule_is_refused_at_send_and_nothing_goes_out(units: Units) -> None:
    with pytest.raises(ProblemException) as err:
        _send(units, [KZ], rule=BROKEN)
    assert err.value.status == 422
    (diagnostic,) = err.value.extra["diagnostics"]
    assert (diagnostic["file"], diagnostic["line"], diagnostic["col"]) == ("poti-case.yaml", 23, 10)
    assert "unknown field 'port_of_lodaing'" in diagnostic["message"]
    assert "port_of_loading" in str(diagnostic["hint"])
    with units.feds[UZ].sessions() as session:
        assert session.scalar(select(func.count()).select_from(FedCaseNote)) == 0
        assert session.scalar(select(func.count()).select_from(FedOutbox)) == 0


def _casenote_envelope(units: Units, sender: str, recipient: str, rule: str) -> dict[str, Any]:
    """A signed casenote envelope built by hand, as a sender without the send-time check
    (or a tampered client) would make it."""
    sent_id = _send(units, [recipient])
    with units.feds[UZ].sessions() as session:
        row = session.scalar(select(FedOutbox).where(FedOutbox.query_id == sent_id))
        assert row is not None
        payload = copy.deepcopy(row.payload)
    note_id = sent_id.replace("-UZ-TAS-PCU", f"-{sender}")
    payload["casenote"].update(id=note_id, origin_unit=sender)
    payload["casenote"]["rule"]["yaml"] = rule
    payload["casenote"]["rule"]["sha256"] = __import__("hashlib").sha256(rule.encode()).hexdigest()
    return seal(
        units.feds[sender].identity,
        message_id=note_id,
        recipient=recipient,
        kind="casenote",
        payload=payload,
        now=units.clock.now,
    )


def test_the_receiver_rechecks_the_rule_and_never_adopts_a_broken_one(units: Units) -> None:
    envelope = _casenote_envelope(units, PK, KZ, BROKEN)
    assert inbox.handle(units.feds[KZ], envelope)["status"] == "accepted"
    received = _note(units, KZ, envelope["message_id"])
    assert received.rule_valid is False and received.rule_ids == []
    assert received.rule_diagnostics[0].rendered.startswith("poti-case.yaml:23:10: error")
    (invalid,) = _audit(units, KZ, "casenote.rule_invalid")
    assert "port_of_lodaing" in invalid.detail["errors"][0]
    author = Principal(key_id="a", unit_id=KZ, role="rule_author")
    fed = units.feds[KZ]
    with fed.sessions() as session, pytest.raises(InvalidTransition, match="does not load here"):
        decisions.adopt(None, session, fed, author, received.id)  # type: ignore[arg-type]
    _decline(units, KZ, received.id, "line 23: port_of_lodaing")
    assert _note(units, KZ, received.id).recipients[0].state == "declined"


def _rejected(units: Units, unit_id: str, envelope: Any) -> str:
    with pytest.raises(RejectedEnvelope) as err:
        inbox.handle(units.feds[unit_id], envelope, client="test")
    return err.value.reason


def test_new_kinds_are_signed_replay_protected_and_checked(units: Units) -> None:
    from tests.federation._casenote import PROPOSAL

    good = _casenote_envelope(units, PK, KZ, PROPOSAL)
    tampered = copy.deepcopy(good)
    tampered["payload"]["casenote"]["finding"] = "nothing at all"
    tampered["payload_sha256"] = sha256_hex(tampered["payload"])
    assert _rejected(units, KZ, tampered) == "bad_signature"
    assert _rejected(units, UZ, good) == "wrong_recipient"
    # Signed by PK but claiming to come from UZ.
    forged = copy.deepcopy(good)
    forged["payload"]["casenote"]["origin_unit"] = UZ
    forged = seal(
        units.feds[PK].identity,
        message_id=good["message_id"],
        recipient=KZ,
        kind="casenote",
        payload=forged["payload"],
        now=units.clock.now,
    )
    assert _rejected(units, KZ, forged) == "not_allowed"
    bad_hash = copy.deepcopy(good["payload"])
    bad_hash["casenote"]["rule"]["yaml"] += "# changed\n"
    reseal = seal(
        units.feds[PK].identity,
        message_id=good["message_id"],
        recipient=KZ,
        kind="casenote",
        payload=bad_hash,
        now=units.clock.now,
    )
    assert _rejected(units, KZ, reseal) == "malformed"
    assert inbox.handle(units.feds[KZ], good)["status"] == "accepted"
    assert _rejected(units, KZ, good) == "replay"
    units.clock.advance(seconds=1)
    again = seal(
        units.feds[PK].identity,
        message_id=good["message_id"],
        recipient=KZ,
        kind="casenote",
        payload=good["payload"],
        now=units.clock.now,
    )
    assert inbox.handle(units.feds[KZ], again)["status"] == "duplicate"

    # A decision from a unit that is not a recipient of the note is refused.
    note_id = _send(units, [KZ])
    decision = {
        "casenote_id": note_id,
        "message_id": "01JZZ-PK-KHI-PCU",
        "decision": "adopted",
        "decided_by": "k",
        "decided_at": units.clock.now.isoformat(),
        "note": "",
        "rule_ids": [RULE_ID],
    }
    from_pk = seal(
        units.feds[PK].identity,
        message_id="01JZZ-PK-KHI-PCU",
        recipient=UZ,
        kind="decision",
        payload=decision,
        now=units.clock.now,
    )
    assert _rejected(units, UZ, from_pk) == "not_allowed"
    unknown = copy.deepcopy(decision) | {"casenote_id": "01NOPE-UZ-TAS-PCU"}
    assert (
        _rejected(
            units,
            UZ,
            seal(
                units.feds[KZ].identity,
                message_id="01JZZ-PK-KHI-PCU",
                recipient=UZ,
                kind="decision",
                payload=unknown,
                now=units.clock.now,
            ),
        )
        == "not_allowed"
    )
    reasons = [e.detail["reason"] for e in _audit(units, KZ, "federation.inbox.reject")]
    assert reasons == ["bad_signature", "not_allowed", "malformed", "replay"]
    assert {r.unit_id: r.state for r in _note(units, UZ, note_id).recipients} == {KZ: "sent"}
