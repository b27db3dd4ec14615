"""Parent/child links: the one place that keeps them acyclic, at any depth, under any number of
concurrent links.

`link` runs in one transaction that holds the writer lock (SQLite: BEGIN IMMEDIATE; PostgreSQL:
a transaction-scoped advisory lock), walks up from the new parent over the whole table, and
inserts the row only when the walk never reaches the child. Two opposite links sent at the same
moment are therefore decided one after the other: the second sees the first's row.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from recordstore.database import Database
from recordstore.schema import incident_links

# Serialises link transactions on PostgreSQL (SQLite has one writer anyway).
LINKS_LOCK_ID = 0x1C1DF11


class LinkCycle(Exception):
    """The link would close a loop; `path` runs from the new parent up to the child."""

    def __init__(self, path: list[str]) -> None:
        super().__init__(" -> ".join(path))
        self.path = path


class IncidentLinks:
    def __init__(self, database: Database) -> None:
        self._database = database

    async def link(self, child: str, parent: str, now: datetime) -> str | None:
        """Make `parent` the parent of `child`; returns the parent it had before (None: none).
        Raises LinkCycle when `child` is `parent` or one of its ancestors."""
        async with self._database.writer.begin() as conn:
            if conn.dialect.name == "postgresql":
                await conn.execute(sa.select(sa.func.pg_advisory_xact_lock(LINKS_LOCK_ID)))
            path = await _ancestry(conn, parent)
            if child in path:
                raise LinkCycle(path[: path.index(child) + 1])
            previous = await _parent_of(conn, child)
            if previous == parent:
                return previous
            await conn.execute(incident_links.delete().where(incident_links.c.child == child))
            await conn.execute(
                incident_links.insert().values(child=child, parent=parent, linked_at=now)
            )
            return previous

    async def undo(self, child: str, parent: str, previous: str | None, now: datetime) -> None:
        """Take back a link the incident refused, restoring the parent it had before."""
        table = incident_links
        async with self._database.writer.begin() as conn:
            gone = await conn.execute(
                table.delete().where(table.c.child == child, table.c.parent == parent)
            )
            if gone.rowcount and previous is not None:
                await conn.execute(
                    table.insert().values(child=child, parent=previous, linked_at=now)
                )

    async def parent_of(self, child: str) -> str | None:
        async with self._database.engine.connect() as conn:
            return await _parent_of(conn, child)


async def _parent_of(conn: AsyncConnection, child: str) -> str | None:
    query = sa.select(incident_links.c.parent).where(incident_links.c.child == child)
    parent: str | None = (await conn.execute(query)).scalar_one_or_none()
    return parent


async def _ancestry(conn: AsyncConnection, number: str) -> list[str]:
    """`number`, its parent, the parent's parent, ... (stops at a loop made before this table)."""
    path = [number]
    while (parent := await _parent_of(conn, path[-1])) is not None and parent not in path:
        path.append(parent)
    return path
