"""Per-entity running aggregates of a history store, kept up to date at append time.

A day's batch is filed after everything in the store, so each of its rows sees the whole
store. The features of such a batch then need only small per-entity tables, not a rescan of
every stored row:

* per shipper / consignee: rows, first filing, (consignee) last amended filing;
* per (party, HS chapter): rows; per (consignee, route): present;
* every inspected row (about 3% of rows): its keys, when its result became known, and
  whether it was positive or a seizure (results may become known after the batch is filed);
* the *recent* rows — filed within the longest window (365 days) of the store's last
  filing — as (time, shipper, consignee, container) hashes: the sliding-window counts of a
  batch filed after the store need nothing older.

Every table merges with the tables of another set of rows by sums, minima, maxima and
concatenation, so :meth:`HistoryStore.append` folds each new batch into the snapshot it
had. The snapshot lives in ``snapshot/<state>/`` where ``state`` hashes the store's
manifests (and the polars version, whose hash values the tables hold). Recorded outcomes
change only labels: :meth:`HistoryStore.append_outcomes` relabels the rows they name
(:func:`relabel`). A store written by an older version has no snapshot of its current
state and gets one rebuilt from its rows on first use.
"""

from __future__ import annotations

import json
import shutil
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from engine.history._features import (
    CONTAINER_WINDOW_DAYS,
    DAY_US,
    DISTINCT_WINDOW_DAYS,
    FIRST_SEEN_LOOKBACK_DAYS,
    TL,
    WINDOWS_DAYS,
    Smoothing,
    T,
    _asof,
    _by_result_time,
    _cumulative,
    _first_seen_days,
    _is_new,
    _only,
    chapter_pair,
    route_pair,
)

FORMAT = "3"
"""Bumped whenever the tables change meaning; part of the state a snapshot is keyed by."""
RECENT_WINDOWS = sorted({*WINDOWS_DAYS, DISTINCT_WINDOW_DAYS, CONTAINER_WINDOW_DAYS})
RECENT_DAYS = max(RECENT_WINDOWS)
_NAMES = (
    "shipper",
    "consignee",
    "boxes",
    "shipper_chapter",
    "consignee_chapter",
    "routes",
    "labels",
    "recent",
    "pairs",
)
OUTCOME = "okey"
"""Column of the hashed outcome key (see ``outcome_key``) of an inspected row."""
_LABELS = (T, TL, "s", "c", "box", "pos", "seized", OUTCOME)
_PARTY = {"s": ("s", "n", "first"), "c": ("c", "n", "first", "amended")}


@dataclass(frozen=True)
class Snapshot:
    """The aggregates of every stored row with a filing time (see the module docstring).

    ``last`` and ``origin`` are the latest and earliest filing times (µs), None when no
    stored row has one. Window columns ``w<W>`` count a key's rows filed at or after
    ``last - W``; ``d365`` its counterparties whose pair was last seen at or after
    ``last - 365 days``.
    """

    last: int | None
    origin: int | None
    rows: int
    shipper: pl.LazyFrame  # s, n, first, w30, w90, w365, d365
    consignee: pl.LazyFrame  # c, n, first, amended, w30, w90, w365, d365
    boxes: pl.LazyFrame  # box, w365
    shipper_chapter: pl.LazyFrame  # pc, n
    consignee_chapter: pl.LazyFrame  # pc, n
    routes: pl.LazyFrame  # cr
    labels: pl.LazyFrame  # T, TL, s, c, box, pos, seized, okey (hash of the outcome key)
    recent: pl.LazyFrame  # T, s, c, box; filed at or after last - 365 days, sorted by T
    pairs: pl.LazyFrame  # s, c, T (the pair's last filing), for T >= last - 365 days
    # Tables derived from these for the batches read from it (see _label_table).
    derived: dict[tuple[str, bool], pl.DataFrame] = field(
        default_factory=dict, compare=False, repr=False, kw_only=True
    )
    # Window-edge count tables and the time each is valid up to (see _Edges).
    edges: dict[tuple[str, str, int], tuple[int, pl.DataFrame]] = field(
        default_factory=dict, compare=False, repr=False, kw_only=True
    )

    def covers_before(self, t_min: int) -> bool:
        """Whether every stored row is filed strictly before ``t_min``."""
        return self.last is not None and self.last < t_min

    def features(
        self, q: pl.DataFrame, smoothing: Smoothing, t_min: int, t_max: int
    ) -> list[pl.DataFrame]:
        """:func:`features_after` of this snapshot (a method, so that ``_features`` asks
        the snapshot it is given instead of importing this module back)."""
        return features_after(q, self, smoothing, t_min, t_max)

    def tables(self) -> list[pl.LazyFrame]:
        return [getattr(self, name) for name in _NAMES]

    def in_memory(self) -> Snapshot:
        """The same snapshot with every table read (once) into memory: about the size of
        a year of filings as four 8-byte columns, whatever the store's age."""
        held = pl.collect_all(self.tables())
        return _snapshot(self.last, self.origin, self.rows, [t.lazy() for t in held])


