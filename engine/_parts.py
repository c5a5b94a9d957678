"""The per-file part of a batch run: one input file, chunk by chunk, into Parquet parts.

:class:`FileScoring` is the pure per-file function every executor maps over the inputs (in
this process, or pickled once into each Ray worker); it returns a small, mergeable
:class:`PartialBatch`. Selection, explanations, outputs and the run record come after, once
per batch (:mod:`engine._finalise`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from engine._footer import view_schema
from engine._reading import CHUNKS_IN_FLIGHT, EarlyRead, ReadAhead
from engine.ingest import Chunk, IngestSummary, read_chunks
from engine.record import Timings
from engine.schema import DQ_FLAGS, ROW_INDEX, SOURCE_FILE
from engine.scorer import ScoredChunk, Scorer
from engine.spec import DatasetSpec
from engine.stages import Stage, merge_drift

Progress = Callable[[str, int], None]
"""``progress(stage, rows)``: rows scored so far ("score"), then "done"."""


@dataclass
class PartialBatch:
    """What scoring some files into Parquet parts produced: small, mergeable, picklable.

    ``risk`` holds only what global selection needs (row_index, risk_score, forced_red,
    lane). ``row_index`` numbers the rows from 0 within each file; the finalisation shifts
    them by the rows of the files before.
    """

    risk: list[pl.DataFrame] = field(default_factory=list)
    quarantine: list[pl.DataFrame] = field(default_factory=list)
    dq_totals: dict[str, int] = field(default_factory=lambda: dict.fromkeys(DQ_FLAGS, 0))
    rows_in: int = 0
    rows_scored: int = 0
    files: list[dict[str, object]] = field(default_factory=list)
    blank_lines: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    drift: Any = None  # additive drift counts of the model (models.drift.DriftTally)
    # Fingerprints of the compiled rules stages used, in first-use order (the run record
    # names the last one, as a batch of one schema has one).
    rules: list[dict[str, Any]] = field(default_factory=list)
    # Rows scored per input file, in file order (the row_index shift of each file).
    file_rows: list[tuple[str, int]] = field(default_factory=list)

    def merge(self, other: PartialBatch) -> None:
        """Add ``other`` (the files after this one's) to this batch."""
        self.drift = merge_drift(self.drift, other.drift)
        self.risk += other.risk
        self.quarantine += other.quarantine
        for name, total in other.dq_totals.items():
            self.dq_totals[name] = self.dq_totals.get(name, 0) + total
        self.rows_in += other.rows_in
        self.rows_scored += other.rows_scored
        self.files += other.files
        self.blank_lines += other.blank_lines
        for name, seconds in other.timings.items():
            self.timings[name] = self.timings.get(name, 0.0) + seconds
        self.rules += [fp for fp in other.rules if fp not in self.rules]
        self.file_rows += other.file_rows

    @classmethod
    def merged(cls, partials: list[PartialBatch]) -> PartialBatch:
        """One batch from the per-file partials, in file order."""
        out = cls()
        for partial in partials:
            out.merge(partial)
        return out

    def offsets(self) -> pl.DataFrame:
        """Rows scored in the files before each file: its row_index shift in the batch."""
        rows = pl.Series([n for _, n in self.file_rows], dtype=pl.Int64)
        return pl.DataFrame(
            {SOURCE_FILE: [path for path, _ in self.file_rows], "offset": rows.cum_sum() - rows}
        )


SCORED_ZSTD_LEVEL = 1
"""zstd level of ``scored`` and of the parts copied into it (the lowest: a few per cent
larger than polars' default level, written in about half the time)."""

DEFAULT_HOLD_ROWS = 1_000_000
"""Rows of a batch scored in this process that are kept in memory instead of scratch parts
(about 1.2 GB with the shipped configuration's ~150 columns)."""


class HeldChunks:
    """The scored chunks of a run, kept in memory while the batch fits in ``max_rows``
    rows, else written as scratch parts.

    An executor that scores the files one after the other in this process gives one to
    :class:`FileScoring`: a batch of up to ``max_rows`` rows — the usual day — then never
    goes to disk and back, and the finalisation reads its chunks from memory
    (:meth:`frames`). The chunk that takes the batch past ``max_rows`` writes the held
    chunks and itself, and every later chunk is written as it comes: a large batch keeps
    no chunk in memory, so its memory is that of scoring and streaming the parts, not
    ``max_rows`` more (``max_rows=0`` writes every chunk).
    """

    def __init__(self, max_rows: int = DEFAULT_HOLD_ROWS) -> None:
        self.max_rows = max_rows
        self._held: list[tuple[Path, pl.DataFrame]] = []
        self._rows = 0

    def keep(self, path: Path, frame: pl.DataFrame) -> None:
        """Hold ``frame`` (the part ``path``), or, once the batch is past ``max_rows``
        rows, write it and whatever is held."""
        self._held.append((path, frame))
        self._rows += frame.height
        if self._rows > self.max_rows:
            self.spill()

    def spill(self) -> None:
        """Write every held chunk to its scratch part (and hold nothing), each let go
        once written."""
        held, self._held = self._held, []
        while held:
            write_part(*held.pop(0))

    def frames(self) -> list[tuple[Path, pl.DataFrame]]:
        """The held chunks and their part names, oldest first."""
        return list(self._held)

    def release(self) -> None:
        """Forget the held chunks without writing them (the run is finished)."""
        self._held = []


def write_part(path: Path, frame: pl.DataFrame) -> None:
    """A scratch part, written as ``scored`` is (zstd level :data:`SCORED_ZSTD_LEVEL`,
    column statistics), in one row group: the finalisation copies its encoded columns into
    ``scored`` as they are (:func:`engine._finalise.stitch_scored`) instead of decoding and
    encoding every row again.

    Its stored Arrow schema names the strings as polars holds them (string views), so the
    writer does not first convert every string column to offsets (~9 % less CPU for a 250k
    chunk of scored rows); the pages and the frame read back are the same. Only polars reads
    a part: the outputs store the usual Arrow schema (readers before pyarrow 15 cannot read
    the other), which the stitched footer takes from a classic write."""
    frame.write_parquet(
        path,
        compression="zstd",
        compression_level=SCORED_ZSTD_LEVEL,
        row_group_size=max(frame.height, 1),
        arrow_schema=view_schema(frame),
    )


@dataclass(frozen=True)
class FileScoring:
    """The per-file function: load → validate → enrich → rules → model → combine, chunk by
    chunk, into ``parts/<file no>-part-<chunk no>.parquet``; picklable (the scorer is).

    ``held``: keep the run's chunks in memory while the batch fits (:class:`HeldChunks`,
    shared by the files of a run; only for files scored one after the other in the process
    that finalises, never on a cluster). The next chunks are read while the ones before
    are scored, as many ahead as are scored at once (:class:`~engine._reading.ReadAhead`).
    ``early``: the first file's chunks, already being read (:class:`EarlyRead`; in this
    process only). ``in_flight``: chunks scored at once (default :data:`CHUNKS_IN_FLIGHT`; a
    Ray actor, which reserves one CPU, scores one at a time)."""

    scorer: Scorer
    spec: DatasetSpec
    parts: Path
    chunk_rows: int
    held: HeldChunks | None = None
    early: EarlyRead | None = None
    in_flight: int | None = None

    def __call__(self, index: int, path: Path, progress: Progress | None = None) -> PartialBatch:
        """Score file number ``index`` of the batch; ``progress`` sees its rows so far.

        Up to ``in_flight`` chunks are scored at once, each in a worker thread
        (while one waits on polars or a compiled kernel, both of which release the GIL, the
        other's Python runs): their results are taken in chunk order, so the parts, the
        risk frames and the progress are those of scoring one after the other. Every
        stage is a pure function of its chunk; the memos the stages share are safe for
        threads (the API's batch workers share them too)."""
        timings = Timings()
        in_flight = self.in_flight or CHUNKS_IN_FLIGHT
        early = self.early
        if early is not None and index == 0 and early.matches(path, self.spec, self.chunk_rows):
            summary, reader = early.summary, early.chunks
        else:
            summary = IngestSummary()
            reader = ReadAhead(
                read_chunks(path, self.spec, chunk_rows=self.chunk_rows, summary=summary),
                depth=in_flight,
            )
        partial = PartialBatch()
        stages: list[Stage] = []
        scoring: deque[Future[tuple[ScoredChunk, Timings]]] = deque()
        part_no = 0

        def score(chunk: Chunk) -> tuple[ScoredChunk, Timings]:
            own = Timings()  # each chunk's stage seconds, added in chunk order
            return self.scorer.score(chunk.rows, chunk.present, own), own

        def finish(done: Future[tuple[ScoredChunk, Timings]]) -> None:
            nonlocal part_no
            (scored, rules, drift), own = done.result()
            timings.merge(own)
            if rules is not None and not any(rules is seen for seen in stages):
                stages.append(rules)
            partial.drift = merge_drift(partial.drift, drift)
            partial.risk.append(
                scored.select(
                    # One dictionary entry per file instead of the path on every row.
                    pl.col(SOURCE_FILE).cast(pl.Categorical),
                    ROW_INDEX,
                    "risk_score",
                    "forced_red",
                    "lane",
                    *(["explore_score"] if "explore_score" in scored.columns else []),
                )
            )
            totals = scored.select(pl.col(DQ_FLAGS).sum()).row(0)
            for name, total in zip(DQ_FLAGS, totals, strict=True):
                partial.dq_totals[name] += int(total)
            partial.rows_scored += scored.height
            with timings.stage("write"):
                part = self.parts / part_name(index, part_no)
                if self.held is None:
                    write_part(part, scored)
                else:
                    self.held.keep(part, scored)
            part_no += 1
            if progress:
                progress("score", partial.rows_scored)

        # closed also when scoring fails: the chunk being read ahead and the chunks being
        # scored are waited for
        with (
            closing(reader) as chunks,
            ThreadPoolExecutor(in_flight, thread_name_prefix="lookout-score") as pool,
        ):
            try:
                while True:
                    if len(scoring) == in_flight:
                        # the oldest finished before the next chunk is taken: at most the
                        # chunks in flight and the ``in_flight`` read ahead (one of them
                        # still being read) are in memory
                        finish(scoring.popleft())
                    with timings.stage("load"):
                        chunk = next(chunks, None)
                    if chunk is None:
                        break
                    partial.rows_in += chunk.records_read
                    partial.quarantine.append(chunk.quarantine)
                    if chunk.rows.height == 0:
                        continue
                    scoring.append(pool.submit(score, chunk))
                while scoring:
                    finish(scoring.popleft())
            finally:
                for waiting in scoring:
                    waiting.cancel()
        partial.files = summary.files
        partial.blank_lines = summary.blank_lines
        partial.timings = timings.seconds
        partial.rules = [stage.fingerprint() for stage in stages]
        partial.file_rows = [(str(path), partial.rows_scored)]
        return partial


def part_name(file_index: int, part_no: int) -> str:
    """The scratch file of chunk ``part_no`` of input file ``file_index`` (sorts in order)."""
    return f"{file_index:06d}-part-{part_no:05d}.parquet"


def part_file_index(part: Path) -> int:
    """The input file number a scratch part (named by :func:`part_name`) belongs to."""
    return int(part.name.split("-part-", 1)[0])


def prepare_parts(out_dir: Path) -> Path:
    """An empty scratch folder for the Parquet parts of a run."""
    out_dir.mkdir(parents=True, exist_ok=True)
    parts = out_dir / "_parts"
    clear(parts)
    parts.mkdir()
    return parts


def clear(folder: Path) -> None:
    """Remove our Parquet files from ``folder``, and the folder once nothing else is in it."""
    if folder.is_dir():
        for part in folder.glob("*.parquet"):
            part.unlink()
        if not any(folder.iterdir()):
            folder.rmdir()


__all__ = [
    "CHUNKS_IN_FLIGHT",
    "SCORED_ZSTD_LEVEL",
    "EarlyRead",
    "FileScoring",
    "HeldChunks",
    "PartialBatch",
    "Progress",
    "ReadAhead",
    "clear",
    "part_file_index",
    "part_name",
    "prepare_parts",
    "write_part",
]
