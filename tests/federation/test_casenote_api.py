"""Case notes through the HTTP API of one unit (in process): roles, adoption into the pack in
shadow with provenance, the shipped files left untouched, refusals and audit."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from api.app import create_app
from api.auth import create_key
from api.federation import init_unit, seal
from api.federation.casenotes.schemas import WireCaseNote
from api.federation.keys import UnitIdentity
from api.federation.tables import FedOutbox
from api.settings import Settings
from api.tables import AuditEvent
from rules import DEFAULT_PACK
from tests.web._site import Browserless

from ._casenote import PROPOSAL, RULE_ID, note_body

UZ, KZ = "UZ-TAS-PCU", "KZ-ALA-PCU"


@pytest.fixture
def kz(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """KZ's app (no delivery worker), its keys by role, and UZ's identity (the sender)."""
    monkeypatch.setenv("LOOKOUT_FED_WORKER", "false")
    unit_dir = tmp_path / "data" / "unit"
    init_unit(unit_dir, unit_id=KZ, country="KZ", name="Almaty", base_url="http://kz.test")
    uz = init_unit(tmp_path / "uz", unit_id=UZ, country="UZ", name="T", base_url="http://uz.test")
    (unit_dir / "partners.yaml").write_text(
        yaml.safe_dump({"units": [uz.directory_entry()]}, sort_keys=False)
    )
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=f"sqlite:///{tmp_path / 'kz.db'}",
        warm_scorer=False,
        unit_id=KZ,
    )
    app = create_app(settings)
    state = app.state.lookout
    keys = {}
    with state.sessions() as session:
        for role in ("viewer", "analyst", "rule_author"):
            _, keys[role] = create_key(session, unit_id=KZ, role=role)
        session.commit()
    # In process, without the lifespan: the delivery worker is off anyway.
    yield {"client": Browserless(app), "keys": keys, "uz": uz, "state": state}
    state.jobs.shutdown()
    state.engine.dispose()


def deliver(site: dict[str, Any], note_id: str, rule: str | None = PROPOSAL) -> Any:
    """Post a signed casenote envelope from UZ to KZ's inbox; the receipt."""
    uz: UnitIdentity = site["uz"]
    now = datetime.now(UTC)
    body = note_body([KZ], rule=None)
    wire = WireCaseNote.model_validate(
        {
            **{k: v for k, v in body.items() if k not in ("to", "rule", "parties")},
            "id": note_id,
            "origin_unit": UZ,
            "recipients": [KZ],
            "parties": [],
            "masking": [],
            "containers": ["MSCU1000001"],
            "rule": None
            if rule is None
            else {
                "file": "poti-case.yaml",
                "yaml": rule,
                "sha256": hashlib.sha256(rule.encode()).hexdigest(),
            },
            "created_at": now,
            "created_by": "key-uz",
        }
    ).model_dump(mode="json")
    envelope = seal(
        uz, message_id=note_id, recipient=KZ, kind="casenote", payload={"casenote": wire}, now=now
    )
    response = site["client"].post("/v1/federation/inbox", json=envelope)
    assert response.status_code == 200, response.text
    return response.json()


