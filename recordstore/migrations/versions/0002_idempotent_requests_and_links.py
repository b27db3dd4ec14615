"""Idempotent requests (every POST and PATCH with an Idempotency-Key, and its first answer) and
parent/child links (the one serialised place that keeps them acyclic).

The links of incidents recorded before this revision are copied from their records.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _utc(name: str, nullable: bool = True) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "idempotent_requests",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("principal", sa.Text, nullable=False),
        sa.Column("method", sa.String(8), nullable=False),
        sa.Column("target", sa.Text, nullable=False),
        sa.Column("body_hash", sa.String(64), nullable=False),
        _utc("claimed_at", nullable=False),
        sa.Column("status_code", sa.Integer),
        sa.Column("content_type", sa.Text),
        sa.Column("response_body", sa.LargeBinary),
        _utc("answered_at"),
    )
    links = op.create_table(
        "incident_links",
        sa.Column("child", sa.String(16), primary_key=True),
        sa.Column("parent", sa.String(16), nullable=False),
        _utc("linked_at", nullable=False),
    )
    op.create_index("ix_incident_links_parent", "incident_links", ["parent"])
    _copy_links(links)


def _copy_links(links: sa.Table) -> None:
    """Each recorded incident with a parent becomes a row."""
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT number, view FROM incidents")).all()
    now = datetime.now(UTC)
    found = []
    for number, view in rows:
        parent = (json.loads(view) if isinstance(view, str) else view or {}).get("parent")
        if parent:
            found.append({"child": number, "parent": parent, "linked_at": now})
    if found:
        op.bulk_insert(links, found)


def downgrade() -> None:
    op.drop_index("ix_incident_links_parent", "incident_links")
    op.drop_table("incident_links")
    op.drop_table("idempotent_requests")
