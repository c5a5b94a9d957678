"""Federation: urgent queries, recipients, thread messages, outbox, inbox, seen signatures.

Revision ID: f001
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f001"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the federation tables."""
    op.create_table(
        "fed_queries",
        sa.Column("id", sa.String(80), nullable=False),
        sa.Column("unit_id", sa.String(64), nullable=False),
        sa.Column("box", sa.String(8), nullable=False),
        sa.Column("origin_unit", sa.String(64), nullable=False),
        sa.Column("priority", sa.String(10), nullable=False),
        sa.Column("subject", sa.JSON(), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("explanation", sa.JSON(), nullable=False),
        sa.Column("deadline_at", TS, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fed_queries")),
    )
    op.create_index("ix_fed_queries_unit_box", "fed_queries", ["unit_id", "box", "id"])

    op.create_table(
        "fed_subjects",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("query_id", sa.String(80), nullable=False),
        sa.Column("unit_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("value", sa.String(120), nullable=False),
        sa.ForeignKeyConstraint(
            ["query_id"],
            ["fed_queries.id"],
            ondelete="CASCADE",
            name=op.f("fk_fed_subjects_query_id_fed_queries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fed_subjects")),
    )
    op.create_index("ix_fed_subjects_unit_value", "fed_subjects", ["unit_id", "kind", "value"])

    op.create_table(
        "fed_recipients",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("query_id", sa.String(80), nullable=False),
        sa.Column("recipient_unit", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("delivered_at", TS, nullable=True),
        sa.Column("acknowledged_at", TS, nullable=True),
        sa.Column("answered_at", TS, nullable=True),
        sa.Column("closed_at", TS, nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["query_id"],
            ["fed_queries.id"],
            ondelete="CASCADE",
            name=op.f("fk_fed_recipients_query_id_fed_queries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fed_recipients")),
        sa.UniqueConstraint("query_id", "recipient_unit", name=op.f("uq_fed_recipients_query_id")),
    )
    op.create_index(op.f("ix_fed_recipients_query_id"), "fed_recipients", ["query_id"])

    op.create_table(
        "fed_messages",
        sa.Column("id", sa.String(80), nullable=False),
        sa.Column("query_id", sa.String(80), nullable=False),
        sa.Column("unit_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("author_unit", sa.String(64), nullable=False),
        sa.Column("author", sa.String(64), nullable=False),
        sa.Column("to_units", sa.JSON(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("in_reply_to", sa.String(80), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["query_id"],
            ["fed_queries.id"],
            ondelete="CASCADE",
            name=op.f("fk_fed_messages_query_id_fed_queries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fed_messages")),
    )
    op.create_index("ix_fed_messages_query", "fed_messages", ["query_id", "id"])

    op.create_table(
        "fed_outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("unit_id", sa.String(64), nullable=False),
        sa.Column("message_id", sa.String(80), nullable=False),
        sa.Column("query_id", sa.String(80), nullable=False),
        sa.Column("recipient_unit", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("receipt", sa.JSON(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("delivered_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fed_outbox")),
        sa.UniqueConstraint("message_id", "recipient_unit", name=op.f("uq_fed_outbox_message_id")),
    )
    op.create_index("ix_fed_outbox_due", "fed_outbox", ["unit_id", "status", "next_attempt_at"])
    op.create_index(op.f("ix_fed_outbox_query_id"), "fed_outbox", ["query_id"])

    op.create_table(
        "fed_inbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("unit_id", sa.String(64), nullable=False),
        sa.Column("message_id", sa.String(80), nullable=False),
        sa.Column("sender_unit", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("query_id", sa.String(80), nullable=False),
        sa.Column("payload_sha256", sa.String(64), nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("deliveries", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fed_inbox")),
        sa.UniqueConstraint("unit_id", "message_id", name=op.f("uq_fed_inbox_unit_id")),
    )

    op.create_table(
        "fed_seen_signatures",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("unit_id", sa.String(64), nullable=False),
        sa.Column("signature_sha256", sa.String(64), nullable=False),
        sa.Column("message_id", sa.String(80), nullable=False),
        sa.Column("seen_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fed_seen_signatures")),
        sa.UniqueConstraint(
            "unit_id", "signature_sha256", name=op.f("uq_fed_seen_signatures_unit_id")
        ),
    )


def downgrade() -> None:
    """Drop the federation tables."""
    for table in (
        "fed_seen_signatures",
        "fed_inbox",
        "fed_outbox",
        "fed_messages",
        "fed_recipients",
        "fed_subjects",
        "fed_queries",
    ):
        op.drop_table(table)
