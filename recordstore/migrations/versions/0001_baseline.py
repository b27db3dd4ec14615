"""Baseline: the schema of v0.1.0, which made it with metadata.create_all.

A database that v0.1.0 made has these tables but no alembic_version; recordstore.migrate
recognises it and stamps it with this revision instead of creating anything.

Revision ID: 0001
Revises:
Create Date: 2026-11-30
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# The KEDB's search index, as v0.1.0 created it. The PostgreSQL expression must stay the one
# recordstore/schema.py's KNOWN_ERROR_TSVECTOR spells, or searches stop using the index.
KNOWN_ERROR_TSVECTOR = (
    "setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A')"
    " || setweight(to_tsvector('english'::regconfig, coalesce(symptoms, '')), 'B')"
    " || setweight(to_tsvector('english'::regconfig,"
    " coalesce(workaround, '') || ' ' || coalesce(root_cause, '')), 'C')"
)
SQLITE_FTS = (
    "CREATE VIRTUAL TABLE known_errors_fts USING fts5("
    "title, symptoms, workaround, root_cause, content='known_errors', content_rowid='seq',"
    " tokenize='porter unicode61 remove_diacritics 2')"
)
POSTGRES_GIN = (
    f"CREATE INDEX ix_known_errors_search ON known_errors USING gin (({KNOWN_ERROR_TSVECTOR}))"
)


def _utc(name: str, nullable: bool = True) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "counters",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("principal", sa.Text, primary_key=True),
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("request_hash", sa.Text, nullable=False),
        sa.Column("number", sa.String(16), nullable=False),
        _utc("created_at", nullable=False),
    )
    _create_incidents()
    op.create_table(
        "timeline_entries",
        sa.Column("number", sa.String(16), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True),
        _utc("at", nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("from_status", sa.String(32)),
        sa.Column("to_status", sa.String(32)),
        sa.Column("details", sa.JSON, nullable=False),
    )
    _create_known_errors()
    op.create_table(
        "problems",
        sa.Column("id", sa.String(16), primary_key=True),
        sa.Column("seq", sa.BigInteger, nullable=False, unique=True),
        sa.Column("number", sa.String(16), nullable=False, unique=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("category", sa.Text),
        sa.Column("service", sa.Text),
        sa.Column("resolution_code", sa.String(32), nullable=False),
        sa.Column("resolution_notes", sa.Text, nullable=False),
        _utc("created_at", nullable=False),
    )
    op.create_table(
        "vendor_tickets",
        sa.Column("vendor", sa.Text, primary_key=True),
        sa.Column("ticket_id", sa.Text, primary_key=True),
        sa.Column("number", sa.String(16), nullable=False),
    )
    op.create_index("ix_vendor_tickets_number", "vendor_tickets", ["number"])


def _create_incidents() -> None:
    op.create_table(
        "incidents",
        sa.Column("number", sa.String(16), primary_key=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("priority", sa.String(8), nullable=False),
        sa.Column("assignment_group", sa.Text),
        sa.Column("assignee", sa.Text),
        sa.Column("caller", sa.Text, nullable=False),
        sa.Column("category", sa.Text),
        sa.Column("major", sa.Boolean, nullable=False),
        sa.Column("breached", sa.Boolean, nullable=False),
        _utc("created_at", nullable=False),
        _utc("updated_at", nullable=False),
        _utc("resolved_at"),
        _utc("closed_at"),
        _utc("started_at"),
        _utc("canceled_at"),
        _utc("response_stopped_at"),
        _utc("response_breached_at"),
        _utc("resolution_breached_at"),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("view", sa.JSON, nullable=False),
    )
    for column in (
        "status",
        "priority",
        "assignment_group",
        "assignee",
        "caller",
        "created_at",
        "resolved_at",
        "started_at",
        "response_stopped_at",
        "response_breached_at",
        "resolution_breached_at",
    ):
        op.create_index(f"ix_incidents_{column}", "incidents", [column])


def _create_known_errors() -> None:
    op.create_table(
        "known_errors",
        sa.Column("id", sa.String(16), primary_key=True),
        sa.Column("seq", sa.BigInteger, nullable=False, unique=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("symptoms", sa.Text, nullable=False),
        sa.Column("category", sa.Text),
        sa.Column("service", sa.Text),
        sa.Column("workaround", sa.Text),
        sa.Column("root_cause", sa.Text),
        sa.Column("problem_ref", sa.Text),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("source_incident", sa.String(16), unique=True),
        _utc("created_at", nullable=False),
        _utc("updated_at", nullable=False),
    )
    op.create_index("ix_known_errors_status", "known_errors", ["status"])
    dialect = op.get_context().dialect.name
    if dialect == "sqlite":
        # External content (rowid = seq): recordstore/known_errors.py writes the index in the
        # same transaction as the row.
        op.execute(SQLITE_FTS)
    elif dialect == "postgresql":
        op.execute(POSTGRES_GIN)


def downgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        op.execute("DROP TABLE known_errors_fts")
    for table in (
        "vendor_tickets",
        "problems",
        "known_errors",
        "timeline_entries",
        "incidents",
        "idempotency_keys",
        "counters",
    ):
        op.drop_table(table)
