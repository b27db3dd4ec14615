"""Correlation (contract 15): every incident opened on a correlation key, and the one
correlation per key and window. (The incidents' `ci` column came with revision 0005.)

Revision ID: 0006_cis_correlation
Revises: 0005_incident_search
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_cis_correlation"
down_revision = "0005_incident_search"
branch_labels = None
depends_on = None

UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "correlation_members",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("number", sa.String(16), primary_key=True),
        sa.Column("opened_at", UTC_TIME, nullable=False),
    )
    op.create_index("ix_correlation_members_opened_at", "correlation_members", ["opened_at"])
    op.create_table(
        "correlations",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("window_start", UTC_TIME, primary_key=True),
        sa.Column("window_end", UTC_TIME, nullable=False),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("members", sa.JSON, nullable=False),
        sa.Column("parent", sa.String(16)),
    )
    op.create_index("ix_correlations_trigger", "correlations", ["trigger"])


def downgrade() -> None:
    op.drop_table("correlations")
    op.drop_table("correlation_members")
