"""Batches: list, upload (with progress), one batch's status, its flagged list and CSV."""

from __future__ import annotations

import io
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

import polars as pl
from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile
from fastapi import Path as PathParam
from sqlalchemy import select

from api.audit import Auditor
from api.auth import SessionDep
from api.i18n import _N
from api.problems import ProblemException
from api.schemas.batches import BATCH_ID_PATTERN, batch_public, flagged_public
from api.services import _engine
from api.services import batches as service
from api.state import State
from api.web._auth import Csrf, PageRoute, WebAnalyst, WebViewer, redirect
from api.web._render import render

router = APIRouter(prefix="/web/batches", route_class=PageRoute, include_in_schema=False)

PAGE_SIZE = 50
CSV_MAX_ROWS = 100_000
BatchId = Annotated[str, PathParam(min_length=1, max_length=40, pattern=BATCH_ID_PATTERN)]
Sort = Literal["-risk_score", "risk_score", "row_index", "container_number", "lane"]
SORT_LABELS = {
    "-risk_score": _N("risk score, highest first"),
    "risk_score": _N("risk score, lowest first"),
    "container_number": _N("container number"),
    "lane": _N("lane"),
    "row_index": _N("manifest order"),
}


@router.get("")
def batches_page(
    request: Request,
    session: SessionDep,
    principal: WebViewer,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Response:
    """The unit's batches, newest first, and the upload form."""
    rows, total = service.list_batches(
        session, principal, status=None, offset=offset, limit=PAGE_SIZE
    )
    return render(
        request,
        "batches.html",
        {
            "batches": [batch_public(b) for b in rows],
            "total": total,
            "offset": offset,
            "page_size": PAGE_SIZE,
            "error": None,
        },
    )


@router.post("", dependencies=[Csrf])
def upload(
    request: Request,
    state: State,
    session: SessionDep,
    principal: WebAnalyst,
    file: Annotated[UploadFile, File()],
    capacity: Annotated[str, Form(max_length=20)] = "",
    spec: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Store and score the upload through the same service as ``POST /v1/batches``."""
    capacity_value, spec_value = capacity.strip() or None, spec.strip() or None
    try:
        _engine.parse_capacity(capacity_value)
        _engine.resolve_spec(spec_value)
        batch_id = service.new_batch_id()
        stored = service.save_file(state, batch_id, file.filename or "manifest", file.file)
        batch = service.create_batch(
            state,
            session,
            Auditor(session, principal, request),
            principal,
            batch_id=batch_id,
            upload=stored,
            spec=spec_value,
            capacity=capacity_value,
            seed=None,
        )
    except ProblemException as err:
        # Back to the form with the error beside it (e.g. the row and field that failed).
        # The failed run was recorded by other sessions; drop this one's stale copy.
        session.expire_all()
        rows, total = service.list_batches(
            session, principal, status=None, offset=0, limit=PAGE_SIZE
        )
        return render(
            request,
            "batches.html",
            {
                "batches": [batch_public(b) for b in rows],
                "total": total,
                "offset": 0,
                "page_size": PAGE_SIZE,
                "error": {
                    "title": err.title,
                    "detail": err.detail,
                    "location": err.extra.get("location"),
                    "hint": err.extra.get("hint"),
                },
            },
            status=err.status,
        )
    return redirect(request, f"/web/batches/{batch.id}")


@router.get("/{batch_id}")
def batch_page(
    request: Request, session: SessionDep, principal: WebViewer, batch_id: BatchId
) -> Response:
    """Status, progress and counts of a batch; polls itself while it is being scored."""
    batch = batch_public(service.get_batch(session, principal, batch_id), detail=True)
    partial = request.headers.get("HX-Request") == "true"
    return render(request, "batch_status.html" if partial else "batch.html", {"batch": batch})


def _filters(lane: list[str], rule: str, selected: str, port: str, chapter: str) -> dict[str, Any]:
    return {
        "lanes": [x for x in lane if x in ("red", "yellow", "green")],
        "rule": rule.strip() or None,
        "selected": {"yes": True, "no": False}.get(selected),
        "port": port.strip() or None,
        "hs_chapter": chapter.strip() or None,
        "min_score": None,
    }


LaneQ = Annotated[list[str], Query(max_length=3)]
TextQ = Annotated[str, Query(max_length=40, pattern=r"^[\w.:% -]*$")]


@router.get("/{batch_id}/flagged")
def flagged_page(
    request: Request,
    session: SessionDep,
    principal: WebViewer,
    batch_id: BatchId,
    lane: LaneQ = [],  # noqa: B006 - FastAPI copies defaults per request
    rule: TextQ = "",
    selected: Literal["", "yes", "no"] = "",
    port: TextQ = "",
    chapter: TextQ = "",
    sort: Sort = "-risk_score",
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Response:
    """Flagged containers with lane, score, selection reason and top reasons."""
    batch = batch_public(service.get_batch(session, principal, batch_id))
    filters = _filters(lane, rule, selected, port, chapter)
    rows, total = service.flagged(
        session, principal, batch_id, **filters, sort=sort, offset=offset, limit=PAGE_SIZE
    )
    query = {
        "lane": filters["lanes"],
        "rule": rule,
        "selected": selected,
        "port": port,
        "chapter": chapter,
        "sort": sort,
    }
    kept = urlencode({k: v for k, v in query.items() if v}, doseq=True)
    return render(
        request,
        "flagged.html",
        {
            "batch": batch,
            "rows": [flagged_public(r) for r in rows],
            "total": total,
            "offset": offset,
            "page_size": PAGE_SIZE,
            "facets": service.batch_facets(session, principal, batch_id),
            "form": {**query, "lanes": filters["lanes"]},
            "sort_labels": SORT_LABELS,
            "query": kept,
        },
    )


@router.get("/{batch_id}/waybills/{row_index}")
def waybill_page(
    request: Request,
    session: SessionDep,
    principal: WebViewer,
    batch_id: BatchId,
    row_index: Annotated[int, PathParam(ge=0, le=10_000_000_000)],
) -> Response:
    """One flagged air waybill of a batch: reasons, data-quality flags and its air fields."""
    from api.tables import ScoredContainer
    from api.web._pages_containers import MANIFEST_FIELDS

    batch = batch_public(service.get_batch(session, principal, batch_id))
    scored = session.scalars(
        select(ScoredContainer).where(
            ScoredContainer.batch_id == batch_id,
            ScoredContainer.unit_id == principal.unit_id,
            ScoredContainer.row_index == row_index,
        )
    ).first()
    row = flagged_public(scored) if scored is not None else None
    if row is None or not row.fields.get("awb_number"):
        raise ProblemException(
            404,
            _N("Air waybill not found"),
            f"batch {batch_id} has no flagged air waybill {row_index}",
        )
    manifest = [
        (k, row.fields[k]) for k in MANIFEST_FIELDS if row.fields.get(k) not in (None, "", [])
    ]
    dq = sorted(k.removeprefix("dq_") for k, v in row.fields.items() if k.startswith("dq_") and v)
    return render(
        request, "waybill.html", {"batch": batch, "row": row, "manifest": manifest, "dq": dq}
    )


@router.get("/{batch_id}/flagged.csv")
def flagged_csv(
    session: SessionDep,
    principal: WebViewer,
    batch_id: BatchId,
    lane: LaneQ = [],  # noqa: B006 - FastAPI copies defaults per request
    rule: TextQ = "",
    selected: Literal["", "yes", "no"] = "",
    port: TextQ = "",
    chapter: TextQ = "",
    sort: Sort = "-risk_score",
) -> Response:
    """The filtered flagged list as CSV (reasons joined with `` | ``)."""
    rows, _ = service.flagged(
        session,
        principal,
        batch_id,
        **_filters(lane, rule, selected, port, chapter),
        sort=sort,
        offset=0,
        limit=CSV_MAX_ROWS,
    )
    frame = pl.DataFrame(
        {
            "container_number": [r.container_number for r in rows],
            "bl_number": [r.bl_number for r in rows],
            "lane": [r.lane for r in rows],
            "risk_score": [r.risk_score for r in rows],
            "selected": [r.selected for r in rows],
            "selection_reason": [r.selection_reason for r in rows],
            "fields": [r.fields for r in rows],
            "reasons": [r.reasons for r in rows],
        },
        schema={
            "container_number": pl.String,
            "bl_number": pl.String,
            "lane": pl.String,
            "risk_score": pl.Float64,
            "selected": pl.Boolean,
            "selection_reason": pl.String,
            "fields": pl.String,
            "reasons": pl.String,
        },
    )
    frame = _expand_json(frame)
    buffer = io.BytesIO()
    frame.write_csv(buffer)
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="flagged-{batch_id}.csv"'},
    )


def _expand_json(frame: pl.DataFrame) -> pl.DataFrame:
    """Port, HS code and reason lists out of the index's JSON columns, by polars."""
    fields = pl.Struct(
        {"port_of_loading": pl.String, "hs_code": pl.String, "consignee_name": pl.String}
    )
    reasons = pl.Struct(
        {
            "rule_hits": pl.List(pl.String),
            "rule_reasons": pl.List(pl.String),
            "model_reasons": pl.List(pl.String),
        }
    )
    return frame.with_columns(
        pl.col("fields").str.json_decode(fields).alias("__f"),
        pl.col("reasons").str.json_decode(reasons).alias("__r"),
    ).select(
        "container_number",
        "bl_number",
        "lane",
        pl.col("risk_score").round(2),
        "selected",
        "selection_reason",
        pl.col("__f").struct.field("port_of_loading"),
        pl.col("__f").struct.field("hs_code"),
        pl.col("__f").struct.field("consignee_name"),
        *[
            pl.col("__r").struct.field(name).list.join(" | ").alias(name)
            for name in ("rule_hits", "rule_reasons", "model_reasons")
        ],
    )
