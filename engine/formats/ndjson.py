"""NDJSON: one JSON object per line; lines that are not are quarantined with their number."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import polars as pl

from engine._canonical import empty_quarantine
from engine._scan import BAD_UTF8, NUL_BYTE, gather
from engine.formats import _text
from engine.formats._base import RawChunk
from engine.spec import DatasetSpec


def read_ndjson_chunks(path: Path, spec: DatasetSpec, chunk_rows: int) -> Iterator[RawChunk]:
    """NDJSON → raw chunks; lines that are not JSON objects are quarantined."""
    for buf, result, _last in _text.records(path, spec.csv.encoding, "\x00", None):
        if isinstance(result, _text.OversizeRecord):
            yield RawChunk(
                pl.DataFrame(), np.empty(0, np.int64), _text.oversize_quarantine(path, result)
            )
            continue
        flags = result.flags  # type: ignore[attr-defined]
        good = (flags & (BAD_UTF8 | NUL_BYTE)) == 0
        starts, nexts, lines = result.starts, result.nexts, result.lines  # type: ignore[attr-defined]
        quarantine = empty_quarantine()
        if not bool(good.all()):
            reasons = np.where(
                (flags[~good] & NUL_BYTE) != 0,
                "binary data (NUL byte) in the record",
                "bytes that are not valid UTF-8",
            ).astype(object)
            quarantine = _text.bad_record_quarantine(path, buf, result, ~good, reasons)
        good_idx = np.flatnonzero(good)
        for at in range(0, len(good_idx), chunk_rows):
            idx = good_idx[at : at + chunk_rows]
            frames, kept, rejected = _parse_json_lines(buf, starts, nexts, idx)
            q = [quarantine if at == 0 else empty_quarantine()]
            if len(rejected):
                q.append(
                    _text.bad_record_quarantine(
                        path,
                        buf,
                        result,
                        rejected,
                        np.full(len(rejected), "not a JSON object", dtype=object),
                    )
                )
            frame = _stack_json_frames(frames, spec.list_separator)
            yield RawChunk(frame, lines[kept], pl.concat(q))


def _stack_json_frames(frames: list[pl.DataFrame], list_separator: str) -> pl.DataFrame:
    """Stack per-part frames; a field whose JSON type differs between parts becomes text
    (lists joined with the spec's list separator), so canonicalisation parses it as it does
    CSV text instead of failing on the mix."""
    if not frames:
        return pl.DataFrame()
    try:
        return pl.concat(frames, how="diagonal_relaxed")
    except (
        pl.exceptions.SchemaError,
        pl.exceptions.ComputeError,
        pl.exceptions.InvalidOperationError,
    ):
        pass
    seen: dict[str, set[str]] = {}
    for frame in frames:
        for name, dtype in frame.schema.items():
            seen.setdefault(name, set()).add(str(dtype))
    mixed = {name for name, kinds in seen.items() if len(kinds) > 1}

    def as_text(name: str, dtype: pl.DataType) -> pl.Expr:
        col = pl.col(name)
        if isinstance(dtype, pl.List):
            return col.list.eval(pl.element().cast(pl.String)).list.join(list_separator)
        if isinstance(dtype, pl.Struct):
            return col.struct.json_encode()
        return col.cast(pl.String)

    texted = [
        f.with_columns(as_text(n, d).alias(n) for n, d in f.schema.items() if n in mixed)
        for f in frames
    ]
    return pl.concat(texted, how="diagonal_relaxed")


def _parse_json_lines(
    buf: np.ndarray, starts: np.ndarray, nexts: np.ndarray, idx: np.ndarray
) -> tuple[list[pl.DataFrame], np.ndarray, np.ndarray]:
    """Parse lines ``idx`` with polars; on failure, bisect to isolate the bad lines."""
    try:
        frame = pl.read_ndjson(
            io.BytesIO(gather(buf, starts[idx], nexts[idx]).tobytes()), infer_schema_length=None
        )
        if frame.height == len(idx):
            return [frame], idx, np.empty(0, np.int64)
    except Exception:
        pass
    if len(idx) == 1:
        return [], np.empty(0, np.int64), idx
    half = len(idx) // 2
    f1, k1, r1 = _parse_json_lines(buf, starts, nexts, idx[:half])
    f2, k2, r2 = _parse_json_lines(buf, starts, nexts, idx[half:])
    return f1 + f2, np.concatenate([k1, k2]), np.concatenate([r1, r2])
