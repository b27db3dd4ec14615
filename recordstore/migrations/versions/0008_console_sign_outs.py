"""Console sign-outs: a session signed out is refused from then on, on every API replica, even
if its cookie was copied; each row is kept until the session would have expired anyway.

Revision ID: 0008_console_sign_outs
Revises: 0007_affected_callers
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_console_sign_outs"
down_revision = "0007_affected_callers"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "console_sign_outs",
        sa.Column("session", sa.String(64), primary_key=True),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("console_sign_outs")
