"""Parquet files joined by copying their column chunks (engine._stitch)."""

from __future__ import annotations

import io
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from engine import _stitch
from engine._parts import write_part
from engine._stitch import FooterError, List, Struct
from tests.engine.test_footer import _frame


def _footer_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    size = int.from_bytes(data[-8:-4], "little")
    return data[len(data) - 8 - size : len(data) - 8]


def test_a_footer_decodes_and_encodes_to_the_same_bytes(tmp_path: Path) -> None:
    # polars' footers (every kind of column, statistics, several row groups), a part's too.
    path = tmp_path / "classic.parquet"
    _frame().write_parquet(path, row_group_size=1_000, compression="zstd")
    write_part(tmp_path / "part.parquet", _frame())
    for written in (path, tmp_path / "part.parquet"):
        footer = _footer_bytes(written)
        meta = _stitch.decode(footer)
        assert _stitch.encode(meta) == footer
        assert meta.get(3) == 3_000  # num_rows
    assert len(_stitch.decode(_footer_bytes(path)).get(4).items) == 3  # type: ignore[union-attr]


def test_the_compact_encoding_of_every_thrift_type() -> None:
    # Known bytes: field 1 i32 -1 (zigzag 1), field 2 true, field 20 (a long delta) binary.
    small = Struct([[1, 5, -1], [2, 1, None], [20, 8, b"ab"]])
    assert _stitch.encode(small) == b"\x15\x01\x11\x08\x28\x02ab\x00"
    every = Struct(
        [
            [1, 2, None],  # false
            [2, 3, -7],  # byte
            [3, 4, -300],  # i16
            [4, 5, 2**31 - 1],
            [5, 6, -(2**63)],
            [6, 7, 2.5],
            [7, 8, b""],
            [8, 9, List(5, list(range(-20, 20)))],  # a long list
            [9, 10, List(8, [b"x"])],  # a set
            [10, 9, List(1, [1, 2, 1])],  # booleans in a list: bytes as read
            [11, 12, Struct([[1, 12, Struct([[3, 6, 5]])]])],
            [40, 9, List(12, [Struct(), Struct([[2, 1, None]])])],
            [7, 6, 1],  # an id below the last one: the long form
        ]
    )
    assert _stitch.decode(_stitch.encode(every)) == every


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_decode_or_are_refused(data: bytes) -> None:
    # Whatever the bytes: a struct, or FooterError (never another exception); a struct
    # read encodes to bytes that read back as the same struct.
    try:
        meta = _stitch.decode(data)
    except FooterError:
        return
    assert _stitch.decode(_stitch.encode(meta)) == meta


def test_a_cut_footer_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "f.parquet"
    _frame(50).write_parquet(path)
    footer = _footer_bytes(path)
    for end in range(0, len(footer) - 1, 7):
        with pytest.raises(FooterError):
            _stitch.decode(footer[:end])
    with pytest.raises(FooterError):
        _stitch.decode(footer + b"\x00")


def _pieces(tmp_path: Path, frame: pl.DataFrame, sizes: list[int]) -> list[list[Path]]:
    """``frame`` cut into parts (as the scoring writes them) and, beside each, a file of
    the columns added later: the row's position and a flag."""
    pieces, at = [], 0
    for number, size in enumerate(sizes):
        rows = frame.slice(at, size)
        part = tmp_path / f"part-{number}.parquet"
        write_part(part, rows.drop("selected"))
        side = tmp_path / f"side-{number}.parquet"
        rows.select("row_index", "selected").write_parquet(
            side, compression="zstd", compression_level=1, row_group_size=max(size, 1)
        )
        pieces.append([part, side])
        at += size
    return pieces


def _template(frame: pl.DataFrame) -> Struct:
    buffer = io.BytesIO()
    frame.head(0).write_parquet(buffer, compression="zstd", compression_level=1)
    return _stitch.footer_of(buffer.getvalue())


def _scored(rows: int = 3_000) -> pl.DataFrame:
    frame = _frame(rows)
    return frame.with_columns(
        pl.int_range(rows, dtype=pl.Int64).alias("row_index"),
        (pl.int_range(rows) % 9 == 0).alias("selected"),
    )


def _stats(meta: pq.FileMetaData, group: int, path: str) -> pq.Statistics:
    row_group = meta.row_group(group)
    leaves = [row_group.column(i) for i in range(row_group.num_columns)]
    return next(c for c in leaves if c.path_in_schema == path).statistics


def _plain(table: pa.Table) -> pa.Table:
    """``table`` with its dictionary columns as their values."""
    return table.cast(
        pa.schema(
            [
                f.with_type(f.type.value_type) if pa.types.is_dictionary(f.type) else f
                for f in table.schema
            ]
        )
    )


