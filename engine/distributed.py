"""Scale-out batch scoring on Ray Data, with the same results as the single-process driver.

The split is the one :mod:`engine.pipeline` already makes: a compiled :class:`Scorer` (built
once, on the driver) and the per-file function :func:`engine.pipeline.score_into_parts`.
:func:`run_batch_ray`

1. expands the input (a directory → every non-hidden file in it; a glob; or one file),
2. starts or attaches to Ray and makes a Ray Dataset with one item per input file,
3. ``map_batches`` over it with an actor pool: each actor unpickles the driver's scorer ONCE
   in its constructor, then scores whole files into the shared parts folder (one unique
   part prefix per file) and returns the small, pickled :class:`PartialBatch`,
4. merges the partials in file order, shifts each file's ``row_index`` by the rows scored in
   the files before it, and calls :func:`engine.pipeline.finalise_batch`, which does the
   GLOBAL selection (top-k by capacity across every partition plus the seeded control
   sample), explanations, outputs and the single merged run record.

5. writes the output partitions — each scored part with the selection and explanations
   joined — as Ray tasks, in parallel (``layout="partitioned"``, the default: ``scored/``
   holds one Parquet file per part), or merges them into one ``scored.parquet`` on the
   driver (``layout="file"``).

Read as ``scored/*.parquet``, the output is identical, row for row, to the ``scored.parquet``
``run_batch`` writes for the same glob. Parallelism is across files: the chunks of one file
are scored in sequence by one worker, so a single huge file should be split into several
files first.

The parts folder lives under ``out_dir``; on a multi-node cluster ``out_dir`` must be on a
filesystem every node mounts (NFS, a cluster filesystem), as the workers write the parts.

Ray is an optional dependency (``pip install 'lookout[ray]'``); without it
:func:`run_batch_ray` raises :class:`DistributedError` saying so.
"""

from __future__ import annotations

import logging
import pickle
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from engine.errors import Location, LookoutError
from engine.ingest import DEFAULT_CHUNK_ROWS, expand_inputs
from engine.pipeline import (
    PartialBatch,
    PartitionWriter,
    Progress,
    begin_batch,
    check_layout,
    end_batch,
    finalise_batch,
    finish_partition,
    prepare_parts,
    score_into_parts,
    start_record,
)
from engine.policy import Capacity
from engine.record import RunRecord, Timings
from engine.schema import SOURCE_FILE
from engine.scorer import Scorer
from engine.spec import DatasetSpec, default_spec

if TYPE_CHECKING:
    from types import ModuleType

INSTALL_HINT = "install the optional extra: pip install 'lookout[ray]'"


class DistributedError(LookoutError):
    """A distributed run cannot start (Ray missing or unreachable) or a worker failed."""


def import_ray() -> ModuleType:
    """The ``ray`` module with Ray Data loaded, or a DistributedError saying how to get it."""
    try:
        import ray
        import ray.data  # Ray Data is the part of the extra we use
    except ImportError as err:
        raise DistributedError(
            f"the Ray engine needs Ray Data, which is not installed ({err})",
            hint=INSTALL_HINT + ", or score without --engine ray",
        ) from err
    return ray


def expand_batch_inputs(source: Path | str) -> list[Path]:
    """Input files of a batch: a directory's non-hidden files (sorted), a glob, or one file.

    A directory means the same as the glob ``DIR/*``, so the single-process driver scores
    the same files in the same order from that glob.
    """
    path = Path(str(source))
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
        if not files:
            raise DistributedError(
                f"'{path}' holds no input files",
                location=Location(file=str(path)),
                hint="put the manifest files (CSV, Parquet, ...) in it, or pass a glob",
            )
        return files
    return expand_inputs(source)


