"""Request, response and wire models of case notes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.federation.schemas import Address, Box

FindingType = Literal[
    "drugs",
    "precursors",
    "weapons",
    "counterfeit",
    "wildlife",
    "tobacco",
    "revenue",
    "currency",
    "other",
]
Mode = Literal["sea", "air", "rail", "road"]
PartyRole = Literal["shipper", "consignee", "notify", "forwarder", "carrier", "declarant", "other"]
CaseNoteState = Literal["sent", "delivered", "adopted", "declined"]
CaseNoteStatus = Literal["sent", "delivered", "decided"]
Decision = Literal["adopted", "declined"]
PLACE_PATTERN = r"^([A-Z]{2}[A-Z2-9]{3}|[A-Z]{3})$"
Place = Annotated[
    str, Field(min_length=3, max_length=5, pattern=PLACE_PATTERN, examples=["ECGYE", "TAS"])
]
"""A UN/LOCODE (``ECGYE``) or an IATA airport code (``TAS``)."""
NoNulText = r"^[^\x00]*$"


class PartyIn(BaseModel):
    """A party of the case; ``mask`` replaces name and address by a keyed token before
    the note is signed (the sending unit keeps its own unmasked copy)."""

    model_config = ConfigDict(extra="forbid")

    role: PartyRole
    name: str = Field(min_length=1, max_length=200, pattern=NoNulText)
    country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$", description="ISO 3166")
    address: str = Field(default="", max_length=500, pattern=NoNulText)
    mask: bool = Field(default=False, description="send a keyed token instead of the name")


class PartyPublic(BaseModel):
    """A party as carried by the note (masked ones show their token)."""

    model_config = ConfigDict(extra="forbid")

    role: str = Field(max_length=20)
    name: str = Field(max_length=200)
    country: str | None = Field(default=None, max_length=2)
    address: str = Field(default="", max_length=500)
    masked: bool = False


class RuleProposal(BaseModel):
    """A proposed rule: YAML text of one or more rules with the lists and macros they use."""

    model_config = ConfigDict(extra="forbid")

    file: str = Field(
        default="proposed-rule.yaml",
        max_length=120,
        pattern=r"^[\w.-]+\.ya?ml$",
        description="file name used in diagnostics",
    )
    yaml: str = Field(min_length=1, max_length=64 * 1024, pattern=NoNulText)


class CaseNoteCreate(BaseModel):
    """Share what was found, how it was hidden and a rule that would have flagged it."""

    model_config = ConfigDict(extra="forbid")

    to: list[Address] = Field(
        min_length=1,
        max_length=20,
        description="unit ids and group names (e.g. IREN, all-trusted)",
    )
    title: str = Field(min_length=1, max_length=200, pattern=NoNulText)
    finding_type: FindingType
    finding: str = Field(
        min_length=1, max_length=2000, pattern=NoNulText, description="what was found, how much"
    )
    location: Place = Field(description="where it was found (UN/LOCODE or IATA code)")
    location_name: str = Field(default="", max_length=200, pattern=NoNulText)
    found_on: date
    mode: Mode = "sea"
    route: list[Place] = Field(default_factory=list, max_length=20, description="in order")
    concealment: str = Field(default="", max_length=5000, pattern=NoNulText)
    containers: list[
        Annotated[str, Field(min_length=4, max_length=20, pattern=r"^[A-Za-z0-9 -]+$")]
    ] = Field(default_factory=list, max_length=50)
    parties: list[PartyIn] = Field(default_factory=list, max_length=20)
    narrative: str = Field(default="", max_length=20_000, pattern=NoNulText)
    rule: RuleProposal | None = None


class DiagnosticItem(BaseModel):
    """One problem of a proposed rule, at ``file:line:col``."""

    file: str
    line: int
    col: int
    severity: Literal["error", "warning"]
    message: str
    hint: str | None = None
    rendered: str


class CaseNoteRecipient(BaseModel):
    """One recipient unit, its state and its decision on the proposed rule."""

    unit_id: str
    state: CaseNoteState
    delivered_at: datetime | None = None
    decided_at: datetime | None = None
    decided_by: str | None = None
    decision_note: str = ""
    adopted_rules: list[str] | None = None
    pack_id: int | None = Field(default=None, description="pack version made by adoption")
    pending: int = Field(default=0, description="sending unit: messages not yet receipted")
    last_error: str | None = None


class CaseNoteSummary(BaseModel):
    """A case note in a list."""

    id: str
    box: Box
    origin_unit: str
    title: str
    finding_type: str
    location: str
    found_on: date
    mode: str
    status: CaseNoteStatus
    has_rule: bool
    rule_valid: bool | None
    addressed_to: list[str] = Field(default_factory=list)
    created_at: datetime
    recipients: list[CaseNoteRecipient]


class BacktestRun(BaseModel):
    """A backtest of the note's rule on this unit's history."""

    id: int
    run_by: str
    run_at: datetime
    report: dict[str, Any]


class CaseNotePublic(CaseNoteSummary):
    """A case note with everything it carries and what this unit did with it."""

    finding: str
    location_name: str
    route: list[str]
    concealment: str
    containers: list[str]
    parties: list[PartyPublic]
    parties_local: list[PartyPublic] | None = Field(
        default=None, description="sending unit only: the unmasked parties"
    )
    masking: list[dict[str, Any]]
    narrative: str
    rule_file: str | None
    rule_yaml: str | None
    rule_sha256: str | None
    rule_ids: list[str]
    rule_diagnostics: list[DiagnosticItem]
    created_by: str
    updated_at: datetime
    backtests: list[BacktestRun]


class CaseNotePage(BaseModel):
    """One page of case notes."""

    data: list[CaseNoteSummary]
    count: int
    offset: int
    limit: int


class DecisionBody(BaseModel):
    """Adopt (in shadow) or decline the note's proposed rule, with an optional note."""

    model_config = ConfigDict(extra="forbid")

    note: str = Field(default="", max_length=10_000, pattern=NoNulText)


