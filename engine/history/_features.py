"""Point-in-time entity-history features, computed with sorted cumulative counts.

Every feature of a query row at time ``t`` uses only history rows with ``filed_at < t``
(strictly: rows at the same instant never see each other), and an inspection result only
once it was known (``max(filed_at, inspected_at) < t``). All of them reduce to two
primitives over compact per-entity tables, both vectorised in polars:

* *count before*: a table ``(entity, time, cumulative counts)`` sorted by time, looked up
  with a strict backward as-of join (``allow_exact_matches=False``): the last entry before
  ``t`` carries the counts of every history row before ``t``. Windowed counts are the
  difference of two such look-ups, at ``t`` and at ``t - window``.
* *distinct in window* (distinct counterparties over 365 days): for each (party,
  counterparty) pair and each of its distinct times ``a`` with next time ``n``, the pair is
  "present and last seen at ``a``" for query times in ``(a, min(n, a + W)]``. Those intervals
  are disjoint per pair, so the distinct count at ``t`` is ``#(starts < t) - #(ends < t)``:
  two more count-before look-ups.

Entities are joined on 64-bit hashes of their keys (compact and fast; a collision needs
~4e9 distinct keys to become likely). History older than the earliest query minus the
longest window is collapsed to one row per entity before anything is joined, which bounds
memory by the recent history rather than the whole store.

A batch filed after every stored row (a day's feed) does not rescan the rows: its features
come from the store's snapshot of per-entity aggregates (:mod:`engine.history._snapshot`),
with the same values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

from engine.schema import DATETIME, DERIVED

if TYPE_CHECKING:
    from engine.history._snapshot import Snapshot

DAY_US = 86_400_000_000
FIRST_SEEN_LOOKBACK_DAYS = 90
"""A party's age is known only when the history covers this many days before its first
sighting (before the row itself, for a party never seen): a store holding 20 days cannot
tell a newcomer from an old trader that happened not to ship in those days. The ``*_is_new``
flags follow the same rule: never seen before a row is "new" only when the history covers
this many days before the row; a party (or route) seen before is never new."""
WINDOWS_DAYS: tuple[int, ...] = (30, 90, 365)
DISTINCT_WINDOW_DAYS = 365
CONTAINER_WINDOW_DAYS = 365
POSITIVE_RESULTS: tuple[str, ...] = ("seizure", "irregularity")

T = "__t"  # query / history time in microseconds since the epoch
TL = "__tl"  # when a history row's inspection result became known (>= its filing time)
I = "__i"  # query row position, to restore the caller's order  # noqa: E741


@dataclass(frozen=True)
class Smoothing:
    """Beta prior for positive rates: ``(positives + strength*rate) / (inspections + strength)``.

    With the defaults a party with no inspections gets 0.05, one seizure in one inspection
    gives (1 + 0.5) / (1 + 10) = 0.14, and ten positives in ten give 0.53.
    """

    rate: float = 0.05
    strength: float = 10.0


def entity_columns(frame: pl.LazyFrame, *extra: pl.Expr) -> pl.LazyFrame:
    """Project a canonical frame (with ``shipper_key``/``consignee_key``) to the entity view.

    Adds the integer time, hashed entity keys and label flags the feature tables need, and
    the ``extra`` columns.
    """
    chapter = pl.col("hs_code").cast(pl.String).str.replace_all(r"\D", "").str.slice(0, 2)
    result = pl.col("inspection_result").cast(pl.String).str.strip_chars().str.to_lowercase()
    inspected = pl.col("inspected").fill_null(False) | result.is_not_null()
    has_route = pl.col("port_of_loading").is_not_null() & pl.col("port_of_discharge").is_not_null()
    filed = pl.col("filed_at").cast(DATETIME).dt.epoch("us")
    known = (
        pl.col("inspected_at").cast(DATETIME).dt.epoch("us")
        if "inspected_at" in frame.collect_schema().names()
        else pl.lit(None, dtype=pl.Int64)
    )
    return frame.select(
        filed.alias(T),
        # When the row's inspection result became known: never before its filing.
        pl.max_horizontal(filed, known).alias(TL),
        _hash(pl.col("shipper_key")).alias("s"),
        _hash(pl.col("consignee_key")).alias("c"),
        pl.when(chapter.str.len_bytes() == 2)
        .then(chapter.cast(pl.UInt8, strict=False))
        .otherwise(None)
        .alias("chapter"),
        pl.when(has_route)
        .then(pl.struct(pl.col("port_of_loading"), pl.col("port_of_discharge")).hash(7))
        .otherwise(None)
        .alias("route"),
        _hash(pl.col("container_number").cast(pl.String).str.to_uppercase()).alias("box"),
        inspected.alias("insp"),
        (inspected & result.is_in(list(POSITIVE_RESULTS)).fill_null(False)).alias("pos"),
        (result == "seizure").fill_null(False).alias("seized"),
        (pl.col("amendments").fill_null(0) > 0).alias("amended"),
        *extra,
    )


def _hash(expr: pl.Expr) -> pl.Expr:
    return pl.when(expr.is_not_null()).then(expr.hash(11)).otherwise(None)


def chapter_pair(by: str) -> pl.Expr:
    """Hash of a party (column ``by``) and the HS chapter: the key of chapter counts."""
    return pl.struct(pl.col(by), pl.col("chapter")).hash(3)


def route_pair() -> pl.Expr:
    """Hash of a consignee and a route: the key of route sightings."""
    return pl.struct(pl.col("c"), pl.col("route")).hash(5)


def compute_features(
    query: pl.DataFrame,
    history: pl.LazyFrame,
    *,
    smoothing: Smoothing = Smoothing(),
    low_memory: bool = False,
    snapshot: Snapshot | None = None,
) -> pl.DataFrame:
    """History features for each ``query`` row (entity view) against ``history`` (entity view).

    Returns one row per query row, in query order, with every history feature column except
    the two keys (the caller owns those). When ``snapshot`` (the aggregates of the same
    history) holds only rows filed before every query row, the features are read from it
    (see :mod:`engine.history._snapshot`); otherwise they are computed from ``history``: by
    default its compact entity view is read once and held in memory (~45 bytes a row);
    ``low_memory`` streams it from the source again for every feature block instead
    (slower, lower peak).
    """
    q = query.with_row_index(I).sort(T)
    if q.height == 0:
        return _empty_result()
    t_min, t_max = q[T].min(), q[T].max()
    if not isinstance(t_min, int) or not isinstance(t_max, int):  # no row has a filing time
        return pl.DataFrame(
            [pl.Series(n, [None] * q.height, dtype=DERIVED[n].dtype) for n in HISTORY_FEATURES]
        )
    for w in sorted({*WINDOWS_DAYS, DISTINCT_WINDOW_DAYS, CONTAINER_WINDOW_DAYS}):
        q = q.with_columns((pl.col(T) - w * DAY_US).alias(f"__t{w}"))
    if snapshot is not None and snapshot.covers_before(t_min):
        return _finish(q, snapshot.features(q, smoothing, t_min, t_max))
    horizon = t_min - max(*WINDOWS_DAYS, DISTINCT_WINDOW_DAYS, CONTAINER_WINDOW_DAYS) * DAY_US
    # Rows at or after the last query time can never count; drop them before any work.
    # The compact entity view (~45 bytes a row) is read once and shared by every block.
    hist = history.filter(pl.col(T).is_not_null() & (pl.col(T) < t_max))
    if not low_memory:
        hist = hist.collect(engine="streaming").lazy()
    origin = hist.select(pl.col(T).min()).collect().item()
    # Ages earlier than this are censored (null): see FIRST_SEEN_LOOKBACK_DAYS.
    known_from = None if origin is None else origin + FIRST_SEEN_LOOKBACK_DAYS * DAY_US
    consignee = _party_block(q, hist, "c", "consignee", horizon, smoothing, known_from)
    shipper = _party_block(q, hist, "s", "shipper", horizon, smoothing, known_from)
    parts = [
        consignee.drop("__n"),
        shipper.drop("__n"),
        _distinct_block(q, hist, "c", "s", "consignee_distinct_shippers_365d", t_min),
        _distinct_block(q, hist, "s", "c", "shipper_distinct_consignees_365d", t_min),
        _chapter_block(q, hist, "s", "shipper_hs_chapter_share", horizon, shipper["__n"]),
        _chapter_block(q, hist, "c", "consignee_hs_chapter_share", horizon, consignee["__n"]),
        _route_block(q, hist, known_from),
        _container_block(q, hist, horizon),
        _amendment_block(q, hist, horizon),
    ]
    return _finish(q, parts)


def _finish(q: pl.DataFrame, parts: list[pl.DataFrame]) -> pl.DataFrame:
    """The feature blocks of the time-sorted query ``q`` in the caller's row order."""
    out = pl.concat(parts, how="horizontal").with_columns(q[I], q[T])
    # A row without a filing time has no "before": every feature is unknown.
    timed = pl.col(T).is_not_null()
    return out.sort(I).select(pl.when(timed).then(pl.col(n)).alias(n) for n in HISTORY_FEATURES)


