"""Correlation decisions (contract 15): one suggestion or parent per key and window, however
many incidents of that key open at the same moment.

Each decision is one transaction holding the writer lock (SQLite: BEGIN IMMEDIATE; PostgreSQL:
a transaction-scoped advisory lock), so two incidents opened together are decided one after
the other and the second sees the first's window. A retried activity finds its own decision
again (`correlations.trigger`), so a lost reply never makes a second one.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from domain import lifecycle
from domain.correlation import CorrelationOutcome, CorrelationRequest, window_end
from recordstore.database import Database
from recordstore.schema import correlation_members, correlations, incident_links, incidents
from recordstore.store import _next_number

CORRELATION_LOCK_ID = 0xC0551A7E
OPEN_STATUSES = sorted(status.value for status in lifecycle.OPEN)


class Correlations:
    def __init__(self, database: Database) -> None:
        self._database = database

    async def correlate(self, request: CorrelationRequest) -> CorrelationOutcome:
        async with self._database.writer.begin() as conn:
            if conn.dialect.name == "postgresql":
                await conn.execute(sa.select(sa.func.pg_advisory_xact_lock(CORRELATION_LOCK_ID)))
            for key in request.keys:
                insert = Database.insert(conn, correlation_members).values(
                    key=key, number=request.number, opened_at=request.opened_at
                )
                await conn.execute(insert.on_conflict_do_nothing())
            for key in request.keys:
                outcome = await _decide(conn, key, request)
                if outcome.kind != "none":
                    return outcome
        return CorrelationOutcome()


async def _decide(
    conn: AsyncConnection, key: str, request: CorrelationRequest
) -> CorrelationOutcome:
    table = correlations
    mine = sa.select(table).where(table.c.key == key, table.c.trigger == request.number)
    decided = (await conn.execute(mine)).mappings().first()
    if decided is not None:  # a retry of this very decision
        return _outcome(decided)
    latest_query = (
        sa.select(table)
        .where(table.c.key == key, table.c.window_end > request.opened_at)
        .order_by(table.c.window_start.desc())
        .limit(1)
    )
    latest = (await conn.execute(latest_query)).mappings().first()
    if latest is not None:  # the key's window already had its suggestion (or parent)
        earlier = _outcome(latest)
        if earlier.parent and request.number not in {*earlier.members, *earlier.link}:
            await _link(conn, earlier.parent, [request.number], request)
            return earlier.model_copy(update={"kind": "joined", "members": [], "link": []})
        return CorrelationOutcome()
    members = await _open_members(conn, key, request)
    if len(members) + 1 < request.threshold:
        return CorrelationOutcome()
    row: dict[str, Any] = {
        "key": key,
        "window_start": request.opened_at,
        "window_end": window_end(request.opened_at, request.window_seconds),
        "trigger": request.number,
        "action": request.action,
        "members": members,
        "parent": None,
    }
    if request.action == "open_parent":
        row["parent"] = await _next_number(conn)
        link = await _link(conn, row["parent"], [*members, request.number], request)
        row["members"] = {"others": members, "link": link}
    await conn.execute(table.insert().values(**row))
    return _outcome(row)


async def _open_members(conn: AsyncConnection, key: str, request: CorrelationRequest) -> list[str]:
    """The key's other incidents opened within the window before this one (or at the same
    moment) that are still open; one not recorded yet counts as open."""
    members = correlation_members
    since = request.opened_at - timedelta(seconds=request.window_seconds)
    query = (
        sa.select(members.c.number)
        .select_from(members.outerjoin(incidents, incidents.c.number == members.c.number))
        .where(
            members.c.key == key,
            members.c.number != request.number,
            members.c.opened_at > since,
            sa.or_(incidents.c.status.is_(None), incidents.c.status.in_(OPEN_STATUSES)),
        )
        .order_by(members.c.opened_at, members.c.number)
    )
    return list((await conn.execute(query)).scalars().all())


async def _link(
    conn: AsyncConnection, parent: str, numbers: list[str], request: CorrelationRequest
) -> list[str]:
    """Record `parent` as the parent of those of `numbers` that have none (a correlation never
    moves an existing link; a new parent makes no cycle); returns them."""
    query = sa.select(incident_links.c.child).where(incident_links.c.child.in_(numbers))
    linked = set((await conn.execute(query)).scalars().all())
    link = [number for number in numbers if number not in linked]
    if link:
        rows = [{"child": c, "parent": parent, "linked_at": request.opened_at} for c in link]
        await conn.execute(incident_links.insert(), rows)
    return link


def _outcome(row: Any) -> CorrelationOutcome:
    members = row["members"]
    if isinstance(members, dict):
        others, link = list(members["others"]), list(members["link"])
    else:
        others, link = list(members), []
    kind = "open_parent" if row["parent"] else "suggested"
    return CorrelationOutcome(
        kind=kind,
        key=row["key"],
        members=others,
        parent=row["parent"],
        link=link,
        window_end=row["window_end"],
    )
