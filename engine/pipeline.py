"""The batch driver: load → validate → enrich → rules → model → combine → select → record.

:func:`run_batch` is the one driver for every executor: it expands the input (one file or
a glob; the same rules everywhere), starts the run record, lets the executor map the pure
per-file function (:class:`engine._parts.FileScoring`, which runs the immutable
:class:`engine.scorer.Scorer` chunk by chunk into Parquet parts) over the files — in this
process (:class:`engine.executor.Local`, the default) or on Ray
(:class:`engine.distributed.Ray`) — and finalises once (:func:`engine._finalise.finalise`:
global selection by capacity, explanations, outputs, run record, history append).
"""

from __future__ import annotations

from contextlib import closing, nullcontext
from pathlib import Path

from engine._finalise import FLAGGED_COLUMNS, begin_batch, check_layout, finalise, scan_scored
from engine._parts import (
    DEFAULT_HOLD_ROWS,
    EarlyRead,
    FileScoring,
    HeldChunks,
    PartialBatch,
    Progress,
    prepare_parts,
)
from engine._reading import start_reading
from engine.executor import Executor, Local
from engine.identity import batch_identity
from engine.ingest import DEFAULT_CHUNK_ROWS, expand_inputs, rows_at_most
from engine.policy import Capacity
from engine.record import RunRecord, Timings
from engine.scorer import Scorer
from engine.spec import DatasetSpec, default_spec


def run_batch(
    source: Path | str,
    *,
    scorer: Scorer,
    out_dir: Path,
    spec: DatasetSpec | None = None,
    capacity: Capacity | None = None,
    seed: int = 0,
    progress: Progress | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    hold_rows: int = DEFAULT_HOLD_ROWS,
    layout: str | None = None,
    executor: Executor | None = None,
    early: EarlyRead | None = None,
) -> RunRecord:
    """Score one input (a file or a glob of files, one batch) and write the outputs to
    ``out_dir``.

    ``executor``: :class:`~engine.executor.Local` (default) or
    :class:`~engine.distributed.Ray`; the outputs are the same, row for row. ``layout``:
    ``"file"`` writes one ``scored.parquet``, ``"partitioned"`` a ``scored/`` folder of
    Parquet files (default: the executor's, file locally and partitioned on Ray).
    ``hold_rows``: scoring in this process, a batch of up to that many rows is kept in
    memory until its outputs are written; a larger one goes through scratch parts (see
    :class:`engine._parts.HeldChunks`). ``early``: the first file's chunks, already being
    read (:func:`start_reading`, called before the scorer was built); used when it reads
    the same file with the same spec and chunk size in this process, else closed.
    Outputs: ``scored``, ``flagged.csv`` (selected and red/yellow rows, with reasons),
    ``quarantine.parquet`` (records that could not be read, with file, line and reason) and
    ``run.json`` (this function's return value). Raises PipelineError, after writing the
    quarantine and run record, when no row could be scored.
    """
    # the early read is stopped whatever happens (a no-op once its chunks were all taken)
    with closing(early) if early is not None else nullcontext():
        run_on: Executor = executor or Local()
        layout = layout or run_on.default_layout
        check_layout(layout)
        spec = spec or default_spec()
        capacity = capacity or scorer.policy.default_capacity
        paths = expand_inputs(source)
        with run_on.start(len(paths)) as running:
            if early is not None and not (
                running.in_process and early.matches(paths[0], spec, chunk_rows)
            ):
                early.close()  # read again by the executor
                early = None
            parts = prepare_parts(out_dir)
            timings = Timings()
            record = start_record(
                source,
                paths,
                spec,
                capacity,
                seed,
                chunk_rows,
                timings,
                **running.parameters,
                layout=layout,
            )
            # The history stage leaves this batch out of its own history; told before the
            # scorer is pickled for a distributed executor, so every copy knows the batch.
            begin_batch(scorer, record)
            # Files scored here one after the other: a batch that fits stays in memory.
            # One whose files say they hold more rows (Parquet, Arrow IPC) is written
            # chunk by chunk from the start: held up to the limit and then written at once,
            # the held rows, the chunks in flight and the writes made a 10M-row run's peak.
            held = None
            if running.in_process:
                at_most = rows_at_most(paths, spec)
                fits = at_most is None or at_most <= hold_rows
                held = HeldChunks(hold_rows if fits else 0)
            task = FileScoring(
                scorer=scorer, spec=spec, parts=parts, chunk_rows=chunk_rows, held=held, early=early
            )
            if running.map_stage is None:
                partials = running.map(task, paths, progress)
            else:
                with timings.stage(running.map_stage):
                    partials = running.map(task, paths, progress)
            record = finalise(
                PartialBatch.merged(partials),
                record=record,
                scorer=scorer,
                parts=parts,
                out_dir=out_dir,
                capacity=capacity,
                seed=seed,
                timings=timings,
                layout=layout,
                write_partitions=running.write_partitions,
                held=held,
            )
        if progress:
            progress("done", record.rows_scored)
        return record


def start_record(
    source: Path | str,
    paths: list[Path],
    spec: DatasetSpec,
    capacity: Capacity,
    seed: int,
    chunk_rows: int,
    timings: Timings,
    **parameters: object,
) -> RunRecord:
    """A run record with the batch identity and parameters, before any row is scored."""
    record = RunRecord(
        parameters={
            "capacity": str(capacity),
            "seed": seed,
            "chunk_rows": chunk_rows,
            "source": str(source),
            **parameters,
        }
    )
    record.spec = {"name": spec.name, "hash": spec.content_hash, "path": spec.path}
    with timings.stage("hash_input"):
        record.input = {"files": [str(p) for p in paths], **batch_identity(paths).to_record()}
    return record


__all__ = [
    "FLAGGED_COLUMNS",
    "Local",
    "run_batch",
    "scan_scored",
    "start_reading",
    "start_record",
]
