"""Outputs encoded from string views but stored with the classic Arrow schema."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest
from polars.testing import assert_frame_equal

from engine import _footer


def _frame(rows: int = 3_000) -> pl.DataFrame:
    """Every kind of column a scored frame holds, nulls included, over several pages."""
    lanes = ["red", "green", None]
    return pl.DataFrame(
        {
            "text": [f"record-{i}-" + "x" * (i % 40) for i in range(rows)],
            "code": [lanes[i % 3] for i in range(rows)],
            "texts": [[f"r{i % 7}", None] if i % 5 else [] for i in range(rows)],
            "nothing": pl.Series([None] * rows, dtype=pl.String),
            "lane": pl.Series(
                [lanes[i % 2] for i in range(rows)], dtype=pl.Enum(["green", "yellow", "red"])
            ),
            "cat": pl.Series([lanes[i % 3] for i in range(rows)], dtype=pl.Categorical),
            "nested": [{"a": i, "b": None if i % 2 else "z"} for i in range(rows)],
            "filed": [dt.datetime(2026, 1, 1, tzinfo=dt.UTC)] * rows,
            "score": [i / 7 for i in range(rows)],
            "flag": [i % 2 == 0 for i in range(rows)],
        }
    )


def _classic(frame: pl.DataFrame, path: Path) -> Path:
    frame.lazy().sink_parquet(path, compression="zstd", compression_level=1)
    return path


def test_an_output_reads_as_the_classic_write_in_every_reader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame = _frame()
    classic = _classic(frame, tmp_path / "classic.parquet")
    fast = tmp_path / "fast.parquet"
    swapped: list[bool] = []
    real = _footer.swap_stored_schema
    monkeypatch.setattr(
        _footer, "swap_stored_schema", lambda *a: swapped.append(real(*a)) or swapped[-1]
    )
    _footer.sink_parquet(frame.lazy(), fast, compression="zstd", compression_level=1)
    assert swapped == [True]  # written from views, then the classic schema swapped in
    # The stored schema is the classic one, byte for byte; no view anywhere.
    stored = pq.read_metadata(fast).metadata[b"ARROW:schema"]
    assert stored == pq.read_metadata(classic).metadata[b"ARROW:schema"]
    assert pq.read_schema(fast).equals(pq.read_schema(classic), check_metadata=True)
    assert "view" not in str(pq.read_schema(fast))
    assert str(pq.read_schema(fast).field("text").type) == "large_string"
    # The same values for polars and for pyarrow.
    assert_frame_equal(pl.read_parquet(fast), frame)
    assert pq.read_table(fast).equals(pq.read_table(classic))


def test_the_swap_replaces_only_the_entry_it_was_given(tmp_path: Path) -> None:
    frame = _frame(30)
    path = _classic(frame, tmp_path / "out.parquet")
    before = path.read_bytes()
    entry = pq.read_metadata(path).metadata[b"ARROW:schema"]
    # Another entry, or one of another length: the file is left as it was.
    other = entry[:-8] + (b"A" * 8 if entry[-8:] != b"A" * 8 else b"B" * 8)
    assert not _footer.swap_stored_schema(path, other, entry)
    assert not _footer.swap_stored_schema(path, entry, entry + b"==")
    assert path.read_bytes() == before
    # Its own entry for itself: found, and nothing changes.
    assert _footer.swap_stored_schema(path, entry, entry)
    assert path.read_bytes() == before
    (tmp_path / "not.parquet").write_bytes(b"PAR1 not a parquet file")
    assert not _footer.swap_stored_schema(tmp_path / "not.parquet", entry, entry)


def test_when_the_swap_fails_the_file_is_written_the_classic_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame = _frame(300)
    calls: list[Path] = []

    def refuse(path: Path, old: bytes, new: bytes) -> bool:
        calls.append(path)
        return False

    monkeypatch.setattr(_footer, "swap_stored_schema", refuse)
    out = tmp_path / "out.parquet"
    _footer.sink_parquet(frame.lazy(), out)
    assert calls == [out]
    assert "view" not in str(pq.read_schema(out))
    assert_frame_equal(pl.read_parquet(out), frame)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.parquet"]
