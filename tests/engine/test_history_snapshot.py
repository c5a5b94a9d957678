"""The history snapshot: features read from it equal the features computed from the rows."""

from __future__ import annotations

import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from engine.history import HISTORY_COLUMNS, HistoryFeatures, HistoryStore
from engine.history import _snapshot as snapshot_module

T0 = datetime(2024, 1, 1, tzinfo=UTC)
PARTIES = ["ALPHA", "BRAVO", "CHARLIE", None]
# History times (hours) around the window lengths, so that a query at h + W lands exactly
# on a window's edge.
HISTORY_HOURS = [0, 1, 24, 24 * 29, 24 * 30, 24 * 60, 24 * 89, 24 * 91, 24 * 300, 24 * 364]
HISTORY_HOURS += [24 * 365, 24 * 366, 24 * 400, 24 * 400 + 1]


def _rows(draw: st.DrawFn, hours: list[int]) -> pl.DataFrame:
    n = len(hours)
    pick = lambda values: draw(st.lists(st.sampled_from(values), min_size=n, max_size=n))  # noqa: E731
    lags = pick([None, None, 0, 1, 24 * 40, 24 * 800, -24])
    return pl.DataFrame(
        {
            "filed_at": [T0 + timedelta(hours=h) for h in hours],
            "inspected_at": [
                None if lag is None else T0 + timedelta(hours=h + lag)
                for h, lag in zip(hours, lags, strict=True)
            ],
            "shipper_name": pick(PARTIES),
            "consignee_name": pick(PARTIES),
            "hs_code": pick(["0901", "8471", None]),
            "port_of_loading": pick(["ECGYE", "CNSHA", None]),
            "port_of_discharge": pick(["GEPTI", None]),
            "container_number": pick(["MSCU1234565", "TGHU0000001", None]),
            "inspected": pick([True, False, None]),
            "inspection_result": pick([None, None, "clean", "seizure", "irregularity"]),
            "amendments": pick([0, 0, 1, None]),
        },
        schema_overrides={
            "filed_at": pl.Datetime("us", "UTC"),
            "inspected_at": pl.Datetime("us", "UTC"),
            "amendments": pl.Int32,
        },
    ).with_columns(pl.format("BL{}", pl.int_range(pl.len())).alias("bl_number"))


@st.composite
def _scenario(draw: st.DrawFn) -> dict[str, Any]:
    hours = draw(st.lists(st.sampled_from(HISTORY_HOURS), min_size=1, max_size=20))
    history = _rows(draw, hours)
    cuts = sorted(draw(st.lists(st.integers(0, len(hours)), max_size=2)))
    last = max(hours)
    # Queries on window edges (h + W), just past them, and just after the history.
    after = sorted(
        {h + 24 * w + d for h in hours for w in (30, 90, 365) for d in (0, 1)} | {last + 1}
    )
    after = [h for h in after if h > last]
    inside = draw(st.booleans())  # a backtest: some query rows within the history's span
    pool = HISTORY_HOURS if inside else after
    query = _rows(draw, draw(st.lists(st.sampled_from(pool), min_size=1, max_size=8)))
    split = draw(st.integers(0, query.height))
    return {"history": history, "cuts": cuts, "query": query, "inside": inside, "split": split}


def _store(root: Path, history: pl.DataFrame, cuts: list[int]) -> HistoryStore:
    store = HistoryStore(root, fuzzy_threshold=None)
    bounds = [0, *cuts, history.height]
    for i, (a, b) in enumerate(pairwise(bounds)):
        if b > a:
            store.append(history.slice(a, b - a), batch_id=f"h{i}")
    return store


