"""Batches: store an upload, score it (inline or in the background), index the results."""

from __future__ import annotations

import json
import logging
import secrets
import shutil
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, BinaryIO

import polars as pl
from sqlalchemy import JSON, cast, func, select, type_coerce
from sqlalchemy.orm import Session

from api.audit import Auditor
from api.auth import Principal
from api.db import utcnow
from api.i18n import _N
from api.problems import ProblemException
from api.services import _engine
from api.services.indexing import index_scored
from api.state import AppState
from api.tables import Batch, RuleHit, ScoredContainer
from engine.errors import LookoutError

log = logging.getLogger("lookout.api.batches")
_PROGRESS_EVERY_S = 0.5
SORTS = {
    "-risk_score": (ScoredContainer.risk_score.desc(), ScoredContainer.row_index),
    "risk_score": (ScoredContainer.risk_score.asc(), ScoredContainer.row_index),
    "row_index": (ScoredContainer.row_index.asc(),),
    "container_number": (ScoredContainer.container_number.asc(), ScoredContainer.row_index),
    "lane": (ScoredContainer.lane.asc(), ScoredContainer.risk_score.desc()),
}


@dataclass(frozen=True)
class Upload:
    """An upload already written to the batch folder."""

    path: Path
    name: str
    size: int
    rows: int | None  # known for JSON rows, unknown for files


def new_batch_id() -> str:
    """A time-sortable, unguessable batch id."""
    return f"{utcnow():%Y%m%d%H%M%S}-{secrets.token_hex(6)}"


def batch_dir(state: AppState, batch_id: str) -> Path:
    """The folder holding a batch's input and outputs."""
    return state.settings.batches_dir / batch_id


def save_file(state: AppState, batch_id: str, name: str, stream: BinaryIO) -> Upload:
    """Copy an uploaded file into the batch folder (name sanitised)."""
    safe = Path(name or "manifest").name.replace("..", "_")[:200] or "manifest"
    target = batch_dir(state, batch_id) / "input" / safe
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as out:
        shutil.copyfileobj(stream, out, length=1024 * 1024)
    size = target.stat().st_size
    if size == 0:
        shutil.rmtree(batch_dir(state, batch_id), ignore_errors=True)
        raise ProblemException(422, _N("Empty upload"), f"the uploaded file {safe!r} is empty")
    return Upload(path=target, name=safe, size=size, rows=None)


def save_rows(state: AppState, batch_id: str, rows: list[dict[str, Any]]) -> Upload:
    """Write JSON rows as NDJSON (the engine's ingest reads it, with line numbers).

    Values are written as text (as a CSV would carry them) so the engine's spec parsing
    decides types, and a field that is a list in any row is a list in every row.
    """
    list_fields = {k for row in rows for k, v in row.items() if isinstance(v, list)}
    lines = []
    for number, row in enumerate(rows, start=1):
        clean = {k: _as_list(v) if k in list_fields else _as_text(v) for k, v in row.items()}
        line = json.dumps(clean, ensure_ascii=False) + "\n"
        try:
            lines.append(line.encode("utf-8"))
        except UnicodeEncodeError as err:
            raise ProblemException(
                422,
                _N("Invalid text"),
                f"row {number}: a value or field name is not valid Unicode text ({err.reason})",
            ) from err
    target = batch_dir(state, batch_id) / "input" / "rows.ndjson"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(b"".join(lines))
    return Upload(path=target, name="rows.ndjson", size=target.stat().st_size, rows=len(rows))


