"""The service's tables (SQLAlchemy 2 typed ORM). Every row that holds unit data carries
``unit_id`` so every query can be scoped to the caller's unit."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base, UTCDateTime, utcnow


class ApiKey(Base):
    """A per-unit API key; only the SHA-256 of the secret is stored."""

    __tablename__ = "api_keys"

    key_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    secret_sha256: Mapped[str] = mapped_column(String(64))
    unit_id: Mapped[str] = mapped_column(String(64), index=True)
    role: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    language: Mapped[str | None] = mapped_column(String(8), nullable=True)
    """Default language of the key's pages and API messages (``en``, ``ru``), or none."""


class Batch(Base):
    """One uploaded manifest and its scoring run; outputs live in ``data_dir/batches/<id>``."""

    __tablename__ = "batches"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    unit_id: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16))  # queued | running | done | failed
    mode: Mapped[str] = mapped_column(String(16))  # inline | background
    source_name: Mapped[str] = mapped_column(String(300))
    source_bytes: Mapped[int] = mapped_column(Integer)
    spec_name: Mapped[str | None] = mapped_column(String(100), nullable=True)
    capacity: Mapped[str | None] = mapped_column(String(20), nullable=True)
    seed: Mapped[int] = mapped_column(Integer, default=0)
    rule_pack_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    progress_stage: Mapped[str | None] = mapped_column(String(40), nullable=True)
    progress_rows: Mapped[int] = mapped_column(Integer, default=0)
    rows_in: Mapped[int | None] = mapped_column(Integer, nullable=True)
    rows_scored: Mapped[int | None] = mapped_column(Integer, nullable=True)
    rows_quarantined: Mapped[int | None] = mapped_column(Integer, nullable=True)
    rows_flagged: Mapped[int | None] = mapped_column(Integer, nullable=True)
    rows_selected: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    run_record: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ScoredContainer(Base):
    """One scored row of a batch: the index behind flagged lists and container look-ups."""

    __tablename__ = "scored_containers"
    __table_args__ = (
        Index("ix_scored_batch_flagged_risk", "batch_id", "flagged", "risk_score"),
        Index("ix_scored_unit_container", "unit_id", "container_number"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    batch_id: Mapped[str] = mapped_column(ForeignKey("batches.id", ondelete="CASCADE"))
    unit_id: Mapped[str] = mapped_column(String(64))
    record_id: Mapped[str] = mapped_column(String(200))
    row_index: Mapped[int] = mapped_column(Integer)
    source_line: Mapped[int | None] = mapped_column(Integer, nullable=True)
    container_number: Mapped[str | None] = mapped_column(String(40), nullable=True)
    bl_number: Mapped[str | None] = mapped_column(String(80), nullable=True)
    lane: Mapped[str | None] = mapped_column(String(16), nullable=True)
    risk_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    rule_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    model_probability: Mapped[float | None] = mapped_column(Float, nullable=True)
    selected: Mapped[bool] = mapped_column(Boolean, default=False)
    selection_reason: Mapped[str | None] = mapped_column(String(20), nullable=True)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    # JSON text encoded by polars while indexing (no per-row Python): rule_hits,
    # rule_reasons, rule_shadow_hits, model_reasons; and, for flagged rows, the manifest
    # fields an analyst needs to read the row.
    reasons: Mapped[str] = mapped_column(Text, default="{}")
    fields: Mapped[str] = mapped_column(Text, default="{}")


class RuleHit(Base):
    """One active rule hitting one scored row; per-rule statistics group these."""

    __tablename__ = "rule_hits"
    __table_args__ = (Index("ix_rule_hits_unit_rule", "unit_id", "rule_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    scored_id: Mapped[int] = mapped_column(
        ForeignKey("scored_containers.id", ondelete="CASCADE"), index=True
    )
    batch_id: Mapped[str] = mapped_column(ForeignKey("batches.id", ondelete="CASCADE"))
    unit_id: Mapped[str] = mapped_column(String(64))
    rule_id: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Inspection(Base):
    """A recorded physical inspection result of one scored row."""

    __tablename__ = "inspections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    unit_id: Mapped[str] = mapped_column(String(64), index=True)
    batch_id: Mapped[str] = mapped_column(ForeignKey("batches.id", ondelete="CASCADE"))
    scored_id: Mapped[int] = mapped_column(
        ForeignKey("scored_containers.id", ondelete="CASCADE"), index=True
    )
    container_number: Mapped[str] = mapped_column(String(40), index=True)
    outcome: Mapped[str] = mapped_column(String(20))  # seizure | irregularity | clean
    finding_type: Mapped[str | None] = mapped_column(String(40), nullable=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    inspected_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_by: Mapped[str] = mapped_column(String(32))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RulePack(Base):
    """An uploaded rule pack, stored on disk by content hash; one may be active per unit."""

    __tablename__ = "rule_packs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    unit_id: Mapped[str] = mapped_column(String(64), index=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    files: Mapped[list[str]] = mapped_column(JSON, default=list)
    rule_count: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    uploaded_by: Mapped[str] = mapped_column(String(32))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class AuditEvent(Base):
    """Append-only record of every write: who, when, what, from where.

    UPDATE and DELETE are refused by database triggers (see the initial migration).
    """

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    unit_id: Mapped[str] = mapped_column(String(64), index=True)
    actor: Mapped[str] = mapped_column(String(64))  # key id, or "cli:<user>"
    role: Mapped[str | None] = mapped_column(String(32), nullable=True)
    action: Mapped[str] = mapped_column(String(64))  # e.g. batch.create, key.revoke
    target: Mapped[str] = mapped_column(String(200))
    client: Mapped[str | None] = mapped_column(String(100), nullable=True)
    request_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
