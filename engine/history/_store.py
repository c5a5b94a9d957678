"""The entity history store: append-only partitioned Parquet of past manifests and outcomes.

Layout under ``root``::

    rows/<digest>.parquet      one file per appended batch (canonical columns + party keys)
    outcomes/<digest>.parquet  one file per recorded set of inspection outcomes
    parties.parquet            party_key -> canonical_key (near-duplicate resolution)
    batches.jsonl              manifest: one line per batch (id, content id, file, rows, hash)
    outcomes.jsonl             manifest: one line per outcome file

The manifests are the source of truth: a file is visible only once its manifest line is
written (after the file itself), so a crash mid-append leaves no half batch, and appending
the same batch again is a no-op. A batch is the same when its id or its content id (see
:mod:`engine.identity`) is already in the manifest, legacy ids of older versions included.
One writer at a time per store.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import threading
import time
import uuid
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from engine.errors import Location, LookoutError
from engine.history import _snapshot
from engine.history._features import entity_columns
from engine.identity import BatchIdentity, file_id, fingerprint, short_id
from engine.parties import CanonicalKeys, party_key_values, resolve_near_duplicates
from engine.schema import CANONICAL, DATETIME, RECORD_ID

BATCH_ID = "history_batch_id"
ROW = "history_row"
OUTCOME_KEY: tuple[str, ...] = ("container_number", "bl_number")
AIR_OUTCOME_KEY: tuple[str, ...] = ("awb_number", "house_awb_number")
_KEY = "__outcome_key"
OUTCOME_COLUMNS: tuple[str, ...] = ("inspected", "inspection_result", "finding_type")
RECORDED_AT = "recorded_at"
ROLES: tuple[str, ...] = ("shipper", "consignee")
KEY_COLUMNS: tuple[str, ...] = ("shipper_key", "consignee_key")
_SUMMARY_ROWS = 2_000_000  # stored rows summarised at a time when a snapshot is rebuilt


class HistoryError(LookoutError):
    """The history store or a frame handed to it cannot be used."""


def history_schema() -> pl.Schema:
    """Schema of every stored row file: canonical fields, record id, party keys, batch."""
    fields: dict[str, pl.DataType] = {n: f.dtype for n, f in CANONICAL.items()}
    fields[RECORD_ID] = pl.String()
    fields["shipper_key"] = pl.String()
    fields["consignee_key"] = pl.String()
    fields[BATCH_ID] = pl.String()
    fields[ROW] = pl.Int64()
    return pl.Schema(fields)


def conform(frame: pl.DataFrame, *, source: str | None = None) -> pl.DataFrame:
    """Cast ``frame`` to the canonical dtypes, adding missing canonical columns as nulls.

    Raises :class:`HistoryError` naming the field when a column cannot be cast.
    """
    columns: list[pl.Series] = []
    for name, field in CANONICAL.items():
        if name not in frame.columns:
            columns.append(pl.repeat(None, frame.height, dtype=field.dtype, eager=True).alias(name))
            continue
        try:
            columns.append(frame[name].cast(field.dtype, strict=True))
        except (pl.exceptions.InvalidOperationError, pl.exceptions.ComputeError) as exc:
            raise HistoryError(
                f"column '{name}' has type {frame[name].dtype}, expected {field.dtype}",
                location=Location(file=source, field=name),
                hint="load the file through a dataset spec so it arrives in canonical types",
            ) from exc
    record_id = (
        frame[RECORD_ID].cast(pl.String)
        if RECORD_ID in frame.columns
        else pl.repeat(None, frame.height, dtype=pl.String, eager=True).alias(RECORD_ID)
    )
    return pl.DataFrame([*columns, record_id])


def conform_lazy(frame: pl.LazyFrame, *, source: str | None = None) -> pl.LazyFrame:
    """:func:`conform` for a lazy frame: same columns and dtypes, nothing read yet.

    A column whose dtype differs is cast strictly when the frame is collected; a value that
    does not fit then fails the write (see :meth:`HistoryStore.append`).
    """
    schema = frame.collect_schema()
    exprs: list[pl.Expr] = []
    for name, field in CANONICAL.items():
        if name not in schema:
            exprs.append(pl.lit(None, dtype=field.dtype).alias(name))
        elif schema[name] == field.dtype:
            exprs.append(pl.col(name))
        else:
            exprs.append(pl.col(name).cast(field.dtype, strict=True))
    if RECORD_ID in schema:
        exprs.append(pl.col(RECORD_ID).cast(pl.String))
    else:
        exprs.append(pl.lit(None, dtype=pl.String).alias(RECORD_ID))
    return frame.select(exprs)


class HistoryStore:
    """Append-only history of scored batches and their inspection outcomes.

    ``fuzzy_threshold`` (rapidfuzz ratio on sorted-token keys, 0-100) merges near-duplicate
    party names onto an existing key at append time; ``None`` keeps exact keys only.
    """

    def __init__(self, root: Path, *, fuzzy_threshold: float | None = 92.0) -> None:
        self.root = Path(root)
        self.fuzzy_threshold = fuzzy_threshold
        self._party_cache: _PartyCache | None = None
        # Chunks keyed at once in threads resolve their names one after the other, so the
        # later one finds the earlier one's names and fuzzy matches in the cache instead
        # of working them out again (each would be right without it: see _PartyCache).
        self._keys_lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        # Shipped to workers without the party table and resolutions held in memory.
        state = {**self.__dict__, "_party_cache": None}
        del state["_keys_lock"]  # a lock cannot cross to another process
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._keys_lock = threading.Lock()

    # ------------------------------------------------------------------ paths & manifests
    @property
    def _rows_dir(self) -> Path:
        return self.root / "rows"

    @property
    def _outcomes_dir(self) -> Path:
        return self.root / "outcomes"

    @property
    def _parties_file(self) -> Path:
        return self.root / "parties.parquet"

    def batches(self) -> list[dict[str, Any]]:
        """Manifest entries of the appended batches, oldest first."""
        return list(_read_manifest(self.root / "batches.jsonl"))

    def outcome_files(self) -> list[dict[str, Any]]:
        """Manifest entries of the recorded outcome files, oldest first."""
        return list(_read_manifest(self.root / "outcomes.jsonl"))

    def stored_batch(self, ids: Collection[str]) -> dict[str, Any] | None:
        """The manifest entry of the stored batch known by any of ``ids``, or None.

        An entry is known by its ``batch_id`` and, when it was added from files, by its
        ``content_id`` — so a batch added under a name is still recognised by its content.
        """
        return next((b for b in self.batches() if _known_as(b, ids)), None)

    def parties(self) -> pl.DataFrame:
        """The party key → canonical key mapping built by near-duplicate resolution."""
        if not self._parties_file.exists():
            return pl.DataFrame(schema={"party_key": pl.String, "canonical_key": pl.String})
        return pl.read_parquet(self._parties_file)

    # ------------------------------------------------------------------ writing
    def append(
        self,
        frame: pl.DataFrame | pl.LazyFrame,
        *,
        batch_id: str,
        identity: BatchIdentity | None = None,
    ) -> int:
        """Store a canonical batch; return rows appended (0 if the batch is already in).

        ``identity`` is the content identity of the files the batch was read from: stored as
        the entry's ``content_id``, and the batch is already in when its id, or any id of
        ``identity`` (legacy ones too), names a stored batch.

        Rows with a null ``filed_at`` are stored but never count in features (they have no
        place in time). Writers of one store are serialised by a lock file, so two processes
        appending at once neither lose a batch nor store one twice. A lazy ``frame`` (e.g. a
        scan of a run's scored output) is streamed to the store: only its distinct party
        names are held in memory, whatever the batch's size.
        """
        if not batch_id or not batch_id.strip():
            raise HistoryError("batch_id is empty", hint="pass the batch's input hash or name")
        with self._locked():
            return self._append(frame, batch_id, identity)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / ".lock").open("a") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def _append(
        self, frame: pl.DataFrame | pl.LazyFrame, batch_id: str, identity: BatchIdentity | None
    ) -> int:
        known = {batch_id} | (identity.ids if identity is not None else set())
        if self.stored_batch(known) is not None:
            return 0
        before = self.snapshot_state()
        first = not self.batches() and not self.outcome_files()
        if isinstance(frame, pl.DataFrame):
            rows = conform(frame, source=batch_id).lazy()
        else:
            rows = conform_lazy(frame, source=batch_id)
        # Party keys are resolved over the distinct names; the rows stream past them.
        keyed = _with_keys(rows, self._keys_by_name(rows, persist=True))
        keyed = (
            keyed.with_row_index(ROW)
            .with_columns(
                pl.lit(batch_id, dtype=pl.String).alias(BATCH_ID), pl.col(ROW).cast(pl.Int64)
            )
            .select(list(history_schema()))
        )
        # The file name only has to be path-safe and the same on a retry after a crash.
        path = self._rows_dir / f"{fingerprint(batch_id)}.parquet"
        content_hash, height = _sink_atomic(keyed, path, source=batch_id)
        entry = {
            "batch_id": batch_id,
            **({"content_id": identity.id} if identity is not None else {}),
            "file": path.name,
            "rows": height,
            "sha256": content_hash,
            "appended_at": _now(),
        }
        _append_manifest(self.root / "batches.jsonl", entry)
        self._fold_into_snapshot(before, entry, first)
        return height

    def append_outcomes(self, frame: pl.DataFrame) -> int:
        """Record inspection outcomes for stored rows, keyed by container and B/L number, or
        for air waybills by master and house AWB number.

        ``frame`` needs ``container_number`` and ``bl_number``, or ``awb_number`` (with
        ``house_awb_number`` for a house; a row without one is the master AWB itself), and
        at least one of ``inspected``/``inspection_result``/``finding_type``; ``recorded_at``
        — when the result became known, from which history features count it — is optional
        (an ``inspected_at`` column serves as it; default: now). The latest outcome per key wins.
        Returns how many stored rows the outcomes matched (outcomes for rows not yet stored
        are kept for when they arrive).
        """
        missing = [c for c in OUTCOME_KEY if c not in frame.columns]
        if "awb_number" in frame.columns:
            missing = []
        if missing or not any(c in frame.columns for c in OUTCOME_COLUMNS):
            raise HistoryError(
                f"outcomes need {', '.join(OUTCOME_KEY)} (or awb_number) and one of "
                f"{', '.join(OUTCOME_COLUMNS)}",
                location=Location(field=missing[0] if missing else None),
                hint="columns found: " + ", ".join(frame.columns),
            )
        if frame.height == 0:
            return 0
        outcomes = _conform_outcomes(frame)
        path = self._outcomes_dir / f"{uuid.uuid4().hex}.parquet"
        with self._locked():
            before = self.snapshot_state()
            content_hash = _write_atomic(outcomes, path)
            _append_manifest(
                self.root / "outcomes.jsonl",
                {
                    "file": path.name,
                    "rows": outcomes.height,
                    "sha256": content_hash,
                    "appended_at": _now(),
                },
            )
            self._relabel_snapshot(before, outcomes)
        matched = (
            self._raw_rows()
            .with_columns(outcome_key())
            .join(outcomes.lazy().select(outcome_key()).unique(), on=_KEY, how="semi")
        )
        return int(matched.select(pl.len()).collect().item())

    def record_inspection(
        self,
        *,
        container_number: str | None = None,
        bl_number: str | None = None,
        inspection_result: str,
        finding_type: str | None = None,
        recorded_at: datetime | None = None,
        awb_number: str | None = None,
        house_awb_number: str | None = None,
    ) -> int:
        """Record one inspection outcome of a container on a B/L, or of an air waybill;
        see :meth:`append_outcomes`."""
        frame = pl.DataFrame(
            {
                "container_number": [container_number],
                "bl_number": [bl_number],
                "awb_number": [awb_number],
                "house_awb_number": [house_awb_number],
                "inspected": [True],
                "inspection_result": [inspection_result],
                "finding_type": [finding_type],
                RECORDED_AT: [recorded_at or datetime.now(UTC)],
            },
            schema_overrides={
                "container_number": pl.String,
                "bl_number": pl.String,
                "awb_number": pl.String,
                "house_awb_number": pl.String,
                "finding_type": pl.String,
                RECORDED_AT: DATETIME,
            },
        )
        return self.append_outcomes(frame)

    # ------------------------------------------------------------------ reading
    def _raw_rows(self, exclude: Collection[str] = ()) -> pl.LazyFrame:
        return self._scan_rows([b for b in self.batches() if not _known_as(b, exclude)])

    def _scan_rows(self, entries: list[dict[str, Any]]) -> pl.LazyFrame:
        """The stored rows of these manifest entries."""
        files = [self._rows_dir / b["file"] for b in entries]
        if not files:
            return pl.LazyFrame(schema=history_schema())
        # Files written before a canonical field existed read it as null.
        return pl.scan_parquet(files, schema=history_schema(), missing_columns="insert")

    def latest_outcomes(self) -> pl.LazyFrame:
        """One row per container on a B/L, or per air waybill (master and house AWB): the
        most recently recorded outcome. Outcome files written before air waybills were known
        read their AWB columns as null."""
        files = [self._outcomes_dir / o["file"] for o in self.outcome_files()]
        if not files:
            return pl.LazyFrame(schema=_outcome_schema()).with_columns(outcome_key())
        return (
            pl.scan_parquet(files, schema=_outcome_schema(), missing_columns="insert")
            .with_columns(outcome_key())
            .sort(RECORDED_AT, maintain_order=True)
            .group_by(_KEY)
            .agg(pl.all().last())
        )

    def scan(self, *, exclude: Collection[str] = ()) -> pl.LazyFrame:
        """All stored rows, with recorded outcomes overriding the rows' own labels.

        ``exclude`` leaves out the stored batch known by any of these ids (its id, content id
        or a legacy id, see :meth:`stored_batch`): scoring a batch that is already in the
        store then sees exactly the history it would have seen before it was added.
        """
        return self._labelled(self._raw_rows(exclude))

    def _labelled(self, rows: pl.LazyFrame) -> pl.LazyFrame:
        """``rows`` with recorded outcomes overriding their own labels."""
        if not self.outcome_files():
            return rows
        outcomes = self.latest_outcomes().select(
            _KEY, RECORDED_AT, *(pl.col(c).alias(f"__o_{c}") for c in OUTCOME_COLUMNS)
        )
        joined = rows.with_columns(outcome_key()).join(outcomes, on=_KEY, how="left")
        # A recorded outcome replaces the row's labels and was known when it was recorded.
        overridden = pl.col(RECORDED_AT).is_not_null()
        return joined.with_columns(
            *(pl.coalesce(f"__o_{c}", c).alias(c) for c in OUTCOME_COLUMNS),
            pl.when(overridden)
            .then(pl.col(RECORDED_AT))
            .otherwise(pl.col("inspected_at"))
            .alias("inspected_at"),
        ).select(list(history_schema()))

    def fingerprint(self) -> dict[str, Any]:
        """Rows, batches and a hash that changes whenever the stored content changes."""
        batches, outcome_files = self.batches(), self.outcome_files()
        parts = [f"b:{entry['batch_id']}:{entry['sha256']}\n" for entry in batches]
        parts += [f"o:{entry['sha256']}\n" for entry in outcome_files]
        if self._parties_file.exists():
            parts.append(file_id(self._parties_file))
        return {
            "rows": sum(int(b["rows"]) for b in batches),
            "batches": len(batches),
            "outcome_files": len(outcome_files),
            "snapshot": fingerprint(*parts),
        }

    # ------------------------------------------------------------------ snapshot
    @property
    def _snapshot_dir(self) -> Path:
        return self.root / "snapshot"

    def snapshot_state(self) -> str:
        """The state of the store a snapshot is valid for (changes with every append and
        every recorded outcome)."""
        return _snapshot.state_key([self.root / "batches.jsonl", self.root / "outcomes.jsonl"])

    def snapshot(self) -> _snapshot.Snapshot:
        """Per-entity aggregates of every stored row (see :mod:`engine.history._snapshot`).

        Kept up to date by :meth:`append` and :meth:`append_outcomes`; rebuilt from the
        stored rows (and saved) when the store has none for its current state (a store
        written by an older version).
        """
        found = _snapshot.read(self._snapshot_dir, self.snapshot_state())
        if found is not None:
            return found
        with self._locked():
            state = self.snapshot_state()
            found = _snapshot.read(self._snapshot_dir, state)
            if found is None:
                _snapshot.write(self._snapshot_dir, state, self._summarise(self.batches()))
                found = _snapshot.read(self._snapshot_dir, state)
        assert found is not None
        return found

    def _summarise(self, entries: list[dict[str, Any]]) -> _snapshot.Snapshot:
        """The snapshot of the rows of these manifest entries, a few million rows at a time
        (memory stays bounded by that and the snapshot itself)."""
        snap, group, rows = _snapshot.empty(), list[dict[str, Any]](), 0
        for position, entry in enumerate(entries):
            group.append(entry)
            rows += int(entry["rows"])
            if rows >= _SUMMARY_ROWS or position == len(entries) - 1:
                view = entity_columns(self._labelled(self._scan_rows(group)), _outcome_hash())
                snap = _snapshot.merge(snap, _snapshot.summarise(view))
                group, rows = [], 0
        return snap

    def _relabel_snapshot(self, before: str, outcomes: pl.DataFrame) -> None:
        """After recording ``outcomes``: the snapshot of state ``before`` with the labels of
        the rows they name read again (only those rows). Without one nothing is done here:
        :meth:`snapshot` rebuilds it on first use."""
        old = _snapshot.read(self._snapshot_dir, before)
        if old is None:
            return
        keys = outcomes.lazy().select(outcome_key()).unique()
        rows = self._raw_rows().with_columns(outcome_key()).join(keys, on=_KEY, how="semi")
        view = entity_columns(self._labelled(rows.drop(_KEY)), _outcome_hash()).collect()
        hashes = outcomes.select(_outcome_hash()).to_series()
        new = _snapshot.relabel(old, hashes, view.lazy())
        _snapshot.write(self._snapshot_dir, self.snapshot_state(), new)

    def _fold_into_snapshot(self, before: str, entry: dict[str, Any], first: bool) -> None:
        """After appending ``entry``: the snapshot of state ``before`` plus the new rows
        becomes the current snapshot. Without one (an older store) nothing is done here:
        :meth:`snapshot` rebuilds it on first use."""
        old = _snapshot.empty() if first else _snapshot.read(self._snapshot_dir, before)
        if old is None:
            return
        new = _snapshot.merge(old, self._summarise([entry]))
        _snapshot.write(self._snapshot_dir, self.snapshot_state(), new)

    # ------------------------------------------------------------------ party keys
    def assign_keys(self, frame: pl.DataFrame, *, persist: bool = False) -> pl.DataFrame:
        """Add ``shipper_key``/``consignee_key`` to ``frame``, resolved to canonical keys.

        Exact keys already known map through the stored table; unknown ones are matched
        fuzzily (if enabled) against the canonical keys. With ``persist`` the new mappings
        are saved, so later batches resolve the same way.
        """
        from engine.reference import distinct_codes  # numba: not at import (start-up)

        # The shipper and consignee names stacked and numbered once: each distinct name
        # is keyed once, and every row's key is a gather (no per-row hash look-up).
        stacked = pl.concat([frame.get_column(f"{role}_name").cast(pl.String) for role in ROLES])
        distinct, codes = distinct_codes(stacked)
        named = distinct.is_not_null()
        with self._keys_lock:
            by_name = self._names_to_keys(distinct.filter(named), persist=persist)
        canonical = (
            pl.repeat(None, distinct.len(), dtype=pl.String, eager=True)
            .scatter(named.arg_true(), by_name["canonical_key"])
            .gather(codes)
        )
        height = frame.height
        keys = [canonical.slice(i * height, height).alias(f"{r}_key") for i, r in enumerate(ROLES)]
        return frame.drop([c for c in KEY_COLUMNS if c in frame.columns]).hstack(keys)

    def _keys_by_name(self, rows: pl.LazyFrame, *, persist: bool) -> pl.DataFrame:
        """``name, canonical_key`` for every distinct shipper and consignee name of ``rows``."""
        distinct = (
            pl.concat([rows.select(pl.col(f"{role}_name").alias("name")) for role in ROLES])
            .drop_nulls()
            .unique()
            .collect()
        )
        return self._names_to_keys(distinct["name"], persist=persist)

    def _names_to_keys(self, distinct: pl.Series, *, persist: bool) -> pl.DataFrame:
        """``name, canonical_key`` of distinct non-null names, in their order."""
        names = self._parties_cached().party_keys(distinct)
        known = self.resolve_keys(names["party_key"], persist=persist)
        return names.join(known, on="party_key", how="left", maintain_order="left").select(
            "name", "canonical_key"
        )

    def resolve_keys(self, keys: pl.Series, *, persist: bool = False) -> pl.DataFrame:
        """The party table (``party_key, canonical_key``) extended with every key of ``keys``.

        Known keys keep their canonical key; unknown ones are matched fuzzily (if enabled)
        against the canonical keys. With ``persist`` the extended table is saved.
        """
        cache = self._parties_cached()
        known = cache.known
        seen = keys.drop_nulls().unique()
        unknown = seen.filter(~seen.is_in(known["party_key"].implode()))
        if unknown.len():
            if self.fuzzy_threshold is None:
                fresh = pl.DataFrame({"party_key": unknown, "canonical_key": unknown})
            else:
                if cache.canonical is None:
                    cache.canonical = CanonicalKeys(known["canonical_key"].unique().to_list())
                fresh = resolve_near_duplicates(
                    unknown.to_list(),
                    cache.canonical,
                    threshold=self.fuzzy_threshold,
                    canonical_matches=cache.matches,
                )
            known = pl.concat([known, fresh])
            if persist:
                _write_atomic(known, self._parties_file)
        return known

    def _parties_cached(self) -> _PartyCache:
        """The party table, read once per state of the store and its party file (the chunks
        of a batch share it), with the canonical matches found against it so far."""
        state = (self.snapshot_state(), _file_state(self._parties_file), self.fuzzy_threshold)
        if self._party_cache is None or self._party_cache.state != state:
            self._party_cache = _PartyCache(state, self.parties())
        return self._party_cache


_NAMES_LOCK = threading.Lock()
"""Held while a party cache's name memo is extended."""


class _PartyCache:
    """The party table of one store state, and what unknown keys were resolved against it.

    ``matches`` holds each unknown key's canonical match (None for none): it depends only
    on the key, the canonical keys and the threshold, all fixed by ``state`` (see
    :func:`engine.parties.resolve_near_duplicates`), so chunks of a batch that share unknown
    names compare them with the canonical keys once. ``names`` holds the party key of
    every name seen (a pure function of the name), so each is normalised once. Dropped
    when the state changes."""

    def __init__(self, state: tuple[Any, ...], known: pl.DataFrame) -> None:
        self.state = state
        self.known = known
        self.canonical: CanonicalKeys | None = None
        self.matches: dict[str, str | None] = {}
        self.names = pl.DataFrame(schema={"name": pl.String, "party_key": pl.String})

    def party_keys(self, names: pl.Series) -> pl.DataFrame:
        """``name, party_key`` of distinct non-null ``names``, in their order: each name is
        normalised once while the cache lives (a day's chunks repeat most of their traders'
        names)."""
        frame = names.to_frame("name")
        memo = self.names  # one look: another thread may add names meanwhile
        new = frame.join(memo, on="name", how="anti")
        if new.height:
            keyed = new.with_columns(party_key_values(new["name"]).alias("party_key"))
            with _NAMES_LOCK:  # each name once, whoever keyed it first
                self.names = pl.concat([self.names, keyed.join(self.names, on="name", how="anti")])
            memo = pl.concat([memo, keyed])
        return frame.join(memo, on="name", how="left", maintain_order="left")


def _file_state(path: Path) -> tuple[int, int, int] | None:
    """Inode, size and modification time of ``path`` (None if absent): a file replaced by
    :func:`_write_atomic` is a new inode."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def _with_keys(rows: pl.LazyFrame, by_name: pl.DataFrame) -> pl.LazyFrame:
    """``rows`` with ``shipper_key``/``consignee_key`` looked up by name; row order kept.

    ``by_name`` has one row per name. An order-keeping left join per role, which the
    streaming sink of the append runs in bounded memory: a ``replace_strict`` with the
    names as its mapping held about 7 GB more when a 10M-row batch was appended (9.4 against
    3.2 GB peak streaming the same rows, in about the same time)."""
    names = by_name.lazy()
    for role in ROLES:
        rows = rows.join(
            names.rename({"name": f"{role}_name", "canonical_key": f"{role}_key"}),
            on=f"{role}_name",
            how="left",
            maintain_order="left",
        )
    return rows


def outcome_key() -> pl.Expr:
    """The key an outcome and a stored row meet on: the master and house AWB of an air
    waybill, otherwise the container and B/L number (null when a part is missing)."""
    house = pl.col("house_awb_number").fill_null("")
    air = pl.concat_str([pl.lit("air:"), pl.col("awb_number"), pl.lit("/"), house])
    sea = pl.concat_str(
        [pl.lit("sea:"), pl.col("container_number"), pl.lit("/"), pl.col("bl_number")]
    )
    return pl.when(pl.col("awb_number").is_not_null()).then(air).otherwise(sea).alias(_KEY)


def _outcome_hash() -> pl.Expr:
    """The outcome key as a 64-bit hash: how the snapshot finds the rows an outcome names."""
    key = outcome_key()
    return pl.when(key.is_not_null()).then(key.hash(13)).alias(_snapshot.OUTCOME)


def _outcome_schema() -> pl.Schema:
    return pl.Schema(
        {
            "container_number": pl.String(),
            "bl_number": pl.String(),
            "awb_number": pl.String(),
            "house_awb_number": pl.String(),
            "inspected": pl.Boolean(),
            "inspection_result": pl.String(),
            "finding_type": pl.String(),
            RECORDED_AT: DATETIME,
        }
    )


def _conform_outcomes(frame: pl.DataFrame) -> pl.DataFrame:
    if RECORDED_AT not in frame.columns and "inspected_at" in frame.columns:
        frame = frame.rename({"inspected_at": RECORDED_AT})
    schema = _outcome_schema()
    out = []
    for name, dtype in schema.items():
        if name not in frame.columns:
            default = datetime.now(UTC) if name == RECORDED_AT else None
            out.append(pl.Series(name, [default] * frame.height, dtype=dtype))
            continue
        try:
            out.append(frame[name].cast(dtype, strict=True))
        except (pl.exceptions.InvalidOperationError, pl.exceptions.ComputeError) as exc:
            raise HistoryError(
                f"outcome column '{name}' has type {frame[name].dtype}, expected {dtype}",
                location=Location(field=name),
                hint="inspection_result is one of seizure, irregularity, clean",
            ) from exc
    result = pl.DataFrame(out)
    null_keys = result.select(outcome_key().is_null().arg_true()).to_series()
    if null_keys.len():
        raise HistoryError(
            f"{null_keys.len()} outcome rows lack a container or B/L number (or an AWB number)",
            location=Location(record=int(null_keys[0])),
            hint="every outcome must name the container_number and bl_number it belongs to, "
            "or the awb_number (and house_awb_number) of an air waybill",
        )
    if RECORDED_AT in frame.columns and result[RECORDED_AT].null_count():
        result = result.with_columns(pl.col(RECORDED_AT).fill_null(datetime.now(UTC)))
    return result


def describe_batch(entry: dict[str, Any], *, asked: str) -> str:
    """A stored batch in a few words, e.g. ``3 rows, added 2025-03-01 08:00:00``.

    Its stored id is named when it differs from the id ``asked`` about (a batch added under
    a name, or by an older version)."""
    added = str(entry.get("appended_at", "?"))[:19].replace("T", " ")
    stored = str(entry["batch_id"])
    name = "" if stored == asked else f"as {short_id(stored)}, "
    rows = int(entry["rows"])
    return f"{name}{rows:,} row{'' if rows == 1 else 's'}, added {added}"


def _known_as(entry: dict[str, Any], ids: Collection[str]) -> bool:
    """Whether a manifest entry is the batch known by any of ``ids``."""
    return entry["batch_id"] in ids or entry.get("content_id") in ids


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _write_atomic(frame: pl.DataFrame, path: Path) -> str:
    """Write Parquet to a temp file, fsync, rename; return the file's sha256."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.{uuid.uuid4().hex}.tmp")
    frame.write_parquet(tmp, statistics=True)
    _fsync(tmp)
    content_hash = file_id(tmp)
    tmp.replace(path)
    return content_hash


def _sink_atomic(frame: pl.LazyFrame, path: Path, *, source: str) -> tuple[str, int]:
    """Stream ``frame`` to Parquet via a temp file, fsync, rename; return (sha256, rows).

    The temp file lies in a folder of its own: when the query fails, polars' writer may
    still create the file just after the error has reached us (21 of 900 failed appends
    with three processes on two cores), so the folder is removed until it stays removed — a
    file created later cannot be, and nothing is left behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    work = path.parent / f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp"
    work.mkdir()
    tmp = work / path.name
    try:
        frame.sink_parquet(tmp, statistics=True)
    except pl.exceptions.PolarsError as exc:
        _remove_folder(work)
        raise HistoryError(
            f"the batch cannot be stored: {str(exc).splitlines()[0]}",
            location=Location(file=source),
            hint="load the file through a dataset spec so it arrives in canonical types",
        ) from exc
    rows = int(pl.scan_parquet(tmp).select(pl.len()).collect().item())
    _fsync(tmp)
    content_hash = file_id(tmp)
    tmp.replace(path)
    work.rmdir()
    return content_hash, rows


def _remove_folder(folder: Path) -> None:
    """Remove ``folder`` and what is in it, again while a late writer adds to it."""
    for _ in range(200):
        shutil.rmtree(folder, ignore_errors=True)
        if not folder.exists():
            return
        time.sleep(0.01)


def _fsync(path: Path) -> None:
    with path.open("rb") as fh:
        os.fsync(fh.fileno())


def _append_manifest(path: Path, entry: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(entry, sort_keys=True) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def _read_manifest(path: Path) -> Iterator[dict[str, Any]]:
    if not path.exists():
        return
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except json.JSONDecodeError as exc:
                raise HistoryError(
                    "history manifest line is not valid JSON",
                    location=Location(file=str(path), line=number, column=exc.colno),
                    hint="restore the manifest from backup or remove the damaged last line",
                ) from exc
            if not isinstance(entry, dict):
                raise HistoryError(
                    "history manifest line is not an object",
                    location=Location(file=str(path), line=number),
                )
            yield entry
