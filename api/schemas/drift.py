"""Drift of the scored traffic against the model's training window (``models.drift``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field


class DriftSummary(BaseModel):
    """The drift figures of one batch and the warnings the scoring policy's thresholds raise."""

    status: Literal["ok", "alarm", "too_few_rows", "no_rows"] = Field(
        description="alarm: at least one threshold crossed; too_few_rows: figures only"
    )
    rows: int
    max_psi: float | None = Field(None, description="largest population stability index")
    max_psi_feature: str | None = Field(None, description="the field with the largest PSI")
    score_psi: float | None = Field(None, description="PSI of the model score")
    score_above_reference_p90: float | None = Field(
        None, description="share of rows above the training scores' 90th percentile (0.10)"
    )
    unseen_share: float | None = Field(
        None, description="share of rows with a category never seen in training"
    )
    max_missing_increase: float | None = Field(
        None, description="largest rise of a field's missing share over training"
    )
    alarms: list[str] = Field(default_factory=list, description="the warnings, plain language")


class DriftPoint(BaseModel):
    """One finished batch's drift."""

    batch_id: str
    source_name: str
    finished_at: datetime | None
    drift: DriftSummary


class ModelDrift(BaseModel):
    """Drift of the unit's batches over the last ``days`` days, oldest first."""

    days: int
    batches: int
    batches_with_alarms: int
    latest: DriftPoint | None
    points: list[DriftPoint]


def drift_of(run_record: dict[str, Any] | None) -> DriftSummary | None:
    """The drift figures and warnings of one run record (None when it has none: scored
    without a model, or by a model whose card keeps no reference)."""
    drift = (run_record or {}).get("drift") or {}
    if not drift:
        return None
    return DriftSummary.model_validate(
        {k: drift[k] for k in DriftSummary.model_fields if k in drift}
    )