class _ScoreFiles:
    """Ray Data actor: holds the compiled scorer once and scores whole files per call."""

    def __init__(self, scorer: bytes, spec: bytes, parts: str, chunk_rows: int) -> None:
        # Unpickled once per worker process, then reused for every file that worker scores.
        self.scorer: Scorer = pickle.loads(scorer)  # trusted: our own driver pickled it
        self.spec: DatasetSpec = pickle.loads(spec)
        self.parts = Path(parts)
        self.chunk_rows = chunk_rows

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        results: list[bytes] = []
        for index, path in zip(batch["index"].tolist(), batch["path"].tolist(), strict=True):
            try:
                partial = score_into_parts(
                    str(path),
                    scorer=self.scorer,
                    parts=self.parts,
                    spec=self.spec,
                    chunk_rows=self.chunk_rows,
                    part_prefix=f"{int(index):06d}-part",
                )
                results.append(pickle.dumps(("ok", partial)))
            except LookoutError as err:  # reported on the driver as the user's error
                results.append(pickle.dumps(("error", err)))
        return {
            "index": batch["index"],
            "result": np.array(results, dtype=object),
        }


def run_batch_ray(
    source: Path | str,
    *,
    scorer: Scorer,
    out_dir: Path,
    spec: DatasetSpec | None = None,
    capacity: Capacity | None = None,
    seed: int = 0,
    progress: Progress | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    address: str | None = None,
    workers: int | None = None,
    layout: str = "partitioned",
) -> RunRecord:
    """Score a directory, glob or file on Ray and write the same outputs as ``run_batch``.

    ``address``: a running Ray cluster (``ray://host:10001`` or ``host:6379``, or ``auto``);
    None attaches to the Ray already initialised in this process, or starts a local one.
    ``workers``: actors in the pool (default: the cluster's CPUs, at most one per file).
    Outputs, run record and errors are those of :func:`engine.pipeline.run_batch`; the run
    record's parameters add ``engine="ray"`` and ``workers``; its per-stage timings are
    summed over workers (worker-seconds), and ``distribute`` is the wall time of the Ray phase.
    Ray must run the same Lookout code on the driver and every worker (the scorer is pickled).
    """
    ray = import_ray()
    check_layout(layout)
    spec = spec or default_spec()
    capacity = capacity or scorer.policy.default_capacity
    paths = expand_batch_inputs(source)
    started_here = _connect(ray, address)
    try:
        if workers is None:
            workers = max(1, int(ray.cluster_resources().get("CPU", 1)))
        workers = max(1, min(workers, len(paths)))
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
            engine="ray",
            workers=workers,
            layout=layout,
        )
        # As in run_batch: the history stage leaves this batch out of its own history. Set
        # before the scorer is pickled, so every worker's copy knows the batch too.
        begin_batch(scorer, record)
        with timings.stage("distribute"):
            outcomes = _score_on_ray(ray, paths, scorer, spec, parts, chunk_rows, workers, progress)
        partial = _merge(outcomes, paths)
        offsets = _offsets(paths, outcomes)
        record = finalise_batch(
            partial,
            record=record,
            scorer=scorer,
            parts=parts,
            out_dir=out_dir,
            capacity=capacity,
            seed=seed,
            timings=timings,
            offsets=offsets,
            layout=layout,
            write_partitions=_ray_partition_writer(ray),
        )
        # The batch becomes history once scored: on the driver, one append.
        end_batch(scorer, record, out_dir, timings)
    finally:
        if started_here:
            ray.shutdown()
    if progress:
        progress("done", record.rows_scored)
    return record


def _ray_partition_writer(ray: ModuleType) -> PartitionWriter:
    """Finish the output partitions as Ray tasks, in parallel across the cluster."""
    finish = ray.remote(num_cpus=1)(finish_partition)

    def write(
        jobs: list[tuple[Path, Path]],
        chosen: pl.DataFrame,
        explanations: pl.DataFrame,
        offsets: pl.DataFrame | None,
    ) -> None:
        # The selection and explanations are small (selected and red rows): put once, shared.
        shared = [ray.put(chosen), ray.put(explanations), ray.put(offsets)]
        ray.get([finish.remote(src, dst, *shared) for src, dst in jobs])

    return write


