"""The links table decides parent links alone, on SQLite and PostgreSQL: no loop of any length,
even from many writers at once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from domain import lifecycle
from recordstore import RecordStore
from recordstore.links import IncidentLinks, LinkCycle
from recordstore.migrations import alembic_config
from recordstore.schema import incidents
from recordstore.store import _incident_row as incident_row
from tests.support.factories import new_incident


def number(index: int) -> str:
    return f"INC{9_000_000 + index:07d}"


async def test_a_long_loop_is_refused_and_a_refused_link_is_undone(
    store_on_each_backend: RecordStore,
) -> None:
    links = IncidentLinks(store_on_each_backend.database)
    now = datetime.now(UTC)
    for index in range(40):
        assert await links.link(number(index), number(index + 1), now) is None
    with pytest.raises(LinkCycle) as refused:
        await links.link(number(40), number(0), now)
    assert refused.value.path[0] == number(0) and refused.value.path[-1] == number(40)
    assert len(refused.value.path) == 41
    with pytest.raises(LinkCycle):
        await links.link(number(7), number(7), now)
    # Relinking moves the child; undoing restores the parent it had.
    assert await links.link(number(0), number(50), now) == number(1)
    await links.undo(number(0), number(50), number(1), now)
    assert await links.parent_of(number(0)) == number(1)


async def test_concurrent_opposite_links_keep_one_direction(
    store_on_each_backend: RecordStore,
) -> None:
    links = IncidentLinks(store_on_each_backend.database)
    now = datetime.now(UTC)

    async def attempt(child: str, parent: str) -> bool:
        try:
            await links.link(child, parent, now)
        except LinkCycle:
            return False
        return True

    pairs = [(number(100 + 2 * i), number(101 + 2 * i)) for i in range(50)]
    outcomes = await asyncio.gather(
        *[attempt(a, b) for a, b in pairs], *[attempt(b, a) for a, b in pairs]
    )
    assert outcomes.count(True) == 50
    for a, b in pairs:
        assert ((await links.parent_of(a)) == b) != ((await links.parent_of(b)) == a)


async def test_revision_0002_copies_the_links_of_recorded_incidents(tmp_path: Path) -> None:
    """An incident linked before the links table existed keeps its parent, and so a loop
    through it is still refused."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'records.db'}"
    config = alembic_config()
    config.attributes["url"] = url
    await asyncio.to_thread(command.upgrade, config, "0001")
    store = RecordStore(url)
    try:
        parent, child = new_incident(), new_incident()
        linked = lifecycle.view(child).model_copy(update={"parent": parent.number})
        # Rows as the v0.1.0 code wrote them: only the columns revision 0001 has.
        async with store.database.engine.begin() as conn:
            columns = await conn.run_sync(
                lambda sync: {c["name"] for c in sa.inspect(sync).get_columns("incidents")}
            )
            for view in (lifecycle.view(parent), linked):
                row = {k: v for k, v in incident_row(view).items() if k in columns}
                await conn.execute(sa.insert(incidents).values(row))
        await store.database.migrate()
        links = IncidentLinks(store.database)
        assert await links.parent_of(child.number) == parent.number
        with pytest.raises(LinkCycle):
            await links.link(parent.number, child.number, datetime.now(UTC))
    finally:
        await store.dispose()
