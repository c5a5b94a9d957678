"""Case notes between units (with their recipients and backtests); group addresses of queries.

Revision ID: f002
Revises: f001
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f002"
down_revision: str | Sequence[str] | None = "f001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the case-note tables; queries remember what the officer addressed."""
    with op.batch_alter_table("fed_queries") as batch:
        batch.add_column(sa.Column("addressed_to", sa.JSON(), nullable=True))

    op.create_table(
        "fed_casenotes",
        sa.Column("id", sa.String(80), nullable=False),
        sa.Column("unit_id", sa.String(64), nullable=False),
        sa.Column("box", sa.String(8), nullable=False),
        sa.Column("origin_unit", sa.String(64), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("finding_type", sa.String(40), nullable=False),
        sa.Column("finding", sa.Text(), nullable=False),
        sa.Column("location", sa.String(8), nullable=False),
        sa.Column("location_name", sa.String(200), nullable=False),
        sa.Column("found_on", sa.Date(), nullable=False),
        sa.Column("mode", sa.String(8), nullable=False),
        sa.Column("route", sa.JSON(), nullable=False),
        sa.Column("concealment", sa.Text(), nullable=False),
        sa.Column("containers", sa.JSON(), nullable=False),
        sa.Column("parties", sa.JSON(), nullable=False),
        sa.Column("parties_local", sa.JSON(), nullable=True),
        sa.Column("masking", sa.JSON(), nullable=False),
        sa.Column("narrative", sa.Text(), nullable=False),
        sa.Column("rule_file", sa.String(120), nullable=True),
        sa.Column("rule_yaml", sa.Text(), nullable=True),
        sa.Column("rule_sha256", sa.String(64), nullable=True),
        sa.Column("rule_ids", sa.JSON(), nullable=False),
        sa.Column("rule_valid", sa.Boolean(), nullable=True),
        sa.Column("rule_diagnostics", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("addressed_to", sa.JSON(), nullable=True),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fed_casenotes")),
    )
    op.create_index("ix_fed_casenotes_unit_box", "fed_casenotes", ["unit_id", "box", "id"])

    op.create_table(
        "fed_casenote_recipients",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("casenote_id", sa.String(80), nullable=False),
        sa.Column("recipient_unit", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("delivered_at", TS, nullable=True),
        sa.Column("decided_at", TS, nullable=True),
        sa.Column("decided_by", sa.String(64), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=False),
        sa.Column("adopted_rules", sa.JSON(), nullable=True),
        sa.Column("pack_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["casenote_id"],
            ["fed_casenotes.id"],
            ondelete="CASCADE",
            name=op.f("fk_fed_casenote_recipients_casenote_id_fed_casenotes"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fed_casenote_recipients")),
        sa.UniqueConstraint(
            "casenote_id", "recipient_unit", name=op.f("uq_fed_casenote_recipients_casenote_id")
        ),
    )
    op.create_index(
        op.f("ix_fed_casenote_recipients_casenote_id"), "fed_casenote_recipients", ["casenote_id"]
    )

    op.create_table(
        "fed_casenote_backtests",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("casenote_id", sa.String(80), nullable=False),
        sa.Column("unit_id", sa.String(64), nullable=False),
        sa.Column("run_by", sa.String(64), nullable=False),
        sa.Column("run_at", TS, nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["casenote_id"],
            ["fed_casenotes.id"],
            ondelete="CASCADE",
            name=op.f("fk_fed_casenote_backtests_casenote_id_fed_casenotes"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fed_casenote_backtests")),
    )
    op.create_index(
        op.f("ix_fed_casenote_backtests_casenote_id"), "fed_casenote_backtests", ["casenote_id"]
    )


def downgrade() -> None:
    """Drop the case-note tables and the queries' addresses."""
    for table in ("fed_casenote_backtests", "fed_casenote_recipients", "fed_casenotes"):
        op.drop_table(table)
    with op.batch_alter_table("fed_queries") as batch:
        batch.drop_column("addressed_to")