def _asof(q: pl.DataFrame, table: pl.DataFrame, at: str, by: str, cols: list[str]) -> pl.DataFrame:
    """Strict backward as-of look-up: values of the last ``table`` row before ``q[at]``."""
    left = q.select(pl.col(at).alias(T), pl.col(by))
    right = table.select(pl.col(T), pl.col(by), *cols)
    joined = left.join_asof(
        right,
        on=T,
        by=by,
        strategy="backward",
        allow_exact_matches=False,
        check_sortedness=False,
    )
    return joined.select(cols)


def _cumulative(
    hist: pl.LazyFrame, by: str, sums: dict[str, pl.Expr], horizon: int
) -> pl.DataFrame:
    """``(by, time, cumulative sums)`` sorted by time; old rows collapsed per entity."""
    rows = hist.filter(pl.col(by).is_not_null())
    # Everything before `horizon` is only ever seen as a total: one row per entity.
    old = (
        rows.filter(pl.col(T) < horizon)
        .group_by(by)
        .agg(pl.col(T).max(), *[e.alias(n) for n, e in sums.items()])
    )
    recent = (
        rows.filter(pl.col(T) >= horizon)
        .group_by(by, T)
        .agg(*[e.alias(n) for n, e in sums.items()])
    )
    table = pl.concat([old.select(by, T, *sums), recent.select(by, T, *sums)]).sort(by, T)
    # Cumulative sums per entity without a window: a global running sum minus the running
    # sum reached before the entity's first row (rows are grouped by the sort).
    starts = (pl.col(by) != pl.col(by).shift(1)).fill_null(True)
    table = table.with_columns(
        (
            pl.col(n).cum_sum()
            - pl.when(starts).then(pl.col(n).cum_sum().shift(1).fill_null(0)).forward_fill()
        ).alias(n)
        for n in sums
    ).sort(T)  # the as-of join wants the right side sorted by time overall
    return table.collect(engine="streaming")


