"""Watchlist screening: sanctioned parties (fuzzy), vessels (IMO number and name) and
containers (number).

Two list formats are read (``engine/_watchlist_read.py``; both described in
``engine/watchlists/README.md``):

* the UN Security Council consolidated list XML, by its own schema: names, aliases (an
  alias field holding several names is split; "Low" quality aliases skipped by default, as
  the UN itself says they are insufficient to identify anyone), names in original script.
  Parsed with lxml without DTDs, entity expansion or network access.
* a national CSV list (:data:`CSV_COLUMNS`) for parties (rows sharing a reference are one
  entry: the later rows are its aliases), vessels by IMO number and/or name, and container
  numbers.

Party names are screened on words (legal forms dropped, order kept) against every name and
alias of every entry (``engine/_screen_match.py`` explains the score): typos within a
length-aware edit budget, other transliterations, merged or split words, word order, a
dropped or changed legal form and extra generic words ("(HK)", "TRADING") are tolerated;
short names need a closer match; the most specific listed name wins; each hit says which
words matched and which differed (``watchlist_party_match``). Each distinct name is
screened once per list version and the result cached (``engine/_screen_cache.py``), on disk
when a cache directory is given.

``threshold`` (default :data:`DEFAULT_THRESHOLD`) is what ``lookout watchlist screen``
counts as a hit; the shipped rules use 90 (strong) and 80 (possible). Scores from
``report_floor`` (default :data:`REPORT_FLOOR`) up are reported with their entry; below it
the score is 0 and no entry is named. The figures behind these defaults are in
``engine/watchlists/README.md`` (``python -m benchmarks.probe_screening``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from engine._screen_cache import ScreeningCache
from engine._screen_list import ListIndex
from engine._screen_match import screen_keys
from engine._screen_text import screen_key
from engine._watchlist_read import (
    CONTAINER_SCHEMA,
    CSV_COLUMNS,
    PARTY_SCHEMA,
    VESSEL_SCHEMA,
    WatchlistError,
    read_csv,
    read_un_xml,
)
from engine.errors import Location
from engine.identity import file_id
from engine.identity import fingerprint as content_id
from engine.parties import normalise_name
from engine.schema import WATCHLIST_FIELDS

__all__ = [
    "CSV_COLUMNS",
    "DEFAULT_THRESHOLD",
    "REPORT_FLOOR",
    "UN_LIST_PATH",
    "WATCHLIST_CACHE",
    "WATCHLIST_COLUMNS",
    "Watchlist",
    "WatchlistError",
    "WatchlistStage",
]

DEFAULT_THRESHOLD = 90.0
"""Default party-match threshold (0-100); see engine/watchlists/README.md for the trade-off."""

REPORT_FLOOR = 80.0
"""Lowest party score reported (with its entry); lower scores are reported as 0."""

PARTY_ROLES: tuple[str, ...] = ("shipper", "consignee", "notify")
WATCHLIST_COLUMNS = WATCHLIST_FIELDS
UN_LIST_PATH = Path(__file__).resolve().parent / "watchlists" / "un-consolidated.xml"
"""The UN SC consolidated list shipped with the engine (see watchlists/README.md)."""

WATCHLIST_CACHE = "watchlist-cache"
"""Folder of a history store where screening results are cached, one folder per list
version (see ``engine/_screen_cache.py``)."""

NAME_MEMO_MAX = 2_000_000
"""Raw names a stage remembers the screening key of (then it starts afresh)."""
_NO_NAMES = pl.Series("name", [], dtype=pl.String)
_VESSEL_PREFIX = r"^(?:M ?V|M ?T|M ?S|S ?S|MY|RV) "


@dataclass(frozen=True)
class Watchlist:
    """Screening lists: party names (one row per name or alias), vessels, containers."""

    parties: pl.DataFrame
    vessels: pl.DataFrame
    containers: pl.DataFrame
    sources: tuple[dict[str, Any], ...] = field(default=())

    @classmethod
    def load(cls, paths: Sequence[Path], *, low_quality_aliases: bool = False) -> Watchlist:
        """Read UN SC XML (``.xml``) and national CSV (``.csv``) lists into one watchlist."""
        parties, vessels, containers, sources = [], [], [], []
        for path in map(Path, paths):
            if not path.is_file():
                raise WatchlistError(
                    "watchlist file not found",
                    location=Location(str(path)),
                    hint="pass the UN SC XML or a national CSV list",
                )
            suffix = path.suffix.lower()
            if suffix == ".xml":
                parties.append(read_un_xml(path, low_quality_aliases=low_quality_aliases))
                kind = "un-sc-xml"
            elif suffix == ".csv":
                p, v, c = read_csv(path)
                parties.append(p)
                vessels.append(v)
                containers.append(c)
                kind = "national-csv"
            else:
                raise WatchlistError(
                    f"unknown watchlist format '{suffix}'",
                    location=Location(str(path)),
                    hint="use the UN SC consolidated XML (.xml) or the national CSV (.csv)",
                )
            sources.append({"path": str(path), "format": kind, "sha256": file_id(path)})
        return cls(
            parties=_stack(parties, PARTY_SCHEMA),
            vessels=_stack(vessels, VESSEL_SCHEMA).unique(maintain_order=True),
            containers=_stack(containers, CONTAINER_SCHEMA).unique(maintain_order=True),
            sources=tuple(sources),
        )

    @classmethod
    def load_default(cls) -> Watchlist:
        """The UN SC consolidated list shipped in ``engine/watchlists``."""
        return cls.load([UN_LIST_PATH])

    def summary(self) -> pl.DataFrame:
        """Entries and names per list and kind, for ``lookout watchlist info``."""
        parts = [
            self.parties.group_by("list", "party_type")
            .agg(pl.col("entry").n_unique().alias("entries"), pl.len().alias("names"))
            .rename({"party_type": "kind"}),
        ]
        for frame, kind in ((self.vessels, "vessel"), (self.containers, "container")):
            if frame.height:
                parts.append(
                    frame.with_columns(pl.col("entry").str.extract(r"^([^:]*):").alias("list"))
                    .group_by("list")
                    .agg(pl.col("entry").n_unique().alias("entries"), pl.len().alias("names"))
                    .with_columns(pl.lit(kind).alias("kind"))
                )
        cols = ["list", "kind", "entries", "names"]
        return pl.concat([p.select(cols) for p in parts]).sort(cols[:2])

    def fingerprint(self) -> dict[str, Any]:
        """Source files and their hashes, and how many names/vessels/containers were read."""
        return {
            "sources": list(self.sources),
            "party_names": self.parties.height,
            "vessels": self.vessels.height,
            "containers": self.containers.height,
        }


def _stack(frames: list[pl.DataFrame], schema: dict[str, Any]) -> pl.DataFrame:
    if not frames:
        return pl.DataFrame(schema=schema)
    return pl.concat([f.select(pl.col(n).cast(t) for n, t in schema.items()) for f in frames])


# ------------------------------------------------------------------------- screening
class WatchlistStage:
    """Pipeline stage adding the watchlist columns (see :data:`WATCHLIST_COLUMNS`).

    ``cache_dir`` keeps the per-name screening results on disk (one folder per list
    version); the API and the CLI put it in the history store when one is given.
    """

    name = "watchlist"

    def __init__(
        self,
        watchlist: Watchlist,
        *,
        threshold: float = DEFAULT_THRESHOLD,
        report_floor: float | None = None,
        workers: int = 2,
        cache_dir: Path | None = None,
    ) -> None:
        if not 0 < threshold <= 100:
            raise WatchlistError(
                f"threshold {threshold} is outside 0-100",
                hint=f"the default is {DEFAULT_THRESHOLD}",
            )
        floor = min(REPORT_FLOOR, threshold) if report_floor is None else report_floor
        if not 0 < floor <= threshold:
            raise WatchlistError(
                f"report_floor {floor} is outside 0-{threshold}",
                hint="the floor must not exceed the hit threshold",
            )
        self.watchlist = watchlist
        self.threshold = threshold
        self.report_floor = floor
        self.workers = workers
        self.index = ListIndex.load_or_build(watchlist.parties, cache_dir)
        self._names = pl.DataFrame(schema={"name": pl.String, "key": pl.String})
        self._lock = threading.Lock()
        version = content_id(self.index.version, f":{floor}")
        self.cache = ScreeningCache(cache_dir, version)

    def __getstate__(self) -> dict[str, Any]:
        # a lock cannot cross to another process (Ray workers get a pickled copy)
        return {k: v for k, v in self.__dict__.items() if k != "_lock"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def apply(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Return ``frame`` with the watchlist columns added (same rows, same order)."""
        roles = [r for r in PARTY_ROLES if f"{r}_name" in frame.columns]
        hits = self.hits_by_name([frame[f"{r}_name"] for r in roles])
        added = pl.concat(
            [self._best_role(frame, roles, hits), self._vessels(frame), self._containers(frame)],
            how="horizontal",
        )
        return frame.drop([c for c in WATCHLIST_COLUMNS if c in frame.columns]).hstack(added)

    def hits_by_name(self, columns: Sequence[pl.Series]) -> pl.DataFrame:
        """``name, score, entry, match`` of the distinct names in ``columns`` that score
        above 0 (each name normalised once per stage, each key screened once per list
        version)."""
        names = (
            pl.concat([c.cast(pl.String).rename("name") for c in columns] or [_NO_NAMES])
            .to_frame()
            .lazy()
            .drop_nulls()
            .unique()
            .collect()
        )
        keyed = self._keys_of(names)
        results = self.screen_keys(keyed["key"].drop_nulls().unique())
        return keyed.join(results.filter(pl.col("score") > 0), on="key").drop("key")

    def _keys_of(self, names: pl.DataFrame) -> pl.DataFrame:
        """``name, key`` of distinct raw names, normalising only names this stage has not
        seen (a batch is scored in chunks, and a service scores batch after batch)."""
        # One look at the shared memo: chunks scored at once in other threads (the API's
        # batch workers share this stage) may add names to it, or clear it, meanwhile.
        memo = self._names
        new = names.join(memo, on="name", how="anti")
        if new.height:
            # lazy: polars then evaluates the normalisation's shared parts once
            keyed = new.lazy().with_columns(screen_key(pl.col("name")).alias("key")).collect()
            with self._lock:
                shared = self._names if self._names.height < NAME_MEMO_MAX else self._names.clear()
                # each name once: another thread may have keyed some of these names too
                self._names = pl.concat([shared, keyed.join(shared, on="name", how="anti")])
            memo = pl.concat([memo, keyed])
        return names.join(memo, on="name", how="left")

    def screen_keys(self, keys: pl.Series) -> pl.DataFrame:
        """``key, score, entry, match`` of distinct screening keys: cached results, and the
        matcher for keys not seen before with this list version (then cached)."""
        known, missing = self.cache.lookup(keys.drop_nulls().unique())
        if missing.len() == 0:
            return known
        found = screen_keys(missing, self.index, floor=self.report_floor, workers=self.workers)
        return pl.concat([known, self.cache.add(missing, found)])

    def screen(self, names: pl.Series) -> pl.DataFrame:
        """``name, score, entry, match`` for each name (a convenience over the stage)."""
        hits = self.hits_by_name([names])
        return (
            names.cast(pl.String)
            .to_frame("name")
            .join(hits, on="name", how="left", maintain_order="left")
            .select("name", pl.col("score").fill_null(0.0), "entry", "match")
        )

    def _best_role(self, frame: pl.DataFrame, roles: list[str], hits: pl.DataFrame) -> pl.DataFrame:
        """Per row the best-scoring role (ties: shipper, consignee, notify) and its match.

        Most rows match nothing: scores are joined for every row, the entry and the
        explanation are gathered only for the rows that score."""
        hits = hits.with_row_index("hit")
        found = [
            frame.select(pl.col(f"{role}_name").cast(pl.String).alias("name"))
            .join(hits.select("name", "score", "hit"), on="name", how="left", maintain_order="left")
            .select(pl.col("score").alias(f"{role}_s"), pl.col("hit").alias(f"{role}_h"))
            for role in roles
        ]
        scored = pl.concat(found, how="horizontal") if found else pl.DataFrame()
        score = (
            scored.select(pl.max_horizontal(pl.all().exclude("^.*_h$")).fill_null(0.0))
            .to_series()
            .alias("watchlist_party_score")
            if found
            else pl.repeat(0.0, frame.height, dtype=pl.Float64, eager=True).alias(
                "watchlist_party_score"
            )
        )
        rows = (score > 0).arg_true()
        best = scored[rows].with_columns(score.gather(rows).alias("best"))
        chosen = best.select(
            _first_best(roles, lambda r: pl.lit(r), pl.String).alias("role"),
            _first_best(roles, lambda r: pl.col(f"{r}_h"), pl.UInt32).alias("hit"),
        ).join(hits.select("hit", "entry", "match"), on="hit", how="left", maintain_order="left")

        def spread(values: pl.Series, name: str) -> pl.Series:
            empty = _nulls(name, frame.height)
            return empty.scatter(rows, values) if rows.len() else empty

        return pl.DataFrame(
            [
                score.cast(pl.Float64),
                spread(chosen["role"], "watchlist_party_role"),
                spread(chosen["entry"], "watchlist_entry"),
                spread(chosen["match"], "watchlist_party_match"),
            ]
        )

    def _vessels(self, frame: pl.DataFrame) -> pl.DataFrame:
        """IMO number hits, else vessel-name hits, looked up once per distinct value."""
        listed = self.watchlist.vessels
        imo_entry = _lookup(
            frame,
            "vessel_imo",
            pl.col("value").str.contains(r"^\d{7}$"),
            pl.col("value").str.to_uppercase().str.replace_all(r"IMO|[\s:.\-]", ""),
            listed.drop_nulls("imo").rename({"imo": "normal"}),
        )
        name_entry = _lookup(
            frame,
            "vessel_name",
            pl.col("value").str.contains(r"^[A-Z0-9]+(?: [A-Z0-9]+)*$")
            & ~pl.col("value").str.contains(_VESSEL_PREFIX),
            _vessel_name(pl.col("value")),
            listed.with_columns(_vessel_name(pl.col("name")).alias("normal")).drop_nulls("normal"),
        )
        imo_hit = imo_entry.is_not_null()
        return pl.DataFrame(
            {
                "watchlist_vessel_hit": imo_hit,
                "watchlist_vessel_name_hit": ~imo_hit & name_entry.is_not_null(),
                "watchlist_vessel_entry": imo_entry.fill_null(name_entry),
            }
        )

    def _containers(self, frame: pl.DataFrame) -> pl.DataFrame:
        entry = _lookup(
            frame,
            "container_number",
            pl.col("value").str.contains(r"^[A-Z0-9]+$"),
            pl.col("value").str.to_uppercase().str.replace_all(r"[^A-Z0-9]", ""),
            self.watchlist.containers.rename({"container_number": "normal"}),
        )
        return pl.DataFrame(
            {"watchlist_container_hit": entry.is_not_null(), "watchlist_container_entry": entry}
        )

    def fingerprint(self) -> dict[str, Any]:
        """Lists screened against (files and hashes), threshold, scorer and cache."""
        return {
            **self.watchlist.fingerprint(),
            "threshold": self.threshold,
            "report_floor": self.report_floor,
            "scorer": "word alignment with length-aware edit budget, spelling folds and "
            "spacing view (engine/_screen_match.py)",
            "list_version": self.cache.version,
            "cache": str(self.cache.directory) if self.cache.directory else None,
        }