def _both(store: HistoryStore, query: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    fast = HistoryFeatures(store).apply(query).select(HISTORY_COLUMNS)
    exact = HistoryFeatures(store, use_snapshot=False).apply(query).select(HISTORY_COLUMNS)
    return fast, exact


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_scenario())
def test_features_from_the_snapshot_equal_the_features_from_the_rows(
    case: dict[str, Any],
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = _store(Path(tmp), case["history"], case["cuts"])
        fast, exact = _both(store, case["query"])
        assert_frame_equal(fast, exact)
        t_min = int(case["query"]["filed_at"].dt.epoch("us").min())  # type: ignore[arg-type]
        if not case["inside"]:  # the snapshot was used, and it was kept up by the appends
            assert store.snapshot().covers_before(t_min)
            assert [p.name for p in (Path(tmp) / "snapshot").iterdir()] == [store.snapshot_state()]
        # Chunks of the batch, in either order, through one stage (one snapshot in memory
        # and the tables it derives for the first chunk): each row's features as alone.
        stage, split = HistoryFeatures(store), case["split"]
        chunks = [(0, split), (split, case["query"].height - split)]
        for start, n in [*chunks, *chunks[::-1]]:
            if n:
                got = stage.apply(case["query"].slice(start, n)).select(HISTORY_COLUMNS)
                assert_frame_equal(got, exact.slice(start, n))


def _day(day: int, rows: list[tuple[str, str, str | None]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "container_number": [f"MSCU{i:07d}" for i in range(len(rows))],
            "bl_number": [f"D{day}-{i}" for i in range(len(rows))],
            "filed_at": [T0 + timedelta(days=day, hours=i) for i in range(len(rows))],
            "shipper_name": [s for s, _, _ in rows],
            "consignee_name": [c for _, c, _ in rows],
            "inspection_result": [r for _, _, r in rows],
            "hs_code": ["090111"] * len(rows),
            "port_of_loading": ["ECGYE"] * len(rows),
            "port_of_discharge": ["GEPTI"] * len(rows),
        },
        schema_overrides={"filed_at": pl.Datetime("us", "UTC")},
    )


def _history(root: Path) -> HistoryStore:
    store = HistoryStore(root, fuzzy_threshold=None)
    store.append(_day(0, [("Acme", "Kappa", "seizure"), ("Beta", "Kappa", None)]), batch_id="d0")
    store.append(_day(120, [("Acme", "Mu", None), ("Gamma", "Kappa", "clean")]), batch_id="d120")
    return store


def test_a_store_without_a_snapshot_gets_one_on_first_use(tmp_path: Path) -> None:
    store = _history(tmp_path)
    shutil.rmtree(tmp_path / "snapshot")  # as a store written before snapshots existed
    query = _day(130, [("Acme", "Kappa", None), ("New", "Mu", None)])
    fast, exact = _both(store, query)
    assert_frame_equal(fast, exact)
    assert (tmp_path / "snapshot" / store.snapshot_state() / "meta.json").exists()
    assert fast["consignee_past_positives"].to_list() == [1, 0]
    # Appending to it now folds the new batch into the rebuilt snapshot.
    store.append(_day(131, [("Acme", "Kappa", None)]), batch_id="d131")
    assert [p.name for p in (tmp_path / "snapshot").iterdir()] == [store.snapshot_state()]
    assert_frame_equal(*_both(store, _day(140, [("Acme", "Kappa", None)])))


def test_recorded_outcomes_relabel_the_snapshot_without_a_rebuild(tmp_path: Path) -> None:
    store = _history(tmp_path)
    query = _day(130, [("Gamma", "Kappa", None)])
    before = HistoryFeatures(store).apply(query)
    assert before["shipper_past_positives"].to_list() == [0]
    calls: list[int] = []
    summarise = snapshot_module.summarise

    def counted(entities: pl.LazyFrame) -> snapshot_module.Snapshot:
        calls.append(1)
        return summarise(entities)

    snapshot_module.summarise = counted  # type: ignore[assignment]
    try:
        store.record_inspection(
            container_number="MSCU0000001",
            bl_number="D120-1",
            inspection_result="seizure",
            recorded_at=T0 + timedelta(days=125),
        )
        fast, exact = _both(store, query)
        assert_frame_equal(fast, exact)
        assert fast["shipper_past_positives"].to_list() == [1]
        assert fast["consignee_past_positives"].to_list() == [2]
        # A later outcome for the same row replaces it; one for a row not stored yet waits.
        store.record_inspection(
            container_number="MSCU0000001",
            bl_number="D120-1",
            inspection_result="clean",
            recorded_at=T0 + timedelta(days=126),
        )
        store.record_inspection(
            container_number="MSCU0000000",
            bl_number="D128-0",
            inspection_result="seizure",
            recorded_at=T0 + timedelta(days=128, hours=5),
        )
        assert_frame_equal(*_both(store, query))
        assert calls == []  # relabelled, never rebuilt
        store.append(_day(128, [("Gamma", "Kappa", None)]), batch_id="d128")
        fast, exact = _both(store, query)
        assert_frame_equal(fast, exact)
        assert fast["consignee_past_positives"].to_list() == [2]
        assert fast["shipper_past_inspections"].to_list() == [2]
        assert calls == [1]  # the appended batch only
    finally:
        snapshot_module.summarise = summarise  # type: ignore[assignment]


def test_a_stale_snapshot_is_left_alone_by_append_and_rebuilt_when_used(tmp_path: Path) -> None:
    store = _history(tmp_path)
    calls: list[int] = []
    summarise = snapshot_module.summarise

    def counted(entities: pl.LazyFrame) -> snapshot_module.Snapshot:
        calls.append(1)
        return summarise(entities)

    shutil.rmtree(tmp_path / "snapshot")
    snapshot_module.summarise = counted  # type: ignore[assignment]
    try:
        store.append(_day(121, [("Acme", "Kappa", None)]), batch_id="d121")
        assert calls == [] and not (tmp_path / "snapshot").exists()
        snap = store.snapshot()
        assert calls == [1] and snap.rows == 5
        store.snapshot()  # now current: read, not rebuilt
        assert calls == [1]
    finally:
        snapshot_module.summarise = summarise  # type: ignore[assignment]


def test_a_batch_already_in_the_store_is_scored_without_its_own_rows(tmp_path: Path) -> None:
    store = _history(tmp_path)
    batch = _day(130, [("Acme", "Kappa", None)])
    first = HistoryFeatures(store).apply(batch)
    store.append(batch, batch_id="d130")
    from engine.identity import BatchIdentity

    stage = HistoryFeatures(store)
    stage.batch = BatchIdentity(id="d130", file_ids=(), bytes_sha256="d130")
    assert_frame_equal(stage.apply(batch), first)


def test_chunks_filed_days_apart_each_count_their_own_window_edge(tmp_path: Path) -> None:
    # The stage keeps each window-edge table with the snapshot for the later chunks of a
    # batch: a chunk filed past the table's reach gets it built again, an earlier one reads
    # the further-reaching table. Acme's day-75 row is inside 30 days of day 101 but not
    # of day 110.
    store = HistoryStore(tmp_path, fuzzy_threshold=None)
    store.append(_day(75, [("Acme", "Kappa", None)]), batch_id="d75")
    store.append(_day(100, [("Acme", "Kappa", None)]), batch_id="d100")
    early, late = _day(101, [("Acme", "Kappa", None)]), _day(110, [("Acme", "Kappa", None)])
    exact = HistoryFeatures(store, use_snapshot=False)
    want = {day: exact.apply(q).select(HISTORY_COLUMNS) for day, q in ((101, early), (110, late))}
    assert want[101]["shipper_shipments_30d"].to_list() == [2]
    assert want[110]["shipper_shipments_30d"].to_list() == [1]
    for order in ([(101, early), (110, late)], [(110, late), (101, early)]):
        stage = HistoryFeatures(store)
        for day, query in order:
            assert_frame_equal(stage.apply(query).select(HISTORY_COLUMNS), want[day])
