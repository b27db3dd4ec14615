"""Incident search and queues: columns for the list filters (service, CI), the searched text
(short description, description, public comments), the due time of the SLA clock nearest to
breaching, and the full-text index over the text (FTS5 on SQLite, a GIN index on PostgreSQL),
all filled in from the records already there.

Revision ID: 0005_incident_search
Revises: 0004_email
Create Date: 2026-11-30
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0005_incident_search"
down_revision = "0004_email"
branch_labels = None
depends_on = None

UTC_TIME = sa.DateTime(timezone=True)
# Spelled exactly as recordstore/schema.py's INCIDENT_TSVECTOR, or searches skip the index.
INCIDENT_TSVECTOR = (
    "setweight(to_tsvector('english'::regconfig, coalesce(short_description, '')), 'A')"
    " || setweight(to_tsvector('english'::regconfig, coalesce(description, '')), 'B')"
    " || setweight(to_tsvector('english'::regconfig, coalesce(public_comments, '')), 'C')"
)
SQLITE_FTS = (
    "CREATE VIRTUAL TABLE incidents_fts USING fts5("
    "number UNINDEXED, short_description, description, comments,"
    " tokenize='porter unicode61 remove_diacritics 2')"
)
SQLITE_FILL = (
    "INSERT INTO incidents_fts (rowid, number, short_description, description, comments)"
    " SELECT CAST(substr(number, 4) AS INTEGER), number, coalesce(short_description, ''),"
    " coalesce(description, ''), coalesce(public_comments, '') FROM incidents"
)
POSTGRES_GIN = f"CREATE INDEX ix_incidents_search ON incidents USING gin (({INCIDENT_TSVECTOR}))"
INDEXED = ("service", "ci", "next_breach_at")

# Frozen copies of the tables as this revision reads them (not recordstore.schema: that one
# follows later revisions).
_incidents = sa.table(
    "incidents",
    sa.column("number", sa.String),
    sa.column("view", sa.JSON),
    sa.column("service", sa.Text),
    sa.column("ci", sa.Text),
    sa.column("short_description", sa.Text),
    sa.column("description", sa.Text),
    sa.column("public_comments", sa.Text),
    sa.column("next_breach_at", UTC_TIME),
    sa.column("next_breach_clock", sa.String),
)
_timeline = sa.table(
    "timeline_entries",
    sa.column("number", sa.String),
    sa.column("seq", sa.Integer),
    sa.column("kind", sa.String),
    sa.column("details", sa.JSON),
)


def upgrade() -> None:
    op.add_column("incidents", sa.Column("service", sa.Text))
    op.add_column("incidents", sa.Column("ci", sa.Text))
    op.add_column("incidents", sa.Column("short_description", sa.Text))
    op.add_column("incidents", sa.Column("description", sa.Text))
    op.add_column("incidents", sa.Column("public_comments", sa.Text))
    op.add_column("incidents", sa.Column("next_breach_at", UTC_TIME))
    op.add_column("incidents", sa.Column("next_breach_clock", sa.String(16)))
    for column in INDEXED:
        op.create_index(f"ix_incidents_{column}", "incidents", [column])
    _backfill(op.get_bind())
    if op.get_context().dialect.name == "sqlite":
        op.execute(SQLITE_FTS)
        op.execute(SQLITE_FILL)
    else:
        op.execute(POSTGRES_GIN)


def downgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        op.execute("DROP TABLE incidents_fts")
    else:
        op.execute("DROP INDEX ix_incidents_search")
    for column in INDEXED:
        op.drop_index(f"ix_incidents_{column}", "incidents")
    with op.batch_alter_table("incidents") as batch:
        for column in (
            "next_breach_clock",
            "next_breach_at",
            "public_comments",
            "description",
            "short_description",
            "ci",
            "service",
        ):
            batch.drop_column(column)


def _backfill(bind: sa.Connection) -> None:
    comments: dict[str, list[str]] = {}
    entries = (
        sa.select(_timeline.c.number, _timeline.c.details)
        .where(_timeline.c.kind == "comment")
        .order_by(_timeline.c.number, _timeline.c.seq)
    )
    for number, details in bind.execute(entries):
        if isinstance(details, dict) and details.get("visibility") == "public":
            comments.setdefault(number, []).append(str(details.get("text", "")))
    for number, view in bind.execute(sa.select(_incidents.c.number, _incidents.c.view)).all():
        clock, due = _nearest_breach(view)
        bind.execute(
            _incidents.update()
            .where(_incidents.c.number == number)
            .values(
                service=view.get("service"),
                ci=view.get("ci"),
                short_description=view.get("short_description", ""),
                description=view.get("description", ""),
                public_comments="\n".join(comments.get(number, [])),
                next_breach_at=due,
                next_breach_clock=clock,
            )
        )


def _nearest_breach(view: dict[str, Any]) -> tuple[str | None, datetime | None]:
    """domain.queues.nearest_breach over the stored JSON, as it stood at this revision."""
    running = []
    for name in ("response", "resolution"):
        clock = view.get(f"{name}_sla") or {}
        if clock.get("due_at") and not clock.get("stopped_at") and not clock.get("paused_since"):
            due = datetime.fromisoformat(str(clock["due_at"]).replace("Z", "+00:00"))
            running.append((due.astimezone(UTC), name))
    if not running:
        return None, None
    due, name = min(running)
    return name, due
