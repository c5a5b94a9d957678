"""Batch upload and scoring results."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from api.schemas.drift import DriftSummary, drift_of
from engine.i18n import LOCALES

BATCH_ID_PATTERN = r"^[0-9A-Za-z-]+$"
NO_NUL = r"^[^\x00]*$"  # PostgreSQL text cannot hold NUL characters
Scalar = str | int | float | bool | None
Value = Scalar
FieldName = Annotated[
    str, StringConstraints(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f]+$")
]
BatchStatus = Literal["queued", "running", "done", "failed"]
Lane = Literal["red", "yellow", "green"]


class BatchRowsCreate(BaseModel):
    """A manifest sent as JSON rows (canonical field names, or per the named spec)."""

    model_config = ConfigDict(extra="forbid")

    rows: list[dict[FieldName, Value | list[Scalar]]] = Field(
        min_length=1,
        description="one flat object per container row; values are text, numbers, booleans "
        "or null, lists for list fields (seals, transshipment_ports)",
    )
    # The limits of the multipart form's fields (api/routers/batches.py), so that either
    # door refuses the same values with a 422 naming the field.
    spec: str | None = Field(
        default=None, max_length=100, description="name of a shipped dataset spec"
    )
    capacity: str | None = Field(
        None, max_length=20, description="inspection capacity: a count ('50') or a share ('2%')"
    )
    seed: int | None = Field(
        default=None, ge=0, le=2**31 - 1, description="seed of the control sample"
    )
    name: str | None = Field(
        default=None, max_length=200, pattern=NO_NUL, description="a label for the batch"
    )


class BatchCounts(BaseModel):
    """Row accounting of a run: rows_in = rows_scored + rows_quarantined."""

    rows_in: int | None = None
    rows_scored: int | None = None
    rows_quarantined: int | None = None
    rows_flagged: int | None = None
    rows_selected: int | None = None


class BatchProgress(BaseModel):
    """Where a background run is."""

    stage: str | None = None
    rows: int = Field(default=0, ge=0, description="rows scored so far")


class BatchError(BaseModel):
    """Why a batch failed, in the same terms as a problem document."""

    title: str
    detail: str
    location: dict[str, Any] | None = None
    hint: str | None = None


class BatchPublic(BaseModel):
    """A batch without its run record."""

    id: str
    unit_id: str
    status: BatchStatus
    mode: Literal["inline", "background"]
    source_name: str
    source_bytes: int
    spec: str | None
    capacity: str | None
    seed: int
    counts: BatchCounts
    progress: BatchProgress
    error: BatchError | None
    created_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class BatchDetail(BatchPublic):
    """A batch with its engine run record (input hash, rule-pack and model hashes, timings)
    and its drift against the model's training window, with the warnings it raised."""

    run_record: dict[str, Any] | None
    drift: DriftSummary | None = None


class FlaggedContainer(BaseModel):
    """One flagged row of a batch with why it was flagged."""

    record_id: str
    row_index: int
    source_line: int | None
    container_number: str | None
    bl_number: str | None
    lane: str | None
    risk_score: float | None
    rule_score: float | None
    model_probability: float | None
    selected: bool
    selection_reason: str | None
    rule_hits: list[str]
    rule_reasons: list[str]
    model_reasons: list[str]
    localised: dict[str, list[str]] = Field(
        default_factory=dict,
        description="the rule and model reasons in other languages, by column "
        "(rule_reasons_ru, model_reasons_ru)",
    )
    fields: dict[str, Any] = Field(description="manifest fields and data-quality flags")


def localised_reasons(reasons: dict[str, Any]) -> dict[str, list[str]]:
    """The ``*_reasons_<locale>`` lists of an index row's reasons."""
    return {
        name: list(value or [])
        for name, value in reasons.items()
        if name.endswith(tuple(f"_reasons_{loc}" for loc in LOCALES[1:]))
    }


class QuarantinePage(BaseModel):
    """Rows that could not be read, with the reason and source line."""

    data: list[dict[str, Any]]
    count: int
    offset: int
    limit: int


def batch_public(batch: Any, *, detail: bool = False) -> BatchPublic:
    """The API view of a ``Batch`` row."""
    data = {
        "id": batch.id,
        "unit_id": batch.unit_id,
        "status": batch.status,
        "mode": batch.mode,
        "source_name": batch.source_name,
        "source_bytes": batch.source_bytes,
        "spec": batch.spec_name,
        "capacity": batch.capacity,
        "seed": batch.seed,
        "counts": BatchCounts(
            rows_in=batch.rows_in,
            rows_scored=batch.rows_scored,
            rows_quarantined=batch.rows_quarantined,
            rows_flagged=batch.rows_flagged,
            rows_selected=batch.rows_selected,
        ),
        "progress": BatchProgress(stage=batch.progress_stage, rows=batch.progress_rows),
        "error": BatchError.model_validate(batch.error) if batch.error else None,
        "created_by": batch.created_by,
        "created_at": batch.created_at,
        "started_at": batch.started_at,
        "finished_at": batch.finished_at,
    }
    if detail:
        return BatchDetail(**data, run_record=batch.run_record, drift=drift_of(batch.run_record))
    return BatchPublic(**data)


def flagged_public(row: Any) -> FlaggedContainer:
    """The API view of a ``ScoredContainer`` row."""
    reasons = json.loads(row.reasons)
    return FlaggedContainer(
        record_id=row.record_id,
        row_index=row.row_index,
        source_line=row.source_line,
        container_number=row.container_number,
        bl_number=row.bl_number,
        lane=row.lane,
        risk_score=row.risk_score,
        rule_score=row.rule_score,
        model_probability=row.model_probability,
        selected=row.selected,
        selection_reason=row.selection_reason,
        rule_hits=reasons.get("rule_hits") or [],
        rule_reasons=reasons.get("rule_reasons") or [],
        model_reasons=reasons.get("model_reasons") or [],
        localised=localised_reasons(reasons),
        fields=json.loads(row.fields),
    )