def _party_block(
    q: pl.DataFrame,
    hist: pl.LazyFrame,
    by: str,
    role: str,
    horizon: int,
    smoothing: Smoothing,
    known_from: int | None,
) -> pl.DataFrame:
    keys = q.select(pl.col(by).drop_nulls().unique())
    mine = hist.join(keys.lazy(), on=by, how="semi")
    table = _cumulative(mine, by, {"n": pl.len().cast(pl.UInt32)}, horizon)
    # Inspection results count from the time they became known, not from the filing.
    results = {
        "insp": pl.col("insp").cast(pl.UInt32).sum(),
        "pos": pl.col("pos").cast(pl.UInt32).sum(),
    }
    labels = _cumulative(_by_result_time(mine.filter(pl.col("insp"))), by, results, horizon)
    now = _asof(q, table, T, by, ["n"]).hstack(_asof(q, labels, T, by, ["insp", "pos"]))
    first = q.select(by).join(
        mine.group_by(by).agg(pl.col(T).min().alias("first")).collect(engine="streaming"),
        on=by,
        how="left",
    )["first"]
    known = q[by].is_not_null()
    n_now = now["n"].fill_null(0)
    # "New" follows the same rule as the age: never seen before the row *and* the history
    # reaches far enough back before the row to tell; a party seen before is never new.
    is_new = _is_new(n_now > 0, q[T], known_from)
    # First sighting before the row (the row itself for a party never seen); its age is
    # only known when the history reaches far enough back before that sighting.
    days = _first_seen_days(n_now, first, q[T], known_from)
    cols: dict[str, pl.Series] = {
        f"{role}_is_new": _only(known, is_new),
        f"{role}_first_seen_days": _only(known, days.cast(pl.Float64)),
    }
    for w in WINDOWS_DAYS:
        earlier = _asof(q, table, f"__t{w}", by, ["n"])["n"].fill_null(0)
        cols[f"{role}_shipments_{w}d"] = _only(known, (n_now - earlier).cast(pl.Int32))
    insp = now["insp"].fill_null(0)
    pos = now["pos"].fill_null(0)
    rate = (pos + smoothing.strength * smoothing.rate) / (insp + smoothing.strength)
    cols[f"{role}_past_inspections"] = _only(known, insp.cast(pl.Int32))
    cols[f"{role}_past_positives"] = _only(known, pos.cast(pl.Int32))
    cols[f"{role}_positive_rate"] = _only(known, rate.cast(pl.Float64))
    cols["__n"] = n_now  # all-time count before t, reused by the chapter share
    return pl.DataFrame([s.alias(n) for n, s in cols.items()])


