"""Three real Lookout servers (UZ, KZ, PK) on loopback ports, each with its own database,
data folder and keys, set up with the real CLIs exactly as docs/federation.md shows."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from api.federation import init_unit, load_unit, seal

from ._live import HoldingProxy, LiveUnit, free_port, introduce, run_cli, wait_for

UZ, KZ, PK = "UZ-TAS-PCU", "KZ-ALA-PCU", "PK-KHI-PCU"
# One worker runs them all, so the three servers start once (not once per xdist worker).
pytestmark = pytest.mark.xdist_group("federation-live")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, LiveUnit]]:
    """UZ and PK running, KZ initialised but down; every unit trusts the other two."""
    root = tmp_path_factory.mktemp("federation")
    units = {u: LiveUnit(u, root / u.lower(), free_port()) for u in (UZ, KZ, PK)}
    # A tiny routine deadline at UZ so a test can watch a query expire.
    units[UZ].extra_env["LOOKOUT_FED_DEADLINE_ROUTINE_SECONDS"] = "3"
    introduce(units, root)
    for unit in units.values():
        unit.key = unit.create_key("analyst")
    units[UZ].start()
    units[PK].start()
    try:
        yield units
    finally:
        for unit in units.values():
            unit.stop()


def cli(unit: LiveUnit, *args: str) -> str:
    done = run_cli(["queries", *args], unit.cli_env)
    assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
    return done.stdout


def query_at(unit: LiveUnit, query_id: str) -> dict[str, Any] | None:
    with unit.client() as client:
        response = client.get(f"/v1/queries/{query_id}")
    return response.json() if response.status_code == 200 else None


def states_at(unit: LiveUnit, query_id: str) -> dict[str, str]:
    query = query_at(unit, query_id)
    return {r["unit_id"]: r["state"] for r in query["recipients"]} if query else {}


def state_changes(unit: LiveUnit, query_id: str) -> list[tuple[str, str]]:
    rows = unit.sql(
        "SELECT detail FROM audit_events WHERE action = 'query.state' AND target = :q ORDER BY id",
        q=query_id,
    )
    details = [json.loads(r[0]) if isinstance(r[0], str) else r[0] for r in rows]
    return [(d["recipient"], d["to"]) for d in details]


def test_urgent_query_to_two_partners_one_down(cluster: dict[str, LiveUnit]) -> None:
    uz, kz, pk = cluster[UZ], cluster[KZ], cluster[PK]
    kz.stop()
    out = cli(
        uz,
        "open",
        "--to",
        KZ,
        "--to",
        PK,
        "--container",
        "MSCU1234565",
        "--question",
        "Who stuffed this container in Almaty?",
    )
    qid = out.splitlines()[0]

    # PK receives at once; KZ, being down, stays `sent` with the failure recorded.
    wait_for("PK to receive", lambda: query_at(pk, qid))
    wait_for("UZ to see PK delivered", lambda: states_at(uz, qid).get(PK) == "delivered")
    pending = query_at(uz, qid)
    assert pending is not None
    kz_row = next(r for r in pending["recipients"] if r["unit_id"] == KZ)
    assert kz_row["state"] == "sent" and kz_row["delivery"]["pending"] == 1
    wait_for(
        "a failed attempt",
        lambda: (
            (query_at(uz, qid) or {})
            .get("recipients", [{}])[0]
            .get("delivery", {})
            .get("attempts", 0)
            >= 1
        ),
    )

    # KZ comes up and receives exactly once.
    kz.start()
    wait_for("KZ to receive", lambda: query_at(kz, qid))
    wait_for("UZ to see KZ delivered", lambda: states_at(uz, qid).get(KZ) == "delivered")
    time.sleep(1.5)  # several more worker rounds: nothing may arrive twice
    assert kz.sql("SELECT count(*) FROM fed_queries")[0][0] == 1
    assert kz.sql("SELECT count(*), max(deliveries) FROM fed_inbox")[0] == (1, 1)
    assert kz.sql("SELECT count(*) FROM fed_messages WHERE query_id = :q", q=qid)[0][0] == 1
    received = query_at(kz, qid)
    assert received is not None and received["box"] == "inbox"
    assert received["subject"]["containers"] == ["MSCU1234565"]

    # KZ acknowledges and answers; PK answers; UZ sees both answers and closes.
    cli(kz, "ack", qid, "--note", "checking with the terminal")
    wait_for("UZ to see the ack", lambda: states_at(uz, qid).get(KZ) == "acknowledged")
    cli(kz, "answer", qid, "Stuffed by a freight forwarder opened last month.")
    cli(pk, "answer", qid, "No record at Karachi.")
    wait_for(
        "UZ to see the answers", lambda: states_at(uz, qid) == {KZ: "answered", PK: "answered"}
    )
    shown = cli(uz, "show", qid)
    assert "freight forwarder opened last month" in shown and "No record at Karachi" in shown
    listed = cli(uz, "list", "--box", "outbox", "--status", "answered")
    assert qid in listed
    cli(uz, "close", qid, "--note", "thank you")
    wait_for("KZ to see it closed", lambda: states_at(kz, qid) == {KZ: "closed"})
    wait_for("PK to see it closed", lambda: states_at(pk, qid) == {PK: "closed"})
    assert states_at(uz, qid) == {KZ: "closed", PK: "closed"}

    # Both sides can prove every step.
    uz_kz = [s for r, s in state_changes(uz, qid) if r == KZ]
    assert uz_kz == ["sent", "delivered", "acknowledged", "answered", "closed"]
    assert [s for _, s in state_changes(kz, qid)] == [
        "delivered",
        "acknowledged",
        "answered",
        "closed",
    ]
    thread = query_at(uz, qid)["thread"]  # type: ignore[index]
    assert [m["kind"] for m in thread] == ["query", "ack", "reply", "reply", "close"]


def test_query_past_deadline_shows_expired(cluster: dict[str, LiveUnit]) -> None:
    uz, pk = cluster[UZ], cluster[PK]
    out = cli(
        uz,
        "open",
        "--to",
        PK,
        "--bl",
        "MEDUKH123456",
        "--priority",
        "routine",
        "--question",
        "Is the consignee known to you?",
    )
    qid = out.splitlines()[0]
    wait_for("PK to receive", lambda: query_at(pk, qid))
    wait_for("the deadline to pass", lambda: qid in cli(uz, "list", "--status", "expired"), 30)
    assert states_at(uz, qid) == {PK: "expired"}
    assert query_at(uz, qid)["overdue"] is True  # type: ignore[index]
    wait_for("PK to expire it too", lambda: states_at(pk, qid) == {PK: "expired"}, 30)
    import httpx

    metrics = httpx.get(f"{uz.url}/metrics", timeout=30).text
    assert 'lookout_federation_queries{box="outbox",status="expired"}' in metrics
    assert 'lookout_federation_queries_overdue{box="outbox"}' in metrics
    cli(uz, "cancel", qid, "--reason", "overtaken by events")
    wait_for("PK to see it cancelled", lambda: states_at(pk, qid) == {PK: "cancelled"})


def _envelope_from(unit_dir: Path, recipient: str, message_id: str) -> dict[str, Any]:
    identity = load_unit(unit_dir)
    now = datetime.now(UTC)
    payload = {
        "query_id": message_id,
        "message": {
            "id": message_id,
            "kind": "query",
            "author_unit": identity.unit_id,
            "author": "k",
            "to": [recipient],
            "body": "q",
            "in_reply_to": None,
            "created_at": now.isoformat(),
        },
        "query": {
            "id": message_id,
            "origin_unit": identity.unit_id,
            "recipients": [recipient],
            "priority": "urgent",
            "subject": {"containers": ["TGHU0000001"], "bl_numbers": [], "batch_ref": None},
            "question": "q",
            "explanation": {},
            "deadline_at": now.isoformat(),
            "created_at": now.isoformat(),
            "created_by": "k",
        },
    }
    return seal(
        identity, message_id=message_id, recipient=recipient, kind="query", payload=payload, now=now
    )


def test_inbox_rejects_and_audits_bad_envelopes(
    cluster: dict[str, LiveUnit], tmp_path: Path
) -> None:
    uz, pk = cluster[UZ], cluster[PK]
    inbox = f"{pk.url}/v1/federation/inbox"
    import httpx

    def post(envelope: Any) -> httpx.Response:
        return httpx.post(inbox, json=envelope, timeout=30)

    good = _envelope_from(uz.unit_dir, PK, "01TEST0000000000000000000A-UZ-TAS-PCU")
    tampered = json.loads(json.dumps(good))
    tampered["payload"]["query"]["question"] = "tampered"
    stranger = init_unit(
        tmp_path / "tm", unit_id="TM-ASB-PCU", country="TM", name="?", base_url="http://127.0.0.1:9"
    )
    unknown = _envelope_from(tmp_path / "tm", PK, "01TEST0000000000000000000B-TM-ASB-PCU")
    misdirected = _envelope_from(uz.unit_dir, KZ, "01TEST0000000000000000000C-UZ-TAS-PCU")
    assert stranger.unit_id == "TM-ASB-PCU"

    expected = [
        (tampered, 401, "bad_signature"),
        (unknown, 403, "unknown_sender"),
        (misdirected, 403, "wrong_recipient"),
    ]
    for envelope, status, reason in expected:
        response = post(envelope)
        assert response.status_code == status, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["reason"] == reason
    first = post(good)
    assert first.status_code == 200 and first.json()["status"] == "accepted"
    replay = post(good)
    assert replay.status_code == 409 and replay.json()["reason"] == "replay"

    rows = pk.sql(
        "SELECT actor, target, detail FROM audit_events "
        "WHERE action = 'federation.inbox.reject' ORDER BY id"
    )
    audited = [
        (r[0], r[1], (json.loads(r[2]) if isinstance(r[2], str) else r[2])["reason"]) for r in rows
    ]
    assert audited[-4:] == [
        ("unit:UZ-TAS-PCU", good["message_id"], "bad_signature"),
        ("unit:TM-ASB-PCU", unknown["message_id"], "unknown_sender"),
        ("unit:UZ-TAS-PCU", misdirected["message_id"], "wrong_recipient"),
        ("unit:UZ-TAS-PCU", good["message_id"], "replay"),
    ]
    assert pk.sql("SELECT count(*) FROM fed_queries WHERE id = :q", q=good["message_id"])[0][0] == 1


def test_sender_killed_mid_delivery_loses_and_duplicates_nothing(
    cluster: dict[str, LiveUnit],
) -> None:
    uz, pk = cluster[UZ], cluster[PK]
    partners = uz.unit_dir / "partners.yaml"
    original = partners.read_text()
    proxy = HoldingProxy(pk.port)
    proxy.hold.set()
    # UZ now reaches PK through the proxy, which lets PK process but swallows the receipt.
    partners.write_text(original.replace(pk.url, f"http://127.0.0.1:{proxy.port}"))
    try:
        with uz.client() as client:
            response = client.post(
                "/v1/queries",
                json={
                    "to": [PK],
                    "question": "Kill test",
                    "subject": {"containers": ["TGHU1234567"]},
                },
            )
        assert response.status_code == 201, response.text
        qid = response.json()["id"]
        wait_for("PK to process the query", lambda: query_at(pk, qid))
        wait_for("the receipt to be swallowed", proxy.swallowed.is_set)
        assert states_at(uz, qid) == {PK: "sent"}
        uz.kill()
    finally:
        partners.write_text(original)
        proxy.close()
    uz.start()
    wait_for("UZ to learn it was delivered", lambda: states_at(uz, qid) == {PK: "delivered"})
    assert pk.sql("SELECT count(*) FROM fed_queries WHERE id = :q", q=qid)[0][0] == 1
    assert pk.sql("SELECT count(*), min(deliveries) FROM fed_inbox WHERE query_id = :q", q=qid)[
        0
    ] == (1, 2)
    assert uz.sql("SELECT count(*), min(status) FROM fed_outbox WHERE query_id = :q", q=qid)[0] == (
        1,
        "delivered",
    )
    duplicates = pk.sql(
        "SELECT count(*) FROM audit_events WHERE action = "
        "'federation.inbox.duplicate' AND target = :q",
        q=qid,
    )
    assert duplicates[0][0] == 1


def test_query_prefilled_from_a_scored_batch_in_one_call(cluster: dict[str, LiveUnit]) -> None:
    from tests.api._manifests import container, rows, to_csv

    uz, pk = cluster[UZ], cluster[PK]
    with uz.client() as client:
        response = client.post(
            "/v1/batches",
            files={"file": ("manifest.csv", to_csv(rows(6, tag="F")), "text/csv")},
            timeout=600,
        )
        assert response.status_code == 201, response.text
        batch_id = response.json()["id"]
    reefer = container("MSCU", 100_000)  # a reefer from Guayaquil: hits the reefer rule
    out = cli(
        uz,
        "open",
        "--to",
        PK,
        "--batch",
        batch_id,
        "--container",
        reefer,
        "--question",
        "Do you hold intelligence on this consignee?",
        "--json",
    )
    opened = json.loads(out)
    assert opened["subject"] == {
        "containers": [reefer],
        "bl_numbers": ["FBL00000"],
        "batch_ref": batch_id,
    }
    received = wait_for("PK to receive", lambda: query_at(pk, opened["id"]))
    explained = received["explanation"]
    assert explained["batch_id"] == batch_id and explained["container_number"] == reefer
    row = explained["rows"][0]
    assert "reefer-from-cocaine-source" in row["rule_hits"]
    assert any("ECGYE" in reason for reason in row["rule_reasons"])
    assert row["fields"]["port_of_loading"] == "ECGYE"
    assert {"risk_score", "model_probability", "model_reasons", "lane"} <= set(row)
    # The container look-up of the API lists the query beside the container's appearances.
    with uz.client() as client:
        looked_up = client.get(f"/v1/containers/{reefer}").json()
    assert opened["id"] in [q["id"] for q in looked_up["queries"]]
    # A container that is not among the batch's flagged rows cannot be explained.
    with uz.client() as client:
        missing = client.post(
            "/v1/queries",
            json={
                "to": [PK],
                "question": "?",
                "batch_id": batch_id,
                "container_number": container("MSCU", 999_999),
            },
        )
    assert missing.status_code == 404 and "not among the flagged rows" in missing.json()["detail"]


def test_roles_and_units_are_enforced(cluster: dict[str, LiveUnit]) -> None:
    uz = cluster[UZ]
    viewer = uz.create_key("viewer")
    stranger = LiveUnit("UZ-BUK-PCU", uz.root, uz.port).create_key("admin")
    body = {"to": [PK], "question": "?", "subject": {"containers": ["MSCU1234565"]}}
    import httpx

    with httpx.Client(base_url=uz.url, timeout=30) as client:
        assert client.get("/v1/queries").status_code == 401
        assert client.post("/v1/federation/inbox", json={}).status_code == 422
        as_viewer = {"Authorization": f"Bearer {viewer}"}
        assert client.get("/v1/queries", headers=as_viewer).status_code == 200
        forbidden = client.post("/v1/queries", json=body, headers=as_viewer)
        assert forbidden.status_code == 403 and "analyst" in forbidden.json()["detail"]
        other_unit = client.get("/v1/queries", headers={"Authorization": f"Bearer {stranger}"})
        assert other_unit.status_code == 403 and "UZ-TAS-PCU" in other_unit.json()["detail"]
        unknown = client.post(
            "/v1/queries",
            json={**body, "to": ["TJ-DYU-PCU"]},
            headers={"Authorization": f"Bearer {uz.key}"},
        )
        assert unknown.status_code == 403 and "partner directory" in unknown.json()["detail"]
        spec = client.get("/openapi.json").json()
    for path in (
        "/v1/queries",
        "/v1/queries/{query_id}",
        "/v1/queries/{query_id}/ack",
        "/v1/queries/{query_id}/reply",
        "/v1/queries/{query_id}/close",
        "/v1/queries/{query_id}/cancel",
        "/v1/federation/inbox",
    ):
        assert path in spec["paths"], path


def test_openapi_of_queries_and_inbox_holds_under_schemathesis(
    cluster: dict[str, LiveUnit],
) -> None:
    import schemathesis
    from hypothesis import HealthCheck, given, settings

    pk = cluster[PK]
    loaded = schemathesis.openapi.from_url(f"{pk.url}/openapi.json")
    operations = [r.ok() for r in loaded.get_all_operations()]
    ours = [op for op in operations if op.path.startswith(("/v1/queries", "/v1/federation"))]
    assert {op.label for op in ours} >= {
        "POST /v1/queries",
        "GET /v1/queries",
        "GET /v1/queries/{query_id}",
        "POST /v1/queries/{query_id}/ack",
        "POST /v1/queries/{query_id}/reply",
        "POST /v1/queries/{query_id}/close",
        "POST /v1/queries/{query_id}/cancel",
        "POST /v1/federation/inbox",
        "GET /v1/federation/unit",
    }
    headers = {"Authorization": f"Bearer {pk.key}"}
    # Schema-valid requests may be semantically refused (unknown query id, unlisted partner,
    # unsigned envelope): those are documented 4xx problems, not failures.
    excluded = [schemathesis.checks.positive_data_acceptance]
    for operation in ours:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=6, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        def conforms(case: Any) -> None:
            case.call_and_validate(headers=headers, timeout=60, excluded_checks=excluded)

        conforms()
