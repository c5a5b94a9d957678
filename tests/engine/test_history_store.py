"""History store: append-only, idempotent per batch, outcomes, party keys, the stage."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from engine.history import (
    HISTORY_COLUMNS,
    HistoryError,
    HistoryFeatures,
    HistoryStore,
    describe_batch,
    point_in_time_features,
)
from engine.history._store import _with_keys, conform
from engine.identity import batch_identity
from engine.stages import Stage

T0 = datetime(2025, 3, 1, tzinfo=UTC)


def _batch(day: int, names: list[tuple[str, str]], *, prefix: str) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "container_number": [f"MSCU{i:07d}" for i in range(len(names))],
            "bl_number": [f"{prefix}{i}" for i in range(len(names))],
            "filed_at": [T0 + timedelta(days=day, hours=i) for i in range(len(names))],
            "shipper_name": [s for s, _ in names],
            "consignee_name": [c for _, c in names],
            "hs_code": ["090111"] * len(names),
            "port_of_loading": ["ECGYE"] * len(names),
            "port_of_discharge": ["GEPTI"] * len(names),
        },
        schema_overrides={"filed_at": pl.Datetime("us", "UTC")},
    )


def test_a_batch_is_known_by_its_id_and_its_content_id(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path)
    source = tmp_path / "day1.parquet"
    _batch(0, [("Acme Ltd", "Kappa LLC")], prefix="A").write_parquet(source)
    identity = batch_identity([source])
    other = _batch(1, [("Beta SA", "Kappa LLC")], prefix="B")
    store.append(other, batch_id="older")  # a store entry of before: no content id
    assert store.append(pl.read_parquet(source), batch_id="day1", identity=identity) == 1
    entry = store.stored_batch({identity.id})
    assert entry is not None and entry["batch_id"] == "day1" and entry["content_id"] == identity.id
    assert store.stored_batch({"day1"}) == entry and store.stored_batch({"older"}) is not None
    assert store.stored_batch({"nothing"}) is None
    assert store.scan(exclude=identity.ids).collect()["bl_number"].to_list() == ["B0"]
    assert store.scan(exclude={"older"}).collect()["bl_number"].to_list() == ["A0"]
    assert "as day1, 1 row, added " in describe_batch(entry, asked=identity.id)
    assert describe_batch(entry, asked="day1").startswith("1 row, added ")


def test_append_is_idempotent_per_batch_id(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path)
    batch = _batch(0, [("Acme Ltd", "Kappa LLC"), ("Beta SA", "Kappa LLC")], prefix="A")
    assert store.append(batch, batch_id="2025-03-01") == 2
    snapshot = store.fingerprint()
    assert store.append(batch, batch_id="2025-03-01") == 0
    assert store.fingerprint() == snapshot
    assert store.scan().collect().height == 2
    assert store.append(batch, batch_id="2025-03-01-resend") == 2
    assert store.fingerprint()["rows"] == 4
    assert store.fingerprint()["batches"] == 2
    assert store.fingerprint()["snapshot"] != snapshot["snapshot"]


def test_near_duplicate_names_resolve_to_the_first_key(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path)
    store.append(
        _batch(0, [("Acme Trading Co., Ltd.", "Kappa Imports LLC")], prefix="A"), batch_id="b1"
    )
    later = _batch(
        5, [("TRADING ACME LIMITED", "Kappa Imprts"), ("Acme Tradin", "Zeta")], prefix="B"
    )
    store.append(later, batch_id="b2")
    keys = store.scan().select("shipper_key", "consignee_key").collect()
    assert keys["shipper_key"].to_list() == ["ACME TRADING"] * 3
    assert keys["consignee_key"].to_list() == ["IMPORTS KAPPA", "IMPORTS KAPPA", "ZETA"]


def test_exact_keys_only_when_fuzzy_disabled(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path, fuzzy_threshold=None)
    store.append(_batch(0, [("Acme Trading", "K")], prefix="A"), batch_id="b1")
    store.append(_batch(1, [("Acme Tradin", "K")], prefix="B"), batch_id="b2")
    keys = store.scan().select("shipper_key").collect()["shipper_key"].to_list()
    assert keys == ["ACME TRADING", "ACME TRADIN"]


def _keys_of(store: HistoryStore, frame: pl.DataFrame) -> list[str]:
    keyed = store.assign_keys(conform(frame), persist=False)
    return keyed["shipper_key"].to_list()


def test_party_resolutions_of_earlier_chunks_do_not_change_later_ones(tmp_path: Path) -> None:
    # Two unknown spellings seen together collapse onto one; seen alone, each is its own key
    # — whether or not an earlier chunk of the same batch saw them together.
    store = HistoryStore(tmp_path)
    store.append(_batch(0, [("Zeta Shipping", "K")], prefix="A"), batch_id="b1")
    both = _batch(1, [("Kappa Imports", "K"), ("Kapa Imports", "K")], prefix="B")
    assert _keys_of(store, both) == ["IMPORTS KAPA", "IMPORTS KAPA"]
    alone = _batch(1, [("Kappa Imports", "K"), ("Acme", "K")], prefix="C")
    assert _keys_of(store, alone) == ["IMPORTS KAPPA", "ACME"]
    assert _keys_of(HistoryStore(tmp_path), alone) == ["IMPORTS KAPPA", "ACME"]


def test_names_seen_in_an_earlier_chunk_key_as_in_a_fresh_store(tmp_path: Path) -> None:
    # Each name is normalised once per store state; a later chunk repeating names (and a
    # null one) keys them exactly as a store that never saw the first chunk.
    store = HistoryStore(tmp_path)
    store.append(_batch(0, [("Zeta Shipping", "K")], prefix="A"), batch_id="b1")
    first = _batch(1, [("Acme Trading Co.", "Zeta Shipping"), ("Kappa Imports", "K")], prefix="B")
    again = _batch(
        1, [("Kappa Imports", "Acme Trading Co."), ("Kapa Imports", "New Name")], prefix="C"
    ).with_columns(
        pl.when(pl.int_range(pl.len()) == 1)
        .then(None)
        .otherwise(pl.col("consignee_name"))
        .alias("consignee_name")
    )
    store.assign_keys(conform(first))
    assert_frame_equal(
        store.assign_keys(conform(again)), HistoryStore(tmp_path).assign_keys(conform(again))
    )
    assert store._party_cache is not None and store._party_cache.names.height == 5


def test_chunk_keys_are_those_of_the_append_path(tmp_path: Path) -> None:
    """``assign_keys`` numbers the stacked shipper and consignee names once and gives each
    row its name's key: the keys of the append path (a look-up per row), for names in both
    roles, null names, exact repeats, spelling variants and names new to the store."""
    store = HistoryStore(tmp_path)
    store.append(
        _batch(0, [("Zeta Shipping", "Kappa Imports"), ("Acme Trading", "Omega")], prefix="A"),
        batch_id="b1",
    )
    pool = [
        "Acme Trading Co.",
        "ACME TRADIN",
        "Kappa Imports",
        "Kapa Imports",
        "Zeta Shipping",
        "Omega",
        "Delta Freight",
        "Delta Frieght",
        "Sigma",
        None,
    ]
    pairs = [(pool[(i * 7) % len(pool)], pool[(i * 3 + 1) % len(pool)]) for i in range(97)]
    frame = conform(_batch(1, pairs, prefix="B"))  # type: ignore[arg-type]
    got = store.assign_keys(frame)
    rows = frame.lazy()
    expected = _with_keys(rows, store._keys_by_name(rows, persist=False)).collect()
    assert_frame_equal(got, expected)
    assert got["shipper_key"].null_count() == frame["shipper_name"].null_count() > 0
    assert got["consignee_key"].n_unique() > 4


def test_a_name_memo_extended_meanwhile_keeps_each_name_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chunks scored at once in threads share the store's party cache: a chunk that keys
    new names while another chunk adds some of the same names (here: from inside the first
    one's keying, deterministically) gets one key per name, and the memo holds each once."""
    import engine.history._store as store_module

    store = HistoryStore(tmp_path)
    store.append(_batch(0, [("Zeta Shipping", "Kappa Imports")], prefix="A"), batch_id="b1")
    store.assign_keys(conform(_batch(1, [("Omega", "K")], prefix="B")))
    cache = store._party_cache
    assert cache is not None
    outer = pl.Series(["Acme Trading", "Zeta Shiping", "Delta"])
    inner = pl.Series(["Zeta Shiping", "Acme Trading", "Sigma"])
    real = store_module.party_key_values
    seen: list[pl.DataFrame] = []
    started: list[bool] = []

    def meanwhile(names: pl.Series) -> pl.Series:
        if not started:
            started.append(True)
            seen.append(cache.party_keys(inner))
        return real(names)

    monkeypatch.setattr(store_module, "party_key_values", meanwhile)
    got = cache.party_keys(outer)
    assert got["name"].to_list() == outer.to_list()
    assert got["party_key"].to_list() == ["ACME TRADING", "SHIPING ZETA", "DELTA"]
    assert seen[0]["party_key"].to_list() == ["SHIPING ZETA", "ACME TRADING", "SIGMA"]
    assert cache.names["name"].is_unique().all() and cache.names.height == 6