def summarise(entities: pl.LazyFrame) -> Snapshot:
    """The snapshot of a set of rows given in the entity view (see ``entity_columns``)."""
    timed = entities.filter(pl.col(T).is_not_null())
    span = timed.select(
        pl.col(T).max().alias("last"), pl.col(T).min().alias("origin"), pl.len().alias("rows")
    ).collect()
    last, origin, rows = span.row(0)
    n = pl.len().cast(pl.UInt32).alias("n")
    first = pl.col(T).min().alias("first")
    base = [
        timed.filter(pl.col("s").is_not_null()).group_by("s").agg(n, first),
        timed.filter(pl.col("c").is_not_null())
        .group_by("c")
        .agg(n, first, pl.col(T).filter(pl.col("amended")).max().alias("amended")),
        _chapters(timed, "s"),
        _chapters(timed, "c"),
        timed.filter(pl.col("c").is_not_null() & pl.col("route").is_not_null())
        .select(route_pair().alias("cr"))
        .unique(),
        timed.filter(pl.col("insp")).select(*_LABELS),
        _recent(timed.select(T, "s", "c", "box"), last),
    ]
    collected = pl.collect_all(base, engine="streaming")
    recent = collected[-1]
    pairs = _pairs(recent.lazy(), last)
    return _windowed(last, origin, int(rows), [t.lazy() for t in collected], pairs)


def merge(a: Snapshot, b: Snapshot) -> Snapshot:
    """The snapshot of the rows of ``a`` and ``b`` together."""
    last = _pick(max, a.last, b.last)
    n = pl.col("n").sum().alias("n")
    first = pl.col("first").min()
    party = {
        "s": [a.shipper.select(_PARTY["s"]), b.shipper.select(_PARTY["s"])],
        "c": [a.consignee.select(_PARTY["c"]), b.consignee.select(_PARTY["c"])],
    }
    base = [
        pl.concat(party["s"]).group_by("s").agg(n, first),
        pl.concat(party["c"]).group_by("c").agg(n, first, pl.col("amended").max()),
        pl.concat([a.shipper_chapter, b.shipper_chapter]).group_by("pc").agg(n),
        pl.concat([a.consignee_chapter, b.consignee_chapter]).group_by("pc").agg(n),
        pl.concat([a.routes, b.routes]).unique(),
        pl.concat([a.labels, b.labels]),
        _recent(pl.concat([a.recent, b.recent]), last),
    ]
    collected = pl.collect_all(base)
    pairs = _pairs(pl.concat([a.pairs, b.pairs]), last)
    rows = a.rows + b.rows
    return _windowed(
        last, _pick(min, a.origin, b.origin), rows, [t.lazy() for t in collected], pairs
    )


def empty() -> Snapshot:
    """The snapshot of no rows."""
    u64, i64 = pl.UInt64, pl.Int64
    schemas: list[dict[str, type[pl.DataType]]] = [
        {"s": u64, "n": pl.UInt32, "first": i64},
        {"c": u64, "n": pl.UInt32, "first": i64, "amended": i64},
        {"pc": u64, "n": pl.UInt32},
        {"pc": u64, "n": pl.UInt32},
        {"cr": u64},
        {
            T: i64,
            TL: i64,
            "s": u64,
            "c": u64,
            "box": u64,
            "pos": pl.Boolean,
            "seized": pl.Boolean,
            OUTCOME: u64,
        },
        {T: i64, "s": u64, "c": u64, "box": u64},
    ]
    base = [pl.LazyFrame(schema=s) for s in schemas]
    pairs = pl.DataFrame(schema={"s": u64, "c": u64, T: i64})
    return _windowed(None, None, 0, base, pairs)


