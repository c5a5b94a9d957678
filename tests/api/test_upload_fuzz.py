"""Fuzzed uploads through POST /v1/batches of the real server, on both database backends.

Whatever arrives: never a 500, a refused upload is a problem naming the file and where, a
scored one accounts for every row and locates every quarantined record; the server stays up.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings

from tests.api.conftest import LiveServer
from tests.fuzz_inputs import fuzz_files

pytestmark = pytest.mark.xdist_group("api")


def _settled(client: httpx.Client, batch_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        body: dict[str, Any] = client.get(f"/v1/batches/{batch_id}").json()
        if body["status"] in ("done", "failed"):
            return body
        time.sleep(0.2)
    raise AssertionError(f"batch {batch_id} never finished")


def check_upload(client: httpx.Client, name: str, data: bytes) -> None:
    """No 500; a refused upload is a located problem; a scored one accounts for every row."""
    response = client.post("/v1/batches", files={"file": (name, data)})
    assert response.status_code in (201, 202, 413, 422), (response.status_code, response.text)
    body = response.json()
    if response.status_code in (413, 422):
        assert "unexpected" not in body["detail"], body
        assert name in body["detail"] or (body.get("location") or {}).get("file") == name, body
        return
    batch = _settled(client, body["id"])
    if batch["status"] == "failed":
        error = batch["error"]
        assert "unexpected" not in error["detail"], batch
        assert (error.get("location") or {}).get("file") == name, batch
        return
    counts = batch["counts"]
    assert counts["rows_in"] == counts["rows_scored"] + counts["rows_quarantined"], counts
    page = client.get(f"/v1/batches/{batch['id']}/quarantine", params={"limit": 500}).json()
    for row in page["data"]:
        assert row["source_file"] == name and row["source_line"] >= 1 and row["reason"], row


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sample=fuzz_files(max_bytes=390_000))
def test_upload_never_fails_internally(
    server: LiveServer, unit: str, sample: tuple[str, bytes]
) -> None:
    base, data = sample
    with server.client(server.key(unit)) as client:
        check_upload(client, f"fuzz-{base}.in", data)
        assert client.get("/healthz").status_code == 200  # the server stays up


def test_header_defects_and_long_lines_are_located_problems(server: LiveServer, unit: str) -> None:
    with server.client(server.key(unit)) as client:
        cr = client.post(
            "/v1/batches", files={"file": ("cr.csv", b"container_number,bl\rno\nX,Y\n")}
        )
        assert cr.status_code == 422, cr.text
        problem = cr.json()
        assert problem["location"]["file"] == "cr.csv" and problem["location"]["line"] == 1
        assert "carriage return" in problem["detail"] and problem["hint"]
        # One 390 KB line (longer than Python's csv field limit), scored in the background:
        # the job fails with a located error, not "an unexpected error occurred".
        one = client.post("/v1/batches", files={"file": ("one-line.csv", b"x" * 390_000)})
        assert one.status_code == 202, one.text
        error = _settled(client, one.json()["id"])["error"]
        assert error["location"] == {
            "file": "one-line.csv",
            "line": 1,
            "column": None,
            "record": None,
            "field": None,
        }
        assert "required manifest fields are missing" in error["detail"]
        assert len(error["detail"]) < 1_000 and error["hint"]


def test_inch_marks_score_through_the_api(server: LiveServer, unit: str) -> None:
    data = (
        b"container_number,bl_number,goods_description\n"
        b"MSKU1234565,BL1,STEEL PIPES 12\" DIA\nTGHU7654320,BL2,PLANKS 5'\n"
    )
    with server.client(server.key(unit)) as client:
        response = client.post("/v1/batches", files={"file": ("inch.csv", data)})
        assert response.status_code == 201, response.text
        assert response.json()["counts"]["rows_scored"] == 2


def test_nul_characters_in_values_are_stored_on_every_backend(
    server: LiveServer, unit: str
) -> None:
    """Found by the fuzz test: PostgreSQL refuses NUL in text and JSON (a 500 before)."""
    rows = [
        '{"container_number":"MSKU1234565","bl_number":"BL\\u00001",'
        '"goods_description":"PIPES\\u0000","port_of_loading":"CN\\u0000SHA"}',
        '{"container_number":"TGHU7654320","bl_number":"BL2","port_of_loading":"CNSHA"}',
    ]
    data = ("\n".join(rows) + "\n").encode()
    with server.client(server.key(unit)) as client:
        response = client.post("/v1/batches", files={"file": ("nul.ndjson", data)})
        assert response.status_code == 201, response.text
        batch = response.json()
        assert batch["counts"]["rows_scored"] == 2
        ports = client.get(f"/v1/batches/{batch['id']}").json()
        assert ports["status"] == "done"


def test_over_long_identifiers_are_indexed_on_every_backend(server: LiveServer, unit: str) -> None:
    """Found by the fuzz test: a record id, container or B/L number longer than its index
    column was refused by PostgreSQL (a 500); the index keeps the first characters."""
    long_record, long_bl = "R" * 300, "B" * 120
    data = (
        "record_id,container_number,bl_number\n"
        f"{long_record},MSKU1234565{'X' * 60},{long_bl}\nR2,TGHU7654320,BL2\n"
    ).encode()
    with server.client(server.key(unit)) as client:
        response = client.post("/v1/batches", files={"file": ("long.csv", data)})
        assert response.status_code == 201, response.text
        batch = response.json()
        assert batch["counts"]["rows_scored"] + batch["counts"]["rows_quarantined"] == 2
        assert client.get(f"/v1/batches/{batch['id']}").json()["status"] == "done"
