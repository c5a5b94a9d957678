"""``/v1/batches``: upload a manifest, follow its scoring, read flagged and quarantined rows."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException

from api.audit import Audit
from api.auth import Analyst, ReadSessionDep, SessionDep, Viewer
from api.i18n import _N
from api.problems import ProblemException
from api.schemas.batches import (
    BATCH_ID_PATTERN,
    BatchDetail,
    BatchPublic,
    BatchRowsCreate,
    BatchStatus,
    FlaggedContainer,
    Lane,
    QuarantinePage,
    batch_public,
    flagged_public,
)
from api.schemas.common import Page
from api.services import _engine
from api.services import batches as service
from api.state import State

router = APIRouter(prefix="/v1/batches", tags=["batches"])

Offset = Annotated[int, Query(ge=0, le=10_000_000)]
BatchId = Annotated[str, PathParam(min_length=1, max_length=40, pattern=BATCH_ID_PATTERN)]


def _limit(default: int = 50) -> Any:
    return Query(default, ge=1, le=500, description="page size")


class _UploadForm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    spec: str | None = Field(None, max_length=100)
    capacity: str | None = Field(None, max_length=20)
    seed: int | None = Field(None, ge=0, le=2**31 - 1)


UPLOAD_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {
                    "file": {
                        "type": "string",
                        "format": "binary",
                        "description": "the manifest: CSV, Parquet, Arrow IPC, NDJSON, "
                        "DCSA eBL JSON or UN/EDIFACT CUSCAR",
                    },
                    "spec": {"type": "string", "maxLength": 100},
                    "capacity": {"type": "string", "maxLength": 20, "examples": ["50", "2%"]},
                    "seed": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1},
                },
                "additionalProperties": False,
            }
        },
        "application/json": {"schema": {"$ref": "#/components/schemas/BatchRowsCreate"}},
    },
}


@router.post(
    "",
    status_code=201,
    response_model=BatchPublic,
    summary="Upload a manifest and score it",
    description="Multipart file upload (any ingest format) or JSON rows. Small batches are "
    "scored inline (201, status done); large ones are queued as a background job (202, status "
    "queued; poll `GET /v1/batches/{id}`).",
    responses={202: {"model": BatchPublic, "description": "Queued for background scoring"}},
    openapi_extra={"requestBody": UPLOAD_BODY},
)
async def create_batch(
    request: Request, state: State, session: SessionDep, principal: Analyst, audit: Audit
) -> JSONResponse:
    """Store the upload, then score it inline or queue it."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    batch_id = service.new_batch_id()
    if content_type == "application/json":
        body = await request.body()
        try:
            rows = BatchRowsCreate.model_validate_json(body or b"null")
        except ValidationError as err:
            raise RequestValidationError(_body_errors(err)) from err
        options = _UploadForm(spec=rows.spec, capacity=rows.capacity, seed=rows.seed)
        _check_options(options)
        upload = await run_in_threadpool(service.save_rows, state, batch_id, rows.rows)
    elif content_type == "multipart/form-data":
        options, file = await _read_form(request)
        _check_options(options)
        upload = await run_in_threadpool(
            service.save_file, state, batch_id, file.filename or "manifest", file.file
        )
    else:
        raise ProblemException(
            415,
            _N("Unsupported media type"),
            "send the manifest as multipart/form-data (field 'file') or as application/json "
            "({'rows': [...]})",
        )
    batch = await run_in_threadpool(
        service.create_batch,
        state,
        session,
        audit,
        principal,
        batch_id=batch_id,
        upload=upload,
        spec=options.spec,
        capacity=options.capacity,
        seed=options.seed,
    )
    status = 201 if batch.status == "done" else 202
    return JSONResponse(
        batch_public(batch).model_dump(mode="json"),
        status_code=status,
        headers={"Location": f"/v1/batches/{batch.id}"},
    )


