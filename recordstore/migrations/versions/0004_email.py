"""E-mail and attachments: inbound mail (the durable hand-over before the SMTP 250), the
Message-IDs we sent per incident, and the attachments of incidents.

Revision ID: 0004_email
Revises: 0003_event_payloads
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_email"
down_revision = "0003_event_payloads"
branch_labels = None
depends_on = None

UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "inbound_mail",
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("message_id", sa.Text, nullable=False),
        sa.Column("sender", sa.Text, nullable=False),
        sa.Column("received_at", UTC_TIME, nullable=False),
        sa.Column("raw", sa.LargeBinary, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("number", sa.String(16)),
        sa.Column("outcome", sa.Text),
        sa.Column("applied_at", UTC_TIME),
    )
    for column in ("sender", "received_at", "status"):
        op.create_index(f"ix_inbound_mail_{column}", "inbound_mail", [column])
    op.create_table(
        "sent_mail",
        sa.Column("message_id", sa.String(255), primary_key=True),
        sa.Column("number", sa.String(16), nullable=False),
        sa.Column("sent_at", UTC_TIME, nullable=False),
    )
    op.create_index("ix_sent_mail_number", "sent_mail", ["number"])
    op.create_table(
        "attachments",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("number", sa.String(16), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("content_type", sa.Text, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("uploaded_by", sa.Text, nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("added_at", UTC_TIME, nullable=False),
    )
    op.create_index("ix_attachments_number", "attachments", ["number"])


def downgrade() -> None:
    op.drop_table("attachments")
    op.drop_table("sent_mail")
    op.drop_table("inbound_mail")
