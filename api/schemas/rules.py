"""Rule packs, diagnostics and per-rule statistics."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.batches import BATCH_ID_PATTERN

FileName = str
BatchIdItem = Annotated[str, Field(min_length=1, max_length=40, pattern=BATCH_ID_PATTERN)]


class RulePackFiles(BaseModel):
    """A rule pack as text: file name -> YAML content."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="uploaded", min_length=1, max_length=200, pattern=r"^[\w .-]+$")
    files: dict[FileName, str] = Field(
        min_length=1, max_length=200, description="e.g. {'rules.yaml': 'kind: rule ...'}"
    )


class DiagnosticPublic(BaseModel):
    """One problem in a pack, at file:line:col, as `lookout rules check` prints it."""

    file: str
    line: int
    col: int
    severity: Literal["error", "warning"]
    message: str
    hint: str | None
    rendered: str = Field(description="compiler-style text with the source line and a caret")


class ValidationReport(BaseModel):
    """The result of checking a pack: valid when there is no error (warnings allowed)."""

    valid: bool
    errors: int
    warnings: int
    rule_count: int
    diagnostics: list[DiagnosticPublic]


class RuleStats(BaseModel):
    """How a rule performed on this unit's scored batches and recorded inspections."""

    hits: int = Field(description="rows it hit, all time")
    hits_30d: int
    hits_90d: int
    inspected: int = Field(description="rows it hit that were inspected")
    positives: int = Field(description="inspected rows with a seizure or irregularity")
    hit_rate: float | None = Field(description="positives / inspected")


class RulePublic(BaseModel):
    """A rule of the active pack with its statistics."""

    id: str
    title: str
    titles: dict[str, str] = Field(
        default_factory=dict,
        description="the title in the other languages the rule gives: {'ru': ...}",
    )
    status: str
    severity: str
    weight: float
    owner: str
    version: str
    stats: RuleStats
    provenance: dict[str, str] | None = Field(
        default=None,
        description="for a rule adopted from a partner's case note: source_unit, case_note, "
        "adopted_by, adopted_at",
    )


class RulePackPublic(BaseModel):
    """A rule pack version known to the unit."""

    id: int | None = Field(description="null for the shipped pack")
    name: str
    content_hash: str
    files: list[str]
    rule_count: int
    active: bool
    uploaded_by: str | None
    uploaded_at: datetime | None
    activated_at: datetime | None


class RulesOverview(BaseModel):
    """The active pack, its rules with statistics, and every uploaded version."""

    active: RulePackPublic
    rules: list[RulePublic]
    versions: list[RulePackPublic]


class BacktestRequest(BaseModel):
    """Run a pack (default: the active one) over the unit's scored, inspected history."""

    model_config = ConfigDict(extra="forbid")

    pack: RulePackFiles | None = None
    batch_ids: list[BatchIdItem] | None = Field(
        None, max_length=1000, description="default: every scored batch of the unit"
    )


class BacktestReport(BaseModel):
    """Per-rule hit count, hit rate, precision against inspections, and overlap."""

    rows: int
    inspected: int
    positives: int
    rules: list[dict[str, Any]] = Field(
        description="per rule: hits, hit_rate, inspected_hits, positives, precision, lift, "
        "recall, top_overlap"
    )
    totals: dict[str, Any]
    overlap: dict[str, dict[str, int]] = Field(
        default_factory=dict, description="rows hit by both rules, by rule id pair"
    )
    skipped: list[dict[str, Any]] = Field(
        default_factory=list, description="rules the history has no fields for"
    )
    notes: list[str] = Field(default_factory=list)
