"""An API key's default language for the pages and API messages (``en``, ``ru`` or none).

Revision ID: 0002
Revises: f002
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "f002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Keys made before keep no default: their readers get the browser's language."""
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("language", sa.String(8), nullable=True))


def downgrade() -> None:
    """Drop the keys' default language."""
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("language")