def test_party_resolutions_are_dropped_when_the_store_changes(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path)
    store.append(_batch(0, [("Zeta Shipping", "K")], prefix="A"), batch_id="b1")
    chunk = _batch(1, [("Acme Tradin", "K")], prefix="B")
    assert _keys_of(store, chunk) == ["ACME TRADIN"]
    # Another writer (or this one) adds the party: the next chunk resolves onto it.
    HistoryStore(tmp_path).append(_batch(1, [("Acme Trading", "K")], prefix="C"), batch_id="b2")
    assert _keys_of(store, chunk) == ["ACME TRADING"]


def test_a_pickled_store_leaves_its_party_table_behind(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path)
    store.append(_batch(0, [("Zeta Shipping", "K")], prefix="A"), batch_id="b1")
    chunk = _batch(1, [("Acme Tradin", "K")], prefix="B")
    assert _keys_of(store, chunk) == ["ACME TRADIN"]
    assert store._party_cache is not None
    copy = pickle.loads(pickle.dumps(store))
    assert copy._party_cache is None and store._party_cache is not None
    assert _keys_of(copy, chunk) == ["ACME TRADIN"]


def test_outcomes_feed_positive_rates(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path)
    store.append(_batch(0, [("Acme", "Kappa"), ("Acme", "Kappa")], prefix="A"), batch_id="b1")
    matched = store.record_inspection(
        container_number="MSCU0000000",
        bl_number="A0",
        inspection_result="seizure",
        finding_type="drugs",
        recorded_at=T0 + timedelta(days=3),
    )
    assert matched == 1
    store.append_outcomes(
        pl.DataFrame(
            {
                "container_number": ["MSCU0000001"],
                "bl_number": ["A1"],
                "inspected": [True],
                "inspection_result": ["clean"],
                "recorded_at": [T0 + timedelta(days=4)],
            }
        )
    )
    stage = HistoryFeatures(store)
    out = stage.apply(_batch(10, [("ACME", "KAPPA")], prefix="Q"))
    assert out["consignee_past_inspections"].to_list() == [2]
    assert out["consignee_past_positives"].to_list() == [1]
    assert out["consignee_positive_rate"][0] == pytest.approx((1 + 0.5) / (2 + 10))
    assert out["container_prior_seizures"].to_list() == [1]
    # A row filed between the filing and the recording of the results sees neither.
    between = stage.apply(_batch(2, [("ACME", "KAPPA")], prefix="Q"))
    assert between["consignee_past_inspections"].to_list() == [0]
    assert between["container_prior_seizures"].to_list() == [0]
    assert between["consignee_shipments_30d"].to_list() == [2]  # the shipments it does see
    # A later outcome for the same row replaces the earlier one, from when it was recorded.
    store.record_inspection(
        container_number="MSCU0000000",
        bl_number="A0",
        inspection_result="clean",
        recorded_at=T0 + timedelta(days=5),
    )
    again = stage.apply(_batch(10, [("ACME", "KAPPA")], prefix="Q"))
    assert again["consignee_past_positives"].to_list() == [0]


