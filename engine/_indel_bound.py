"""Which pairs of two string lists can reach a ``fuzz.ratio`` threshold: a numba filter run
before rapidfuzz, so near-duplicate resolution compares only pairs that may match.

``fuzz.ratio(a, b)`` is ``100 * (1 - d / (m + n))`` where ``m``, ``n`` are the lengths in
code points and ``d`` the Indel distance (insertions and deletions of one code point). Every
insertion or deletion changes the count of one code point by one, so with the code points
sorted into buckets (any function of the code point), ``d`` is at least the sum over the
buckets of the difference of the two strings' counts: the *bag distance*. A pair whose bag
distance exceeds ``(1 - t / 100) * (m + n)`` scores below ``t``. The filter uses ``t`` half a
point below the threshold, so no rounding of rapidfuzz's score can make it drop a pair that
rapidfuzz would keep; the scores of the pairs it keeps are rapidfuzz's own.

Buckets: the 26 ASCII letters (either case), ASCII digits in four buckets, the space, and
everything else. Counts stop at 255, which keeps the bound (a difference of capped counts is
at most the difference of the counts). Before the 32 buckets, the kernel compares the sums of
eight groups of four buckets: the groups' differences add up to no more than the buckets'
(each group's difference is at most the sum of its buckets' differences), so a pair they
already put beyond the bound is beyond it, and most pairs stop there.
"""

from __future__ import annotations

import numba as nb
import numpy as np
import numpy.typing as npt

import engine._jit  # noqa: F401  (numba's set-up without its BLAS probe: see there)

BUCKETS = 32
GROUPS = 8
"""Groups of ``BUCKETS // GROUPS`` consecutive buckets whose sums are compared first."""
MARGIN = 0.5
"""Points below the threshold the filter bounds against (see the module docstring)."""


CAPACITY = 32
"""Candidates kept per query by the kernel; a query with more is compared with every choice."""


class BagFilter:
    """The bucket counts of ``choices``, sorted by length, for :meth:`candidates`."""

    def __init__(self, choices: list[str], threshold: float) -> None:
        counts, lengths = bucket_counts(choices)
        self.order = np.argsort(lengths, kind="stable")
        self.counts = counts[self.order]
        # Group sums one row per group (choices along the row): the kernel's first pass
        # runs along a row for a whole length band at once.
        self.groups = np.ascontiguousarray(group_sums(self.counts).T)
        self.lengths = lengths[self.order]
        self.threshold = min(threshold - MARGIN, 100.0)

    def candidates(
        self, queries: list[str]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """``(rows, columns, crowded)``: the (query, choice) pairs that may reach the
        threshold, each query's choices in ascending order, and the queries with more than
        :data:`CAPACITY` of them (not in ``rows``: compare those with every choice)."""
        counts, lengths = bucket_counts(queries)
        found = np.empty((len(queries), CAPACITY), dtype=np.int64)
        n_found = np.zeros(len(queries), dtype=np.int64)
        _candidates(
            counts,
            group_sums(counts),
            lengths,
            self.counts,
            self.groups,
            self.lengths,
            self.order,
            self.threshold,
            found,
            n_found,
        )
        crowded = np.flatnonzero(n_found > CAPACITY)
        n_found[crowded] = 0
        rows = np.repeat(np.arange(len(queries), dtype=np.int64), n_found)
        cols = found[np.arange(CAPACITY)[None, :] < n_found[:, None]]
        # Each row's choices in ascending order, as a scan of the row would meet them.
        by_row = np.lexsort((cols, rows))
        return rows[by_row], cols[by_row], crowded


def bucket_counts(strings: list[str]) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    """Per string: code points per bucket (capped at 255) and the length in code points."""
    encoded = [s.encode("utf-8", "surrogatepass") for s in strings]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded)), out=offsets[1:])
    data = np.frombuffer(b"".join(encoded), dtype=np.uint8)
    counts = np.zeros((len(encoded), BUCKETS), dtype=np.uint8)
    lengths = np.zeros(len(encoded), dtype=np.int64)
    _count(offsets, data, counts, lengths)
    return counts, lengths


