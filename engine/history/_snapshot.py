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
manifests (and the polars version, whose hash values the tables hold): a store written by
an older version, or one whose labels changed through recorded outcomes, has no snapshot of
its current state and gets one rebuilt from its rows on first use.
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
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
    _is_new,
    _only,
    chapter_pair,
    route_pair,
)

FORMAT = "1"
"""Bumped whenever the tables change meaning; part of the state a snapshot is keyed by."""
RECENT_DAYS = max(*WINDOWS_DAYS, DISTINCT_WINDOW_DAYS)
_TABLES = ("shipper", "consignee", "shipper_chapter", "consignee_chapter", "routes", "labels")
_RECENT = "recent"


@dataclass(frozen=True)
class Snapshot:
    """The aggregates of every stored row with a filing time (see the module docstring).

    ``last`` and ``origin`` are the latest and earliest filing times (µs), None when no
    stored row has one.
    """

    last: int | None
    origin: int | None
    rows: int
    shipper: pl.LazyFrame  # s, n, first
    consignee: pl.LazyFrame  # c, n, first, amended
    shipper_chapter: pl.LazyFrame  # pc, n
    consignee_chapter: pl.LazyFrame  # pc, n
    routes: pl.LazyFrame  # cr
    labels: pl.LazyFrame  # T, TL, s, c, box, pos, seized
    recent: pl.LazyFrame  # T, s, c, box

    def covers_before(self, t_min: int) -> bool:
        """Whether every stored row is filed strictly before ``t_min``."""
        return self.last is not None and self.last < t_min

    def features(
        self, q: pl.DataFrame, smoothing: Smoothing, t_min: int, t_max: int
    ) -> list[pl.DataFrame]:
        """:func:`features_after` of this snapshot (a method, so that ``_features`` asks
        the snapshot it is given instead of importing this module back)."""
        return features_after(q, self, smoothing, t_min, t_max)


def summarise(entities: pl.LazyFrame) -> Snapshot:
    """The snapshot of a set of rows given in the entity view (see ``entity_columns``)."""
    timed = entities.filter(pl.col(T).is_not_null())
    span = timed.select(
        pl.col(T).max().alias("last"), pl.col(T).min().alias("origin"), pl.len().alias("rows")
    ).collect()
    last, origin, rows = span.row(0)
    n = pl.len().cast(pl.UInt32).alias("n")
    first = pl.col(T).min().alias("first")
    tables = [
        timed.filter(pl.col("s").is_not_null()).group_by("s").agg(n, first),
        timed.filter(pl.col("c").is_not_null())
        .group_by("c")
        .agg(n, first, pl.col(T).filter(pl.col("amended")).max().alias("amended")),
        _chapters(timed, "s"),
        _chapters(timed, "c"),
        timed.filter(pl.col("c").is_not_null() & pl.col("route").is_not_null())
        .select(route_pair().alias("cr"))
        .unique(),
        timed.filter(pl.col("insp")).select(T, TL, "s", "c", "box", "pos", "seized"),
        _recent(timed.select(T, "s", "c", "box"), last),
    ]
    collected = pl.collect_all(tables, engine="streaming")
    return _snapshot(last, origin, int(rows), [t.lazy() for t in collected])


