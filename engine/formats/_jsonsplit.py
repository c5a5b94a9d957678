"""Find the top-level documents of a JSON file without parsing it, so one bad document can be
quarantined while the others are still read.

The file is a JSON array of documents, one document, or documents one after another (JSON
lines or concatenated). The kernel walks the bytes once, tracking strings and nesting, and
reports each top-level element's byte span; ``json.loads`` then parses each span alone.
"""

from __future__ import annotations

import numba as nb
import numpy as np
import numpy.typing as npt

import engine._jit  # noqa: F401  (numba's set-up without its BLAS probe: see there)

TRUNCATED = 1  # the file ended inside the element
NOT_OBJECT = 2  # a top-level array element that is not an object


@nb.njit(cache=True, nogil=True)
def _split(
    buf: npt.NDArray[np.uint8],
    starts: npt.NDArray[np.int64],
    ends: npt.NDArray[np.int64],
    flags: npt.NDArray[np.int8],
) -> int:
    n = buf.shape[0]
    capacity = starts.shape[0]
    pos = 0
    # skip a UTF-8 byte order mark and leading white space
    if n >= 3 and buf[0] == 0xEF and buf[1] == 0xBB and buf[2] == 0xBF:
        pos = 3
    while pos < n and (buf[pos] == 32 or buf[pos] == 9 or buf[pos] == 10 or buf[pos] == 13):
        pos += 1
    base = 0
    if pos < n and buf[pos] == 91:  # '[': documents are the array's elements
        base = 1
        pos += 1
    depth = base
    count = 0
    in_string = False
    escaped = False
    in_element = False
    while pos < n:
        c = buf[pos]
        if in_string:
            if escaped:
                escaped = False
            elif c == 92:
                escaped = True
            elif c == 34:
                in_string = False
        elif c == 34:
            in_string = True
            if depth == base and not in_element:
                if count == capacity:
                    return -1
                starts[count] = pos
                flags[count] = NOT_OBJECT
                in_element = True
        elif c == 123 or c == 91:  # { [
            if depth == base and not in_element:
                if count == capacity:
                    return -1
                starts[count] = pos
                flags[count] = 0 if c == 123 else NOT_OBJECT
                in_element = True
            depth += 1
        elif c == 125 or c == 93:  # } ]
            if depth == base:
                if base == 1 and c == 93:  # the closing bracket of the outer array
                    if in_element:
                        ends[count] = pos
                        count += 1
                        in_element = False
                    return count
            else:
                depth -= 1
                if depth == base and in_element and flags[count] == 0:
                    ends[count] = pos + 1
                    count += 1
                    in_element = False
        elif c == 44 and depth == base:  # ',' ends a scalar element
            if in_element:
                ends[count] = pos
                count += 1
                in_element = False
        elif not (c == 32 or c == 9 or c == 10 or c == 13) and depth == base and not in_element:
            if count == capacity:
                return -1
            starts[count] = pos
            flags[count] = NOT_OBJECT
            in_element = True
        pos += 1
    if in_element:
        ends[count] = n
        if flags[count] == 0 or depth > base:
            flags[count] |= TRUNCATED
        count += 1
    return count


def split_documents(data: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return (starts, ends, flags, lines) of each top-level document; lines are 1-based."""
    buf = np.frombuffer(data, dtype=np.uint8)
    size = 1024
    while True:  # grow the outputs until every element fits (-1: out of room)
        starts = np.empty(size, np.int64)
        ends = np.empty(size, np.int64)
        flags = np.zeros(size, np.int8)
        count = _split(buf, starts, ends, flags)
        if count >= 0:
            break
        size *= 4
    starts, ends, flags = starts[:count].copy(), ends[:count].copy(), flags[:count].copy()
    newlines = np.flatnonzero(buf == 10)
    lines = np.searchsorted(newlines, starts, side="left").astype(np.int64) + 1
    return starts, ends, flags, lines