def test_stitched_parts_read_as_the_classic_write_in_every_reader(tmp_path: Path) -> None:
    frame = _scored()
    classic = tmp_path / "classic.parquet"
    frame.write_parquet(classic, compression="zstd", compression_level=1)
    out = tmp_path / "out.parquet"
    # The part's own row_index is wrong (as a later file's is before its shift): the side
    # file's is taken.
    pieces = _pieces(tmp_path, frame, [1_000, 1_500, 500])
    for part, _ in pieces:
        write_part(part, pl.read_parquet(part).with_columns(pl.col("row_index") * 0))
    assert _stitch.stitch(pieces, out, _template(frame))
    assert_frame_equal(pl.read_parquet(out), frame)
    # the same values for pyarrow too (a dictionary column's dictionaries are per row group)
    assert _plain(pq.read_table(out)).equals(_plain(pq.read_table(classic)))
    assert pq.read_schema(out).equals(pq.read_schema(classic), check_metadata=True)
    meta = pq.read_metadata(out)
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [1_000, 1_500, 500]
    # Each row group's statistics are its own rows'.
    # each row group's totals, first byte and number are its own
    groups = _stitch.decode(_footer_bytes(out)).get(4).items  # type: ignore[union-attr]
    assert [g.get(7) for g in groups] == [0, 1, 2]  # type: ignore[attr-defined]
    for number, group in enumerate(groups):
        assert isinstance(group, Struct)
        row_group = meta.row_group(number)
        leaves = [row_group.column(i) for i in range(row_group.num_columns)]
        assert group.get(2) == row_group.total_byte_size
        assert row_group.total_byte_size == sum(c.total_uncompressed_size for c in leaves)
        assert group.get(6) == sum(c.total_compressed_size for c in leaves)
        first = min(c.dictionary_page_offset or c.data_page_offset for c in leaves)
        assert group.get(5) == first == (4 if number == 0 else group.get(5))
    stats = _stats(meta, 1, "score")
    assert (stats.min, stats.max) == (1_000 / 7, 2_499 / 7)
    assert _stats(meta, 2, "row_index").min == 2_500
    sums = duckdb.sql(
        f"select count(*), sum(row_index), count(*) filter (where selected), "
        f"max(score), count(distinct text), sum(len(texts)) from '{out}'"
    ).fetchall()
    assert (
        sums
        == duckdb.sql(
            f"select count(*), sum(row_index), count(*) filter (where selected), "
            f"max(score), count(distinct text), sum(len(texts)) from '{classic}'"
        ).fetchall()
    )
    assert sorted(p.name for p in tmp_path.iterdir() if "stitch" in p.name) == []


def test_what_cannot_be_stitched_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    frame = _scored(600)
    template = _template(frame)
    out = tmp_path / "out.parquet"
    pieces = _pieces(tmp_path, frame, [200, 400])
    # row groups of another size beside the part
    frame.slice(200, 400).select("row_index", "selected").write_parquet(
        pieces[1][1], row_group_size=100
    )
    assert not _stitch.stitch(pieces, out, template)
    pieces = _pieces(tmp_path, frame, [200, 400])
    # a column the template has and no file holds
    assert not _stitch.stitch([[p] for p, _ in pieces], out, template)
    # a column stored as another type than the template's
    narrow = _template(frame.with_columns(pl.col("score").cast(pl.Float32)))
    assert not _stitch.stitch(pieces, out, narrow)
    # not Parquet
    (tmp_path / "bad.parquet").write_bytes(b"PAR1 not a parquet file PAR1")
    assert not _stitch.stitch([[tmp_path / "bad.parquet"]], out, template)
    assert not out.exists()
    assert _stitch.stitch(pieces, out, template)  # the same pieces, as they should be
    assert_frame_equal(pl.read_parquet(out), frame)


def test_a_copy_without_copy_file_range_is_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame = _scored(2_000)
    pieces = _pieces(tmp_path, frame, [700, 1_300])
    assert _stitch.stitch(pieces, tmp_path / "fast.parquet", _template(frame))

    def unsupported(*args: object) -> int:
        raise OSError(95, "Operation not supported")

    monkeypatch.setattr(_stitch.os, "copy_file_range", unsupported)
    assert _stitch.stitch(pieces, tmp_path / "slow.parquet", _template(frame))
    fast = (tmp_path / "fast.parquet").read_bytes()
    assert (tmp_path / "slow.parquet").read_bytes() == fast
    assert_frame_equal(pl.read_parquet(tmp_path / "slow.parquet"), frame)


def test_an_empty_list_of_pieces_is_an_empty_file(tmp_path: Path) -> None:
    frame = _scored(10)
    out = tmp_path / "out.parquet"
    assert _stitch.stitch([], out, _template(frame))
    assert_frame_equal(pl.read_parquet(out), frame.head(0))


def test_a_copy_that_fails_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame = _scored(500)
    pieces = _pieces(tmp_path, frame, [200, 300])
    real = _stitch._copy
    copied: list[Path] = []

    def full_disk(path: Path, out: object, end: int) -> None:
        if copied:
            raise OSError(28, "No space left on device")
        copied.append(path)
        real(path, out, end)  # type: ignore[arg-type]

    monkeypatch.setattr(_stitch, "_copy", full_disk)
    out = tmp_path / "out.parquet"
    with pytest.raises(OSError, match="No space"):
        _stitch.stitch(pieces, out, _template(frame))
    assert not out.exists() and not list(tmp_path.glob("*.stitching"))
