"""Configuration items and correlation (contract 15): the incidents' `ci` column, every
incident opened on a correlation key, and the one correlation per key and window.

Revision ID: 0006_cis_correlation
Revises: 0004_email
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_cis_correlation"
down_revision = "0004_email"
branch_labels = None
depends_on = None

UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    # Incidents recorded before this revision had no `ci` field: the column stays empty.
    op.add_column("incidents", sa.Column("ci", sa.Text))
    op.create_index("ix_incidents_ci", "incidents", ["ci"])
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
    op.drop_index("ix_incidents_ci", "incidents")
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("ci")
