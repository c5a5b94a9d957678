"""The finalisation of a batch run, written once for every executor.

After the executor has scored every input file into Parquet parts (:mod:`engine._parts`),
:func:`finalise` selects globally by capacity, explains the rows an officer will look at,
writes ``scored`` (one file or partitions), ``flagged.csv``, ``quarantine.parquet`` and
``run.json``, and then appends the scored batch to the history (batch-aware stages).
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import polars as pl

from engine._canonical import QUARANTINE_SCHEMA
from engine._footer import sink_parquet
from engine._parts import SCORED_ZSTD_LEVEL, HeldChunks, PartialBatch, clear, part_file_index
from engine._stitch import FooterError, footer_of, stitch
from engine.errors import Location, PipelineError
from engine.history import FIRST_SEEN_LOOKBACK_DAYS
from engine.i18n import LOCALES, localised_column
from engine.identity import BatchIdentity
from engine.policy import Capacity, select
from engine.record import RunRecord, Timings
from engine.schema import AIR_FLAGGED_COLUMNS, FLAGGED_COLUMNS, ROW_INDEX, SOURCE_FILE
from engine.scorer import Scorer
from engine.stages import ExplainsFromColumns, report_drift
from engine.validate import unknown_port_summary

MODEL_REASON_COLUMNS = tuple(localised_column("model_reasons", loc) for loc in LOCALES)
"""``model_reasons`` in every locale (``model_reasons``, ``model_reasons_ru``)."""


@runtime_checkable
class BatchAware(Protocol):
    """A stage that wants to know which batch it scores, and to see it once scored
    (the history stage: leave the batch out of its own history, then append it).

    ``begin_batch`` may return a note for the run record; ``end_batch`` returns the rows it
    appended."""

    def begin_batch(self, batch: BatchIdentity) -> str | None: ...

    def end_batch(self, scored: pl.LazyFrame, batch: BatchIdentity) -> int: ...


def begin_batch(scorer: Scorer, record: RunRecord) -> None:
    """Tell batch-aware stages (history) which batch is scored; keep their notes."""
    batch = BatchIdentity.from_record(record.input)
    for stage in scorer.enrichers:
        if isinstance(stage, BatchAware) and (note := stage.begin_batch(batch)):
            record.messages.append(note)


def end_batch(scorer: Scorer, record: RunRecord, out_dir: Path, timings: Timings) -> None:
    """Append the scored batch to the history (unless turned off) and rewrite run.json.

    The batch becomes history only after it was scored against the history before it.
    """
    aware = [stage for stage in scorer.enrichers if isinstance(stage, BatchAware)]
    if not aware or not scorer.append_history:
        return
    batch = BatchIdentity.from_record(record.input)
    with timings.stage("history_append"):
        scored = scan_scored(Path(record.outputs["scored"]))
        record.counts["history_rows_appended"] = sum(
            stage.end_batch(scored, batch) for stage in aware
        )
    record.timings = {k: round(v, 4) for k, v in timings.seconds.items()}
    record.write(out_dir / "run.json")


def scan_scored(scored: Path) -> pl.LazyFrame:
    """The scored rows of a run: its ``scored.parquet`` file or ``scored/`` partitions."""
    return pl.scan_parquet(scored / "*.parquet" if scored.is_dir() else scored)


def finalise(
    partial: PartialBatch,
    *,
    record: RunRecord,
    scorer: Scorer,
    parts: Path,
    out_dir: Path,
    capacity: Capacity,
    seed: int,
    timings: Timings,
    layout: str,
    write_partitions: PartitionWriter,
    held: HeldChunks | None = None,
) -> RunRecord:
    """Global selection, explanations, outputs and the run record, from the scored parts of
    every file (``partial``: merged in file order); then the history append.

    Each file's ``row_index`` is shifted by the rows of the files before it, so that it is
    the row's position in the whole batch. ``layout``: ``"file"`` writes one
    ``scored.parquet``; ``"partitioned"`` writes ``scored/`` with one Parquet file per part
    (the same rows, in the same order, when read as ``scored/*.parquet``), each finished by
    ``write_partitions`` (the executor's). ``held``: the chunks of a batch small enough to be kept
    in memory instead of written as parts (see :class:`engine._parts.HeldChunks`). Raises
    PipelineError, after writing the quarantine and run record, when no row could be scored.
    """
    held = held or HeldChunks(0)
    if layout != "file":
        with timings.stage("write"):
            held.spill()  # each output partition is finished from its part
    offsets = partial.offsets()
    for name, seconds in partial.timings.items():
        timings.add(name, seconds)
    quarantine = (
        pl.concat(partial.quarantine)
        if partial.quarantine
        else pl.DataFrame(schema=QUARANTINE_SCHEMA)
    )
    quarantine.write_parquet(out_dir / "quarantine.parquet")
    record.counts = {
        "rows_in": partial.rows_in,
        "rows_scored": partial.rows_scored,
        "rows_quarantined": quarantine.height,
        "blank_lines": partial.blank_lines,
    }
    record.input["formats"] = partial.files
    record.outputs = {
        "quarantine": str(out_dir / "quarantine.parquet"),
        "run": str(out_dir / "run.json"),
    }
    if partial.rows_scored == 0:
        _finish(record, timings, scorer, partial, out_dir, status="failed")
        held.release()
        clear(parts)
        raise PipelineError(
            f"no row could be scored: {partial.rows_in} record(s) read, "
            f"{quarantine.height} quarantined",
            location=Location(file=str(record.parameters.get("source"))),
            hint=f"see {out_dir / 'quarantine.parquet'} for the reason of each rejected record",
        )

    with timings.stage("select"):
        risk = _shift(pl.concat(partial.risk).lazy(), offsets).drop(SOURCE_FILE).collect()
        selection = select(risk, capacity, scorer.policy, seed=seed)
    on_disk = sorted(parts.glob("*.parquet"))  # nothing is written to the parts from here
    scored = scan_parts(on_disk, offsets, held)
    with timings.stage("explain"):
        explanations = _explain(scored, selection, risk, scorer)
    # Only the selected rows carry a reason: a small right side instead of every row.
    chosen = selection.filter(pl.col("selected"))
    with timings.stage("write"):
        # A rerun into the same folder replaces the other layout's output too.
        if layout == "file":
            target = out_dir / "scored.parquet"
            clear(out_dir / "scored")
            # A batch too large to hold was scored into parts in the output's encoding:
            # copied as they are, not decoded and encoded again.
            if held.frames() or not stitch_scored(on_disk, offsets, chosen, explanations, target):
                write_scored(scored, chosen, explanations, target)
            # From the scored rows (in memory, or the parts) that can be flagged, finished
            # alone: not the file read back, which decoded every row (0.4 s of 1M).
            red_or_yellow = risk.filter(pl.col("lane") != "green").select(ROW_INDEX)
            ids = pl.concat([red_or_yellow, chosen.select(ROW_INDEX)]).get_column(ROW_INDEX)
            flaggable = pl.col(ROW_INDEX).is_in(ids.unique().implode())
            _write_flagged(finish_scored(scored.filter(flaggable), chosen, explanations), out_dir)
        else:
            target = _fresh_dir(out_dir / "scored")
            (out_dir / "scored.parquet").unlink(missing_ok=True)
            jobs = [(src, target / src.name) for src in on_disk]
            write_partitions(jobs, chosen, explanations, offsets)
            _write_flagged(scan_scored(target), out_dir)
    # The scored frame reads the held chunks: dropped with them, so that the history append
    # below does not run beside a whole batch still in memory.
    del scored
    held.release()
    clear(parts)
    record.counts.update(_selection_counts(selection, risk))
    record.counts["data_quality"] = partial.dq_totals
    record.counts["unknown_ports"] = unknown_port_summary(scan_scored(target))
    record.drift = report_drift(scorer.model, partial.drift, scorer.policy.drift)
    _note_short_history(scan_scored(target), record)
    record.outputs.update({"scored": str(target), "flagged": str(out_dir / "flagged.csv")})
    if record.rows_in != record.rows_scored + record.rows_quarantined:  # the accounting must hold
        record.messages.append("row accounting mismatch: rows_in != rows_scored + rows_quarantined")
    _finish(record, timings, scorer, partial, out_dir, status="succeeded")
    end_batch(scorer, record, out_dir, timings)
    return record


def _shift(frame: pl.LazyFrame, offsets: pl.DataFrame) -> pl.LazyFrame:
    """``row_index`` shifted by each file's offset (rows of the files before it), looked up
    from ``source_file``: for the small in-memory risk frame (a lookup expression does not
    stream; the wide parts are shifted by :func:`scan_parts`)."""
    if not offsets.height or offsets.get_column("offset").max() == 0:
        return frame  # one file (or every row in the first): nothing to shift
    offset = (
        pl.col(SOURCE_FILE)
        .cast(pl.String)
        .replace_strict(
            offsets.get_column(SOURCE_FILE).cast(pl.String),
            offsets.get_column("offset"),
            default=0,
            return_dtype=pl.Int64,
        )
    )
    return frame.with_columns((pl.col(ROW_INDEX) + offset).alias(ROW_INDEX))


def _part_offset(part: Path, offsets: pl.DataFrame) -> int:
    """The ``row_index`` shift of a scratch part: the rows of the files before its file."""
    return int(offsets.get_column("offset")[part_file_index(part)]) if offsets.height else 0


def scan_parts(
    parts: list[Path], offsets: pl.DataFrame, held: HeldChunks | None = None
) -> pl.LazyFrame:
    """The scored parts as one frame in batch order, each part's ``row_index`` shifted by
    its file's offset — a literal per part, so the rows stream through (a join, or a lookup
    by ``source_file``, made polars hold the whole wide frame in memory). ``held``: the
    chunks kept in memory, after every part."""
    sources: list[tuple[Path, pl.LazyFrame]] = [(p, pl.scan_parquet(p)) for p in parts]
    in_memory = held.frames() if held is not None else []
    if in_memory:
        assert all(p.name < in_memory[0][0].name for p in parts), "held chunks come last"
        sources += [(path, frame.lazy()) for path, frame in in_memory]
    frames = []
    for part, frame in sources:
        offset = _part_offset(part, offsets)
        frames.append(frame.with_columns(pl.col(ROW_INDEX) + offset) if offset else frame)
    return pl.concat(frames, how="vertical") if len(frames) != 1 else frames[0]


def _finish(
    record: RunRecord,
    timings: Timings,
    scorer: Scorer,
    partial: PartialBatch,
    out_dir: Path,
    *,
    status: str,
) -> None:
    record.status = status
    record.stages = scorer.fingerprint(partial.rules[-1] if partial.rules else None)
    record.timings = {k: round(v, 4) for k, v in timings.seconds.items()}
    record.finished_at = datetime.now(UTC).isoformat()
    record.write(out_dir / "run.json")


def _explain(
    scored: pl.LazyFrame, selection: pl.DataFrame, risk: pl.DataFrame, scorer: Scorer
) -> pl.DataFrame:
    """Model reasons for the rows an officer will look at: selected or red lane."""
    wanted = (
        selection.filter(pl.col("selected"))
        .select(ROW_INDEX)
        .vstack(risk.filter(pl.col("lane") == "red").select(ROW_INDEX))
        .unique()
    )
    empty = pl.DataFrame(
        schema={ROW_INDEX: pl.Int64(), **{c: pl.List(pl.String()) for c in MODEL_REASON_COLUMNS}}
    )
    if scorer.model is None or wanted.height == 0:
        return empty
    if isinstance(scorer.model, ExplainsFromColumns):
        # only the columns the model reads: the scored parts are wide
        names = scored.collect_schema().names()
        needed = dict.fromkeys([ROW_INDEX, *scorer.model.explain_columns()])
        scored = scored.select([c for c in needed if c in names])
    rows = scored.filter(pl.col(ROW_INDEX).is_in(wanted.get_column(ROW_INDEX).implode())).collect()
    explained = scorer.model.explain(rows)
    # A model stage that explains in one language only fills the others with its reasons.
    return explained.select(
        ROW_INDEX,
        *[
            (pl.col(c) if c in explained.columns else pl.col("model_reasons")).alias(c)
            for c in MODEL_REASON_COLUMNS
        ],
    )


def finish_scored(
    scored: pl.LazyFrame, chosen: pl.DataFrame, explanations: pl.DataFrame
) -> pl.LazyFrame:
    """Scored rows with their selection (``chosen``: the selected rows) and explanations.

    The selection and explanation columns are joined onto ``row_index`` alone and set beside
    the scored columns (the same rows in the same order): joined to the whole frame, the
    joins gathered every column of it. Write it with :func:`write_scored`, which keeps polars
    from caching the shared scan."""
    return pl.concat(
        [scored, _added(scored, chosen, explanations).drop(ROW_INDEX)], how="horizontal"
    )


def _added(scored: pl.LazyFrame, chosen: pl.DataFrame, explanations: pl.DataFrame) -> pl.LazyFrame:
    """``row_index`` of ``scored`` and the columns the finalisation adds to it: the
    selection's and the explanations', in the same row order."""
    return (
        scored.select(ROW_INDEX)
        .join(chosen.lazy(), on=ROW_INDEX, how="left", maintain_order="left")
        .join(explanations.lazy(), on=ROW_INDEX, how="left", maintain_order="left")
        .with_columns(
            pl.col("selected").fill_null(False),
            *[
                pl.col(c).fill_null(pl.lit([], dtype=pl.List(pl.String())))
                for c in MODEL_REASON_COLUMNS
            ],
        )
    )


def write_scored(
    scored: pl.LazyFrame, chosen: pl.DataFrame, explanations: pl.DataFrame, target: Path
) -> None:
    """Write :func:`finish_scored` of ``scored`` to ``target``, streaming.

    The two sides of the finished frame read the same parts; eliminating that common plan
    would hold the whole scan in memory (17 GB at 10M rows), so each side scans for itself
    (the second only ``row_index``). Encoded from string views, stored with the classic
    schema (:func:`engine._footer.sink_parquet`)."""
    sink_parquet(
        finish_scored(scored, chosen, explanations),
        target,
        compression="zstd",
        compression_level=SCORED_ZSTD_LEVEL,
        optimizations=pl.QueryOptFlags(comm_subplan_elim=False),
    )


def stitch_scored(
    parts: list[Path],
    offsets: pl.DataFrame,
    chosen: pl.DataFrame,
    explanations: pl.DataFrame,
    target: Path,
) -> bool:
    """Write ``target`` — :func:`finish_scored` of the scratch ``parts``, in order — by
    copying the parts' encoded columns as they are (:func:`engine._stitch.stitch`; a part
    is written in the output's encoding, one row group, see :func:`engine._parts.write_part`)
    beside a small file per part of the columns added here and its ``row_index`` in the
    batch. False, with nothing written, when the parts cannot be stitched: write
    :func:`write_scored` instead."""
    if not parts:
        return False
    scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        pieces = []
        final: dict[str, pl.DataType] = {}
        for number, part in enumerate(parts):
            scored = scan_parts([part], offsets)
            added = _added(scored, chosen, explanations).collect()
            side = scratch / f"{number:06d}.parquet"
            added.write_parquet(
                side,
                compression="zstd",
                compression_level=SCORED_ZSTD_LEVEL,
                row_group_size=max(added.height, 1),
            )
            pieces.append([part, side])
            if not final:
                final = {**scored.collect_schema(), **added.drop(ROW_INDEX).schema}
        template = io.BytesIO()
        pl.DataFrame(schema=final).write_parquet(
            template, compression="zstd", compression_level=SCORED_ZSTD_LEVEL
        )
        try:
            footer = footer_of(template.getvalue())
        except FooterError:
            return False
        return stitch(pieces, target, footer)
    finally:
        for leftover in scratch.iterdir():
            leftover.unlink()
        scratch.rmdir()


def finish_partition(
    src: Path,
    dst: Path,
    chosen: pl.DataFrame,
    explanations: pl.DataFrame,
    offsets: pl.DataFrame,
) -> None:
    """Write one output partition: the scored part ``src`` finished, to ``dst`` (its
    columns copied as they are where they can be, else encoded again)."""
    if not stitch_scored([src], offsets, chosen, explanations, dst):
        write_scored(scan_parts([src], offsets), chosen, explanations, dst)


PartitionWriter = Callable[
    [list[tuple[Path, Path]], pl.DataFrame, pl.DataFrame, pl.DataFrame], None
]
"""Finishes (src part, dst partition) pairs; see :func:`write_partitions_here`."""

LAYOUTS: tuple[str, ...] = ("file", "partitioned")


def check_layout(layout: str) -> None:
    """Refuse an unknown output layout before any row is scored."""
    if layout not in LAYOUTS:
        raise PipelineError(
            f"unknown output layout '{layout}'",
            location=Location(field="layout"),
            hint=f"use one of: {', '.join(LAYOUTS)}",
        )


def write_partitions_here(
    jobs: list[tuple[Path, Path]],
    chosen: pl.DataFrame,
    explanations: pl.DataFrame,
    offsets: pl.DataFrame,
) -> None:
    """The default :data:`PartitionWriter`: every partition in this process, in order."""
    for src, dst in jobs:
        finish_partition(src, dst, chosen, explanations, offsets)


def _fresh_dir(folder: Path) -> Path:
    if folder.is_dir():
        for old in folder.glob("*.parquet"):
            old.unlink()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _note_short_history(scored: pl.LazyFrame, record: RunRecord) -> None:
    """Count rows whose party features the history store was too short to tell, and say so.

    A party's age and its ``*_is_new`` flag are unknown (null) for a row filed less than
    ``FIRST_SEEN_LOOKBACK_DAYS`` after the store's first row; rules on them do not fire.
    """
    names = set(scored.collect_schema().names())
    roles = [r for r in ("consignee", "shipper") if {f"{r}_key", f"{r}_is_new"} <= names]
    if not roles or "filed_at" not in names:
        return
    unknown = pl.any_horizontal(
        pl.col(f"{r}_key").is_not_null() & pl.col(f"{r}_is_new").is_null() for r in roles
    )
    rows = scored.select((unknown & pl.col("filed_at").is_not_null()).sum()).collect().item()
    record.counts["rows_party_history_unknown"] = int(rows or 0)
    if rows:
        record.messages.append(
            f"history too short for party features: {rows:,} of {record.rows_scored:,} rows "
            f"were filed less than {FIRST_SEEN_LOOKBACK_DAYS} days after the history store "
            "begins, so their traders' ages and new-trader flags are unknown and the rules "
            "on them do not fire"
        )


def _write_flagged(scored: pl.LazyFrame, out_dir: Path) -> None:
    """``flagged.csv``: the selected and red/yellow rows, selected first, by risk.

    The rows are gathered in that order a slice at a time from the unsorted frame and
    appended to the file, so a large batch (a million flagged rows at 10M) is not held twice
    in memory for a sort."""
    columns = scored.collect_schema().names()
    flagged = scored.filter(pl.col("selected") | (pl.col("lane") != "green")).with_columns(
        pl.col("rule_hits").list.join("; ") if "rule_hits" in columns else pl.lit(None),
        _reasons_expr(columns).alias("reasons"),
    )
    names = flagged.collect_schema().names()
    keep = [c for c in FLAGGED_COLUMNS if c in names]
    rows = flagged.select(
        list(dict.fromkeys([*keep, "selected", "risk_score", ROW_INDEX]))
    ).collect()
    order = rows.select(
        pl.arg_sort_by(["selected", "risk_score", ROW_INDEX], descending=[True, True, False])
    ).to_series()
    rows = rows.select(keep)
    if "awb_number" not in rows.columns or rows["awb_number"].null_count() == rows.height:
        rows = rows.drop(AIR_FLAGGED_COLUMNS, strict=False)  # a sea batch: as before
    with (out_dir / "flagged.csv").open("wb") as out:
        rows.head(0).write_csv(out)
        for start in range(0, order.len(), FLAGGED_SLICE_ROWS):
            rows[order.slice(start, FLAGGED_SLICE_ROWS)].write_csv(out, include_header=False)


FLAGGED_SLICE_ROWS = 100_000
"""Rows of ``flagged.csv`` gathered and written at a time."""


def _reasons_expr(columns: list[str]) -> pl.Expr:
    lists = [pl.col(c) for c in ("rule_reasons", "model_reasons") if c in columns]
    if not lists:
        return pl.lit("")
    return pl.concat_list(lists).list.join(" | ")


def _selection_counts(selection: pl.DataFrame, risk: pl.DataFrame) -> dict[str, Any]:
    lanes = dict(risk.group_by("lane").len().iter_rows())
    reasons = dict(
        selection.filter(pl.col("selected")).group_by("selection_reason").len().iter_rows()
    )
    return {
        "lanes": {lane: int(lanes.get(lane, 0)) for lane in ("red", "yellow", "green")},
        "selected": int(selection.get_column("selected").sum()),
        "selected_by_reason": {str(k): int(v) for k, v in reasons.items()},
    }


__all__ = [
    "AIR_FLAGGED_COLUMNS",
    "FLAGGED_COLUMNS",
    "LAYOUTS",
    "MODEL_REASON_COLUMNS",
    "BatchAware",
    "PartitionWriter",
    "begin_batch",
    "check_layout",
    "finalise",
    "finish_partition",
    "finish_scored",
    "scan_parts",
    "scan_scored",
    "stitch_scored",
    "write_partitions_here",
    "write_scored",
]
