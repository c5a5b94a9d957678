"""Keys, roles and unit isolation through the real server and the real `keys` CLI."""

from __future__ import annotations

import pytest

from api.auth import Principal, parse_key
from tests.api._manifests import rows, to_csv
from tests.api.conftest import LiveServer, cli

pytestmark = pytest.mark.xdist_group("api")


def test_parse_key() -> None:
    assert parse_key("lk_abc123_s3cr3t-_x") == ("abc123", "s3cr3t-_x")
    assert parse_key("lk_abc123") is None
    assert parse_key("Bearer lk_a_b") is None
    assert parse_key("lk__secret") is None


def test_roles_are_ordered() -> None:
    viewer = Principal("k", "U", "viewer")
    author = Principal("k", "U", "rule_author")
    assert viewer.has_role("viewer") and not viewer.has_role("analyst")
    assert author.has_role("analyst") and author.has_role("rule_author")
    assert not author.has_role("admin")


def test_requests_without_a_valid_key_are_refused(server: LiveServer, unit: str) -> None:
    with server.client() as anonymous:
        response = anonymous.get("/v1/batches")
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["www-authenticate"] == "Bearer"
    for bogus in ("nonsense", "lk_000000000000_wrong", server.key(unit)[:-2] + "xx"):
        with server.client(bogus) as client:
            assert client.get("/v1/batches").status_code == 401


def test_revoked_keys_stop_working(server: LiveServer, unit: str) -> None:
    key = server.key(unit, "viewer", fresh=True)
    key_id = parse_key(key)[0]  # type: ignore[index]
    with server.client(key) as client:
        assert client.get("/v1/batches").status_code == 200
        listed = cli(server.env, ["keys", "list", "--unit", unit])
        assert key_id in listed.stdout and "active" in listed.stdout  # type: ignore[attr-defined]
        assert key.split("_", 2)[2] not in listed.stdout  # type: ignore[attr-defined]
        revoked = cli(server.env, ["keys", "revoke", key_id])
        assert revoked.exit_code == 0  # type: ignore[attr-defined]
        assert client.get("/v1/batches").status_code == 401
    assert cli(server.env, ["keys", "revoke", "nosuchkey"]).exit_code == 1  # type: ignore[attr-defined]
    bad_role = cli(server.env, ["keys", "create", "--unit", unit, "--role", "emperor"])
    assert bad_role.exit_code == 2  # type: ignore[attr-defined]


def test_every_write_checks_the_role(server: LiveServer, unit: str) -> None:
    with server.client(server.key(unit, "viewer")) as viewer:
        upload = viewer.post("/v1/batches", files={"file": ("m.csv", to_csv(rows(2)))})
        assert upload.status_code == 403
        assert "analyst" in upload.json()["detail"]
        inspection = viewer.post(
            "/v1/inspections",
            json={"batch_id": "x", "container_number": "MSCU1234565", "outcome": "clean"},
        )
        assert inspection.status_code == 403
        pack = viewer.post("/v1/rules/packs", json={"files": {"a.yaml": "kind: list"}})
        assert pack.status_code == 403
    with server.client(server.key(unit, "analyst")) as analyst:
        assert analyst.post("/v1/rules/packs/1/activate").status_code == 403


def test_a_unit_never_sees_another_units_data(server: LiveServer, unit: str) -> None:
    other = unit + "-OTHER"
    records = rows(6, owner="ISOU", tag="I")
    number = records[0]["container_number"]
    with (
        server.client(server.key(unit)) as mine,
        server.client(server.key(other, "admin")) as theirs,
    ):
        batch = mine.post(
            "/v1/batches", files={"file": ("m.csv", to_csv(records))}, data={"capacity": "2"}
        ).json()
        inspection = mine.post(
            "/v1/inspections",
            json={
                "batch_id": batch["id"],
                "container_number": number,
                "outcome": "seizure",
                "finding_type": "drugs",
            },
        )
        assert inspection.status_code == 201, inspection.text
        assert mine.get(f"/v1/containers/{number}").status_code == 200

        # The other unit (even an admin) sees nothing of it, by any route.
        assert theirs.get("/v1/batches").json()["count"] == 0
        for path in ("", "/flagged", "/quarantine"):
            response = theirs.get(f"/v1/batches/{batch['id']}{path}")
            assert response.status_code == 404, path
        assert theirs.get(f"/v1/containers/{number}").status_code == 404
        stolen = theirs.post(
            "/v1/inspections",
            json={"batch_id": batch["id"], "container_number": number, "outcome": "clean"},
        )
        assert stolen.status_code == 404
        stats = {r["id"]: r["stats"] for r in theirs.get("/v1/rules").json()["rules"]}
        assert all(s["hits"] == 0 and s["inspected"] == 0 for s in stats.values())
        assert theirs.post("/v1/rules/backtest", json={}).status_code == 409
