"""Alembic's environment for the record store.

It reads nothing from the environment: recordstore.migrate hands it an open connection
(`config.attributes["connection"]`, a sync facade of an async engine's connection, inside the
caller's transaction), or a URL (`config.attributes["url"]`) for offline `--sql` scripts.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

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


if context.is_offline_mode():
    run_offline(config.attributes["url"])
else:
    run_with(config.attributes["connection"])
