"""Drift through the API: a batch's warnings, the unit's drift series, Prometheus gauges.

A real server scores generated days with a small model whose card keeps a drift reference:
an unchanged day raises no warning; the same day with weights sent in grams instead of
kilograms (×1000) does, in ``GET /v1/batches/{id}``, ``GET /v1/model/drift`` and on
``/metrics``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from tests.api.conftest import LiveServer, server_env, start_server, stop_server
from tests.api.test_batches import wait_done
from tests.models._drift_world import drift_world


@pytest.fixture(scope="module")
def drift_server(scratch: Path) -> Iterator[tuple[LiveServer, dict[str, Any]]]:
    root = Path(tempfile.mkdtemp(dir=scratch, prefix="drift-"))
    world = drift_world(root)
    data_dir = root / "server"
    url = f"sqlite:///{root / 'lookout.db'}"
    env = server_env(
        data_dir,
        url,
        LOOKOUT_MODEL_DIR=str(world["model"]),
        LOOKOUT_HISTORY="false",
        LOOKOUT_MAX_UPLOAD_BYTES="5000000",
    )
    live = start_server(env, data_dir, url)
    try:
        yield live, world
    finally:
        stop_server(live)


def _upload(server: LiveServer, key: str, path: Path) -> dict[str, Any]:
    with server.client(key) as client:
        response = client.post(
            "/v1/batches",
            files={"file": (path.name, path.read_bytes(), "application/octet-stream")},
        )
        assert response.status_code in (201, 202), response.text
        return wait_done(client, response.json()["id"])


def test_drift_warnings_in_the_batch_the_series_and_the_metrics(
    drift_server: tuple[LiveServer, dict[str, Any]], unit: str
) -> None:
    server, world = drift_server
    key = server.key(unit, "viewer")
    same = _upload(server, server.key(unit), world["days"][1])
    assert same["status"] == "done", same
    assert same["drift"]["status"] == "ok"
    assert same["drift"]["alarms"] == []
    assert same["run_record"]["drift"]["features"]

    shifted = world["root"] / "grams.parquet"
    pl.read_parquet(world["days"][1]).with_columns(pl.col("gross_weight_kg") * 1000).write_parquet(
        shifted
    )
    grams = _upload(server, server.key(unit), shifted)
    assert grams["drift"]["status"] == "alarm"
    assert any(a.startswith("gross_weight_kg: PSI") for a in grams["drift"]["alarms"])

    with server.client(key) as client:
        series = client.get("/v1/model/drift", params={"days": 90}).json()
        assert series["days"] == 90
        assert [p["batch_id"] for p in series["points"]] == [same["id"], grams["id"]]
        assert series["batches_with_alarms"] == 1
        assert series["latest"]["batch_id"] == grams["id"]
        other = server.key(f"X{unit}", "viewer")
    with server.client(other) as client:  # another unit sees none of it
        assert client.get("/v1/model/drift").json()["points"] == []
    with server.client() as client:
        metrics = client.get("/metrics").text
    gauge = next(
        line
        for line in metrics.splitlines()
        if line.startswith(f'lookout_drift_alarms{{unit="{unit}"}}')
    )
    assert float(gauge.split()[-1]) >= 2  # weight and kg per package
    assert f'lookout_drift_max_psi{{unit="{unit}"}}' in metrics
