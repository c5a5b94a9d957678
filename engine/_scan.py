"""Record scanner for delimited text: finds every record's bounds, field count and defects.

polars parses clean CSV very fast but stops (or guesses) on the first broken row. Customs
feeds have broken rows: a shipper name with a stray separator, a line cut in two, bytes in
the wrong encoding. This kernel walks the raw bytes once (RFC 4180 quoting: a quote opens
only at the start of a field, ``""`` escapes a quote) and reports, per record, where it
starts and ends, on which physical line, how many fields it has and whether its bytes are
valid UTF-8. The caller then hands polars only the good records and quarantines the rest
with their line numbers.

The compiled kernels live in :mod:`engine._scan_kernels`, imported on the first scan: this
module's constants and wrappers are imported by every reader, and numba takes ~0.2 s to
import, which a run reading Parquet need not wait for before it starts reading.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from engine._scan_flags import BAD_UTF8, DEFECTS, NUL_BYTE, OPEN_QUOTE, STRAY_QUOTE

__all__ = [
    "BAD_UTF8",
    "DEFECTS",
    "NUL_BYTE",
    "OPEN_QUOTE",
    "STRAY_QUOTE",
    "ScanResult",
    "gather",
    "requote",
    "scan_records",
]


class ScanResult:
    """Bounds and defects of the complete records found in one block of bytes."""

    __slots__ = ("blanks", "consumed", "fields", "flags", "lines", "lines_seen", "nexts", "starts")

    def __init__(
        self,
        starts: npt.NDArray[np.int64],
        nexts: npt.NDArray[np.int64],
        lines: npt.NDArray[np.int64],
        fields: npt.NDArray[np.int32],
        flags: npt.NDArray[np.int8],
        consumed: int,
        lines_seen: int,
        blanks: int,
    ):
        self.starts = starts
        self.nexts = nexts
        self.lines = lines
        self.fields = fields
        self.flags = flags
        self.consumed = consumed
        self.lines_seen = lines_seen
        self.blanks = blanks

    def __len__(self) -> int:
        return int(self.starts.shape[0])


def scan_records(
    buf: npt.NDArray[np.uint8],
    *,
    sep: str = ",",
    quote: str | None = '"',
    is_final: bool = True,
    first_line: int = 1,
) -> ScanResult:
    """Scan one block. Records not yet complete at the end of a non-final block are left
    for the next block (``consumed`` says where the next block must start).

    >>> r = scan_records(np.frombuffer(b'a,b\\n"x\\ny",2\\n', dtype=np.uint8))
    >>> list(r.lines), list(r.fields)
    ([1, 2], [2, 2])
    """
    capacity = int(np.count_nonzero(buf == 10)) + 1
    starts = np.empty(capacity, np.int64)
    nexts = np.empty(capacity, np.int64)
    lines = np.empty(capacity, np.int64)
    fields = np.empty(capacity, np.int32)
    flags = np.empty(capacity, np.int8)
    from engine._scan_kernels import _scan  # on first use: see the module's docstring

    q = ord(quote) if quote else -1
    count, consumed, lines_seen, blanks = _scan(
        buf, ord(sep), q, is_final, first_line, starts, nexts, lines, fields, flags
    )
    return ScanResult(
        starts[:count],
        nexts[:count],
        lines[:count],
        fields[:count],
        flags[:count],
        consumed,
        lines_seen,
        blanks,
    )


def gather(
    buf: npt.NDArray[np.uint8], starts: npt.NDArray[np.int64], nexts: npt.NDArray[np.int64]
) -> npt.NDArray[np.uint8]:
    """Concatenate the byte ranges [start, next) of the kept records, vectorised."""
    if starts.shape[0] == 0:
        return np.empty(0, np.uint8)
    marks = np.zeros(buf.shape[0] + 1, np.int32)
    np.add.at(marks, starts, 1)
    np.add.at(marks, nexts, -1)
    keep = np.cumsum(marks[:-1]) > 0
    out = buf[keep]
    if out.shape[0] and out[-1] != 10:
        out = np.concatenate([out, np.array([10], np.uint8)])
    return out


def requote(buf: npt.NDArray[np.uint8], *, sep: str, quote: str | None) -> npt.NDArray[np.uint8]:
    """Records rewritten so that a quote is quoting only at the start of a field.

    RFC 4180 (and the scanner) read ``12" DIA`` as text and ``"12" DIA`` as ``12 DIA``;
    polars would open a quoted field at any quote. Such fields are written quoted, inner
    quotes doubled; every other byte is copied as it is.

    >>> bytes(requote(np.frombuffer(b'a,12" x,"b"c\n', dtype=np.uint8), sep=",", quote='"'))
    b'a,"12"" x","bc"\n'
    """
    if not quote:
        return buf
    from engine._scan_kernels import _requote  # on first use: see the module's docstring

    q = ord(quote)
    out = np.empty(buf.shape[0] + 3 * int(np.count_nonzero(buf == q)) + 1, np.uint8)
    return out[: _requote(buf, ord(sep), q, out)]
