"""Scored batches and inspection results feed the unit's history; later batches use it."""

from __future__ import annotations

import polars as pl
import pytest

from tests.api._manifests import rows
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
    assert scored[one["id"]]["consignee_is_new"].to_list() == [True, True, True]
    second = scored[two["id"]].sort("row_index")
    # Same consignees as the first batch: known now, and the seized one has a positive.
    assert second["consignee_is_new"].to_list() == [False, False, False]
    assert second["consignee_past_positives"].to_list()[0] == 1
    assert second["consignee_past_positives"].to_list()[1:] == [0, 0]
    # Another unit's history is its own: the same consignees are new there.
    with server.client(server.key(unit + "-B")) as other:
        three = other.post("/v1/batches", json={"rows": later}).json()
    own = pl.read_parquet(server.data_dir / "batches" / three["id"] / "out" / "scored.parquet")
    assert own["consignee_is_new"].to_list() == [True, True, True]