def test_stage_equals_point_in_time_over_history_plus_batch(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path, fuzzy_threshold=None)
    h1 = _batch(0, [("Acme", "Kappa"), ("Beta", "Kappa"), ("Acme", "Lambda")], prefix="A")
    h2 = _batch(100, [("Acme", "Kappa"), ("Gamma", "Mu")], prefix="B")
    store.append(h1, batch_id="h1")
    store.append(h2, batch_id="h2")
    batch = _batch(101, [("Acme", "Kappa"), ("Beta", "Mu"), ("New Co", "Kappa")], prefix="Q")
    # The batch is not history for itself: give its rows one instant so that, in the
    # combined frame, they cannot see each other either.
    batch = batch.with_columns(pl.lit(T0 + timedelta(days=101)).alias("filed_at"))
    stage = HistoryFeatures(store)
    assert isinstance(stage, Stage)
    got = stage.apply(batch)
    assert got.columns[: batch.width] == batch.columns
    combined = point_in_time_features(pl.concat([h1, h2, batch], how="diagonal_relaxed"))
    want = combined.filter(pl.col("bl_number").str.starts_with("Q"))
    assert_frame_equal(got.select(HISTORY_COLUMNS), want.select(HISTORY_COLUMNS))
    streamed = HistoryFeatures(store, low_memory=True).apply(batch)
    assert_frame_equal(streamed, got)
    assert got["consignee_shipments_30d"].to_list() == [1, 1, 1]
    assert got["shipper_is_new"].to_list() == [False, False, True]
    assert stage.fingerprint()["rows"] == 5


