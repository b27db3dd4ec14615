"""Event payloads: large alert details kept once per content, outside workflow state.

Revision ID: 0003_event_payloads
Revises: 0002
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_event_payloads"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "event_payloads",
        sa.Column("digest", sa.String(80), primary_key=True),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("bytes", sa.Integer, nullable=False),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("event_payloads")