def merge(a: Snapshot, b: Snapshot) -> Snapshot:
    """The snapshot of the rows of ``a`` and ``b`` together."""
    last = _pick(max, a.last, b.last)
    n = pl.col("n").sum().alias("n")
    first = pl.col("first").min()
    tables = [
        pl.concat([a.shipper, b.shipper]).group_by("s").agg(n, first),
        pl.concat([a.consignee, b.consignee]).group_by("c").agg(n, first, pl.col("amended").max()),
        pl.concat([a.shipper_chapter, b.shipper_chapter]).group_by("pc").agg(n),
        pl.concat([a.consignee_chapter, b.consignee_chapter]).group_by("pc").agg(n),
        pl.concat([a.routes, b.routes]).unique(),
        pl.concat([a.labels, b.labels]),
        _recent(pl.concat([a.recent, b.recent]), last),
    ]
    collected = pl.collect_all(tables)
    return _snapshot(
        last, _pick(min, a.origin, b.origin), a.rows + b.rows, [t.lazy() for t in collected]
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
        {T: i64, TL: i64, "s": u64, "c": u64, "box": u64, "pos": pl.Boolean, "seized": pl.Boolean},
        {T: i64, "s": u64, "c": u64, "box": u64},
    ]
    return _snapshot(None, None, 0, [pl.LazyFrame(schema=s) for s in schemas])


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
    every stored row, so all-time counts are the snapshot's totals, and a window count is
    the recent rows at or after ``t - W`` (exact to the microsecond, below).

    Same columns and values as the blocks computed from the rows (``compute_features``).
    """
    assert snap.origin is not None  # covers_before() holds
    # Ages earlier than this are censored (null): see FIRST_SEEN_LOOKBACK_DAYS.
    known_from = snap.origin + FIRST_SEEN_LOOKBACK_DAYS * DAY_US
    consignee = _party_after(q, snap, "c", "consignee", smoothing, known_from, t_min, t_max)
    shipper = _party_after(q, snap, "s", "shipper", smoothing, known_from, t_min, t_max)
    return [
        consignee.drop("__n"),
        shipper.drop("__n"),
        _distinct_after(q, snap, "c", "s", "consignee_distinct_shippers_365d", t_min, t_max),
        _distinct_after(q, snap, "s", "c", "shipper_distinct_consignees_365d", t_min, t_max),
        _chapter_after(q, snap.shipper_chapter, "s", "shipper_hs_chapter_share", shipper["__n"]),
        _chapter_after(
            q, snap.consignee_chapter, "c", "consignee_hs_chapter_share", consignee["__n"]
        ),
        _route_after(q, snap, known_from),
        _container_after(q, snap, t_min, t_max),
        _amendment_after(q, snap),
    ]


def _keys(q: pl.DataFrame, by: str) -> pl.LazyFrame:
    return q.lazy().select(pl.col(by).drop_nulls().unique())


def _lookup(q: pl.DataFrame, by: str, table: pl.LazyFrame) -> pl.DataFrame:
    """``table``'s row of each query row's ``by`` key (nulls where none), in query order."""
    mine = table.join(_keys(q, by), on=by, how="semi").collect()
    return q.select(by).join(mine, on=by, how="left", maintain_order="left")


def _window_counts(
    q: pl.DataFrame, rows: pl.LazyFrame, by: str, windows: Iterable[int], t_min: int, t_max: int
) -> dict[int, pl.Series]:
    """For each window ``W``: the ``rows`` (``by``, time; all before ``t_min``) of each query
    row's key filed at or after ``t - W``.

    That is every row at or after ``t_min - W`` less those in ``[t_min - W, t - W)``; the
    latter lie in ``[t_min - W, t_max - W)`` — a slice as long as the batch's own time
    span — and are counted with a strict as-of look-up, as for a history scan.
    """
    windows = sorted(windows)
    mine = rows.filter(pl.col(by).is_not_null()).join(_keys(q, by), on=by, how="semi").collect()
    low = {w: t_min - w * DAY_US for w in windows}
    totals = mine.group_by(by).agg(
        (pl.col(T) >= low[w]).sum().cast(pl.Int64).alias(f"a{w}") for w in windows
    )
    base = q.select(by).join(totals, on=by, how="left", maintain_order="left")
    counts: dict[int, pl.Series] = {}
    for w in windows:
        edge = mine.lazy().filter((pl.col(T) >= low[w]) & (pl.col(T) < t_max - w * DAY_US))
        table = _cumulative(edge, by, {"n": pl.len().cast(pl.UInt32)}, -(2**62))
        before = _asof(q, table, f"__t{w}", by, ["n"])["n"].fill_null(0).cast(pl.Int64)
        counts[w] = base[f"a{w}"].fill_null(0) - before
    return counts


def _labels_before(
    q: pl.DataFrame, labels: pl.LazyFrame, by: str, flags: dict[str, pl.Expr], t_min: int
) -> pl.DataFrame:
    """Counts of each query row's key's results known strictly before the row."""
    mine = labels.filter(pl.col(by).is_not_null()).join(_keys(q, by), on=by, how="semi")
    # Results known before the batch are totals; later ones are looked up by time.
    table = _cumulative(_by_result_time(mine), by, flags, t_min)
    return _asof(q, table, T, by, list(flags)).with_columns(pl.all().fill_null(0))


def _party_after(
    q: pl.DataFrame,
    snap: Snapshot,
    by: str,
    role: str,
    smoothing: Smoothing,
    known_from: int,
    t_min: int,
    t_max: int,
) -> pl.DataFrame:
    totals = _lookup(q, by, snap.consignee if by == "c" else snap.shipper)
    n_now = totals["n"].fill_null(0)
    known = q[by].is_not_null()
    is_new = _is_new(n_now > 0, q[T], known_from)
    days = (
        pl.DataFrame({"n": n_now, "first": totals["first"], "t": q[T]})
        .with_columns(pl.when(pl.col("n") > 0).then(pl.col("first")).otherwise(pl.col("t")))
        .select(
            pl.when(pl.col("first") >= known_from)
            .then((pl.col("t") - pl.col("first")) / DAY_US)
            .otherwise(None)
        )
        .to_series()
    )
    cols: dict[str, pl.Series] = {
        f"{role}_is_new": _only(known, is_new),
        f"{role}_first_seen_days": _only(known, days.cast(pl.Float64)),
    }
    windowed = _window_counts(q, snap.recent.select(T, by), by, WINDOWS_DAYS, t_min, t_max)
    for w in WINDOWS_DAYS:
        cols[f"{role}_shipments_{w}d"] = _only(known, windowed[w].cast(pl.Int32))
    flags = {
        "insp": pl.len().cast(pl.UInt32),
        "pos": pl.col("pos").cast(pl.UInt32).sum(),
    }
    now = _labels_before(q, snap.labels, by, flags, t_min)
    insp, pos = now["insp"], now["pos"]
    rate = (pos + smoothing.strength * smoothing.rate) / (insp + smoothing.strength)
    cols[f"{role}_past_inspections"] = _only(known, insp.cast(pl.Int32))
    cols[f"{role}_past_positives"] = _only(known, pos.cast(pl.Int32))
    cols[f"{role}_positive_rate"] = _only(known, rate.cast(pl.Float64))
    cols["__n"] = n_now
    return pl.DataFrame([s.alias(n) for n, s in cols.items()])


def _distinct_after(
    q: pl.DataFrame, snap: Snapshot, by: str, other: str, name: str, t_min: int, t_max: int
) -> pl.DataFrame:
    # A counterparty counts when the pair's last filing is at or after t - W.
    pairs = (
        snap.recent.filter(pl.col(other).is_not_null())
        .join(_keys(q, by), on=by, how="semi")
        .group_by(by, other)
        .agg(pl.col(T).max())
        .select(by, T)
    )
    w = DISTINCT_WINDOW_DAYS
    value = _window_counts(q, pairs, by, [w], t_min, t_max)[w].cast(pl.Int32)
    return _only(q[by].is_not_null(), value).alias(name).to_frame()


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
    seen_keys = snap.routes.join(_keys(qk, "cr"), on="cr", how="semi").collect()["cr"]
    seen = qk["cr"].is_in(seen_keys.implode()).fill_null(False)
    is_new = _is_new(seen, q[T], known_from)
    return _only(qk["cr"].is_not_null(), is_new).alias("consignee_route_is_new").to_frame()


def _container_after(q: pl.DataFrame, snap: Snapshot, t_min: int, t_max: int) -> pl.DataFrame:
    w = CONTAINER_WINDOW_DAYS
    known = q["box"].is_not_null()
    appearances = _window_counts(q, snap.recent.select(T, "box"), "box", [w], t_min, t_max)[w]
    seizures = snap.labels.filter(pl.col("seized"))
    seized = _labels_before(q, seizures, "box", {"seized": pl.len().cast(pl.UInt32)}, t_min)
    return pl.DataFrame(
        [
            _only(known, appearances.cast(pl.Int32)).alias(f"container_past_appearances_{w}d"),
            _only(known, seized["seized"].cast(pl.Int32)).alias("container_prior_seizures"),
        ]
    )


def _amendment_after(q: pl.DataFrame, snap: Snapshot) -> pl.DataFrame:
    last = _lookup(q, "c", snap.consignee)["amended"]
    days = (q[T] - last) / DAY_US
    return days.cast(pl.Float64).alias("consignee_days_since_last_amendment").to_frame()


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
    tables = [pl.scan_parquet(where / f"{name}.parquet") for name in (*_TABLES, _RECENT)]
    return _snapshot(meta["last"], meta["origin"], int(meta["rows"]), tables)


def write(folder: Path, state: str, snap: Snapshot) -> None:
    """Store ``snap`` as the snapshot of ``state``; older states are removed.

    The caller holds the store's lock. A reader never sees a half-written snapshot: the
    folder of a state appears (by rename) only once every table of it is written."""
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{state}.{uuid.uuid4().hex}.tmp"
    tmp.mkdir()
    frames = [
        snap.shipper,
        snap.consignee,
        snap.shipper_chapter,
        snap.consignee_chapter,
        snap.routes,
        snap.labels,
        snap.recent,
    ]
    for name, frame in zip((*_TABLES, _RECENT), frames, strict=True):
        frame.sink_parquet(tmp / f"{name}.parquet", compression="lz4", statistics=True)
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