# ---------------------------------------------------------------- the wire


class WireRule(BaseModel):
    """The proposed rule as it travels."""

    model_config = ConfigDict(extra="forbid")

    file: str = Field(max_length=120, pattern=r"^[\w.-]+\.ya?ml$")
    yaml: str = Field(max_length=64 * 1024)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class WireCaseNote(BaseModel):
    """The case note as carried in a ``casenote`` envelope (parties already masked)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(max_length=80)
    origin_unit: str = Field(max_length=64)
    recipients: list[str] = Field(min_length=1, max_length=20)
    title: str = Field(max_length=200)
    finding_type: str = Field(max_length=40, pattern=r"^[a-z][a-z_]*$")
    finding: str = Field(max_length=2000)
    location: str = Field(max_length=8)
    location_name: str = Field(max_length=200)
    found_on: date
    mode: str = Field(max_length=8)
    route: list[str] = Field(max_length=20)
    concealment: str = Field(max_length=5000)
    containers: list[str] = Field(max_length=50)
    parties: list[PartyPublic] = Field(max_length=20)
    masking: list[dict[str, Any]] = Field(max_length=20)
    narrative: str = Field(max_length=20_000)
    rule: WireRule | None = None
    created_at: datetime
    created_by: str = Field(max_length=64)


class WireCaseNotePayload(BaseModel):
    """Payload of a ``casenote`` envelope; its message id is the case note id."""

    model_config = ConfigDict(extra="forbid")

    casenote: WireCaseNote


class WireDecisionPayload(BaseModel):
    """Payload of a ``decision`` envelope: a recipient adopted or declined the rule."""

    model_config = ConfigDict(extra="forbid")

    casenote_id: str = Field(max_length=80)
    message_id: str = Field(max_length=80)
    decision: Decision
    decided_by: str = Field(max_length=64)
    decided_at: datetime
    note: str = Field(max_length=10_000)
    rule_ids: list[str] = Field(max_length=20)