def _as_text(value: str | float | bool | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _as_list(value: Any) -> list[str | None] | None:
    if value is None:
        return None
    items = value if isinstance(value, list) else [value]
    return [_as_text(item) for item in items]


def create_batch(
    state: AppState,
    session: Session,
    audit: Auditor,
    principal: Principal,
    *,
    batch_id: str,
    upload: Upload,
    spec: str | None,
    capacity: str | None,
    seed: int | None,
) -> Batch:
    """Record the batch and either score it now or queue it; returns the batch row."""
    settings = state.settings
    inline = (upload.rows is not None and upload.rows <= settings.inline_row_limit) or (
        upload.rows is None and upload.size <= settings.inline_max_bytes
    )
    batch = Batch(
        id=batch_id,
        unit_id=principal.unit_id,
        status="queued",
        mode="inline" if inline else "background",
        source_name=upload.name,
        source_bytes=upload.size,
        spec_name=spec or None,
        capacity=capacity or None,
        seed=settings.default_seed if seed is None else seed,
        progress_rows=0,
        created_by=principal.key_id,
        created_at=utcnow(),
    )
    session.add(batch)
    audit("batch.create", batch_id, source=upload.name, bytes=upload.size, mode=batch.mode)
    session.commit()
    if inline:
        try:
            run_batch_job(state, batch_id, raise_errors=True)
        except LookoutError as err:
            error = _error_of(err, batch_dir(state, batch_id))
            raise ProblemException(
                422,
                error["title"],
                error["detail"],
                location=error["location"],
                hint=error["hint"],
                batch_id=batch_id,
            ) from err
        session.refresh(batch)
    else:
        state.jobs.submit(run_batch_job, state, batch_id)
    return batch


def run_batch_job(state: AppState, batch_id: str, *, raise_errors: bool = False) -> None:
    """Score one stored batch and index it; failures are recorded on the batch."""
    started = time.perf_counter()
    with state.sessions() as session:
        batch = session.get(Batch, batch_id)
        if batch is None or batch.status != "queued":
            return
        batch.status, batch.started_at = "running", utcnow()
        session.commit()
        unit_id, mode = batch.unit_id, batch.mode
        spec_name, capacity_text, seed = batch.spec_name, batch.capacity, batch.seed
    root = batch_dir(state, batch_id)
    source = next((root / "input").iterdir())
    try:
        # One run at a time per unit history store: the engine appends each scored batch to
        # it, and the store's writes are not safe against a concurrent writer.
        with _engine.history_guard(state.history_dir(unit_id)):
            outcome = _engine.run(
                source,
                scorer=state.scorer(unit_id),
                out_dir=root / "out",
                spec=_engine.resolve_spec(spec_name),
                capacity=_engine.parse_capacity(capacity_text),
                seed=seed,
                progress=_progress_writer(state, batch_id),
            )
        with state.sessions() as session:
            counts = index_scored(
                session,
                batch_id=batch_id,
                unit_id=unit_id,
                scored_path=root / "out" / "scored.parquet",
            )
            batch = session.get_one(Batch, batch_id)
            batch.status, batch.finished_at = "done", utcnow()
            batch.progress_stage, batch.progress_rows = "done", outcome.rows_scored
            batch.rows_in, batch.rows_scored = outcome.rows_in, outcome.rows_scored
            batch.rows_quarantined, batch.rows_selected = outcome.rows_quarantined, outcome.selected
            batch.rows_flagged = counts.flagged
            batch.run_record = storable(outcome.record)
            session.commit()
        metrics = state.metrics
        metrics.batches.labels("done", mode).inc()
        for fate, n in (
            ("in", outcome.rows_in),
            ("scored", outcome.rows_scored),
            ("quarantined", outcome.rows_quarantined),
            ("flagged", counts.flagged),
            ("selected", outcome.selected),
        ):
            metrics.rows.labels(fate).inc(n)
        metrics.scoring_seconds.observe(time.perf_counter() - started)
        drift = outcome.record.get("drift")
        metrics.record_drift(unit_id, drift if isinstance(drift, dict) else None)
    except (LookoutError, ProblemException) as err:
        _fail(state, batch_id, mode, _error_of(err, root))
        if raise_errors:
            raise
    except Exception:
        log.exception("scoring batch %s failed", batch_id)
        _fail(
            state,
            batch_id,
            mode,
            {
                "title": "Scoring failed",
                "detail": "an unexpected error occurred; see the server log",
            },
        )
        if raise_errors:
            raise


def _error_of(err: LookoutError | ProblemException, root: Path | None = None) -> dict[str, Any]:
    """The problem fields of an error, with server paths reduced to the upload's name."""
    if isinstance(err, ProblemException):
        return {"title": err.title, "detail": err.detail or err.title}

    def _clean(text: str | None) -> str | None:
        if text is None or root is None:
            return text
        return text.replace(f"{root / 'input'}/", "").replace(f"{root}/", "")

    loc = err.location
    location = (
        {k: getattr(loc, k) for k in ("file", "line", "column", "record", "field")}
        if loc is not None
        else None
    )
    if location is not None:
        location["file"] = _clean(location["file"])
    return {
        "title": f"Invalid input ({type(err).__name__})",
        "detail": _clean(str(err).split("\n  hint:")[0]),
        "location": location,
        "hint": _clean(err.hint),
    }


def storable(value: Any) -> Any:
    """``value`` as JSON data a database stores: NUL characters (which an upload may carry
    into a message or a code, and PostgreSQL refuses in text and JSON) become U+FFFD."""
    return json.loads(json.dumps(value, default=str).replace("\\u0000", "\\ufffd"))


def _fail(state: AppState, batch_id: str, mode: str, error: dict[str, Any]) -> None:
    with state.sessions() as session:
        batch = session.get_one(Batch, batch_id)
        batch.status, batch.error, batch.finished_at = "failed", storable(error), utcnow()
        session.commit()
    state.metrics.batches.labels("failed", mode).inc()


def _progress_writer(state: AppState, batch_id: str) -> Any:
    last_at = [0.0]
    last_stage = [""]

    def _progress(stage: str, rows: int) -> None:
        now = time.monotonic()
        if stage == last_stage[0] and now - last_at[0] < _PROGRESS_EVERY_S:
            return
        last_at[0], last_stage[0] = now, stage
        with state.sessions() as session:
            batch = session.get(Batch, batch_id)
            if batch is not None:
                batch.progress_stage = stage[:40]
                batch.progress_rows = max(0, int(rows))
                session.commit()

    return _progress


def get_batch(session: Session, principal: Principal, batch_id: str) -> Batch:
    """The caller's unit's batch, or 404 (other units' batches do not exist for them)."""
    batch = session.get(Batch, batch_id)
    if batch is None or batch.unit_id != principal.unit_id:
        raise ProblemException(404, _N("Batch not found"), f"no batch {batch_id!r} in your unit")
    return batch


def list_batches(
    session: Session, principal: Principal, *, status: str | None, offset: int, limit: int
) -> tuple[list[Batch], int]:
    """The unit's batches, newest first."""
    where = [Batch.unit_id == principal.unit_id]
    if status:
        where.append(Batch.status == status)
    total = session.scalar(select(func.count()).select_from(Batch).where(*where)) or 0
    rows = session.scalars(
        select(Batch)
        .where(*where)
        .order_by(Batch.created_at.desc(), Batch.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return list(rows), int(total)


def indexed_field(session: Session, name: str) -> Any:
    """A manifest field of the indexed ``fields`` JSON text, as SQL text.

    PostgreSQL needs the text cast to JSON; SQLite's ``CAST(x AS JSON)`` would apply numeric
    affinity, so there the text is only *treated* as JSON (``json_extract`` reads text).
    """
    if session.get_bind().dialect.name == "postgresql":
        return cast(ScoredContainer.fields, JSON)[name].as_string()
    return type_coerce(ScoredContainer.fields, JSON)[name].as_string()


def flagged(
    session: Session,
    principal: Principal,
    batch_id: str,
    *,
    lanes: list[str],
    rule: str | None,
    selected: bool | None,
    min_score: float | None,
    sort: str,
    offset: int,
    limit: int,
    port: str | None = None,
    hs_chapter: str | None = None,
) -> tuple[list[ScoredContainer], int]:
    """The flagged rows of a batch, filtered, sorted and paged in the database.

    ``port`` (of loading) and ``hs_chapter`` filter on the indexed manifest fields.
    """
    get_batch(session, principal, batch_id)
    where: list[Any] = [ScoredContainer.batch_id == batch_id, ScoredContainer.flagged.is_(True)]
    if lanes:
        where.append(ScoredContainer.lane.in_(lanes))
    if selected is not None:
        where.append(ScoredContainer.selected.is_(selected))
    if min_score is not None:
        where.append(ScoredContainer.risk_score >= min_score)
    if rule:
        where.append(
            ScoredContainer.id.in_(
                select(RuleHit.scored_id).where(
                    RuleHit.batch_id == batch_id, RuleHit.rule_id == rule
                )
            )
        )
    if port:
        where.append(indexed_field(session, "port_of_loading") == port.strip().upper())
    if hs_chapter:
        where.append(indexed_field(session, "hs_chapter") == hs_chapter.strip().zfill(2))
    total = session.scalar(select(func.count()).select_from(ScoredContainer).where(*where)) or 0
    rows = session.scalars(
        select(ScoredContainer).where(*where).order_by(*SORTS[sort]).offset(offset).limit(limit)
    )
    return list(rows), int(total)


def batch_facets(session: Session, principal: Principal, batch_id: str) -> dict[str, list[str]]:
    """The rule ids, ports of loading and HS chapters present among a batch's flagged rows."""
    get_batch(session, principal, batch_id)
    rules = session.scalars(
        select(RuleHit.rule_id)
        .where(RuleHit.batch_id == batch_id, RuleHit.unit_id == principal.unit_id)
        .distinct()
        .order_by(RuleHit.rule_id)
    )
    flagged = [ScoredContainer.batch_id == batch_id, ScoredContainer.flagged.is_(True)]
    # Few distinct values: sorted here (PostgreSQL refuses ORDER BY of an unnamed
    # expression under SELECT DISTINCT).
    ports = session.scalars(
        select(indexed_field(session, "port_of_loading")).where(*flagged).distinct()
    )
    chapters = session.scalars(
        select(indexed_field(session, "hs_chapter")).where(*flagged).distinct()
    )
    return {
        "rules": list(rules),
        "ports": sorted(p for p in ports if p),
        "chapters": sorted(c for c in chapters if c),
    }


def rows_scored_since(session: Session, principal: Principal, days: int) -> int:
    """Rows the unit scored in batches created in the last ``days`` days (rate denominators)."""
    since = utcnow() - timedelta(days=days)
    total = session.scalar(
        select(func.coalesce(func.sum(Batch.rows_scored), 0)).where(
            Batch.unit_id == principal.unit_id, Batch.status == "done", Batch.created_at >= since
        )
    )
    return int(total or 0)


def quarantine(
    state: AppState,
    session: Session,
    principal: Principal,
    batch_id: str,
    *,
    offset: int,
    limit: int,
) -> tuple[list[dict[str, Any]], int]:
    """A page of the batch's quarantined rows, read from its Parquet file."""
    batch = get_batch(session, principal, batch_id)
    if batch.status != "done":
        raise ProblemException(
            409,
            _N("Batch not scored"),
            f"batch {batch_id} is {batch.status}; quarantine is not ready",
        )
    path = batch_dir(state, batch_id) / "out" / "quarantine.parquet"
    if not path.exists():
        return [], 0
    lazy = pl.scan_parquet(path)
    total = int(lazy.select(pl.len()).collect().item())
    page = lazy.slice(offset, limit).collect()
    # JSON-safe values: times and other non-JSON types become text.
    if "source_file" in page.columns:
        page = page.with_columns(pl.lit(batch.source_name).alias("source_file"))
    page = page.with_columns(
        pl.col(c).cast(pl.String)
        for c, t in page.schema.items()
        if t.is_temporal() or t == pl.Binary or t.is_decimal() or isinstance(t, pl.Object)
    )
    return page.to_dicts(), total