def _connect(ray: ModuleType, address: str | None) -> bool:
    """Attach to (or start) Ray; True when this call started it (and so must shut it down)."""
    if ray.is_initialized():
        return False
    try:
        ray.init(
            address=address,
            log_to_driver=False,
            include_dashboard=False,
            logging_level=logging.WARNING,
        )
    except (ConnectionError, RuntimeError, ValueError) as err:
        raise DistributedError(
            f"cannot connect to the Ray cluster at '{address}': {err}",
            hint="check the address (ray://HOST:10001 or HOST:6379) and that the cluster runs,"
            " or leave --address out to start a local Ray",
        ) from err
    return True


def _score_on_ray(
    ray: ModuleType,
    paths: list[Path],
    scorer: Scorer,
    spec: DatasetSpec,
    parts: Path,
    chunk_rows: int,
    workers: int,
    progress: Progress | None,
) -> dict[int, PartialBatch]:
    items = [{"index": i, "path": str(p)} for i, p in enumerate(paths)]
    # One block per file, so files spread over the actors instead of queuing on one.
    dataset = ray.data.from_items(items, override_num_blocks=len(items))
    scored = dataset.map_batches(
        _ScoreFiles,
        fn_constructor_kwargs={
            "scorer": pickle.dumps(scorer),
            "spec": pickle.dumps(spec),
            "parts": str(parts),
            "chunk_rows": chunk_rows,
        },
        compute=ray.data.ActorPoolStrategy(size=workers),
        batch_size=1,
        batch_format="numpy",
        num_cpus=1,
    )
    outcomes: dict[int, PartialBatch] = {}
    rows = 0
    context = ray.data.DataContext.get_current()
    bars, context.enable_progress_bars = context.enable_progress_bars, False  # ours: `progress`
    try:
        for batch in scored.iter_batches(batch_size=None, batch_format="numpy"):
            for index, blob in zip(batch["index"].tolist(), batch["result"].tolist(), strict=True):
                status, value = pickle.loads(blob)  # trusted: our own workers pickled it
                if status == "error":
                    raise value
                outcomes[int(index)] = value
                rows += value.rows_scored
                if progress:
                    progress("score", rows)
    except ray.exceptions.RayError as err:  # a worker died or hit a bug (not a data error)
        raise DistributedError(
            f"a Ray worker failed: {type(err).__name__}: {str(err).splitlines()[0]}",
            hint="see the worker logs (`ray logs`, or the session folder under /tmp/ray);"
            " a worker killed for memory needs smaller --chunk-rows or more memory per worker",
        ) from err
    finally:
        context.enable_progress_bars = bars
    missing = [str(paths[i]) for i in range(len(paths)) if i not in outcomes]
    if missing:
        raise DistributedError(
            f"{len(missing)} file(s) came back unscored from the Ray workers",
            location=Location(file=missing[0]),
            hint="rerun; if it persists, check the Ray worker logs (ray logs)",
        )
    return outcomes


def _merge(outcomes: dict[int, PartialBatch], paths: list[Path]) -> PartialBatch:
    """Merge in file order, so quarantine, risk and formats are in single-process order."""
    merged = PartialBatch()
    for index in range(len(paths)):
        merged.merge(outcomes[index])
    return merged


def _offsets(paths: list[Path], outcomes: dict[int, PartialBatch]) -> pl.DataFrame:
    """Rows scored in the files before each file: its row_index shift within the batch."""
    scored = pl.Series([outcomes[i].rows_scored for i in range(len(paths))], dtype=pl.Int64)
    return pl.DataFrame(
        {
            SOURCE_FILE: [str(p) for p in paths],
            "offset": scored.cum_sum() - scored,
        }
    )


__all__ = [
    "INSTALL_HINT",
    "DistributedError",
    "expand_batch_inputs",
    "import_ray",
    "run_batch_ray",
]
