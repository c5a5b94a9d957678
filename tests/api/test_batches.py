"""Upload, score and read batches through the real server, on both database backends."""

from __future__ import annotations

import time

import pytest

from tests.api._manifests import container, rows, to_csv
from tests.api.conftest import LiveServer

pytestmark = pytest.mark.xdist_group("api")

PROBLEM = "application/problem+json"


def wait_done(client: object, batch_id: str, timeout: float = 180) -> dict[str, object]:
    """Poll a batch until it leaves queued/running."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(f"/v1/batches/{batch_id}").json()  # type: ignore[attr-defined]
        if body["status"] in ("done", "failed"):
            return body  # type: ignore[no-any-return]
        time.sleep(0.3)
    raise AssertionError(f"batch {batch_id} still {body['status']} after {timeout}s")


def test_csv_upload_is_scored_inline(server: LiveServer, unit: str) -> None:
    records = rows(12, tag="A")
    with server.client(server.key(unit)) as client:
        response = client.post(
            "/v1/batches",
            files={"file": ("manifest.csv", to_csv(records), "text/csv")},
            data={"capacity": "3"},
        )
        assert response.status_code == 201, response.text
        batch = response.json()
        assert response.headers["location"] == f"/v1/batches/{batch['id']}"
        assert batch["status"] == "done" and batch["mode"] == "inline"
        assert batch["unit_id"] == unit
        counts = batch["counts"]
        assert counts["rows_in"] == 12 and counts["rows_scored"] == 12
        assert counts["rows_quarantined"] == 0
        assert counts["rows_selected"] == 3

        detail = client.get(f"/v1/batches/{batch['id']}").json()
        assert detail["run_record"]["counts"]["rows_scored"] == 12
        assert detail["run_record"]["parameters"]["capacity"]

        flagged = client.get(f"/v1/batches/{batch['id']}/flagged", params={"limit": 500}).json()
        assert flagged["count"] == counts["rows_flagged"] == len(flagged["data"])
        numbers = {r["container_number"] for r in records}
        assert {f["container_number"] for f in flagged["data"]} <= numbers
        # The reefers from Guayaquil hit the reefer rule, with a rendered reason.
        reefer = container("MSCU", 100_000)
        hit = next(f for f in flagged["data"] if f["container_number"] == reefer)
        assert "reefer-from-cocaine-source" in hit["rule_hits"]
        assert any("ECGYE" in reason for reason in hit["rule_reasons"])
        assert hit["fields"]["port_of_loading"] == "ECGYE"
        scores = [f["risk_score"] for f in flagged["data"]]
        assert scores == sorted(scores, reverse=True)


def test_flagged_filters_sort_and_pages(server: LiveServer, unit: str) -> None:
    with server.client(server.key(unit)) as client:
        batch = client.post(
            "/v1/batches",
            files={"file": ("m.csv", to_csv(rows(15, tag="F")), "text/csv")},
            data={"capacity": "4"},
        ).json()
        url = f"/v1/batches/{batch['id']}/flagged"
        everything = client.get(url, params={"limit": 500}).json()["data"]
        selected = client.get(url, params={"selected": "true", "limit": 500}).json()
        assert selected["count"] == 4
        assert all(f["selected"] for f in selected["data"])
        rule = client.get(url, params={"rule": "reefer-from-cocaine-source"}).json()
        expected = [f for f in everything if "reefer-from-cocaine-source" in f["rule_hits"]]
        assert rule["count"] == len(expected) > 0
        lanes = {f["lane"] for f in everything}
        for lane in lanes:
            page = client.get(url, params={"lane": lane, "limit": 500}).json()
            assert page["count"] == sum(f["lane"] == lane for f in everything)
        by_row = client.get(url, params={"sort": "row_index", "limit": 500}).json()["data"]
        assert [f["row_index"] for f in by_row] == sorted(f["row_index"] for f in everything)
        # Pages partition the list: no row lost or repeated.
        paged = []
        for offset in range(0, len(everything), 2):
            page = client.get(url, params={"offset": offset, "limit": 2}).json()
            assert page["count"] == len(everything)
            paged += page["data"]
        assert [f["record_id"] for f in paged] == [f["record_id"] for f in everything]


def test_json_rows_are_scored(server: LiveServer, unit: str) -> None:
    with server.client(server.key(unit)) as client:
        response = client.post("/v1/batches", json={"rows": rows(5, tag="J"), "capacity": "1"})
        assert response.status_code == 201, response.text
        assert response.json()["counts"]["rows_scored"] == 5
        assert response.json()["source_name"] == "rows.ndjson"


def test_large_upload_runs_in_the_background(server: LiveServer, unit: str) -> None:
    records = rows(120, owner="TGHU", tag="B")
    with server.client(server.key(unit)) as client:
        response = client.post(
            "/v1/batches", files={"file": ("big.csv", to_csv(records), "text/csv")}
        )
        assert response.status_code == 202, response.text
        assert response.json()["mode"] == "background"
        assert response.json()["status"] in ("queued", "running", "done")
        batch = wait_done(client, response.json()["id"])
        assert batch["status"] == "done", batch
        assert batch["counts"]["rows_scored"] == 120
        assert batch["progress"] == {"stage": "done", "rows": 120}
        listed = client.get("/v1/batches").json()
        assert batch["id"] in [b["id"] for b in listed["data"]]


def test_unreadable_rows_are_quarantined_with_their_line(server: LiveServer, unit: str) -> None:
    with server.client(server.key(unit)) as client:
        batch = client.post(
            "/v1/batches", files={"file": ("q.csv", to_csv(rows(4, tag="Q"), broken_lines=2))}
        ).json()
        assert batch["counts"] == {
            "rows_in": 6,
            "rows_scored": 4,
            "rows_quarantined": 2,
            "rows_flagged": batch["counts"]["rows_flagged"],
            "rows_selected": batch["counts"]["rows_selected"],
        }
        page = client.get(f"/v1/batches/{batch['id']}/quarantine").json()
        assert page["count"] == 2
        assert [r["source_line"] for r in page["data"]] == [6, 7]
        assert all(r["source_file"] == "q.csv" for r in page["data"])
        assert all("fields" in r["reason"] for r in page["data"])


def test_bad_upload_names_the_field(server: LiveServer, unit: str) -> None:
    csv = b"container_number,iso_type\nMSCU1234565,45R1\n"
    with server.client(server.key(unit)) as client:
        response = client.post("/v1/batches", files={"file": ("nobl.csv", csv)})
        assert response.status_code == 422
        assert response.headers["content-type"] == PROBLEM
        problem = response.json()
        assert "bl_number" in problem["detail"]
        assert problem["location"]["file"] == "nobl.csv"
        assert problem["hint"]
        assert "/" not in problem["detail"].split(":")[0]  # no server paths leak
        failed = client.get(f"/v1/batches/{problem['batch_id']}").json()
        assert failed["status"] == "failed"
        assert "bl_number" in failed["error"]["detail"]


@pytest.mark.parametrize(
    ("data", "needle"),
    [({"capacity": "lots"}, "capacity"), ({"spec": "no-such-spec"}, "no-such-spec")],
)
def test_bad_options_are_rejected_before_scoring(
    server: LiveServer, unit: str, data: dict[str, str], needle: str
) -> None:
    with server.client(server.key(unit)) as client:
        response = client.post("/v1/batches", files={"file": ("m.csv", to_csv(rows(2)))}, data=data)
        assert response.status_code == 422
        assert needle in response.json()["detail"]
        assert client.get("/v1/batches").json()["count"] == 0


def test_request_errors_are_problems(server: LiveServer, unit: str) -> None:
    with server.client(server.key(unit)) as client:
        too_big = client.post("/v1/batches", files={"file": ("huge.csv", b"x" * 500_000)})
        assert too_big.status_code == 413
        assert too_big.headers["content-type"] == PROBLEM
        wrong_type = client.post(
            "/v1/batches", content=b"a,b\n", headers={"content-type": "text/csv"}
        )
        assert wrong_type.status_code == 415
        invalid = client.post("/v1/batches", json={"rows": []})
        assert invalid.status_code == 422 and invalid.json()["errors"][0]["loc"][:2] == [
            "body",
            "rows",
        ]
        nul_name = client.post(
            "/v1/batches",
            json={"rows": [{"container_number": "MSCU1234565"}], "name": "day\u00001"},
        )
        assert nul_name.status_code == 422 and nul_name.json()["errors"][0]["loc"][:2] == [
            "body",
            "name",
        ]
        # JSON rows take the multipart form's limits: a 422 naming the field, not a 500
        # (found by the OpenAPI conformance test's random inputs).
        for field, value in (("capacity", "9" * 21), ("spec", "s" * 101)):
            too_long = client.post(
                "/v1/batches", json={"rows": [{"container_number": "MSCU1234565"}], field: value}
            )
            assert too_long.status_code == 422, too_long.text
            assert too_long.json()["errors"][0]["loc"][:2] == ["body", field]
        missing = client.get("/v1/batches/nope")
        assert missing.status_code == 404 and missing.headers["content-type"] == PROBLEM
        not_allowed = client.delete("/v1/batches")
        assert not_allowed.status_code == 405 and not_allowed.json()["status"] == 405
        bad_query = client.get("/v1/batches", params={"limit": 0})
        assert bad_query.status_code == 422 and bad_query.headers["content-type"] == PROBLEM
