"""Inspection results recorded by analysts."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.schemas.batches import BATCH_ID_PATTERN, NO_NUL

CONTAINER_PATTERN = r"^[A-Za-z0-9 -]+$"
AWB_PATTERN = r"^[0-9 -]+$"
Outcome = Literal["seizure", "irregularity", "clean"]


class InspectionCreate(BaseModel):
    """What an inspection of a scored container, or of an air waybill, found."""

    model_config = ConfigDict(extra="forbid")

    batch_id: str = Field(min_length=1, max_length=40, pattern=BATCH_ID_PATTERN)
    container_number: str | None = Field(
        default=None,
        min_length=1,
        max_length=40,
        pattern=CONTAINER_PATTERN,
        description="the container inspected (or give awb_number for an air waybill)",
    )
    awb_number: str | None = Field(
        default=None,
        min_length=1,
        max_length=20,
        pattern=AWB_PATTERN,
        description="the master air waybill inspected, e.g. 176-12345675",
    )
    house_awb_number: str | None = Field(
        default=None,
        min_length=1,
        max_length=27,
        pattern=CONTAINER_PATTERN,
        description="the house air waybill under that master, when the row is a house",
    )
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

    @model_validator(mode="after")
    def _one_identity(self) -> InspectionCreate:
        if (self.container_number is None) == (self.awb_number is None):
            raise ValueError("give container_number, or awb_number for an air waybill (not both)")
        if self.house_awb_number is not None and self.awb_number is None:
            raise ValueError("house_awb_number needs the awb_number of its master")
        return self


class InspectionPublic(BaseModel):
    """A recorded inspection."""

    id: int
    batch_id: str
    record_id: str
    container_number: str | None
    awb_number: str | None = None
    house_awb_number: str | None = None
    outcome: Outcome
    finding_type: str | None
    notes: str
    inspected_at: datetime
    recorded_by: str
    recorded_at: datetime
