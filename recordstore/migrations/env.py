"""Alembic's environment for the record store.

It reads nothing from the environment; the code that runs Alembic passes the database in:
- `config.attributes["connection"]`: an open connection of an async engine, seen through
  `AsyncConnection.run_sync`, inside the caller's transaction (recordstore.migrations.migrate,
  what start-up and `python -m recordstore.migrate` use);
- or `config.attributes["url"]`: a sqlite+aiosqlite or postgresql+asyncpg URL, for which this
  file makes the async engine itself (and for offline `--sql` scripts).
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from recordstore.database import Database
from recordstore.migrations import include_object
from recordstore.schema import metadata

config = context.config


def run_with(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        include_object=include_object,
        # SQLite alters a table by copying it; batch mode writes that copy for a revision.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_offline(url: str) -> None:
    context.configure(
        url=url,
        target_metadata=metadata,
        include_object=include_object,
        literal_binds=True,
        render_as_batch=url.startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_from_url(url: str) -> None:
    database = Database(url)  # its writer: BEGIN IMMEDIATE on SQLite
    if database.sqlite_file is not None:
        database.sqlite_file.parent.mkdir(parents=True, exist_ok=True)
    try:
        async with database.writer.begin() as connection:
            await connection.run_sync(run_with)
    finally:
        await database.dispose()


if context.is_offline_mode():
    run_offline(config.attributes["url"])
elif "connection" in config.attributes:
    run_with(config.attributes["connection"])
else:
    asyncio.run(run_from_url(config.attributes["url"]))