def as_(site: dict[str, Any], role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {site['keys'][role]}"}


def test_only_a_rule_author_runs_or_adopts_a_partners_rule(kz: dict[str, Any]) -> None:
    client = kz["client"]
    note_id = "01JDXCASE000000000000000A-UZ-TAS-PCU"
    assert deliver(kz, note_id)["status"] == "accepted"
    listed = client.get("/v1/casenotes?box=inbox", headers=as_(kz, "viewer")).json()
    assert [n["id"] for n in listed["data"]] == [note_id]
    assert listed["data"][0]["rule_valid"] is True
    for role in ("viewer", "analyst"):
        for action in ("backtest", "adopt", "decline"):
            response = client.post(
                f"/v1/casenotes/{note_id}/{action}", json={}, headers=as_(kz, role)
            )
            assert response.status_code == 403, (role, action, response.text)
            assert "rule_author" in response.json()["detail"]
    # No rule pack version was made and nothing was decided.
    assert client.get("/v1/rules", headers=as_(kz, "viewer")).json()["versions"] == []
    shown = client.get(f"/v1/casenotes/{note_id}", headers=as_(kz, "viewer")).json()
    assert shown["recipients"][0]["state"] == "delivered" and shown["backtests"] == []
    # The rule author may; with no scored batch there is nothing to backtest on yet.
    empty = client.post(f"/v1/casenotes/{note_id}/backtest", headers=as_(kz, "rule_author"))
    assert empty.status_code == 409 and "no scored batch" in empty.json()["detail"]


def test_adoption_writes_adopted_yaml_in_shadow_with_provenance(kz: dict[str, Any]) -> None:
    client, author = kz["client"], as_(kz, "rule_author")
    note_id = "01JDXCASE000000000000000B-UZ-TAS-PCU"
    deliver(kz, note_id)
    adopted = client.post(
        f"/v1/casenotes/{note_id}/adopt", json={"note": "in shadow for a month"}, headers=author
    )
    assert adopted.status_code == 200, adopted.text
    mine = adopted.json()["recipients"][0]
    assert mine["state"] == "adopted" and mine["adopted_rules"] == [RULE_ID]
    assert mine["decision_note"] == "in shadow for a month"

    overview = client.get("/v1/rules", headers=as_(kz, "viewer")).json()
    assert overview["active"]["id"] == mine["pack_id"]
    rule = next(r for r in overview["rules"] if r["id"] == RULE_ID)
    assert rule["status"] == "experimental"
    key_id = kz["keys"]["rule_author"].split("_")[1]
    assert rule["provenance"]["source_unit"] == UZ
    assert rule["provenance"]["case_note"] == note_id
    assert rule["provenance"]["adopted_by"] == key_id
    # The shipped files are copied byte for byte; the adopted rule lives in adopted.yaml.
    folder = kz["state"].settings.packs_dir / overview["active"]["content_hash"]
    shipped = {p.name: p.read_bytes() for p in Path(DEFAULT_PACK).glob("*.yaml")}
    assert {p.name for p in folder.iterdir()} == set(shipped) | {"adopted.yaml"}
    assert all((folder / name).read_bytes() == data for name, data in shipped.items())
    adopted_text = (folder / "adopted.yaml").read_text()
    assert "status: experimental" in adopted_text and "status: active" not in adopted_text
    assert "hs_code|startswith: 0803" in adopted_text  # the author's text is kept

    again = client.post(f"/v1/casenotes/{note_id}/adopt", json={}, headers=author)
    assert again.status_code == 409 and "adopted" in again.json()["detail"]

    state = kz["state"]
    with state.sessions() as session:
        (decision,) = session.scalars(select(FedOutbox).where(FedOutbox.kind == "decision"))
        actions = [
            (e.action, e.actor)
            for e in session.scalars(select(AuditEvent).order_by(AuditEvent.id))
            if e.action.startswith(("casenote.", "rule_pack."))
        ]
    assert decision.recipient_unit == UZ and decision.payload["decision"] == "adopted"
    assert decision.payload["rule_ids"] == [RULE_ID]
    assert actions == [
        ("casenote.receive", f"unit:{UZ}"),
        ("casenote.state", f"unit:{UZ}"),
        ("rule_pack.upload", key_id),
        ("rule_pack.activate", key_id),
        ("casenote.state", key_id),
        ("casenote.adopt", key_id),
    ]


def test_a_rule_that_does_not_fit_the_pack_is_refused(kz: dict[str, Any]) -> None:
    client, author = kz["client"], as_(kz, "rule_author")
    clash = PROPOSAL.replace(RULE_ID, "reefer-from-cocaine-source")
    deliver(kz, "01JDXCASE000000000000000C-UZ-TAS-PCU", rule=clash)
    refused = client.post(
        "/v1/casenotes/01JDXCASE000000000000000C-UZ-TAS-PCU/adopt", json={}, headers=author
    )
    assert refused.status_code == 409
    assert "already has a rule 'reefer-from-cocaine-source'" in refused.json()["detail"]
    deliver(kz, "01JDXCASE000000000000000D-UZ-TAS-PCU", rule=None)
    nothing = client.post(
        "/v1/casenotes/01JDXCASE000000000000000D-UZ-TAS-PCU/decline", json={}, headers=author
    )
    assert nothing.status_code == 409 and "no proposed rule" in nothing.json()["detail"]
    assert client.get("/v1/rules", headers=as_(kz, "viewer")).json()["versions"] == []


def test_an_analyst_sends_and_a_broken_rule_is_refused_with_its_place(kz: dict[str, Any]) -> None:
    from ._casenote import BROKEN

    client = kz["client"]
    body = note_body([UZ])
    sent = client.post("/v1/casenotes", json=body, headers=as_(kz, "analyst"))
    assert sent.status_code == 201, sent.text
    assert [r["unit_id"] for r in sent.json()["recipients"]] == [UZ]
    viewer = client.post("/v1/casenotes", json=body, headers=as_(kz, "viewer"))
    assert viewer.status_code == 403
    broken = client.post(
        "/v1/casenotes", json=note_body([UZ], rule=BROKEN), headers=as_(kz, "analyst")
    )
    assert broken.status_code == 422
    problem = broken.json()
    assert problem["diagnostics"][0]["rendered"].startswith("poti-case.yaml:23:10: error")
    groups = client.get("/v1/federation/unit", headers=as_(kz, "viewer")).json()["groups"]
    assert groups == [{"name": "all-trusted", "members": [UZ]}]
    bad_group = client.post("/v1/casenotes", json=note_body(["IREN"]), headers=as_(kz, "analyst"))
    assert bad_group.status_code == 422 and "no group 'IREN'" in bad_group.json()["detail"]
