"""Inspection results, container look-ups, rule statistics and the audit log."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import DBAPIError

from api.tables import AuditEvent
from tests.api._manifests import rows, to_csv
from tests.api.conftest import LiveServer

pytestmark = pytest.mark.xdist_group("api")


def test_inspection_feeds_container_history_and_rule_stats(server: LiveServer, unit: str) -> None:
    records = rows(9, owner="INSU", tag="N")
    number = records[0]["container_number"]  # a reefer from ECGYE: hits the reefer rule
    with server.client(server.key(unit)) as client:
        first = client.post("/v1/batches", files={"file": ("d1.csv", to_csv(records))}).json()
        second = client.post("/v1/batches", json={"rows": records[:3]}).json()
        response = client.post(
            "/v1/inspections",
            json={
                "batch_id": first["id"],
                "container_number": number.lower(),
                "outcome": "seizure",
                "finding_type": "drugs",
                "notes": "cocaine in the cooling unit",
            },
        )
        assert response.status_code == 201, response.text
        recorded = response.json()
        assert recorded["container_number"] == number
        assert recorded["record_id"] == f"{number}/NBL00000"

        detail = client.get(f"/v1/containers/{number}").json()
        assert [a["batch_id"] for a in detail["appearances"]] == [second["id"], first["id"]]
        newest, oldest = detail["appearances"]
        assert newest["inspections"] == []
        assert oldest["inspections"][0]["outcome"] == "seizure"
        assert oldest["inspections"][0]["notes"] == "cocaine in the cooling unit"
        assert "reefer-from-cocaine-source" in oldest["rule_hits"]
        assert oldest["rule_reasons"]
        assert detail["queries"] == []

        stats = {r["id"]: r["stats"] for r in client.get("/v1/rules").json()["rules"]}
        reefer = stats["reefer-from-cocaine-source"]
        assert reefer["hits"] == reefer["hits_30d"] == 3 + 1  # 3 reefers in d1, 1 in rows[:3]
        assert reefer["inspected"] == 1 and reefer["positives"] == 1
        assert reefer["hit_rate"] == 1.0

        clean = client.post(
            "/v1/inspections",
            json={
                "batch_id": first["id"],
                "container_number": records[3]["container_number"],
                "outcome": "clean",
            },
        )
        assert clean.status_code == 201
        stats = {r["id"]: r["stats"] for r in client.get("/v1/rules").json()["rules"]}
        assert stats["reefer-from-cocaine-source"]["inspected"] == 2
        assert stats["reefer-from-cocaine-source"]["hit_rate"] == 0.5


def test_inspection_errors(server: LiveServer, unit: str) -> None:
    records = rows(3, owner="ERRU", tag="E")
    with server.client(server.key(unit)) as client:
        batch = client.post(
            "/v1/batches", json={"rows": [*records, records[0] | {"bl_number": "X2"}]}
        ).json()
        number = records[0]["container_number"]
        body = {"batch_id": batch["id"], "container_number": number, "outcome": "clean"}
        ambiguous = client.post("/v1/inspections", json=body)
        assert ambiguous.status_code == 409
        assert "record_id" in ambiguous.json()["detail"]
        assert (
            client.post("/v1/inspections", json=body | {"record_id": f"{number}/X2"}).status_code
            == 201
        )
        absent = client.post("/v1/inspections", json=body | {"container_number": "MSCU1234565"})
        assert absent.status_code == 404
        bad = client.post("/v1/inspections", json=body | {"outcome": "maybe"})
        assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == ["body", "outcome"]
        assert client.get("/v1/containers/ZZZU0000000").status_code == 404


def test_every_write_is_audited_and_the_log_is_append_only(server: LiveServer, unit: str) -> None:
    key = server.key(unit, "analyst", fresh=True)
    key_id = key.split("_")[1]
    records = rows(3, owner="AUDU", tag="U")
    with server.client(key, headers={"X-Request-ID": "req-audit-1"}) as client:
        batch = client.post("/v1/batches", json={"rows": records}).json()
        client.post(
            "/v1/inspections",
            json={
                "batch_id": batch["id"],
                "container_number": records[1]["container_number"],
                "outcome": "irregularity",
                "finding_type": "revenue",
            },
        )
    engine = create_engine(server.database_url)
    try:
        with engine.connect() as conn:
            events = conn.execute(
                select(
                    AuditEvent.action,
                    AuditEvent.actor,
                    AuditEvent.target,
                    AuditEvent.client,
                    AuditEvent.request_id,
                    AuditEvent.role,
                )
                .where(AuditEvent.unit_id == unit)
                .order_by(AuditEvent.id)
            ).all()
        actions = [e.action for e in events]
        assert actions[-3:] == ["key.create", "batch.create", "inspection.record"]
        batch_event, inspection_event = events[-2], events[-1]
        assert batch_event.actor == key_id and batch_event.role == "analyst"
        assert batch_event.target == batch["id"]
        assert batch_event.client == "127.0.0.1"
        assert inspection_event.request_id == "req-audit-1"
        assert events[-3].actor.startswith("cli")
        for statement in ("UPDATE audit_events SET action = 'x'", "DELETE FROM audit_events"):
            with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
                conn.execute(text(statement))
    finally:
        engine.dispose()
