"""Initial store: API keys, batches, scored rows, rule hits, inspections, rule packs, audit.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the tables and the append-only guard on the audit log."""
    op.create_table(
        "api_keys",
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("secret_sha256", sa.String(64), nullable=False),
        sa.Column("unit_id", sa.String(64), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("revoked_at", TS, nullable=True),
        sa.Column("last_used_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_api_keys")),
    )
    op.create_index(op.f("ix_api_keys_unit_id"), "api_keys", ["unit_id"])

    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("unit_id", sa.String(64), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("role", sa.String(32), nullable=True),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target", sa.String(200), nullable=False),
        sa.Column("client", sa.String(100), nullable=True),
        sa.Column("request_id", sa.String(64), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    op.create_index(op.f("ix_audit_events_at"), "audit_events", ["at"])
    op.create_index(op.f("ix_audit_events_unit_id"), "audit_events", ["unit_id"])

    op.create_table(
        "batches",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("unit_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("source_name", sa.String(300), nullable=False),
        sa.Column("source_bytes", sa.Integer(), nullable=False),
        sa.Column("spec_name", sa.String(100), nullable=True),
        sa.Column("capacity", sa.String(20), nullable=True),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("rule_pack_id", sa.String(64), nullable=True),
        sa.Column("progress_stage", sa.String(40), nullable=True),
        sa.Column("progress_rows", sa.Integer(), nullable=False),
        sa.Column("rows_in", sa.Integer(), nullable=True),
        sa.Column("rows_scored", sa.Integer(), nullable=True),
        sa.Column("rows_quarantined", sa.Integer(), nullable=True),
        sa.Column("rows_flagged", sa.Integer(), nullable=True),
        sa.Column("rows_selected", sa.Integer(), nullable=True),
        sa.Column("error", sa.JSON(), nullable=True),
        sa.Column("run_record", sa.JSON(), nullable=True),
        sa.Column("created_by", sa.String(32), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("started_at", TS, nullable=True),
        sa.Column("finished_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batches")),
    )
    op.create_index(op.f("ix_batches_created_at"), "batches", ["created_at"])
    op.create_index(op.f("ix_batches_unit_id"), "batches", ["unit_id"])

    op.create_table(
        "rule_packs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("unit_id", sa.String(64), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("rule_count", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("uploaded_by", sa.String(32), nullable=False),
        sa.Column("uploaded_at", TS, nullable=False),
        sa.Column("activated_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rule_packs")),
    )
    op.create_index(op.f("ix_rule_packs_unit_id"), "rule_packs", ["unit_id"])

    op.create_table(
        "scored_containers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("batch_id", sa.String(40), nullable=False),
        sa.Column("unit_id", sa.String(64), nullable=False),
        sa.Column("record_id", sa.String(200), nullable=False),
        sa.Column("row_index", sa.Integer(), nullable=False),
        sa.Column("source_line", sa.Integer(), nullable=True),
        sa.Column("container_number", sa.String(40), nullable=True),
        sa.Column("bl_number", sa.String(80), nullable=True),
        sa.Column("lane", sa.String(16), nullable=True),
        sa.Column("risk_score", sa.Float(), nullable=True),
        sa.Column("rule_score", sa.Float(), nullable=True),
        sa.Column("model_probability", sa.Float(), nullable=True),
        sa.Column("selected", sa.Boolean(), nullable=False),
        sa.Column("selection_reason", sa.String(20), nullable=True),
        sa.Column("flagged", sa.Boolean(), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("fields", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["batches.id"],
            name=op.f("fk_scored_containers_batch_id_batches"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scored_containers")),
    )
    op.create_index(
        "ix_scored_batch_flagged_risk", "scored_containers", ["batch_id", "flagged", "risk_score"]
    )
    op.create_index(
        "ix_scored_unit_container", "scored_containers", ["unit_id", "container_number"]
    )

    op.create_table(
        "inspections",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("unit_id", sa.String(64), nullable=False),
        sa.Column("batch_id", sa.String(40), nullable=False),
        sa.Column("scored_id", sa.Integer(), nullable=False),
        sa.Column("container_number", sa.String(40), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("finding_type", sa.String(40), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("inspected_at", TS, nullable=False),
        sa.Column("recorded_by", sa.String(32), nullable=False),
        sa.Column("recorded_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["batches.id"],
            name=op.f("fk_inspections_batch_id_batches"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["scored_id"],
            ["scored_containers.id"],
            name=op.f("fk_inspections_scored_id_scored_containers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspections")),
    )
    op.create_index(op.f("ix_inspections_container_number"), "inspections", ["container_number"])
    op.create_index(op.f("ix_inspections_scored_id"), "inspections", ["scored_id"])
    op.create_index(op.f("ix_inspections_unit_id"), "inspections", ["unit_id"])

    op.create_table(
        "rule_hits",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("scored_id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.String(40), nullable=False),
        sa.Column("unit_id", sa.String(64), nullable=False),
        sa.Column("rule_id", sa.String(200), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["batches.id"],
            name=op.f("fk_rule_hits_batch_id_batches"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["scored_id"],
            ["scored_containers.id"],
            name=op.f("fk_rule_hits_scored_id_scored_containers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rule_hits")),
    )
    op.create_index(op.f("ix_rule_hits_scored_id"), "rule_hits", ["scored_id"])
    op.create_index("ix_rule_hits_unit_rule", "rule_hits", ["unit_id", "rule_id"])

    _guard_audit_log()


def _guard_audit_log() -> None:
    # The audit log is append-only at the database level, not only by API convention.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION lookout_audit_append_only() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION 'audit_events is append-only';
            END;
            $$ LANGUAGE plpgsql
            """
        )
        op.execute(
            "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
            "FOR EACH ROW EXECUTE FUNCTION lookout_audit_append_only()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_events_no_{verb.lower()} BEFORE {verb} ON audit_events "
                "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END"
            )


def downgrade() -> None:
    """Drop everything (the audit trigger goes with its table)."""
    for table in (
        "rule_hits",
        "inspections",
        "scored_containers",
        "rule_packs",
        "batches",
        "audit_events",
        "api_keys",
    ):
        op.drop_table(table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS lookout_audit_append_only()")
