"""The links table decides parent links alone, on SQLite and PostgreSQL: no loop of any length,
even from many writers at once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from recordstore import RecordStore
from recordstore.links import IncidentLinks, LinkCycle


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
