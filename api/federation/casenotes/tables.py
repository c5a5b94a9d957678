"""Case-note tables on the API's shared ``Base`` (migration ``f002``).

As for queries, each installation is one unit with its own database and every row carries
``unit_id`` (the local unit whose view it is), so reads are scoped like the rest of the store.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base, UTCDateTime, utcnow


class FedCaseNote(Base):
    """A case note as this unit sees it: sent by it (outbox) or received (inbox)."""

    __tablename__ = "fed_casenotes"
    __table_args__ = (Index("ix_fed_casenotes_unit_box", "unit_id", "box", "id"),)

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    unit_id: Mapped[str] = mapped_column(String(64))
    box: Mapped[str] = mapped_column(String(8))  # outbox | inbox
    origin_unit: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    finding_type: Mapped[str] = mapped_column(String(40))
    finding: Mapped[str] = mapped_column(Text)
    location: Mapped[str] = mapped_column(String(8))  # UN/LOCODE or IATA airport code
    location_name: Mapped[str] = mapped_column(String(200), default="")
    found_on: Mapped[date] = mapped_column(Date)
    mode: Mapped[str] = mapped_column(String(8))  # sea | air | rail | road
    route: Mapped[list[str]] = mapped_column(JSON)
    concealment: Mapped[str] = mapped_column(Text, default="")
    containers: Mapped[list[str]] = mapped_column(JSON)
    parties: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # as sent (masked)
    # The sending unit's own unmasked copy; never leaves the unit (None when received).
    parties_local: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)
    masking: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # what was masked, per party
    narrative: Mapped[str] = mapped_column(Text, default="")
    rule_file: Mapped[str | None] = mapped_column(String(120), nullable=True)
    rule_yaml: Mapped[str | None] = mapped_column(Text, nullable=True)
    rule_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    rule_ids: Mapped[list[str]] = mapped_column(JSON)
    # This unit's own check of the proposed rule (None when the note carries none).
    rule_valid: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    rule_diagnostics: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))  # summary of the recipients' states
    addressed_to: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FedCaseNoteRecipient(Base):
    """One recipient unit of a case note and its own state (and decision on the rule)."""

    __tablename__ = "fed_casenote_recipients"
    __table_args__ = (UniqueConstraint("casenote_id", "recipient_unit"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    casenote_id: Mapped[str] = mapped_column(
        ForeignKey("fed_casenotes.id", ondelete="CASCADE"), index=True
    )
    recipient_unit: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))  # sent | delivered | adopted | declined
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    decision_note: Mapped[str] = mapped_column(Text, default="")
    adopted_rules: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    # The pack version adoption created (receiving unit only).
    pack_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FedCaseNoteBacktest(Base):
    """One backtest of a received case note's rule on this unit's own history."""

    __tablename__ = "fed_casenote_backtests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    casenote_id: Mapped[str] = mapped_column(
        ForeignKey("fed_casenotes.id", ondelete="CASCADE"), index=True
    )
    unit_id: Mapped[str] = mapped_column(String(64))
    run_by: Mapped[str] = mapped_column(String(64))
    run_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    report: Mapped[dict[str, Any]] = mapped_column(JSON)