def relabel(snap: Snapshot, keys: pl.Series, entities: pl.LazyFrame) -> Snapshot:
    """``snap`` with the labels of the rows whose outcome key hashes to one of ``keys``
    replaced by those of ``entities`` (the same rows, labelled anew). Outcomes change only
    labels: every other table stays."""
    stale = pl.col(OUTCOME).is_in(keys.implode()).fill_null(False)
    fresh = entities.filter(pl.col(T).is_not_null() & pl.col("insp")).select(*_LABELS)
    labels = pl.concat([snap.labels.filter(~stale), fresh]).collect()
    tables = snap.tables()
    tables[_NAMES.index("labels")] = labels.lazy()
    return _snapshot(snap.last, snap.origin, snap.rows, tables)


def _windowed(
    last: int | None, origin: int | None, rows: int, base: list[pl.LazyFrame], pairs: pl.DataFrame
) -> Snapshot:
    """The snapshot from its base tables (shipper, consignee, chapters, routes, labels,
    recent rows) and pairs: the window columns are counted from the recent rows and pairs."""
    shipper, consignee, s_chapter, c_chapter, routes, labels, recent = base
    since = {w: pl.lit(-(2**62) if last is None else last - w * DAY_US) for w in RECENT_WINDOWS}

    def counts(rows: pl.LazyFrame, by: str, windows: Iterable[int], prefix: str) -> pl.LazyFrame:
        return (
            rows.filter(pl.col(by).is_not_null())
            .group_by(by)
            .agg(
                (pl.col(T) >= since[w]).sum().cast(pl.UInt32).alias(f"{prefix}{w}") for w in windows
            )
        )

    def party(table: pl.LazyFrame, by: str) -> pl.LazyFrame:
        windows = counts(recent, by, WINDOWS_DAYS, "w")
        distinct = counts(pairs.lazy(), by, [DISTINCT_WINDOW_DAYS], "d")
        joined = table.join(windows, on=by, how="left").join(distinct, on=by, how="left")
        return joined.with_columns(pl.col("^[wd][0-9]+$").fill_null(0))

    tables = pl.collect_all(
        [
            party(shipper, "s"),
            party(consignee, "c"),
            counts(recent, "box", [CONTAINER_WINDOW_DAYS], "w"),
        ]
    )
    held = [*(t.lazy() for t in tables), s_chapter, c_chapter, routes, labels]
    return _snapshot(last, origin, rows, [*held, recent, pairs.lazy()])


def _pairs(rows: pl.LazyFrame, last: int | None) -> pl.DataFrame:
    """Each (shipper, consignee) pair at its last filing, for pairs seen in the window."""
    valid = pl.col("s").is_not_null() & pl.col("c").is_not_null()
    return (
        _recent(rows.filter(valid).group_by("s", "c").agg(pl.col(T).max()), last)
        .select("s", "c", T)
        .collect()
    )


def _snapshot(last: int | None, origin: int | None, rows: int, t: list[pl.LazyFrame]) -> Snapshot:
    return Snapshot(last, origin, rows, *t)