def _body_errors(err: ValidationError) -> list[dict[str, Any]]:
    return [{"loc": ["body", *e["loc"]], "msg": e["msg"], "type": e["type"]} for e in err.errors()]


async def _read_form(request: Request) -> tuple[_UploadForm, UploadFile]:
    try:
        form = await request.form(max_files=1, max_fields=10)
    except MultiPartException as err:
        raise ProblemException(400, _N("Malformed multipart body"), str(err)) from err
    file = form.get("file")
    if not isinstance(file, UploadFile):
        raise RequestValidationError(
            [{"loc": ["body", "file"], "msg": "a manifest file is required", "type": "missing"}]
        )
    fields = {k: v for k, v in form.items() if k != "file"}
    try:
        options = _UploadForm.model_validate({k: v for k, v in fields.items() if v != ""})
    except ValidationError as err:
        raise RequestValidationError(_body_errors(err)) from err
    return options, file


def _check_options(options: _UploadForm) -> None:
    # Fail fast, before anything is stored, on options the engine would reject anyway.
    _engine.parse_capacity(options.capacity)
    _engine.resolve_spec(options.spec)


@router.get("", response_model=Page[BatchPublic], summary="List your unit's batches")
def list_batches(
    session: ReadSessionDep,
    principal: Viewer,
    status: BatchStatus | None = None,
    offset: Offset = 0,
    limit: int = _limit(),
) -> Page[BatchPublic]:
    """The unit's batches, newest first."""
    rows, total = service.list_batches(
        session, principal, status=status, offset=offset, limit=limit
    )
    return Page(data=[batch_public(b) for b in rows], count=total, offset=offset, limit=limit)


@router.get("/{batch_id}", response_model=BatchDetail, summary="A batch with its run record")
def get_batch(session: ReadSessionDep, principal: Viewer, batch_id: BatchId) -> BatchPublic:
    """Status, counts, progress and the engine's run record."""
    return batch_public(service.get_batch(session, principal, batch_id), detail=True)


@router.get(
    "/{batch_id}/flagged",
    response_model=Page[FlaggedContainer],
    summary="Flagged containers of a batch",
)
def list_flagged(
    session: ReadSessionDep,
    principal: Viewer,
    batch_id: BatchId,
    lane: Annotated[list[Lane] | None, Query(description="one or more lanes")] = None,
    rule: Annotated[
        str | None, Query(max_length=200, pattern=r"^[\w.:-]+$", description="rule id that hit")
    ] = None,
    selected: bool | None = None,
    min_score: Annotated[float | None, Query(ge=0, le=100)] = None,
    sort: Literal["-risk_score", "risk_score", "row_index", "container_number", "lane"] = (
        "-risk_score"
    ),
    offset: Offset = 0,
    limit: int = _limit(),
) -> Page[FlaggedContainer]:
    """Rows selected or in the red/yellow lane, with reasons; filter, sort and page."""
    rows, total = service.flagged(
        session,
        principal,
        batch_id,
        lanes=list(lane or []),
        rule=rule,
        selected=selected,
        min_score=min_score,
        sort=sort,
        offset=offset,
        limit=limit,
    )
    return Page(data=[flagged_public(r) for r in rows], count=total, offset=offset, limit=limit)


@router.get(
    "/{batch_id}/quarantine",
    response_model=QuarantinePage,
    summary="Rows of a batch that could not be read",
    responses={409: {"description": "The batch is not scored yet"}},
)
def list_quarantine(
    state: State,
    session: ReadSessionDep,
    principal: Viewer,
    batch_id: BatchId,
    offset: Offset = 0,
    limit: int = _limit(),
) -> QuarantinePage:
    """Each quarantined row with its reason and source line."""
    rows, total = service.quarantine(
        state, session, principal, batch_id, offset=offset, limit=limit
    )
    return QuarantinePage(data=rows, count=total, offset=offset, limit=limit)
