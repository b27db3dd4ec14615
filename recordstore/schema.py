"""The record store's tables (SQLAlchemy Core): the same definitions on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

metadata = sa.MetaData()

INCIDENT_COUNTER = "incident"


class UtcDateTime(sa.types.TypeDecorator[datetime]):
    """Timezone-aware UTC in and out. SQLite stores no offset, so values are converted to UTC
    before they are written and marked as UTC when they are read back."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()} given to the record store")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)  # type: ignore[no-any-return]
        return value.astimezone(UTC)  # type: ignore[no-any-return]


counters = sa.Table(
    "counters",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),
)

idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("principal", sa.Text, primary_key=True),
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("request_hash", sa.Text, nullable=False),
    sa.Column("number", sa.String(16), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
)

incidents = sa.Table(
    "incidents",
    metadata,
    sa.Column("number", sa.String(16), primary_key=True),
    sa.Column("status", sa.String(32), nullable=False, index=True),
    sa.Column("priority", sa.String(8), nullable=False, index=True),
    sa.Column("assignment_group", sa.Text, index=True),
    sa.Column("assignee", sa.Text, index=True),
    sa.Column("caller", sa.Text, nullable=False, index=True),
    sa.Column("category", sa.Text),
    sa.Column("major", sa.Boolean, nullable=False),
    sa.Column("breached", sa.Boolean, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False, index=True),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.Column("resolved_at", UtcDateTime, index=True),
    sa.Column("closed_at", UtcDateTime),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("view", sa.JSON, nullable=False),
)

timeline_entries = sa.Table(
    "timeline_entries",
    metadata,
    sa.Column("number", sa.String(16), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("from_status", sa.String(32)),
    sa.Column("to_status", sa.String(32)),
    sa.Column("details", sa.JSON, nullable=False),
)