def _first_best(
    roles: list[str], value: Callable[[str], pl.Expr], dtype: type[pl.DataType]
) -> pl.Expr:
    """``value`` of the first role (shipper, consignee, notify) scoring the row's best."""
    picked: list[pl.Expr] = [
        pl.when(pl.col(f"{r}_s") == pl.col("best")).then(value(r)) for r in roles
    ]
    return pl.coalesce(picked or [pl.lit(None, dtype)])


def _nulls(name: str, height: int) -> pl.Series:
    """A text column of ``height`` nulls (built by polars, not from a Python list)."""
    return pl.repeat(None, height, dtype=pl.String, eager=True).alias(name)


def _lookup(
    frame: pl.DataFrame, column: str, clean: pl.Expr, normal: pl.Expr, listed: pl.DataFrame
) -> pl.Series:
    """The listed entries (``; ``-joined) of each row's ``column`` value, compared after
    ``normal`` (an expression on ``value``); null when not listed. Values already in
    normal form (``clean``, the usual case after ingest) are looked up as they are; only
    the distinct others are normalised."""
    if column not in frame.columns or listed.height == 0:
        return _nulls("entry", frame.height)
    entries = listed.group_by("normal", maintain_order=True).agg(
        pl.col("entry").unique(maintain_order=True).str.join("; ")
    )
    values = frame.select(pl.col(column).cast(pl.String).alias("value"))
    dirty = values.filter(~clean.fill_null(True)).drop_nulls().unique()
    if dirty.height:
        fixed = dirty.with_columns(normal.alias("normal"))
        values = values.with_columns(
            pl.col("value").replace(fixed["value"], fixed["normal"]).alias("value")
        )
    return values.join(
        entries.rename({"normal": "value"}), on="value", how="left", maintain_order="left"
    )["entry"]


def _vessel_name(names: pl.Expr) -> pl.Expr:
    """Vessel names compared as words, without an ``MV``/``M/T``-style prefix."""
    text = normalise_name(names).str.replace(_VESSEL_PREFIX, "")
    return pl.when(text.str.len_bytes() > 0).then(text).otherwise(None)