def _first_seen_days(
    n_before: pl.Series, first: pl.Series, t: pl.Series, known_from: int | None
) -> pl.Series:
    """Days from the first sighting before the row (the row itself for a party never seen)
    to the row; null unless the history reaches far enough back before that sighting
    (``known_from``, None for a store too short to tell)."""
    return (
        pl.DataFrame({"n": n_before, "first": first, "t": t})
        .with_columns(pl.when(pl.col("n") > 0).then(pl.col("first")).otherwise(pl.col("t")))
        .select(
            pl.when(pl.lit(known_from is not None) & (pl.col("first") >= (known_from or 0)))
            .then((pl.col("t") - pl.col("first")) / DAY_US)
            .otherwise(None)
        )
        .to_series()
    )


def _is_new(seen: pl.Series, t: pl.Series, known_from: int | None) -> pl.Series:
    """False when seen before; True when unseen and the history covers the lookback before
    ``t``; null otherwise (a fresh or short store cannot call anyone new)."""
    frame = pl.DataFrame({"seen": seen, "t": t})
    tellable = pl.lit(known_from is not None) & (pl.col("t") >= (known_from or 0))
    return frame.select(
        pl.when(pl.col("seen")).then(False).when(tellable).then(True).otherwise(None)
    ).to_series()


def _by_result_time(rows: pl.LazyFrame) -> pl.LazyFrame:
    """History rows placed at the time their inspection result became known."""
    return rows.with_columns(pl.col(TL).alias(T))


def _only(mask: pl.Series, values: pl.Series) -> pl.Series:
    """``values`` where ``mask`` else null."""
    return (
        pl.DataFrame({"m": mask, "v": values})
        .select(pl.when(pl.col("m")).then(pl.col("v")))
        .to_series()
    )


def _distinct_block(
    q: pl.DataFrame, hist: pl.LazyFrame, by: str, other: str, name: str, t_min: int
) -> pl.DataFrame:
    window = DISTINCT_WINDOW_DAYS * DAY_US
    keys = q.select(pl.col(by).drop_nulls().unique())
    pairs = (
        # A pair occurrence before t_min - W ends before t_min: it can never count.
        hist.filter(pl.col(other).is_not_null() & (pl.col(T) >= t_min - window))
        .join(keys.lazy(), on=by, how="semi")
        .select(by, other, T)
        .unique()
        .sort(by, other, T)
        .select(
            by,
            pl.col(T).alias("start"),
            pl.min_horizontal(
                pl.when(_same_as_next(by) & _same_as_next(other)).then(pl.col(T).shift(-1)),
                pl.col(T) + window,
            ).alias("end"),
        )
        # An interval ending before the first query counts in both look-ups and cancels.
        .filter(pl.col("end") >= t_min)
    )
    starts = _cumulative(
        pairs.select(by, pl.col("start").alias(T)), by, {"k": pl.len().cast(pl.UInt32)}, -(2**62)
    )
    ends = _cumulative(
        pairs.select(by, pl.col("end").alias(T)), by, {"k": pl.len().cast(pl.UInt32)}, -(2**62)
    )
    opened = _asof(q, starts, T, by, ["k"])["k"].fill_null(0)
    closed = _asof(q, ends, T, by, ["k"])["k"].fill_null(0)
    value = (opened.cast(pl.Int64) - closed.cast(pl.Int64)).cast(pl.Int32)
    return _only(q[by].is_not_null(), value).alias(name).to_frame()


def _same_as_next(name: str) -> pl.Expr:
    return pl.col(name) == pl.col(name).shift(-1)


def _chapter_block(
    q: pl.DataFrame, hist: pl.LazyFrame, by: str, name: str, horizon: int, total: pl.Series
) -> pl.DataFrame:
    pair = chapter_pair(by)
    qk = q.select(
        pl.when(pl.col(by).is_not_null() & pl.col("chapter").is_not_null()).then(pair).alias("pc"),
        T,
    )
    keys = qk.select(pl.col("pc").drop_nulls().unique())
    rows = (
        hist.filter(pl.col(by).is_not_null() & pl.col("chapter").is_not_null())
        .select(pair.alias("pc"), T)
        .join(keys.lazy(), on="pc", how="semi")
    )
    table = _cumulative(rows, "pc", {"n": pl.len().cast(pl.UInt32)}, horizon)
    same = _asof(qk, table, T, "pc", ["n"])["n"].fill_null(0)
    share = pl.DataFrame({"same": same, "total": total, "pc": qk["pc"]}).select(
        pl.when(pl.col("pc").is_not_null() & (pl.col("total") > 0))
        .then(pl.col("same") / pl.col("total"))
        .alias(name)
    )
    return share


