"""Scored batches and inspection results feed the unit's history; later batches use it."""

from __future__ import annotations

import polars as pl
import pytest

from tests.api._manifests import rows, to_csv
from tests.api.conftest import LiveServer

pytestmark = pytest.mark.xdist_group("api")


def test_inspection_results_reach_later_batches(server: LiveServer, unit: str) -> None:
    first = [r | {"filed_at": "2026-10-01T08:00:00Z"} for r in rows(3, owner="HISU", tag="H")]
    later = [
        r | {"filed_at": "2026-11-15T08:00:00Z"}
        for r in rows(3, owner="HISU", start=200_000, tag="L")
    ]
    with server.client(server.key(unit)) as client:
        one = client.post("/v1/batches", json={"rows": first}).json()
        seized = client.post(
            "/v1/inspections",
            json={
                "batch_id": one["id"],
                "container_number": first[0]["container_number"],
                "outcome": "seizure",
                "finding_type": "drugs",
                # examined on arrival, weeks before the later batch was filed
                "inspected_at": "2026-10-20T10:00:00Z",
            },
        )
        assert seized.status_code == 201
        two = client.post("/v1/batches", json={"rows": later}).json()
    scored = {
        b: pl.read_parquet(server.data_dir / "batches" / b / "out" / "scored.parquet")
        for b in (one["id"], two["id"])
    }
    # A fresh store cannot tell newcomers from old traders: unknown, not "new".
    assert scored[one["id"]]["consignee_is_new"].to_list() == [None, None, None]
    second = scored[two["id"]].sort("row_index")
    # Same consignees as the first batch: known now, and the seized one has a positive.
    assert second["consignee_is_new"].to_list() == [False, False, False]
    assert second["consignee_past_positives"].to_list()[0] == 1
    assert second["consignee_past_positives"].to_list()[1:] == [0, 0]
    # Another unit's history is its own: the same consignees are unseen there.
    with server.client(server.key(unit + "-B")) as other:
        three = other.post("/v1/batches", json={"rows": later}).json()
    own = pl.read_parquet(server.data_dir / "batches" / three["id"] / "out" / "scored.parquet")
    assert own["consignee_shipments_365d"].to_list() == [0, 0, 0]
    assert own["consignee_past_positives"].to_list() == [0, 0, 0]


def test_the_same_upload_twice_joins_the_history_once(server: LiveServer, unit: str) -> None:
    manifest = to_csv(rows(10, owner="DUPU", tag="D"))  # consignees repeat days apart
    with server.client(server.key(unit)) as client:
        ids = [
            client.post(
                "/v1/batches", files={"file": ("manifest.csv", manifest, "text/csv")}
            ).json()["id"]
            for _ in range(2)
        ]
        first, again = (client.get(f"/v1/batches/{b}").json()["run_record"] for b in ids)
    assert first["input"]["batch_id"] == again["input"]["batch_id"]  # one content, one id
    assert first["counts"]["history_rows_appended"] == 10
    # A fresh store says only that it is too short for party features.
    assert [m.split(":")[0] for m in first["messages"]] == ["history too short for party features"]
    assert again["counts"]["history_rows_appended"] == 0
    assert any("already in the history store" in m for m in again["messages"])
    scored = [
        pl.read_parquet(server.data_dir / "batches" / b / "out" / "scored.parquet")
        .sort("row_index")["consignee_shipments_30d"]
        .to_list()
        for b in ids
    ]
    assert scored[0] == scored[1] == [0] * 10  # its own rows are not its past
