"""Request, response and wire models of urgent queries."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Priority = Literal["urgent", "routine"]
Box = Literal["inbox", "outbox"]
Address = Annotated[str, Field(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
"""A unit id (``KZ-ALA-PCU``) or a group name of the partner directory (``IREN``)."""
StateName = Literal[
    "sent", "delivered", "acknowledged", "answered", "closed", "expired", "cancelled"
]


class Subject(BaseModel):
    """What the query is about."""

    model_config = ConfigDict(extra="forbid")

    containers: list[str] = Field(default_factory=list, max_length=100)
    bl_numbers: list[str] = Field(default_factory=list, max_length=100)
    batch_ref: str | None = Field(default=None, max_length=120)


class QueryCreate(BaseModel):
    """Open a query. Give ``batch_id`` + ``container_number`` to fill the subject and the
    risk explanation from that batch's flagged rows in one call."""

    model_config = ConfigDict(extra="forbid")

    to: list[Address] = Field(
        min_length=1,
        max_length=20,
        description="recipient unit ids and group names (e.g. IREN, or all-trusted for every "
        "partner); each group expands to its members, each with its own state",
    )
    question: str = Field(min_length=1, max_length=10_000)
    priority: Priority = "urgent"
    subject: Subject | None = None
    explanation: dict[str, Any] | None = Field(
        default=None, description="risk explanation, when not taken from a batch"
    )
    batch_id: str | None = Field(default=None, max_length=40)
    container_number: str | None = Field(default=None, max_length=40)


class NoteBody(BaseModel):
    """An optional note with a state change."""

    model_config = ConfigDict(extra="forbid")

    note: str = Field(default="", max_length=10_000)


class ReplyBody(BaseModel):
    """An answer (from a recipient) or a follow-up (from the sending unit)."""

    model_config = ConfigDict(extra="forbid")

    body: str = Field(min_length=1, max_length=50_000)
    in_reply_to: str | None = Field(default=None, max_length=80)


class Delivery(BaseModel):
    """Outbox state towards one recipient."""

    pending: int = Field(description="messages not yet acknowledged by a signed receipt")
    attempts: int = Field(description="attempts on the oldest pending message")
    next_attempt_at: datetime | None = None
    last_error: str | None = None


class RecipientPublic(BaseModel):
    """One recipient unit and its state."""

    unit_id: str
    state: StateName
    delivered_at: datetime | None = None
    acknowledged_at: datetime | None = None
    answered_at: datetime | None = None
    closed_at: datetime | None = None
    delivery: Delivery | None = Field(default=None, description="sending unit only")


class MessagePublic(BaseModel):
    """One message of the thread."""

    id: str
    kind: Literal["query", "ack", "reply", "followup", "close", "cancel"]
    author_unit: str
    author: str
    to: list[str]
    body: str
    in_reply_to: str | None = None
    created_at: datetime


class QuerySummary(BaseModel):
    """A query in a list."""

    id: str
    box: Box
    origin_unit: str
    priority: Priority
    subject: Subject
    status: StateName
    addressed_to: list[str] = Field(
        default_factory=list,
        description="what the sender addressed (unit ids, group names); sending unit only",
    )
    overdue: bool = Field(description="deadline passed and no answer from some recipient")
    deadline_at: datetime
    created_at: datetime
    recipients: list[RecipientPublic]


class QueryPublic(QuerySummary):
    """A query with its question, explanation and thread."""

    question: str
    explanation: dict[str, Any]
    created_by: str
    updated_at: datetime
    thread: list[MessagePublic]


class QueryPage(BaseModel):
    """One page of queries."""

    data: list[QuerySummary]
    count: int
    offset: int
    limit: int


class PartnerPublic(BaseModel):
    """A unit's public directory entry."""

    unit_id: str
    country: str
    name: str
    base_url: str
    public_key: str


class GroupPublic(BaseModel):
    """A group address and the partner units it expands to."""

    name: str
    members: list[str]


class UnitPublic(BaseModel):
    """This unit, its partners (public facts only) and its group addresses."""

    unit: PartnerPublic
    partners: list[PartnerPublic]
    groups: list[GroupPublic] = Field(default_factory=list)


class Receipt(BaseModel):
    """The receiver's signed receipt for an envelope."""

    message_id: str
    sender: str
    recipient: str
    payload_sha256: str
    status: Literal["accepted", "duplicate"]
    received_at: str
    signature: str


class WireQuery(BaseModel):
    """The query as carried in a ``query`` envelope."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(max_length=80)
    origin_unit: str = Field(max_length=64)
    recipients: list[str] = Field(min_length=1, max_length=20)
    priority: Priority
    subject: Subject
    question: str = Field(max_length=10_000)
    explanation: dict[str, Any]
    deadline_at: datetime
    created_at: datetime
    created_by: str = Field(max_length=64)


class WireMessage(BaseModel):
    """A thread message as carried in any envelope."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(max_length=80)
    kind: Literal["query", "ack", "reply", "followup", "close", "cancel"]
    author_unit: str = Field(max_length=64)
    author: str = Field(max_length=64)
    to: list[str]
    body: str = Field(max_length=50_000)
    in_reply_to: str | None = None
    created_at: datetime


class WirePayload(BaseModel):
    """Every envelope payload: the query id, the message, and for ``query`` the query."""

    model_config = ConfigDict(extra="forbid")

    query_id: str = Field(max_length=80)
    message: WireMessage
    query: WireQuery | None = None
