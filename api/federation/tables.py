"""Federation tables on the API's shared ``Base`` (migration ``f001``).

Each installation is one unit with its own database; rows still carry ``unit_id`` (the local
unit whose view they are) so every read is scoped like the rest of the API's store.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base, UTCDateTime, utcnow


class FedQuery(Base):
    """A query as this unit sees it: sent by it (outbox) or received (inbox)."""

    __tablename__ = "fed_queries"
    __table_args__ = (Index("ix_fed_queries_unit_box", "unit_id", "box", "id"),)

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    unit_id: Mapped[str] = mapped_column(String(64))
    box: Mapped[str] = mapped_column(String(8))  # outbox | inbox
    origin_unit: Mapped[str] = mapped_column(String(64))
    priority: Mapped[str] = mapped_column(String(10))  # urgent | routine
    subject: Mapped[dict[str, Any]] = mapped_column(JSON)
    question: Mapped[str] = mapped_column(Text)
    explanation: Mapped[dict[str, Any]] = mapped_column(JSON)
    deadline_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16))  # summary of the recipients' states
    # What the officer addressed (unit ids and group names such as IREN); sending unit only.
    addressed_to: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FedSubject(Base):
    """One subject item of a query (container, B/L or batch), for look-ups by number."""

    __tablename__ = "fed_subjects"
    __table_args__ = (Index("ix_fed_subjects_unit_value", "unit_id", "kind", "value"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    query_id: Mapped[str] = mapped_column(ForeignKey("fed_queries.id", ondelete="CASCADE"))
    unit_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(12))  # container | bl | batch
    value: Mapped[str] = mapped_column(String(120))


class FedRecipient(Base):
    """One recipient unit of a query and its own state."""

    __tablename__ = "fed_recipients"
    __table_args__ = (UniqueConstraint("query_id", "recipient_unit"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    query_id: Mapped[str] = mapped_column(
        ForeignKey("fed_queries.id", ondelete="CASCADE"), index=True
    )
    recipient_unit: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FedMessage(Base):
    """One message of a query's thread (the query itself, acks, replies, follow-ups...)."""

    __tablename__ = "fed_messages"
    __table_args__ = (Index("ix_fed_messages_query", "query_id", "id"),)

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    query_id: Mapped[str] = mapped_column(ForeignKey("fed_queries.id", ondelete="CASCADE"))
    unit_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(10))
    author_unit: Mapped[str] = mapped_column(String(64))
    author: Mapped[str] = mapped_column(String(64))  # key id at the author's unit
    to_units: Mapped[list[str]] = mapped_column(JSON)
    body: Mapped[str] = mapped_column(Text, default="")
    in_reply_to: Mapped[str | None] = mapped_column(String(80), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FedOutbox(Base):
    """A message waiting for (or done with) delivery to one partner: the transactional outbox.

    Rows are written in the same transaction as the change they announce, and only the
    worker sends them, so a crash never loses a message nor sends one not committed.
    ``query_id`` is the thread the message belongs to: a query, or a case note.
    """

    __tablename__ = "fed_outbox"
    __table_args__ = (
        UniqueConstraint("message_id", "recipient_unit"),
        Index("ix_fed_outbox_due", "unit_id", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    unit_id: Mapped[str] = mapped_column(String(64))
    message_id: Mapped[str] = mapped_column(String(80))
    query_id: Mapped[str] = mapped_column(String(80), index=True)
    recipient_unit: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(10))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(10))  # pending | delivered
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    receipt: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class FedInbox(Base):
    """A message this unit accepted, once per message id (exactly-once effect)."""

    __tablename__ = "fed_inbox"
    __table_args__ = (UniqueConstraint("unit_id", "message_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    unit_id: Mapped[str] = mapped_column(String(64))
    message_id: Mapped[str] = mapped_column(String(80))
    sender_unit: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(10))
    query_id: Mapped[str] = mapped_column(String(80))
    payload_sha256: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deliveries: Mapped[int] = mapped_column(Integer, default=1)


class FedSeenSignature(Base):
    """Every envelope signature this unit accepted: a second arrival of one is a replay."""

    __tablename__ = "fed_seen_signatures"
    __table_args__ = (UniqueConstraint("unit_id", "signature_sha256"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    unit_id: Mapped[str] = mapped_column(String(64))
    signature_sha256: Mapped[str] = mapped_column(String(64))
    message_id: Mapped[str] = mapped_column(String(80))
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
