"""The Ray executor: a batch's files scored in parallel on Ray Data, same results as locally.

``run_batch(source, scorer=..., out_dir=..., executor=Ray(address, workers))`` runs the one
driver (:func:`engine.pipeline.run_batch`: input rules, run record, finalisation) with this
executor, which

1. starts or attaches to Ray (``address``; None: the Ray already initialised in this
   process, or a new local one, shut down at the end of the run),
2. makes a Ray Dataset with one item per input file and ``map_batches`` over it with an
   actor pool (``workers`` actors; default: the cluster's CPUs, at most one per file): each
   actor unpickles the per-file function — the immutable scorer with it — ONCE in its
   constructor, then scores whole files into the shared parts folder (one chunk at a time:
   an actor reserves one CPU, so more actors use more CPUs) and returns the small, pickled
   :class:`~engine._parts.PartialBatch`, which the driver merges in file order,
3. finishes the output partitions — each scored part with the selection and explanations
   joined — as Ray tasks, in parallel (``layout="partitioned"``, the default here).

Read as ``scored/*.parquet``, the output is identical, row for row, to what the local
executor writes for the same input. Parallelism is across files: the chunks of one file are
scored in sequence by one worker, so a single huge file should be split first. The run
record's parameters add ``engine="ray"`` and ``workers``; its per-stage timings are summed
over workers (worker-seconds), and ``distribute`` is the wall time of the Ray phase.

The parts folder lives under ``out_dir``; on a multi-node cluster ``out_dir`` must be on a
filesystem every node mounts (NFS, a cluster filesystem), as the workers write the parts.
Ray must run the same Lookout code on the driver and every worker (the scorer is pickled).
Ray is an optional dependency (``pip install 'lookout[ray]'``); without it the run stops
with a :class:`DistributedError` saying so, before anything is written.
"""

from __future__ import annotations

import logging
import pickle
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from engine._finalise import finish_partition
from engine._parts import FileScoring, PartialBatch, Progress
from engine.errors import Location, LookoutError
from engine.executor import Running

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


@dataclass(frozen=True)
class Ray:
    """Score the files in parallel on a Ray cluster.

    ``address``: a running Ray cluster (``ray://host:10001`` or ``host:6379``, or ``auto``);
    None attaches to the Ray already initialised in this process, or starts a local one.
    ``workers``: actors in the pool (default: the cluster's CPUs, at most one per file).
    """

    address: str | None = None
    workers: int | None = None
    default_layout: str = "partitioned"

    @contextmanager
    def start(self, files: int) -> Iterator[Running]:
        ray = import_ray()
        started_here = _connect(ray, self.address)
        try:
            workers = self.workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
            yield _RayRun(ray, max(1, min(workers, files)))
        finally:
            if started_here:
                ray.shutdown()


class _RayRun:
    def __init__(self, ray: ModuleType, workers: int) -> None:
        self.ray = ray
        self.workers = workers

    @property
    def parameters(self) -> dict[str, object]:
        return {"engine": "ray", "workers": self.workers}

    @property
    def in_process(self) -> bool:
        return False

    @property
    def map_stage(self) -> str | None:
        return "distribute"

    def map(
        self, task: FileScoring, paths: list[Path], progress: Progress | None
    ) -> list[PartialBatch]:
        ray = self.ray
        items = [{"index": i, "path": str(p)} for i, p in enumerate(paths)]
        # One block per file, so files spread over the actors instead of queuing on one.
        dataset = ray.data.from_items(items, override_num_blocks=len(items))
        scored = dataset.map_batches(
            _ScoreFiles,
            fn_constructor_kwargs={"task": actor_task(task)},
            compute=ray.data.ActorPoolStrategy(size=self.workers),
            batch_size=1,
            batch_format="numpy",
            num_cpus=1,
        )
        outcomes: dict[int, PartialBatch] = {}
        rows = 0
        context = ray.data.DataContext.get_current()
        bars, context.enable_progress_bars = context.enable_progress_bars, False  # `progress`
        try:
            for batch in scored.iter_batches(batch_size=None, batch_format="numpy"):
                for index, blob in zip(
                    batch["index"].tolist(), batch["result"].tolist(), strict=True
                ):
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
                " a worker killed for memory needs smaller --chunk-rows or more memory per"
                " worker",
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
        return [outcomes[i] for i in range(len(paths))]

    def write_partitions(
        self,
        jobs: list[tuple[Path, Path]],
        chosen: pl.DataFrame,
        explanations: pl.DataFrame,
        offsets: pl.DataFrame,
    ) -> None:
        """Finish the output partitions as Ray tasks, in parallel across the cluster."""
        ray = self.ray
        finish = ray.remote(num_cpus=1)(finish_partition)
        # The selection and explanations are small (selected and red rows): put once, shared.
        shared = [ray.put(chosen), ray.put(explanations), ray.put(offsets)]
        ray.get([finish.remote(src, dst, *shared) for src, dst in jobs])


def actor_task(task: FileScoring) -> bytes:
    """The per-file function as an actor receives it: scoring one chunk at a time, as the
    actor reserves one CPU (two chunks in flight in each of two actors ran four scoring
    threads on two cores: no faster, and ~1 GB more memory for 10M rows)."""
    return pickle.dumps(replace(task, in_flight=1))


class _ScoreFiles:
    """Ray Data actor: holds the per-file function (and its scorer) once, scores whole
    files per call."""

    def __init__(self, task: bytes) -> None:
        # Unpickled once per worker process, then reused for every file that worker scores.
        self.task: FileScoring = pickle.loads(task)  # trusted: our own driver pickled it

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        results: list[bytes] = []
        for index, path in zip(batch["index"].tolist(), batch["path"].tolist(), strict=True):
            try:
                results.append(pickle.dumps(("ok", self.task(int(index), Path(path)))))
            except LookoutError as err:  # reported on the driver as the user's error
                results.append(pickle.dumps(("error", err)))
        return {"index": batch["index"], "result": np.array(results, dtype=object)}


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


__all__ = ["INSTALL_HINT", "DistributedError", "Ray", "import_ray"]
