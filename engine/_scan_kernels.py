"""The compiled kernels of :mod:`engine._scan` (the record scanner, the re-quoting copy and
the copy of the kept records), in their own module so that importing the scanner's
constants and wrappers does not import numba: they are loaded on the first scan."""

from __future__ import annotations

import numba as nb
import numpy as np
import numpy.typing as npt

import engine._jit  # noqa: F401  (numba's set-up without its BLAS probe: see there)
from engine._scan_flags import BAD_UTF8, NUL_BYTE, OPEN_QUOTE, STRAY_QUOTE


@nb.njit(cache=True, nogil=True)
def _scan(
    buf: npt.NDArray[np.uint8],
    sep: int,
    quote: int,
    is_final: bool,
    first_line: int,
    starts: npt.NDArray[np.int64],
    nexts: npt.NDArray[np.int64],
    lines: npt.NDArray[np.int64],
    fields: npt.NDArray[np.int32],
    flags: npt.NDArray[np.int8],
) -> tuple[int, int, int, int]:
    """Scan ``buf``; fill the output arrays; return (records, consumed, lines_seen, blanks)."""
    n = buf.shape[0]
    count = 0
    blanks = 0
    pos = 0
    line = first_line
    rec_start = 0
    rec_line = line
    nfields = 1
    flag = 0
    in_quote = False
    at_field_start = True
    after_close = False  # just after a closing quote (a CR may sit before the line end)
    pending_cont = 0  # UTF-8 continuation bytes still expected
    consumed = 0
    consumed_line = first_line
    # Bytes that change nothing but "at the start of a field": ASCII other than NUL, the
    # separator, the quote and LF (outside quotes; a CR matters only just after a closing
    # quote, which this path does not take); ASCII other than NUL, the quote and LF (inside
    # quotes). Runs of them are skipped by a tight loop.
    plain = np.zeros(256, dtype=np.bool_)
    quoted_plain = np.zeros(256, dtype=np.bool_)
    for b in range(1, 128):
        plain[b] = b != sep and b != quote and b != 10
        quoted_plain[b] = b != quote and b != 10
    while pos < n:
        c = buf[pos]
        if pending_cont == 0:
            if in_quote:
                if quoted_plain[c]:
                    pos += 1
                    while pos < n and quoted_plain[buf[pos]]:
                        pos += 1
                    continue
            elif not after_close and plain[c]:
                at_field_start = False
                pos += 1
                while pos < n and plain[buf[pos]]:
                    pos += 1
                continue
        # UTF-8 well-formedness (structure: lead and continuation bytes).
        if c >= 0x80:
            if pending_cont > 0 and c & 0xC0 == 0x80:
                pending_cont -= 1
            else:
                if pending_cont > 0:
                    flag |= BAD_UTF8
                    pending_cont = 0
                if 0xC2 <= c <= 0xDF:
                    pending_cont = 1
                elif 0xE0 <= c <= 0xEF:
                    pending_cont = 2
                elif 0xF0 <= c <= 0xF4:
                    pending_cont = 3
                else:
                    flag |= BAD_UTF8
        elif pending_cont > 0:
            flag |= BAD_UTF8
            pending_cont = 0
        if c == 0:
            flag |= NUL_BYTE
        if in_quote:
            if c == quote:
                if pos + 1 < n and buf[pos + 1] == quote:
                    pos += 2
                    continue
                if pos + 1 >= n and not is_final:
                    break  # cannot tell an escaped quote from a closing one yet
                in_quote = False
                after_close = True
            elif c == 10:
                line += 1
            pos += 1
            continue
        if after_close and c != sep and c != 10 and c != 13:
            flag |= STRAY_QUOTE
        if after_close and c == 13 and not (pos + 1 < n and buf[pos + 1] == 10):
            flag |= STRAY_QUOTE
        if c != 13:
            after_close = False
        if c == quote and at_field_start:
            in_quote = True
            at_field_start = False
        elif c == quote:
            flag |= STRAY_QUOTE
        elif c == sep:
            nfields += 1
            at_field_start = True
        elif c == 10:
            end = pos
            if end > rec_start and buf[end - 1] == 13:
                end -= 1
            if end == rec_start:
                blanks += 1
            else:
                starts[count] = rec_start
                nexts[count] = pos + 1
                lines[count] = rec_line
                fields[count] = nfields
                flags[count] = flag | (BAD_UTF8 if pending_cont > 0 else 0)
                count += 1
            line += 1
            rec_start = pos + 1
            rec_line = line
            nfields = 1
            flag = 0
            pending_cont = 0
            at_field_start = True
            after_close = False
            consumed = pos + 1
            consumed_line = line
        else:
            at_field_start = False
        pos += 1
    if is_final and rec_start < n:
        end = n
        if buf[end - 1] == 13:
            end -= 1
        if end > rec_start:
            starts[count] = rec_start
            nexts[count] = n
            lines[count] = rec_line
            fields[count] = nfields
            flags[count] = (
                flag | (OPEN_QUOTE if in_quote else 0) | (BAD_UTF8 if pending_cont > 0 else 0)
            )
            count += 1
        consumed = n
        consumed_line = line
    return count, consumed, consumed_line - first_line, blanks


