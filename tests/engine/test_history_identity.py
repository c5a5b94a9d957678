"""A batch is stored once and never its own history — across commands, names and versions.

The stores "written by an earlier version" here are made with that version's batch ids,
computed with plain hashlib as it computed them.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import polars as pl

from engine.history import HistoryFeatures, HistoryStore
from engine.identity import BatchIdentity, batch_identity
from engine.ingest import read_frame
from engine.pipeline import run_batch
from engine.policy import ScoringPolicy
from engine.record import RunRecord
from engine.reference import ReferenceData
from engine.scorer import Scorer

HEADER = "container_number,bl_number,port_of_loading,hs_code,filed_at,shipper_name,consignee_name\n"
LINE = "{c},B{i},ECGYE,080390,2025-03-0{d}T08:00:00Z,Acme Trading,Kappa Imports\n"
CONTAINERS = ["MSCU6639871", "CSQU3054383", "TCNU7200794", "TOLU4734787"]


def _manifest(path: Path, days: range) -> Path:
    lines = [LINE.format(c=CONTAINERS[d % 4], i=d, d=d) for d in days]
    path.write_text(HEADER + "".join(lines), encoding="utf-8")
    return path


def _score(source: Path | str, store: HistoryStore, out: Path) -> tuple[RunRecord, list[int]]:
    scorer = Scorer(
        refs=ReferenceData.load(), policy=ScoringPolicy.load(), enrichers=(HistoryFeatures(store),)
    )
    record = run_batch(source, scorer=scorer, out_dir=out)
    scored = pl.read_parquet(out / "scored.parquet").sort("row_index")
    return record, scored["consignee_shipments_30d"].to_list()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _old_history_add_id(paths: list[Path]) -> str:
    """The id `lookout history add` gave files before engine.identity."""
    return "sha256:" + _sha(b"".join(hashlib.sha256(p.read_bytes()).digest() for p in paths))


def test_a_store_from_an_older_history_add_is_recognised(tmp_path: Path) -> None:
    manifest = _manifest(tmp_path / "m.csv", range(1, 4))
    store = HistoryStore(tmp_path / "store")
    rows, _ = read_frame(manifest)
    store.append(rows, batch_id=_old_history_add_id([manifest]))  # as the old CLI stored it
    record, shipments = _score(manifest, store, tmp_path / "out")
    assert shipments == [0, 0, 0]
    assert record.counts["history_rows_appended"] == 0
    assert len(store.batches()) == 1
    assert any("already in the history store" in m for m in record.messages)


def test_a_store_from_an_older_multi_file_score_is_recognised(tmp_path: Path) -> None:
    feed = tmp_path / "feed"
    feed.mkdir()
    a = _manifest(feed / "a.csv", range(1, 3))
    b = _manifest(feed / "b.csv", range(3, 5))
    store = HistoryStore(tmp_path / "store")
    rows = pl.concat([read_frame(a)[0], read_frame(b)[0]])
    # `lookout score 'feed/*.csv'` used the sha256 of the files' bytes in glob order
    store.append(rows, batch_id=_sha(a.read_bytes() + b.read_bytes()))
    record, shipments = _score(str(feed / "*.csv"), store, tmp_path / "out")
    assert shipments == [0, 0, 0, 0]
    assert record.counts["history_rows_appended"] == 0
    assert record.input["batch_id"] != store.batches()[0]["batch_id"]  # the scheme moved on


def test_a_batch_added_under_a_name_is_known_by_its_content(tmp_path: Path) -> None:
    manifest = _manifest(tmp_path / "m.csv", range(1, 4))
    store = HistoryStore(tmp_path / "store")
    identity = batch_identity([manifest])
    assert store.append(read_frame(manifest)[0], batch_id="2025-03-day", identity=identity) == 3
    assert store.append(read_frame(manifest)[0], batch_id="resend", identity=identity) == 0
    record, shipments = _score(manifest, store, tmp_path / "out")
    assert shipments == [0, 0, 0]
    assert record.counts["history_rows_appended"] == 0
    assert any("as 2025-03-day" in m for m in record.messages), record.messages


def test_other_batches_still_count_and_the_batch_joins_once(tmp_path: Path) -> None:
    earlier = _manifest(tmp_path / "earlier.csv", range(1, 3))
    later = _manifest(tmp_path / "later.csv", range(3, 6))
    store = HistoryStore(tmp_path / "store")
    store.append(read_frame(earlier)[0], batch_id="x", identity=batch_identity([earlier]))
    first, shipments = _score(later, store, tmp_path / "a")
    assert shipments == [2, 2, 2]  # the two earlier rows, not its own
    assert first.counts["history_rows_appended"] == 3 and not first.messages
    again, shipments_again = _score(later, store, tmp_path / "b")
    assert shipments_again == shipments
    assert again.counts["history_rows_appended"] == 0
    assert store.fingerprint()["rows"] == 5


def test_the_run_record_names_the_batch_and_an_old_record_still_reads(tmp_path: Path) -> None:
    manifest = _manifest(tmp_path / "m.csv", range(1, 3))
    _score(manifest, HistoryStore(tmp_path / "store"), tmp_path / "out")
    stored = RunRecord.read(tmp_path / "out" / "run.json")
    content = _sha(manifest.read_bytes())
    assert stored.input["batch_id"] == batch_identity([manifest]).id == content
    assert stored.input["file_sha256"] == [content]
    assert stored.input["sha256"] == content  # one file: the id a run.json of before held
    old = {"files": stored.input["files"], "sha256": stored.input["sha256"]}
    assert BatchIdentity.from_record(old).id == stored.input["batch_id"]