def test_empty_store_calls_nobody_new(tmp_path: Path) -> None:
    out = HistoryFeatures(HistoryStore(tmp_path)).apply(_batch(0, [("Acme", "Kappa")], prefix="Q"))
    # An empty store cannot tell a newcomer from an old trader: unknown, as the age is.
    assert out["consignee_is_new"].to_list() == [None]
    assert out["consignee_first_seen_days"].to_list() == [None]
    assert out["consignee_shipments_365d"].to_list() == [0]


def test_bad_input_names_the_field(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path)
    bad = _batch(0, [("A", "B")], prefix="A").with_columns(pl.lit("yesterday").alias("filed_at"))
    with pytest.raises(HistoryError) as err:
        store.append(bad, batch_id="x")
    assert err.value.location is not None and err.value.location.field == "filed_at"
    with pytest.raises(HistoryError, match="batch_id"):
        store.append(_batch(0, [("A", "B")], prefix="A"), batch_id=" ")
    with pytest.raises(HistoryError, match="outcomes need"):
        store.append_outcomes(pl.DataFrame({"container_number": ["X"]}))
    with pytest.raises(HistoryError, match="filed_at"):
        HistoryFeatures(store).apply(pl.DataFrame({"bl_number": ["B"]}))


def test_a_lazy_batch_is_stored_exactly_like_the_same_frame(tmp_path: Path) -> None:
    first = _batch(0, [("Acme Trading Co., Ltd.", "Kappa Imports LLC")], prefix="A")
    later = _batch(
        5,
        [("TRADING ACME LIMITED", "Kappa Imprts"), (None, "Zeta"), ("Acme Tradin", None)],
        prefix="B",
    )
    eager, lazy = HistoryStore(tmp_path / "eager"), HistoryStore(tmp_path / "lazy")
    for store, as_lazy in ((eager, False), (lazy, True)):
        for frame, batch in ((first, "b1"), (later, "b2")):
            source = frame.lazy() if as_lazy else frame
            assert store.append(source, batch_id=batch) == frame.height
        assert store.append(later.lazy(), batch_id="b2") == 0  # idempotent either way
    assert_frame_equal(lazy.scan().collect(), eager.scan().collect())
    assert_frame_equal(lazy.parties(), eager.parties())
    keys = lazy.scan().select("shipper_key", "consignee_key").collect()
    assert keys["shipper_key"].to_list() == ["ACME TRADING", "ACME TRADING", None, "ACME TRADING"]
    assert keys["consignee_key"].to_list() == ["IMPORTS KAPPA", "IMPORTS KAPPA", "ZETA", None]


def test_a_lazy_batch_that_cannot_be_cast_stores_nothing(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path)
    bad = _batch(0, [("A", "B")], prefix="A").with_columns(pl.lit("12 boxes").alias("packages"))
    with pytest.raises(HistoryError, match="cannot be stored") as err:
        store.append(bad.lazy(), batch_id="x")
    assert err.value.location is not None and err.value.location.file == "x"
    assert store.batches() == []
    assert not list((tmp_path / "rows").glob("*"))


def test_damaged_manifest_reports_file_and_line(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path)
    store.append(_batch(0, [("A", "B")], prefix="A"), batch_id="b1")
    with (tmp_path / "batches.jsonl").open("a") as fh:
        fh.write("{not json\n")
    with pytest.raises(HistoryError) as err:
        store.batches()
    assert err.value.location is not None and err.value.location.line == 2


def test_concurrent_appends_from_two_processes_keep_every_batch_once(tmp_path: Path) -> None:
    import subprocess
    import sys

    code = """
import sys
from pathlib import Path
import polars as pl
from datetime import datetime, UTC
from engine.history import HistoryStore
store = HistoryStore(Path(sys.argv[1]))
frame = pl.DataFrame({"container_number": ["MSCU1234565"], "bl_number": [sys.argv[2]],
                      "consignee_name": [f"Party {sys.argv[2]}"],
                      "filed_at": [datetime(2026, 1, 1, tzinfo=UTC)]})
for attempt in range(3):
    store.append(frame, batch_id=sys.argv[2])
"""
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "s"), f"B{i}"])
        for i in range(4)
    ]
    assert [p.wait(timeout=300) for p in procs] == [0, 0, 0, 0]
    from engine.history import HistoryStore

    store = HistoryStore(tmp_path / "s")
    assert sorted(b["batch_id"] for b in store.batches()) == ["B0", "B1", "B2", "B3"]
    assert store.scan().collect().height == 4