def _route_block(q: pl.DataFrame, hist: pl.LazyFrame, known_from: int | None) -> pl.DataFrame:
    pair = route_pair()
    valid = pl.col("c").is_not_null() & pl.col("route").is_not_null()
    qk = q.select(pl.when(valid).then(pair).alias("cr"), T)
    first = (
        hist.filter(valid)
        .select(pair.alias("cr"), T)
        .join(qk.select(pl.col("cr").drop_nulls().unique()).lazy(), on="cr", how="semi")
        .group_by("cr")
        .agg(pl.col(T).min().alias("first"))
        .collect(engine="streaming")
    )
    joined = qk.join(first, on="cr", how="left", maintain_order="left")
    seen = joined.select((pl.col("first") < pl.col(T)).fill_null(False)).to_series()
    is_new = _is_new(seen, joined[T], known_from)
    return _only(joined["cr"].is_not_null(), is_new).alias("consignee_route_is_new").to_frame()


def _container_block(q: pl.DataFrame, hist: pl.LazyFrame, horizon: int) -> pl.DataFrame:
    keys = q.select(pl.col("box").drop_nulls().unique())
    mine = hist.join(keys.lazy(), on="box", how="semi")
    table = _cumulative(mine, "box", {"n": pl.len().cast(pl.UInt32)}, horizon)
    seizures = _cumulative(
        _by_result_time(mine.filter(pl.col("seized"))),
        "box",
        {"seized": pl.len().cast(pl.UInt32)},
        horizon,
    )
    now = _asof(q, table, T, "box", ["n"]).hstack(_asof(q, seizures, T, "box", ["seized"]))
    earlier = _asof(q, table, f"__t{CONTAINER_WINDOW_DAYS}", "box", ["n"])["n"].fill_null(0)
    known = q["box"].is_not_null()
    appearances = (now["n"].fill_null(0) - earlier).cast(pl.Int32)
    seized = now["seized"].fill_null(0).cast(pl.Int32)
    return pl.DataFrame(
        [
            _only(known, appearances).alias(f"container_past_appearances_{CONTAINER_WINDOW_DAYS}d"),
            _only(known, seized).alias("container_prior_seizures"),
        ]
    )


def _amendment_block(q: pl.DataFrame, hist: pl.LazyFrame, horizon: int) -> pl.DataFrame:
    keys = q.select(pl.col("c").drop_nulls().unique())
    amended = hist.filter(pl.col("amended")).join(keys.lazy(), on="c", how="semi")
    # Each table row's own time is the latest amended filing up to it (old rows collapse
    # to their maximum time), so the look-up returns the time of the last amendment.
    table = _cumulative(amended, "c", {"k": pl.len()}, horizon).with_columns(
        pl.col(T).alias("last")
    )
    last = _asof(q, table, T, "c", ["last"])["last"]
    days = (q[T] - last) / DAY_US
    return days.cast(pl.Float64).alias("consignee_days_since_last_amendment").to_frame()


def _empty_result() -> pl.DataFrame:
    return pl.DataFrame(schema={n: DERIVED[n].dtype for n in HISTORY_FEATURES})


HISTORY_FEATURES: tuple[str, ...] = (
    "consignee_is_new",
    "consignee_first_seen_days",
    "consignee_shipments_30d",
    "consignee_shipments_90d",
    "consignee_shipments_365d",
    "consignee_past_inspections",
    "consignee_past_positives",
    "consignee_positive_rate",
    "shipper_is_new",
    "shipper_first_seen_days",
    "shipper_shipments_30d",
    "shipper_shipments_90d",
    "shipper_shipments_365d",
    "shipper_past_inspections",
    "shipper_past_positives",
    "shipper_positive_rate",
    "consignee_distinct_shippers_365d",
    "shipper_distinct_consignees_365d",
    "shipper_hs_chapter_share",
    "consignee_hs_chapter_share",
    "consignee_route_is_new",
    "container_past_appearances_365d",
    "container_prior_seizures",
    "consignee_days_since_last_amendment",
)
"""Feature columns computed here (the schema's _HISTORY fields except the two keys)."""
