"""Everything known about one container number within the caller's unit."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from api.schemas.inspections import InspectionPublic


class Appearance(BaseModel):
    """One scored appearance of the container (one row of one batch)."""

    batch_id: str
    batch_created_at: datetime
    record_id: str
    bl_number: str | None
    lane: str | None
    risk_score: float | None
    rule_score: float | None
    model_probability: float | None
    selected: bool
    selection_reason: str | None
    flagged: bool
    rule_hits: list[str]
    rule_reasons: list[str]
    model_reasons: list[str] = Field(description="top model contributions in plain language")
    localised: dict[str, list[str]] = Field(
        default_factory=dict,
        description="the rule and model reasons in other languages, by column "
        "(rule_reasons_ru, model_reasons_ru)",
    )
    fields: dict[str, Any]
    inspections: list[InspectionPublic]


class ContainerDetail(BaseModel):
    """Every appearance of a container, newest first, with inspections and urgent queries."""

    container_number: str
    appearances: list[Appearance]
    queries: list[dict[str, Any]] = Field(
        default_factory=list, description="urgent queries about this container"
    )
