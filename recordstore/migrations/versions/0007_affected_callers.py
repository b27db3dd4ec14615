"""Affected callers: who reported an incident besides its caller ("me too", or the caller of
a duplicate), so that `GET /incidents?caller=` finds the incidents they are affected on.

Revision ID: 0007_affected_callers
Revises: 0006_cis_correlation
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_affected_callers"
down_revision = "0006_cis_correlation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "affected_callers",
        sa.Column("number", sa.String(16), primary_key=True),
        sa.Column("caller", sa.Text, primary_key=True),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_affected_callers_caller", "affected_callers", ["caller"])


def downgrade() -> None:
    op.drop_table("affected_callers")
