"""Screening results cached per list version: each distinct name is screened once.

A daily manifest repeats most of its traders, so screening keeps the result of every
distinct name key it has seen (a hit or a clean name alike), keyed by the list version
(:attr:`engine._screen_list.ListIndex.version`, a content hash of the list and of the
matcher) and the name key. Only names not seen before reach the matcher.

With a directory the cache is also kept on disk, one folder per list version, as Parquet
parts written atomically (so several processes — Ray workers, the API and the CLI — can
add to it at once); a changed list is a new version and a new folder, never a stale hit.
Without one it lives for the stage object only.
"""

from __future__ import annotations

import os
import threading
import uuid
from pathlib import Path
from typing import Any

import polars as pl

from engine._screen_match import RESULT_SCHEMA

MAX_PARTS = 32
"""Parts of a version folder merged into one when loading finds more than this."""

MAX_IN_MEMORY = 2_000_000
"""Results a long-running process keeps in memory; past this it starts afresh (the disk
copy, when there is one, keeps everything)."""


class ScreeningCache:
    """``key -> score, entry, match`` for one list version; see the module docstring."""

    def __init__(self, directory: Path | None, version: str) -> None:
        self.version = version
        self.directory = Path(directory) / version if directory is not None else None
        self.hits = 0
        self.misses = 0
        self._lock = threading.Lock()
        self._frame = self._load()

    def __getstate__(self) -> dict[str, Any]:
        # a lock cannot cross to another process (Ray workers get a pickled copy)
        return {k: v for k, v in self.__dict__.items() if k != "_lock"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self._frame.height

    def lookup(self, keys: pl.Series) -> tuple[pl.DataFrame, pl.Series]:
        """Cached results of ``keys`` (distinct, non-null) and the keys not cached yet."""
        wanted = keys.to_frame("key")
        known = self._frame.join(wanted, on="key", how="semi")
        missing = wanted.join(known, on="key", how="anti")["key"]
        self.hits += known.height
        self.misses += missing.len()
        return known, missing

    def add(self, keys: pl.Series, results: pl.DataFrame) -> pl.DataFrame:
        """Store the results of ``keys`` (a key without a result row is stored as clean,
        score 0) and return them as stored."""
        rows = (
            keys.to_frame("key")
            .join(results, on="key", how="left")
            .with_columns(pl.col("score").fill_null(0.0))
            .select(list(RESULT_SCHEMA))
            .cast(RESULT_SCHEMA)  # type: ignore[arg-type]
        )
        if rows.height == 0:
            return rows
        with self._lock:
            kept = self._frame if self._frame.height < MAX_IN_MEMORY else self._frame.clear()
            self._frame = pl.concat([kept, rows]).unique("key", keep="first")
        if self.directory is not None:
            _write_part(self.directory, rows)
        return rows

    def _load(self) -> pl.DataFrame:
        empty = pl.DataFrame(schema=RESULT_SCHEMA)
        if self.directory is None or not self.directory.is_dir():
            return empty
        parts = sorted(self.directory.glob("part-*.parquet"))
        if not parts:
            return empty
        frame = pl.concat([pl.read_parquet(p).cast(RESULT_SCHEMA) for p in parts])  # type: ignore[arg-type]
        frame = frame.unique("key", keep="first", maintain_order=True)
        if len(parts) > MAX_PARTS:
            _write_part(self.directory, frame)
            for part in parts:
                part.unlink(missing_ok=True)  # another process may have merged it already
        return frame


def _write_part(directory: Path, rows: pl.DataFrame) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    name = f"part-{uuid.uuid4().hex}.parquet"
    tmp = directory / f".{name}.tmp"
    rows.write_parquet(tmp)
    os.replace(tmp, directory / name)
