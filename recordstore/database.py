"""The record store's database: one engine and pool that every store in this package shares.

One code path for SQLite (the default, a file shared by the API and worker processes) and
PostgreSQL (compose). Stores read through `engine` and write through `writer`, and spell
their ON CONFLICT upserts with `insert`, so the SQLite write discipline lives here only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from recordstore import migrations

SQLITE_BUSY_TIMEOUT_MS = 30_000
# Execution option read by the SQLite "begin" hook: writers take the write lock up front.
_IMMEDIATE = {"sqlite_begin": "IMMEDIATE"}


class Database:
    def __init__(self, url: str) -> None:
        self.url: URL = make_url(url)
        self.engine: AsyncEngine = _create_engine(self.url)
        # Every write transaction goes through here: BEGIN IMMEDIATE on SQLite.
        self.writer: AsyncEngine = self.engine.execution_options(**_IMMEDIATE)

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    @property
    def sqlite_file(self) -> Path | None:
        """The SQLite database file; None for PostgreSQL and in-memory databases."""
        if not self.is_sqlite:
            return None
        database = self.url.database or ""
        if database in ("", ":memory:") or database.startswith("file:"):
            return None
        return Path(database)

    @staticmethod
    def insert(conn: AsyncConnection | Connection, table: sa.Table) -> Any:
        """INSERT with ON CONFLICT support: both dialects spell it the same way."""
        if conn.dialect.name == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)

    async def migrate(self, *, auto: bool = True) -> None:
        """Bring the schema to the head revision; with `auto` off, raise SchemaNotAtHead
        unless it is there already (recordstore/migrations/)."""
        await migrations.migrate(self, auto=auto)

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()


def _create_engine(url: URL) -> AsyncEngine:
    if url.get_backend_name() != "sqlite":
        return create_async_engine(url, pool_pre_ping=True)
    options: dict[str, Any] = {}
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
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
