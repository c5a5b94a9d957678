"""Columnar files: Parquet and Arrow IPC (file or stream), record numbers as positions."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.ipc as pa_ipc
import pyarrow.parquet as pq

from engine._canonical import empty_quarantine
from engine.errors import IngestError, Location
from engine.formats._base import RawChunk
from engine.spec import DatasetSpec


def read_parquet_chunks(path: Path, spec: DatasetSpec, chunk_rows: int) -> Iterator[RawChunk]:
    """Parquet read by polars' own reader (parallel, no pass through Python or the byte
    scanner), one slice of ``chunk_rows`` rows at a time; the footer is checked first so a
    truncated or foreign file is refused up front."""
    try:
        rows = pq.ParquetFile(path).metadata.num_rows
    except (pa.ArrowInvalid, OSError) as err:
        raise _unreadable_parquet(path, err) from None
    scan = pl.scan_parquet(path)
    for offset in range(0, rows, max(chunk_rows, 1)):
        try:
            frame = scan.slice(offset, chunk_rows).collect()
        except (pl.exceptions.PolarsError, OSError) as err:
            raise _unreadable_parquet(path, err) from None
        lines = np.arange(offset + 1, offset + frame.height + 1, dtype=np.int64)
        yield RawChunk(frame, lines, empty_quarantine())


def stored_rows(path: Path, fmt: str) -> int | None:
    """The rows a Parquet or Arrow IPC file holds, read from its footer (None for another
    format, an IPC stream, or a file that cannot be read: the reader reports that)."""
    try:
        if fmt == "parquet":
            return int(pq.ParquetFile(path).metadata.num_rows)
        if fmt == "ipc":
            return int(pa_ipc.open_file(path).count_rows())
    except (pa.ArrowInvalid, OSError):
        return None
    return None


def _unreadable_parquet(path: Path, err: Exception) -> IngestError:
    return IngestError(
        f"not a readable Parquet file: {err}",
        location=Location(file=str(path)),
        hint="the file may be truncated; export it again",
    )


def read_ipc_chunks(path: Path, spec: DatasetSpec, chunk_rows: int) -> Iterator[RawChunk]:
    try:
        try:
            reader = pa_ipc.open_file(path)
            batches: Iterator[pa.RecordBatch] = (
                reader.get_batch(i) for i in range(reader.num_record_batches)
            )
        except pa.ArrowInvalid:
            batches = iter(pa_ipc.open_stream(path.open("rb")))
        offset = 0
        for batch in batches:
            for at in range(0, batch.num_rows, chunk_rows):
                piece = batch.slice(at, chunk_rows)
                yield _arrow_chunk(piece, offset)
                offset += piece.num_rows
    except (pa.ArrowInvalid, OSError) as err:
        raise IngestError(
            f"not a readable Arrow IPC file: {err}",
            location=Location(file=str(path)),
            hint="the file may be truncated; export it again",
        ) from None


def _arrow_chunk(batch: pa.RecordBatch, offset: int) -> RawChunk:
    frame = pl.from_arrow(batch)
    assert isinstance(frame, pl.DataFrame)
    lines = np.arange(offset + 1, offset + frame.height + 1, dtype=np.int64)
    return RawChunk(frame, lines, empty_quarantine())