def _pick(f: Callable[[int, int], int], a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else f(a, b)


def _chapters(timed: pl.LazyFrame, by: str) -> pl.LazyFrame:
    valid = pl.col(by).is_not_null() & pl.col("chapter").is_not_null()
    return (
        timed.filter(valid)
        .group_by(chapter_pair(by).alias("pc"))
        .agg(pl.len().cast(pl.UInt32).alias("n"))
    )


def _recent(rows: pl.LazyFrame, last: int | None) -> pl.LazyFrame:
    """Rows a batch filed after ``last`` can still see in a window, sorted by time."""
    if last is None:
        return rows.filter(pl.lit(False))
    return rows.filter(pl.col(T) >= last - RECENT_DAYS * DAY_US).sort(T)


# ---------------------------------------------------------------------- features


def features_after(
    q: pl.DataFrame, snap: Snapshot, smoothing: Smoothing, t_min: int, t_max: int
) -> list[pl.DataFrame]:
    """The feature blocks of the time-sorted query ``q`` (with its ``__t<W>`` columns) from
    ``snap``, when every row of ``snap`` is filed before ``t_min``: each query row sees
    every stored row, so all-time counts are the snapshot's totals, and a window count at
    ``t`` is the key's ``w<W>`` less its rows in ``[last - W, t - W)`` (below).

    Same columns and values as the blocks computed from the rows (``compute_features``).
    """
    assert snap.origin is not None and snap.last is not None  # covers_before() holds
    # Ages earlier than this are censored (null): see FIRST_SEEN_LOOKBACK_DAYS.
    known_from = snap.origin + FIRST_SEEN_LOOKBACK_DAYS * DAY_US
    edges = _Edges(q, snap, t_max)
    consignee = _lookup(q, "c", snap.consignee)
    shipper = _lookup(q, "s", snap.shipper)
    c_block = _party_after(q, snap, consignee, "c", "consignee", smoothing, known_from, edges)
    s_block = _party_after(q, snap, shipper, "s", "shipper", smoothing, known_from, edges)
    w = DISTINCT_WINDOW_DAYS
    distinct = {
        by: _only(q[by].is_not_null(), edges.count(table[f"d{w}"], "pairs", by, w).cast(pl.Int32))
        for by, table in (("c", consignee), ("s", shipper))
    }
    return [
        c_block.drop("__n"),
        s_block.drop("__n"),
        distinct["c"].alias("consignee_distinct_shippers_365d").to_frame(),
        distinct["s"].alias("shipper_distinct_consignees_365d").to_frame(),
        _chapter_after(q, snap.shipper_chapter, "s", "shipper_hs_chapter_share", s_block["__n"]),
        _chapter_after(
            q, snap.consignee_chapter, "c", "consignee_hs_chapter_share", c_block["__n"]
        ),
        _route_after(q, snap, known_from),
        _container_after(q, snap, edges),
        ((q[T] - consignee["amended"]) / DAY_US)
        .cast(pl.Float64)
        .alias("consignee_days_since_last_amendment")
        .to_frame(),
    ]


_BUILDING = threading.Lock()
"""Held while a snapshot's derived or window-edge table is looked for and built."""

EDGE_MARGIN_US = DAY_US
"""How far past a chunk's last filing an edge table is built, so that the later chunks of
a day's batch (filed within the same day) reuse it instead of counting the edge again."""


class _Edges:
    """Window counts of the query rows, exact to the microsecond.

    A key's rows at or after ``t - W`` (every stored row is before ``t``) are its ``w<W>``
    (rows at or after ``last - W``) less those in ``[last - W, t - W)``. Those lie in
    ``[last - W, t_max - W)``: a slice of the time-sorted recent rows as long as the gap
    from the store's last filing to the batch's last, counted with a strict as-of look-up.

    The counts of that slice are kept with the snapshot, built up to ``EDGE_MARGIN_US``
    past the chunk's last filing: a table reaching further gives the same look-ups (a
    strict as-of look-up at ``t - W`` never reads a row at or after it, and the running
    counts of the earlier rows do not change when later ones are added), so the chunks of
    a batch share it and only a chunk filed past its end builds it again.
    """

    def __init__(self, q: pl.DataFrame, snap: Snapshot, t_max: int) -> None:
        assert snap.last is not None
        self.q, self.snap, self.last, self.t_max = q, snap, snap.last, t_max

    def count(self, total: pl.Series, rows: str, by: str, w: int) -> pl.Series:
        """``total`` (the ``w<W>`` of each query row's key) less its rows of the snapshot's
        table ``rows`` (``"recent"`` or ``"pairs"``) in the edge."""
        until = self.t_max - w * DAY_US
        with _BUILDING:  # chunks scored at once in threads build each table once
            cached = self.snap.edges.get((rows, by, w))
            if cached is None or cached[0] < until:
                reach = until + EDGE_MARGIN_US
                cached = (reach, self._table(getattr(self.snap, rows), by, w, reach))
                self.snap.edges[(rows, by, w)] = cached
        before = _asof(self.q, cached[1], f"__t{w}", by, ["n"])["n"].fill_null(0).cast(pl.Int64)
        return total.fill_null(0).cast(pl.Int64) - before

    def _table(self, rows: pl.LazyFrame, by: str, w: int, until: int) -> pl.DataFrame:
        """Running counts per key of ``rows`` filed in ``[last - W, until)``."""
        since = self.last - w * DAY_US
        # The rows are sorted by time: the edge is one slice of them.
        times = rows.select(T).collect().to_series()
        start = int(times.search_sorted(since, side="left"))
        stop = int(times.search_sorted(until, side="left"))
        edge = rows.slice(start, max(stop - start, 0)).select(by, T)
        return _cumulative(
            edge.filter(pl.col(by).is_not_null()), by, {"n": pl.len().cast(pl.UInt32)}, -(2**62)
        )


def _lookup(q: pl.DataFrame, by: str, table: pl.LazyFrame) -> pl.DataFrame:
    """``table``'s row of each query row's ``by`` key (nulls where none), in query order.

    ``table`` has one row per key. An unordered join put back in order by row number costs
    about a third of an order-keeping join here."""
    row = "__row"
    return (
        q.lazy()
        .select(pl.col(by))
        .with_row_index(row)
        .join(table, on=by, how="left")
        .sort(row)
        .drop(row)
        .collect()
    )


def _labels_before(
    q: pl.DataFrame, snap: Snapshot, by: str, flags: dict[str, pl.Expr], seized: bool
) -> pl.DataFrame:
    """Counts of each query row's key's results (seizures only with ``seized``) known
    strictly before the row."""
    table = _label_table(snap, by, flags, seized)
    return _asof(q, table, T, by, list(flags)).with_columns(pl.all().fill_null(0))


def _label_table(snap: Snapshot, by: str, flags: dict[str, pl.Expr], seized: bool) -> pl.DataFrame:
    """Cumulative ``flags`` of the labelled rows per key by the time each result became
    known, made once per snapshot (every batch it serves is filed after ``last``).

    Results known by ``last`` are only ever seen as a total per key; later ones (known
    after some batch rows) are looked up by time. A query at ``t > last`` counts the rows
    known before ``t`` whatever the point up to ``t`` where older rows collapse, so the
    table serves every chunk."""
    with _BUILDING:
        table = snap.derived.get((by, seized))
        if table is None:
            assert snap.last is not None
            labels = snap.labels.filter(pl.col("seized")) if seized else snap.labels
            mine = labels.filter(pl.col(by).is_not_null())
            table = _cumulative(_by_result_time(mine), by, flags, snap.last + 1)
            snap.derived[(by, seized)] = table
    return table


def _party_after(
    q: pl.DataFrame,
    snap: Snapshot,
    totals: pl.DataFrame,
    by: str,
    role: str,
    smoothing: Smoothing,
    known_from: int,
    edges: _Edges,
) -> pl.DataFrame:
    n_now = totals["n"].fill_null(0)
    known = q[by].is_not_null()
    is_new = _is_new(n_now > 0, q[T], known_from)
    days = _first_seen_days(n_now, totals["first"], q[T], known_from)
    cols: dict[str, pl.Series] = {
        f"{role}_is_new": _only(known, is_new),
        f"{role}_first_seen_days": _only(known, days.cast(pl.Float64)),
    }
    for w in WINDOWS_DAYS:
        count = edges.count(totals[f"w{w}"], "recent", by, w)
        cols[f"{role}_shipments_{w}d"] = _only(known, count.cast(pl.Int32))
    flags = {
        "insp": pl.len().cast(pl.UInt32),
        "pos": pl.col("pos").cast(pl.UInt32).sum(),
    }
    now = _labels_before(q, snap, by, flags, seized=False)
    insp, pos = now["insp"], now["pos"]
    rate = (pos + smoothing.strength * smoothing.rate) / (insp + smoothing.strength)
    cols[f"{role}_past_inspections"] = _only(known, insp.cast(pl.Int32))
    cols[f"{role}_past_positives"] = _only(known, pos.cast(pl.Int32))
    cols[f"{role}_positive_rate"] = _only(known, rate.cast(pl.Float64))
    cols["__n"] = n_now
    return pl.DataFrame([s.alias(n) for n, s in cols.items()])


def _chapter_after(
    q: pl.DataFrame, table: pl.LazyFrame, by: str, name: str, total: pl.Series
) -> pl.DataFrame:
    valid = pl.col(by).is_not_null() & pl.col("chapter").is_not_null()
    qk = q.select(pl.when(valid).then(chapter_pair(by)).alias("pc"))
    same = _lookup(qk, "pc", table)["n"].fill_null(0)
    share = pl.DataFrame({"same": same, "total": total, "pc": qk["pc"]}).select(
        pl.when(pl.col("pc").is_not_null() & (pl.col("total") > 0))
        .then(pl.col("same") / pl.col("total"))
        .alias(name)
    )
    return share


def _route_after(q: pl.DataFrame, snap: Snapshot, known_from: int) -> pl.DataFrame:
    valid = pl.col("c").is_not_null() & pl.col("route").is_not_null()
    qk = q.select(pl.when(valid).then(route_pair()).alias("cr"))
    seen = _lookup(qk, "cr", snap.routes.with_columns(pl.lit(True).alias("seen")))["seen"]
    is_new = _is_new(seen.fill_null(False), q[T], known_from)
    return _only(qk["cr"].is_not_null(), is_new).alias("consignee_route_is_new").to_frame()


def _container_after(q: pl.DataFrame, snap: Snapshot, edges: _Edges) -> pl.DataFrame:
    w = CONTAINER_WINDOW_DAYS
    known = q["box"].is_not_null()
    appearances = edges.count(_lookup(q, "box", snap.boxes)[f"w{w}"], "recent", "box", w)
    flag = {"seized": pl.len().cast(pl.UInt32)}
    seized = _labels_before(q, snap, "box", flag, seized=True)
    return pl.DataFrame(
        [
            _only(known, appearances.cast(pl.Int32)).alias(f"container_past_appearances_{w}d"),
            _only(known, seized["seized"].cast(pl.Int32)).alias("container_prior_seizures"),
        ]
    )


# ---------------------------------------------------------------------- on disk


def state_key(manifests: Iterable[Path]) -> str:
    """The state a snapshot is valid for: the manifests' bytes, the format, polars."""
    from engine.identity import fingerprint

    parts = [f"lookout-history-snapshot:{FORMAT}:polars-{pl.__version__}\n"]
    for path in manifests:
        parts.append(f"{path.name}:{path.read_text('utf-8') if path.exists() else ''}\n")
    return fingerprint(*parts)[:32]


def read(folder: Path, state: str) -> Snapshot | None:
    """The snapshot stored for ``state`` under ``folder``, or None."""
    where = folder / state
    meta_file = where / "meta.json"
    if not meta_file.exists():
        return None
    meta = json.loads(meta_file.read_text("utf-8"))
    tables = [pl.scan_parquet(where / f"{name}.parquet") for name in _NAMES]
    return _snapshot(meta["last"], meta["origin"], int(meta["rows"]), tables)


def write(folder: Path, state: str, snap: Snapshot) -> None:
    """Store ``snap`` as the snapshot of ``state``; older states are removed.

    The caller holds the store's lock. A reader never sees a half-written snapshot: the
    folder of a state appears (by rename) only once every table of it is written."""
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{state}.{uuid.uuid4().hex}.tmp"
    tmp.mkdir()
    for name, frame in zip(_NAMES, snap.tables(), strict=True):
        # Small row groups for the time-sorted tables: a batch reads a slice by time.
        frame.sink_parquet(
            tmp / f"{name}.parquet", compression="lz4", statistics=True, row_group_size=65_536
        )
    meta = {"format": FORMAT, "last": snap.last, "origin": snap.origin, "rows": snap.rows}
    (tmp / "meta.json").write_text(json.dumps(meta), "utf-8")
    target = folder / state
    if target.exists():
        shutil.rmtree(tmp)
    else:
        tmp.rename(target)
    # Writers hold the store's lock: anything else here is an older state or a crashed write.
    for old in folder.iterdir():
        if old.name != state:
            shutil.rmtree(old, ignore_errors=True)
