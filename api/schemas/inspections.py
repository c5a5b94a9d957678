"""Inspection results recorded by analysts."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.batches import BATCH_ID_PATTERN, NO_NUL

CONTAINER_PATTERN = r"^[A-Za-z0-9 -]+$"
Outcome = Literal["seizure", "irregularity", "clean"]


class InspectionCreate(BaseModel):
    """What an inspection of a scored container found."""

    model_config = ConfigDict(extra="forbid")

    batch_id: str = Field(min_length=1, max_length=40, pattern=BATCH_ID_PATTERN)
    container_number: str = Field(min_length=1, max_length=40, pattern=CONTAINER_PATTERN)
    record_id: str | None = Field(
        default=None,
        max_length=200,
        pattern=NO_NUL,
        description="needed when the container is on several B/Ls",
    )
    outcome: Outcome
    finding_type: str | None = Field(
        default=None,
        max_length=40,
        pattern=r"^[a-z][a-z_]*$",
        description="drugs, precursors, weapons, counterfeit, wildlife, tobacco, revenue, ...",
    )
    notes: str = Field(default="", max_length=10_000, pattern=NO_NUL)
    inspected_at: datetime | None = Field(
        default=None,
        description="when the result was known (default: now); batches filed after it count "
        "it in their history features",
    )


class InspectionPublic(BaseModel):
    """A recorded inspection."""

    id: int
    batch_id: str
    record_id: str
    container_number: str
    outcome: Outcome
    finding_type: str | None
    notes: str
    inspected_at: datetime
    recorded_by: str
    recorded_at: datetime
