"""Executors: how a batch's files are scored — in this process (:class:`Local`) or on Ray
(:class:`engine.distributed.Ray`).

An executor maps the pure per-file function (:class:`engine._parts.FileScoring`) over the
input files and finishes the output partitions; everything else of a run (input rules,
run record, selection, outputs, history append) is :func:`engine.pipeline.run_batch`'s, the
same for every executor. ``start(files)`` opens a run (a Ray executor attaches to its
cluster there) and yields a :class:`Running` executor until the run ends.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import polars as pl

from engine._finalise import write_partitions_here
from engine._parts import FileScoring, PartialBatch, Progress


class Running(Protocol):
    """An executor during one run."""

    @property
    def parameters(self) -> dict[str, object]:
        """What the run record's parameters add (e.g. ``engine``, ``workers``)."""
        ...

    @property
    def map_stage(self) -> str | None:
        """Timing name of the whole scoring phase (None: the per-stage timings say it all)."""
        ...

    @property
    def in_process(self) -> bool:
        """Whether the files are scored one after the other in this process (then
        a batch of up to ``hold_rows`` rows is held in memory:
        :class:`engine._parts.HeldChunks`)."""
        ...

    def map(
        self, task: FileScoring, paths: list[Path], progress: Progress | None
    ) -> list[PartialBatch]:
        """``task`` over every file; the partials in file order."""
        ...

    def write_partitions(
        self,
        jobs: list[tuple[Path, Path]],
        chosen: pl.DataFrame,
        explanations: pl.DataFrame,
        offsets: pl.DataFrame,
    ) -> None:
        """Finish each (scored part, output partition) pair (see engine._finalise)."""
        ...


class Executor(Protocol):
    """Where a batch's files are scored."""

    @property
    def default_layout(self) -> str:
        """The output layout when the caller names none: ``file`` or ``partitioned``."""
        ...

    def start(self, files: int) -> AbstractContextManager[Running]:
        """Open a run over ``files`` input files (errors here come before any output)."""
        ...


@dataclass(frozen=True)
class Local:
    """Score the files one after the other in this process."""

    default_layout: str = "file"

    @contextmanager
    def start(self, files: int) -> Iterator[Running]:
        yield _LocalRun()


class _LocalRun:
    @property
    def parameters(self) -> dict[str, object]:
        return {}

    @property
    def map_stage(self) -> str | None:
        return None

    @property
    def in_process(self) -> bool:
        return True

    def map(
        self, task: FileScoring, paths: list[Path], progress: Progress | None
    ) -> list[PartialBatch]:
        partials: list[PartialBatch] = []
        before = 0
        for index, path in enumerate(paths):

            def file_progress(stage: str, rows: int, before: int = before) -> None:
                if progress:
                    progress(stage, before + rows)

            partials.append(task(index, path, file_progress))
            before += partials[-1].rows_scored
        return partials

    def write_partitions(
        self,
        jobs: list[tuple[Path, Path]],
        chosen: pl.DataFrame,
        explanations: pl.DataFrame,
        offsets: pl.DataFrame,
    ) -> None:
        write_partitions_here(jobs, chosen, explanations, offsets)


__all__ = ["Executor", "Local", "Running"]
