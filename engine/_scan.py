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
    from engine._scan_kernels import _count_byte, _scan  # on first use: see the module

    capacity = int(_count_byte(buf, 10)) + 1
    starts = np.empty(capacity, np.int64)
    nexts = np.empty(capacity, np.int64)
    lines = np.empty(capacity, np.int64)
    fields = np.empty(capacity, np.int32)
    flags = np.empty(capacity, np.int8)

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
    """The byte ranges [start, next) of the kept records, in the buffer's order, ending with
    a line break.

    Records are disjoint ranges. When the kept ones follow each other without a gap (a
    block whose every record is kept: the usual case) the result is a view of ``buf``;
    otherwise the ranges are copied by a compiled loop. (A mask of the buffer's bytes built
    with ``np.add.at`` and a cumulative sum, as before, made four temporary arrays of the
    block's size, 13 bytes a byte: most of the time of reading a large CSV.)
    """
    if starts.shape[0] == 0:
        return np.empty(0, np.uint8)
    if starts.shape[0] > 1 and not bool((starts[1:] >= nexts[:-1]).all()):
        order = np.argsort(starts, kind="stable")
        starts, nexts = starts[order], nexts[order]
    total = int((nexts - starts).sum())
    if int(nexts[-1] - starts[0]) == total:
        out = buf[int(starts[0]) : int(nexts[-1])]
    else:
        from engine._scan_kernels import _copy_ranges  # on first use: see the module

        out = np.empty(total, np.uint8)
        _copy_ranges(buf, starts, nexts, out)
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
