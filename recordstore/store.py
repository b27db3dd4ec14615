"""The record store: incidents, their timelines, the number counter and idempotency keys.

One code path for SQLite (the default, shared by the API and worker processes) and
PostgreSQL (compose). Writes are single statements with ON CONFLICT so that retried
activities and concurrent processes converge on the same rows.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from domain.models import IncidentRecord, IncidentsPage, IncidentView, Status, TimelineEntry
from domain.names import INCIDENT_NUMBER_PATTERN
from recordstore.schema import (
    INCIDENT_COUNTER,
    counters,
    idempotency_keys,
    incidents,
    metadata,
    timeline_entries,
)

NUMBER_PATTERN = re.compile(INCIDENT_NUMBER_PATTERN)
SQLITE_BUSY_TIMEOUT_MS = 30_000
# Serialises concurrent create_schema calls (API and worker starting together) on PostgreSQL.
SCHEMA_LOCK_ID = 0x1C1DF10
# Execution option read by the SQLite "begin" hook: writers take the write lock up front.
_IMMEDIATE = {"sqlite_begin": "IMMEDIATE"}


class IncidentFilter(BaseModel):
    """List filters: exact match; None means no filter on that field."""

    status: Status | None = None
    priority: str | None = None
    group: str | None = None
    assignee: str | None = None
    caller: str | None = None
    major: bool | None = None
    breached: bool | None = None


class IdempotencyConflict(Exception):
    """The same idempotency key was reused by the same principal with a different request."""


class RecordStore:
    def __init__(self, url: str) -> None:
        self._url = make_url(url)
        self._is_sqlite = self._url.get_backend_name() == "sqlite"
        self._engine = _create_engine(self._url)
        self._writer = self._engine.execution_options(**_IMMEDIATE)

    async def create_schema(self) -> None:
        sqlite_file = _sqlite_file(self._url)
        if sqlite_file is not None:
            sqlite_file.parent.mkdir(parents=True, exist_ok=True)
        async with self._writer.begin() as conn:
            if conn.dialect.name == "postgresql":
                await conn.execute(sa.select(sa.func.pg_advisory_xact_lock(SCHEMA_LOCK_ID)))
            await conn.run_sync(metadata.create_all)
            seed = _insert(conn, counters).values(name=INCIDENT_COUNTER, value=0)
            await conn.execute(seed.on_conflict_do_nothing(index_elements=[counters.c.name]))

    async def dispose(self) -> None:
        await self._engine.dispose()

    async def ping(self) -> None:
        async with self._engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))

    # --- numbers and idempotency ----------------------------------------------------------

    async def allocate_number(self) -> str:
        async with self._writer.begin() as conn:
            return await _next_number(conn)

    async def claim_idempotency_key(
        self, key: str, principal: str, request_hash: str
    ) -> tuple[str, bool]:
        stored = await self._read_claim(key, principal)
        if stored is not None:
            return _replay(stored, request_hash), False
        try:
            async with self._writer.begin() as conn:
                number = await _next_number(conn)
                await conn.execute(
                    idempotency_keys.insert().values(
                        principal=principal,
                        key=key,
                        request_hash=request_hash,
                        number=number,
                        created_at=datetime.now(UTC),
                    )
                )
        except IntegrityError:
            # A concurrent first call won; our transaction (and its number) rolled back.
            stored = await self._read_claim(key, principal)
            if stored is None:
                raise
            return _replay(stored, request_hash), False
        return number, True

    async def _read_claim(self, key: str, principal: str) -> tuple[str, str] | None:
        """The (number, request_hash) stored for this principal's key, if any."""
        query = sa.select(idempotency_keys.c.number, idempotency_keys.c.request_hash).where(
            idempotency_keys.c.principal == principal, idempotency_keys.c.key == key
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else (row.number, row.request_hash)

    # --- incidents ------------------------------------------------------------------------

    async def upsert_incident(self, record: IncidentRecord) -> None:
        view = record.view
        async with self._writer.begin() as conn:
            row = _incident_row(view)
            upsert = _insert(conn, incidents).values(**row)
            upsert = upsert.on_conflict_do_update(
                index_elements=[incidents.c.number],
                set_={name: upsert.excluded[name] for name in row if name != "number"},
                # A stale snapshot delivered late by a retry never overwrites a newer one.
                where=incidents.c.version <= upsert.excluded.version,
            )
            await conn.execute(upsert)
            if record.new_entries:
                entries = [
                    _timeline_row(view.number, record.timeline_start + offset, entry)
                    for offset, entry in enumerate(record.new_entries)
                ]
                append = _insert(conn, timeline_entries).values(entries)
                await conn.execute(
                    append.on_conflict_do_nothing(
                        index_elements=[timeline_entries.c.number, timeline_entries.c.seq]
                    )
                )

    async def get_incident(self, number: str) -> IncidentView | None:
        query = sa.select(incidents.c.view).where(incidents.c.number == number)
        async with self._engine.connect() as conn:
            stored = (await conn.execute(query)).scalar_one_or_none()
        return None if stored is None else IncidentView.model_validate(stored)

    async def get_timeline(self, number: str) -> list[TimelineEntry]:
        query = (
            sa.select(timeline_entries)
            .where(timeline_entries.c.number == number)
            .order_by(timeline_entries.c.seq)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [
            TimelineEntry(
                at=row["at"],
                actor=row["actor"],
                kind=row["kind"],
                from_status=row["from_status"],
                to_status=row["to_status"],
                details=row["details"],
            )
            for row in rows
        ]

    async def list_incidents(
        self, filters: IncidentFilter, limit: int = 50, cursor: str | None = None
    ) -> IncidentsPage:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        query = sa.select(incidents.c.view).where(*_filter_clauses(filters))
        if cursor is not None:
            query = query.where(incidents.c.number < decode_cursor(cursor))
        query = query.order_by(incidents.c.number.desc()).limit(limit + 1)
        async with self._engine.connect() as conn:
            stored = (await conn.execute(query)).scalars().all()
        items = [IncidentView.model_validate(view) for view in stored[:limit]]
        next_cursor = encode_cursor(items[-1].number) if len(stored) > limit else None
        return IncidentsPage(items=items, next_cursor=next_cursor)


# --- cursors --------------------------------------------------------------------------------


def encode_cursor(number: str) -> str:
    return base64.urlsafe_b64encode(number.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        number = base64.urlsafe_b64decode(padded.encode("ascii")).decode("ascii")
    except (ValueError, binascii.Error, UnicodeError):
        raise ValueError("invalid cursor") from None
    if not NUMBER_PATTERN.fullmatch(number):
        raise ValueError("invalid cursor")
    return number


# --- helpers --------------------------------------------------------------------------------


def _create_engine(url: URL) -> AsyncEngine:
    if url.get_backend_name() != "sqlite":
        return create_async_engine(url, pool_pre_ping=True)
    options: dict[str, Any] = {}
    if _sqlite_file(url) is None:
        options["poolclass"] = StaticPool  # an in-memory database lives in one connection
    engine = create_async_engine(url, **options)
    event.listen(engine.sync_engine, "connect", _sqlite_connect)
    event.listen(engine.sync_engine, "begin", _sqlite_begin)
    return engine


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # The API and the worker write the same file: WAL lets readers run beside the writer,
    # and the busy timeout makes a second writer wait instead of failing "database is locked".
    # The driver's own implicit BEGIN is turned off; _sqlite_begin emits ours.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    # Writers start with BEGIN IMMEDIATE: they wait for the write lock (busy timeout) up front,
    # instead of upgrading a read lock mid-transaction, which SQLite refuses without waiting.
    mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
    conn.exec_driver_sql(f"BEGIN {mode}")


def _sqlite_file(url: URL) -> Path | None:
    if url.get_backend_name() != "sqlite":
        return None
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    return Path(database)


def _insert(conn: AsyncConnection, table: sa.Table) -> Any:
    """INSERT with ON CONFLICT support: both dialects spell it the same way."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


async def _next_number(conn: AsyncConnection) -> str:
    # One atomic UPDATE ... RETURNING: the row lock (PostgreSQL) or the write lock (SQLite)
    # serialises concurrent callers, and a rolled-back caller gives its number back.
    bump = (
        counters.update()
        .where(counters.c.name == INCIDENT_COUNTER)
        .values(value=counters.c.value + 1)
        .returning(counters.c.value)
    )
    value = (await conn.execute(bump)).scalar_one()
    return f"INC{value:07d}"


def _replay(stored: tuple[str, str], request_hash: str) -> str:
    number, stored_hash = stored
    if stored_hash != request_hash:
        raise IdempotencyConflict(
            "this Idempotency-Key was already used with a different request body"
        )
    return number


def _incident_row(view: IncidentView) -> dict[str, Any]:
    return {
        "number": view.number,
        "status": view.status.value,
        "priority": str(view.priority),
        "assignment_group": view.assignment_group,
        "assignee": view.assignee,
        "caller": view.caller,
        "category": view.category,
        "major": view.major,
        "breached": view.breached,
        "created_at": view.created_at,
        "updated_at": view.updated_at,
        "resolved_at": view.resolved_at,
        "closed_at": view.closed_at,
        "started_at": view.started_at,
        "canceled_at": view.canceled_at,
        "response_stopped_at": view.response_sla.stopped_at,
        "response_breached_at": view.response_sla.breached_at,
        "resolution_breached_at": view.resolution_sla.breached_at,
        "version": view.version,
        "view": view.model_dump(mode="json"),
    }


def _timeline_row(number: str, seq: int, entry: TimelineEntry) -> dict[str, Any]:
    dumped = entry.model_dump(mode="json", by_alias=True)
    return {
        "number": number,
        "seq": seq,
        "at": entry.at,
        "actor": entry.actor,
        "kind": entry.kind,
        "from_status": dumped["from"],
        "to_status": dumped["to"],
        "details": dumped["details"],
    }


def _filter_clauses(filters: IncidentFilter) -> list[sa.ColumnElement[bool]]:
    columns = {
        "status": incidents.c.status,
        "priority": incidents.c.priority,
        "group": incidents.c.assignment_group,
        "assignee": incidents.c.assignee,
        "caller": incidents.c.caller,
        "major": incidents.c.major,
        "breached": incidents.c.breached,
    }
    clauses = []
    for name, value in filters.model_dump(exclude_none=True, mode="json").items():
        clauses.append(columns[name] == value)
    return clauses
