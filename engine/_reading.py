"""Reading ahead: a file's chunks read and made canonical in a worker thread while the
caller works on the one before, and the first file of a batch read from before the scorer
is built (:func:`start_reading`).

Kept apart from :mod:`engine._parts` so that starting to read imports only the ingest
(`lookout score` starts the read, then imports and builds the scorer meanwhile).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar, cast

from engine.errors import LookoutError
from engine.ingest import DEFAULT_CHUNK_ROWS, Chunk, IngestSummary, expand_inputs, read_chunks
from engine.spec import DatasetSpec, default_spec

T = TypeVar("T")
_END = object()

CHUNKS_IN_FLIGHT = 2
"""Chunks of a file scored at once in one process (see :class:`engine._parts.FileScoring`),
and so the chunks read ahead of them."""


class ReadAhead(Iterator[T]):
    """``items``, each one produced in a worker thread while the caller works on the ones
    before: the next chunks are read and made canonical (polars and the compiled kernels,
    which release the GIL) while the chunks before are scored. Up to ``depth`` items are
    produced ahead, one after the other; the first is started at once, before the caller
    asks for it.

    ``depth`` is the number of chunks the caller scores at once: with two in flight and
    one read ahead, a scoring thread that finished its chunk waited for the next one to be
    read (about half a second of one core per million rows), since reading it began only
    when the chunk before it was taken. Each item read ahead is one chunk more in memory.

    The items come in order, and an error comes where its item would have (the items
    after it are not produced). When the caller stops early (:meth:`close`), the item being
    produced is waited for and ``items`` closed."""

    def __init__(self, items: Iterator[T], depth: int = 1) -> None:
        if depth < 1:
            raise ValueError(f"read-ahead depth must be at least 1, not {depth}")
        self._items = items
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="lookout-read")
        # one worker: the items are produced in order, each after the one before
        self._ahead: deque[Future[object]] = deque(
            self._pool.submit(next, items, _END) for _ in range(depth)
        )

    def __next__(self) -> T:
        if not self._ahead:
            raise StopIteration
        try:
            item = self._ahead.popleft().result()
        except BaseException:
            self.close()
            raise
        if item is _END:
            self.close()
            raise StopIteration
        self._ahead.append(self._pool.submit(next, self._items, _END))
        return cast(T, item)

    def close(self) -> None:
        """Wait for the item being produced, stop the thread and close ``items``."""
        self._ahead.clear()
        self._pool.shutdown(wait=True, cancel_futures=True)
        close = getattr(self._items, "close", None)
        if close is not None:
            close()


@dataclass(eq=False)
class EarlyRead:
    """The chunks of a batch's first file, read from before the scorer is built (a fresh
    process spends a second importing and building it, while one core would otherwise
    wait): :func:`engine.pipeline.start_reading` starts one and :func:`engine.pipeline.run_batch`
    scores from it when it read the same file with the same spec and chunk size (else it is
    closed and the file read again)."""

    path: Path
    spec: DatasetSpec
    chunk_rows: int
    summary: IngestSummary = field(default_factory=IngestSummary)
    chunks: ReadAhead[Chunk] = field(init=False)

    def __post_init__(self) -> None:
        self.chunks = ReadAhead(
            read_chunks(self.path, self.spec, chunk_rows=self.chunk_rows, summary=self.summary),
            depth=CHUNKS_IN_FLIGHT,
        )

    def matches(self, path: Path, spec: DatasetSpec, chunk_rows: int) -> bool:
        """Whether this read is the one ``read_chunks(path, spec, chunk_rows)`` would do."""
        return (self.path, self.spec, self.chunk_rows) == (path, spec, chunk_rows)

    def close(self) -> None:
        """Stop reading (idempotent)."""
        self.chunks.close()


def start_reading(
    source: Path | str, spec: DatasetSpec | None = None, chunk_rows: int = DEFAULT_CHUNK_ROWS
) -> EarlyRead | None:
    """Start reading the first file of ``source`` (as :func:`engine.pipeline.run_batch`
    will) in a worker thread; give the result to ``run_batch(early=...)``.

    None when the input cannot be expanded: ``run_batch`` then reports that in its own
    place. An error reading the file comes where ``run_batch`` would have met it."""
    try:
        paths = expand_inputs(source)
    except LookoutError:
        return None
    return EarlyRead(paths[0], spec or default_spec(), chunk_rows)


__all__ = ["CHUNKS_IN_FLIGHT", "EarlyRead", "ReadAhead", "start_reading"]
