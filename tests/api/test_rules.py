"""Rule packs over HTTP: validation with file:line:col, versions, audited activation,
scoring with the active pack, and backtests on the unit's inspected history."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, select

from api.tables import AuditEvent
from tests.api._manifests import rows
from tests.api.conftest import LiveServer

pytestmark = pytest.mark.xdist_group("api")

GOOD = """\
kind: rule
id: reefer-from-guayaquil
title: Reefer loaded at Guayaquil
description: Refrigerated containers loaded at Guayaquil (test pack).
status: active
severity: medium
weight: 15
owner: pcu-test
reason: "reefer {iso_type} loaded at {port_of_loading}"
match:
  reefer: {iso_type|re: '^..R'}
  gye: {port_of_loading|in: [ECGYE]}
  condition: reefer and gye
tests:
  - {expect: hit, row: {iso_type: 45R1, port_of_loading: ECGYE}}
  - {expect: no_hit, row: {iso_type: 22G1, port_of_loading: ECGYE}}
"""
BAD = GOOD.replace("port_of_loading|in", "port_of_lodaing|in")


def test_validate_reports_file_line_col(server: LiveServer, unit: str) -> None:
    with server.client(server.key(unit, "viewer")) as client:
        good = client.post("/v1/rules/validate", json={"files": {"gye.yaml": GOOD}}).json()
        assert good["valid"] and good["errors"] == 0 and good["rule_count"] == 1
        bad = client.post("/v1/rules/validate", json={"files": {"gye.yaml": BAD}}).json()
        assert not bad["valid"] and bad["errors"] == 1
        (diagnostic,) = bad["diagnostics"]
        assert (diagnostic["file"], diagnostic["line"], diagnostic["col"]) == ("gye.yaml", 12, 9)
        assert "port_of_lodaing" in diagnostic["message"]
        assert "port_of_loading" in diagnostic["hint"]
        assert diagnostic["rendered"].startswith("gye.yaml:12:9: error: unknown field")
        traversal = client.post("/v1/rules/validate", json={"files": {"../x.txt": GOOD}})
        assert traversal.status_code == 422


def test_upload_activate_score_and_backtest(server: LiveServer, unit: str) -> None:
    author = server.key(unit, "rule_author")
    with server.client(author) as client:
        rejected = client.post("/v1/rules/packs", json={"name": "typo", "files": {"a.yaml": BAD}})
        assert rejected.status_code == 422
        assert rejected.json()["diagnostics"][0]["line"] == 12
        uploaded = client.post("/v1/rules/packs", json={"name": "gye", "files": {"gye.yaml": GOOD}})
        assert uploaded.status_code == 201, uploaded.text
        pack = uploaded.json()
        assert not pack["active"] and pack["rule_count"] == 1
        before = client.get("/v1/rules").json()
        assert before["active"]["id"] is None and len(before["rules"]) > 1

        activated = client.post(f"/v1/rules/packs/{pack['id']}/activate")
        assert activated.status_code == 200 and activated.json()["active"]
        after = client.get("/v1/rules").json()
        assert after["active"]["id"] == pack["id"]
        assert [r["id"] for r in after["rules"]] == ["reefer-from-guayaquil"]
        assert [v["id"] for v in after["versions"]] == [pack["id"]]

        records = rows(6, owner="RULU", tag="R")
        batch = client.post("/v1/batches", json={"rows": records}).json()
        hits = client.get(f"/v1/batches/{batch['id']}/flagged", params={"limit": 500}).json()
        assert {h for f in hits["data"] for h in f["rule_hits"]} == {"reefer-from-guayaquil"}
        detail = client.get(f"/v1/batches/{batch['id']}").json()
        pack_hash = detail["run_record"]["stages"]["rules"]["pack_hash"]
        assert pack_hash != before["active"]["content_hash"]

        for i, outcome in ((0, "seizure"), (3, "clean"), (1, "clean")):
            response = client.post(
                "/v1/inspections",
                json={
                    "batch_id": batch["id"],
                    "container_number": records[i]["container_number"],
                    "outcome": outcome,
                },
            )
            assert response.status_code == 201
        report = client.post("/v1/rules/backtest", json={"batch_ids": [batch["id"]]})
        assert report.status_code == 200, report.text
        body = report.json()
        assert (body["rows"], body["inspected"], body["positives"]) == (6, 3, 1)
        (rule,) = body["rules"]
        assert rule["rule"] == "reefer-from-guayaquil"
        # Rows 0 and 3 are the reefers from Guayaquil: both inspected, one seizure.
        assert (rule["hits"], rule["inspected_hits"], rule["positives"]) == (2, 2, 1)
        assert rule["precision"] == 0.5
        shipped = client.post(
            "/v1/rules/backtest",
            json={"batch_ids": [batch["id"]], "pack": {"files": {"gye.yaml": BAD}}},
        )
        assert shipped.status_code == 422
        missing = client.post("/v1/rules/backtest", json={"batch_ids": ["nope"]})
        assert missing.status_code == 404
        # Not a batch id at all (PostgreSQL text cannot even hold the NUL): refused up front.
        for bad in ("a\u0000b", "", "../x"):
            refused = client.post("/v1/rules/backtest", json={"batch_ids": [bad]})
            assert refused.status_code == 422, (bad, refused.text)

    engine = create_engine(server.database_url)
    try:
        with engine.connect() as conn:
            actions = conn.scalars(
                select(AuditEvent.action).where(AuditEvent.unit_id == unit).order_by(AuditEvent.id)
            ).all()
    finally:
        engine.dispose()
    assert "rule_pack.upload" in actions and "rule_pack.activate" in actions
