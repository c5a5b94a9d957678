"""Eight clients uploading and reading at once: nothing lost, nothing mixed up."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.api._manifests import container, rows, to_csv
from tests.api.conftest import LiveServer
from tests.api.test_batches import wait_done

pytestmark = pytest.mark.xdist_group("api")

CLIENTS = 8
OWNERS = ["AAAU", "BBBU", "CCCU", "DDDU", "EEEU", "FFFU", "GGGU", "HHHU"]


def test_eight_concurrent_clients(server: LiveServer, unit: str) -> None:
    units = [f"{unit}-{i % 4}" for i in range(CLIENTS)]  # two clients per unit
    keys = [server.key(u) for u in units]
    barrier = threading.Barrier(CLIENTS)

    def work(i: int) -> dict[str, Any]:
        records = rows(10 + i, owner=OWNERS[i], tag=f"C{i}")
        with server.client(keys[i]) as client:
            barrier.wait(timeout=60)
            if i % 2:
                response = client.post("/v1/batches", json={"rows": records, "capacity": "2"})
            else:
                big = i == 0  # one upload large enough for the background path
                payload = rows(60, owner=OWNERS[i], tag=f"C{i}") if big else records
                records = payload
                response = client.post(
                    "/v1/batches",
                    files={"file": (f"client{i}.csv", to_csv(payload))},
                    data={"capacity": "2"},
                )
            assert response.status_code in (201, 202), response.text
            batch = wait_done(client, response.json()["id"])
            flagged = client.get(f"/v1/batches/{batch['id']}/flagged", params={"limit": 500})
            first = client.get(f"/v1/containers/{records[0]['container_number']}").json()
            listed = client.get("/v1/batches", params={"limit": 500}).json()
        return {
            "unit": units[i],
            "records": records,
            "batch": batch,
            "flagged": flagged.json(),
            "first": first,
            "listed": listed,
        }

    with ThreadPoolExecutor(CLIENTS) as pool:
        results = list(pool.map(work, range(CLIENTS)))

    ids = [r["batch"]["id"] for r in results]
    assert len(set(ids)) == CLIENTS
    for i, result in enumerate(results):
        batch, records = result["batch"], result["records"]
        assert batch["status"] == "done", batch
        assert batch["unit_id"] == result["unit"]
        assert batch["counts"]["rows_scored"] == len(records)
        assert batch["counts"]["rows_selected"] == 2
        own = {r["container_number"] for r in records}
        flagged = result["flagged"]
        assert flagged["count"] == batch["counts"]["rows_flagged"]
        assert {f["container_number"] for f in flagged["data"]} <= own
        assert all(f["bl_number"].startswith(f"C{i}BL") for f in flagged["data"])
        assert result["first"]["container_number"] == container(OWNERS[i], 100_000)
        assert [a["batch_id"] for a in result["first"]["appearances"]] == [batch["id"]]
    # Each unit lists exactly its two batches (a client may have listed before its
    # sibling finished, so check the final state once more).
    for u in sorted(set(units)):
        expected = {r["batch"]["id"] for r in results if r["unit"] == u}
        with server.client(server.key(u)) as client:
            listed = {b["id"] for b in client.get("/v1/batches").json()["data"]}
        assert listed == expected