def group_sums(counts: npt.NDArray[np.uint8]) -> npt.NDArray[np.int32]:
    """Per string, the sums of its bucket counts in :data:`GROUPS` groups of consecutive
    buckets (one row per string)."""
    grouped = counts.reshape(counts.shape[0], GROUPS, BUCKETS // GROUPS)
    return np.ascontiguousarray(grouped.sum(axis=2, dtype=np.int32))


@nb.njit(cache=True, nogil=True)
def _bucket(lead: int) -> int:
    """The bucket of a code point, from its first UTF-8 byte."""
    if 65 <= lead <= 90:
        return lead - 65
    if 97 <= lead <= 122:
        return lead - 97
    if 48 <= lead <= 57:
        return 26 + lead % 4
    if lead == 32:
        return 30
    return 31


@nb.njit(cache=True, nogil=True)
def _count(
    offsets: npt.NDArray[np.int64],
    data: npt.NDArray[np.uint8],
    counts: npt.NDArray[np.uint8],
    lengths: npt.NDArray[np.int64],
) -> None:
    for i in range(len(offsets) - 1):
        n = 0
        for p in range(offsets[i], offsets[i + 1]):
            byte = data[p]
            if byte & 0xC0 == 0x80:  # a continuation byte: same code point
                continue
            n += 1
            k = _bucket(byte)
            if counts[i, k] < 255:
                counts[i, k] += 1
        lengths[i] = n


# One thread: the calls are many and short (a letter block of one chunk each), and numba's
# parallel regions cost more CPU starting and waiting than they saved.
@nb.njit(cache=True, nogil=True)
def _candidates(
    q_counts: npt.NDArray[np.uint8],
    q_groups: npt.NDArray[np.int32],
    q_lengths: npt.NDArray[np.int64],
    c_counts: npt.NDArray[np.uint8],
    c_groups: npt.NDArray[np.int32],
    c_lengths: npt.NDArray[np.int64],
    order: npt.NDArray[np.int64],
    t: float,
    found: npt.NDArray[np.int64],
    n_found: npt.NDArray[np.int64],
) -> None:
    """For each query ``i``: ``n_found[i]`` choices (by index into the unsorted choices)
    whose bag distance allows a ratio of ``t`` (every choice when ``t <= 0``), the first
    ``found.shape[1]`` of them (in length order) in ``found[i]``. ``q_groups`` has one row
    per query, ``c_groups`` one row per group (:attr:`BagFilter.groups`)."""
    capacity = found.shape[1]
    f = 1.0 - t / 100.0
    # Which choices of the band pass the coarse test: written for the whole band by a
    # loop without branches (vectorised along the band), then read by the exact test.
    near = np.empty(len(c_lengths), dtype=np.bool_)
    for i in range(q_counts.shape[0]):
        m = q_lengths[i]
        if t <= 0:
            start, stop = 0, len(c_lengths)
        else:
            # ratio <= 200 * min(m, n) / (m + n): only lengths in this band can reach t
            # (widened a little so float rounding never narrows it).
            start = np.searchsorted(c_lengths, m * t / (200.0 - t) - 1e-6, side="left")
            stop = np.searchsorted(c_lengths, m * (200.0 - t) / t + 1e-6, side="right")
        q = q_counts[i]
        if t > 0:
            # The groups' distance is at most the bag distance: a choice beyond the bound
            # on it is beyond the bound on the bag distance. Unsigned indices: no
            # negative-index code in the loop, which would keep it from being vectorised.
            lo, hi = np.uint64(start), np.uint64(stop)
            for j in range(lo, hi):
                total = np.int32(0)
                for g in range(GROUPS):
                    total += abs(q_groups[i, g] - c_groups[np.uint64(g), j])
                near[j] = total <= f * (m + c_lengths[j])
        n = 0
        for j in range(start, stop):
            if t > 0 and not near[j]:
                continue
            limit = f * (m + c_lengths[j])
            c = c_counts[j]
            bag = np.uint32(0)
            for k in range(BUCKETS):
                bag += np.uint32(max(q[k], c[k]) - min(q[k], c[k]))
            if t <= 0 or bag <= limit:
                if n < capacity:
                    found[i, n] = order[j]
                n += 1
        n_found[i] = n