@nb.njit(cache=True, nogil=True, inline="always")
def _close_quoted(
    buf: npt.NDArray[np.uint8],
    start: int,
    end: int,
    quote: int,
    out: npt.NDArray[np.uint8],
    w: int,
) -> int:
    """Copy ``buf[start:end]`` to ``out`` at ``w`` with every quote doubled, then a closing
    quote; return where writing goes on."""
    for k in range(start, end):
        out[w] = buf[k]
        w += 1
        if buf[k] == quote:
            out[w] = quote
            w += 1
    out[w] = quote
    return w + 1


@nb.njit(cache=True, nogil=True)
def _requote(buf: npt.NDArray[np.uint8], sep: int, quote: int, out: npt.NDArray[np.uint8]) -> int:
    """Copy ``buf`` (complete records) to ``out``, re-quoting the fields RFC 4180 reads as
    text but polars would take for quoting; return the length written."""
    n = buf.shape[0]
    pos = 0
    w = 0
    while pos < n:
        # One field starts at ``pos``.
        if buf[pos] == quote:
            j = pos + 1
            while j < n:
                if buf[j] == quote:
                    if j + 1 < n and buf[j + 1] == quote:
                        j += 2
                        continue
                    break
                j += 1
            if j >= n:  # never closed (such records are quarantined before this)
                for k in range(pos, n):
                    out[w] = buf[k]
                    w += 1
                return w
            t = j + 1  # the tail after the closing quote runs to a separator or line end
            e = t
            while e < n and buf[e] != sep and buf[e] != 10:
                e += 1
            if e < n and buf[e] == 10 and e > t and buf[e - 1] == 13:
                e -= 1
            if e == t:
                for k in range(pos, t):
                    out[w] = buf[k]
                    w += 1
            else:
                for k in range(pos, j):  # the opening quote and the escaped inner text
                    out[w] = buf[k]
                    w += 1
                w = _close_quoted(buf, t, e, quote, out, w)
            pos = e
        else:
            e = pos
            has_quote = False
            while e < n and buf[e] != sep and buf[e] != 10:
                if buf[e] == quote:
                    has_quote = True
                e += 1
            if e < n and buf[e] == 10 and e > pos and buf[e - 1] == 13:
                e -= 1
            if has_quote:
                out[w] = quote
                w = _close_quoted(buf, pos, e, quote, out, w + 1)
            else:
                for k in range(pos, e):
                    out[w] = buf[k]
                    w += 1
            pos = e
        # The separator, or the line end (CR LF or LF), then the next field.
        if pos < n and buf[pos] == 13:
            out[w] = 13
            w += 1
            pos += 1
        if pos < n:
            out[w] = buf[pos]
            w += 1
            pos += 1
    return w


@nb.njit(cache=True, nogil=True)
def _copy_ranges(
    buf: npt.NDArray[np.uint8],
    starts: npt.NDArray[np.int64],
    nexts: npt.NDArray[np.int64],
    out: npt.NDArray[np.uint8],
) -> None:
    """``buf[starts[i]:nexts[i]]`` one after the other into ``out`` (sized to fit)."""
    at = 0
    for i in range(starts.shape[0]):
        size = nexts[i] - starts[i]
        out[at : at + size] = buf[starts[i] : nexts[i]]
        at += size


@nb.njit(cache=True, nogil=True)
def _count_byte(buf: npt.NDArray[np.uint8], byte: int) -> int:
    """How many bytes of ``buf`` equal ``byte`` (no temporary array)."""
    total = 0
    for i in range(buf.shape[0]):
        total += buf[i] == byte
    return total
