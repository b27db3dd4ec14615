"""Record stores on both backends for the tests: SQLite in a temporary folder, and the session's
throwaway PostgreSQL (tests/postgres.py) emptied first. Each store is migrated to head, as the
API and the worker do at start-up."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from recordstore import RecordStore

BACKENDS = ["sqlite", "postgresql"]


async def empty_database(backend: str, request: pytest.FixtureRequest, folder: Path) -> str:
    """The URL of a database with nothing in it, on `backend`."""
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{folder / 'nested' / 'records.db'}"
    url: str = request.getfixturevalue("postgres_url")
    engine = create_async_engine(url, poolclass=NullPool)
    async with engine.begin() as conn:
        # Everything goes, alembic_version and the KEDB's search index included.
        await conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        await conn.execute(sa.text("CREATE SCHEMA public"))
    await engine.dispose()
    return url


@asynccontextmanager
async def fresh_store(
    backend: str, request: pytest.FixtureRequest, folder: Path
) -> AsyncIterator[RecordStore]:
    store = RecordStore(await empty_database(backend, request, folder))
    await store.database.migrate()
    try:
        yield store
    finally:
        await store.dispose()
