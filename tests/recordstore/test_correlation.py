"""Correlation decisions in the record store, on SQLite and PostgreSQL: one suggestion (or
parent) per key and window, also when the incidents of a burst are decided all at once; a
retried decision finds itself; a new window suggests again; closed incidents do not count."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Literal

from domain import lifecycle
from domain.correlation import CorrelationOutcome, CorrelationRequest
from domain.models import IncidentRecord, Status
from recordstore import RecordStore
from recordstore.correlation import Correlations
from recordstore.links import IncidentLinks
from tests.support.factories import new_incident

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def request(
    n: int,
    at: datetime,
    keys: tuple[str, ...] = ("ci:office-internet",),
    action: Literal["suggest", "open_parent"] = "suggest",
) -> CorrelationRequest:
    return CorrelationRequest(
        number=f"INC{n:07d}",
        opened_at=at,
        keys=list(keys),
        threshold=3,
        window_seconds=600,
        action=action,
    )


async def test_a_burst_decided_at_once_is_suggested_exactly_once(
    store_on_each_backend: RecordStore,
) -> None:
    correlations = Correlations(store_on_each_backend.database)
    burst = [request(n, T0 + timedelta(seconds=n)) for n in range(1, 9)]
    outcomes = await asyncio.gather(*(correlations.correlate(r) for r in burst))
    suggested = [o for o in outcomes if o.kind == "suggested"]
    assert len(suggested) == 1 and [o.kind for o in outcomes].count("none") == 7
    assert len(suggested[0].members) >= 2 and suggested[0].key == "ci:office-internet"
    # the trigger's retried activity gets the same answer, and still only one
    trigger = burst[[o.kind for o in outcomes].index("suggested")]
    assert await correlations.correlate(trigger) == suggested[0]


async def test_a_second_burst_in_a_new_window_suggests_again(
    store_on_each_backend: RecordStore,
) -> None:
    correlations = Correlations(store_on_each_backend.database)
    kinds = [
        (await correlations.correlate(request(n, T0 + timedelta(minutes=n)))).kind
        for n in range(1, 6)
    ]
    assert kinds == ["none", "none", "suggested", "none", "none"]
    later = T0 + timedelta(minutes=30)  # the first window ended at minute 13
    again = [
        await correlations.correlate(request(n, later + timedelta(minutes=n))) for n in (11, 12, 13)
    ]
    assert [o.kind for o in again] == ["none", "none", "suggested"]
    assert again[2].members == ["INC0000011", "INC0000012"]


async def test_other_keys_and_closed_incidents_do_not_count(
    store_on_each_backend: RecordStore,
) -> None:
    store = store_on_each_backend
    correlations = Correlations(store.database)
    other = await correlations.correlate(request(1, T0, keys=("ci:payroll-app",)))
    closed = new_incident(short_description="gone", now=T0)
    await correlations.correlate(request(int(closed.number[3:]), T0))
    closed.status = Status.CANCELED
    await store.upsert_incident(
        IncidentRecord(view=lifecycle.view(closed), timeline_start=0, new_entries=[])
    )
    first = await correlations.correlate(request(2, T0 + timedelta(seconds=1)))
    second = await correlations.correlate(request(3, T0 + timedelta(seconds=2)))
    assert (other.kind, first.kind, second.kind) == ("none", "none", "none")
    third = await correlations.correlate(request(4, T0 + timedelta(seconds=3)))
    assert third.kind == "suggested" and third.members == ["INC0000002", "INC0000003"]


async def test_open_parent_allots_one_parent_links_them_and_later_ones_join(
    store_on_each_backend: RecordStore,
) -> None:
    store = store_on_each_backend
    correlations = Correlations(store.database)
    burst = [request(n, T0 + timedelta(seconds=n), action="open_parent") for n in range(1, 5)]
    outcomes: list[CorrelationOutcome] = await asyncio.gather(
        *(correlations.correlate(r) for r in burst)
    )
    opened = [o for o in outcomes if o.kind == "open_parent"]
    assert len(opened) == 1 and opened[0].parent is not None
    parent = opened[0].parent
    links = IncidentLinks(store.database)
    for child in opened[0].link:
        assert await links.parent_of(child) == parent
    late = await correlations.correlate(request(9, T0 + timedelta(minutes=5), action="open_parent"))
    assert (late.kind, late.parent) == ("joined", parent)
    assert await links.parent_of("INC0000009") == parent
