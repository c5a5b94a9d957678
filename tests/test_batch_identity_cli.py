"""One batch, one identity: `lookout history add` and `lookout score --history` agree.

Real processes, as a unit runs them. Every row of the manifest has the same consignee, so a
batch that counted its own rows as history would show 1 and 2 past shipments.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl

from engine.history import HistoryStore

HEADER = (
    "container_number,bl_number,iso_type,port_of_loading,hs_code,gross_weight_kg,packages,"
    "filed_at,shipper_name,consignee_name\n"
)
ROWS = (
    "MSCU1234565,B1,45R1,ECGYE,080390,1000,10,2025-03-01T08:00:00Z,Acme Trading,Kappa Imports\n",
    "CSQU3054383,B2,22G1,CNSHA,847130,5000,100,2025-03-02T08:00:00Z,Acme Trading,Kappa Imports\n",
    "TGHU0000001,B3,22G1,CNSHA,847130,5000,100,2025-03-03T08:00:00Z,Acme Trading,Kappa Imports\n",
)


def lookout(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "250", "LOOKOUT_DEBUG": ""}
    done = subprocess.run(
        [sys.executable, "-m", "api.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def _manifest(path: Path, rows: tuple[str, ...] = ROWS) -> Path:
    path.write_text(HEADER + "".join(rows), encoding="utf-8")
    return path


def _score(source: str, store: Path, out: Path) -> dict[str, object]:
    lookout("score", source, "--history", str(store), "--out", str(out), "--no-model")
    record: dict[str, object] = json.loads((out / "run.json").read_text(encoding="utf-8"))
    return record


def _shipments(out: Path) -> list[int]:
    scored = pl.read_parquet(out / "scored.parquet").sort("row_index")
    return scored["consignee_shipments_30d"].to_list()


def test_history_add_then_score_counts_the_batch_once(tmp_path: Path) -> None:
    manifest = _manifest(tmp_path / "m.csv")
    store = tmp_path / "store"
    added = lookout("history", "add", str(manifest), "--store", str(store))
    assert "added 3 rows" in added.stdout
    record = _score(str(manifest), store, tmp_path / "out")
    assert _shipments(tmp_path / "out") == [0, 0, 0]  # its own rows are not its past
    history = HistoryStore(store)
    assert [b["rows"] for b in history.batches()] == [3]  # stored once
    counts, messages = record["counts"], record["messages"]
    assert isinstance(counts, dict) and counts["history_rows_appended"] == 0
    assert isinstance(messages, list)
    assert any("already in the history store" in m for m in messages), messages


def test_the_batch_id_is_the_same_whichever_command_reads_the_files(tmp_path: Path) -> None:
    folder = tmp_path / "feed"
    folder.mkdir()
    _manifest(folder / "a.csv", ROWS[:2])
    _manifest(folder / "b.csv", ROWS[2:])
    pattern = str(folder / "*.csv")
    store = tmp_path / "store"
    record = _score(pattern, store, tmp_path / "out")
    assert _shipments(tmp_path / "out") == [0, 0, 0]
    inputs = record["input"]
    assert isinstance(inputs, dict)
    batch_id = inputs["batch_id"]
    assert [b["batch_id"] for b in HistoryStore(store).batches()] == [batch_id]
    again = lookout("history", "add", pattern, "--store", str(store))
    assert "already in the store" in again.stdout and str(batch_id)[:12] in again.stdout
    assert HistoryStore(store).fingerprint()["rows"] == 3


def test_scoring_the_same_batch_twice_appends_once_and_says_so(tmp_path: Path) -> None:
    manifest = _manifest(tmp_path / "m.csv")
    store = tmp_path / "store"
    first = _score(str(manifest), store, tmp_path / "first")
    second = _score(str(manifest), store, tmp_path / "second")
    assert isinstance(first["counts"], dict) and first["counts"]["history_rows_appended"] == 3
    assert isinstance(second["counts"], dict) and second["counts"]["history_rows_appended"] == 0
    assert _shipments(tmp_path / "second") == _shipments(tmp_path / "first") == [0, 0, 0]
    assert HistoryStore(store).fingerprint()["batches"] == 1
