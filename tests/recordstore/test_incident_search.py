"""Incident full text, list filters, similar incidents and queues in the record store, on
SQLite (FTS5) and PostgreSQL (tsvector + GIN)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain.models import IncidentRecord, IncidentView, SlaClock, Status, TimelineEntry
from domain.similar import SimilarQuery
from recordstore import IncidentFilter, RecordStore
from recordstore.incident_search import NoSearchWords
from tests.recordstore.test_recordstore import make_view

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def store(store_on_each_backend: RecordStore) -> RecordStore:
    return store_on_each_backend


def comment(seq_minute: int, text: str, visibility: str) -> TimelineEntry:
    return TimelineEntry(
        at=T0 + timedelta(minutes=seq_minute),
        actor="bob",
        kind="comment",
        details={"text": text, "visibility": visibility},
    )


async def put(
    store: RecordStore, view: IncidentView, entries: list[TimelineEntry] | None = None, at: int = 0
) -> None:
    record = IncidentRecord(view=view, timeline_start=at, new_entries=entries or [])
    await store.upsert_incident(record)


async def numbers(store: RecordStore, **filters: Any) -> list[str]:
    page = await store.list_incidents(IncidentFilter(**filters), limit=50)
    return [item.number for item in page.items]


async def test_q_finds_public_text_and_never_work_notes(store: RecordStore) -> None:
    await put(store, make_view("INC0000001", short_description="Office internet is down"))
    await put(
        store,
        make_view("INC0000002", short_description="Printer jams", description="Tray two"),
        [comment(1, "the modem blinks orange", "public"), comment(2, "secret zebra", "work_note")],
    )
    await put(store, make_view("INC0000003", short_description="Laptop slow"))
    assert await numbers(store, q="internet") == ["INC0000001"]
    assert await numbers(store, q="tray") == ["INC0000002"]
    assert await numbers(store, q="modem") == ["INC0000002"]  # a public comment
    assert await numbers(store, q="zebra") == []  # a work note is never searched
    assert await numbers(store, q="blinking modems") == ["INC0000002"]  # word forms (stemming)
    assert await numbers(store, q="printer internet") == []  # every word must be there
    with pytest.raises(NoSearchWords):
        await numbers(store, q="the ?!")

    # A later comment arrives with a later snapshot; a retried upsert changes nothing.
    later = make_view("INC0000003", short_description="Laptop slow", version=2)
    await put(store, later, [comment(3, "fan noise", "public")], at=0)
    await put(store, later, [comment(3, "fan noise", "public")], at=0)
    assert await numbers(store, q="fan") == ["INC0000003"]
    # The text follows an update of the short description.
    renamed = make_view("INC0000001", short_description="Wifi is down", version=3)
    await put(store, renamed)
    assert await numbers(store, q="internet") == []
    assert await numbers(store, q="wifi") == ["INC0000001"]


async def test_filters_combine_with_q_and_paging(store: RecordStore) -> None:
    for index in range(1, 7):
        await put(
            store,
            make_view(
                f"INC{index:07d}",
                short_description=f"VPN drops {index}",
                category="network" if index % 2 else "software",
                service="vpn" if index <= 4 else "payroll",
                ci="fw-01" if index in (1, 5) else None,
                status=Status.RESOLVED if index == 3 else Status.ASSIGNED,
            ),
        )
    assert await numbers(store, category="network") == ["INC0000005", "INC0000003", "INC0000001"]
    assert await numbers(store, service="payroll") == ["INC0000006", "INC0000005"]
    assert await numbers(store, ci="fw-01") == ["INC0000005", "INC0000001"]
    assert await numbers(store, open=False) == ["INC0000003"]
    assert await numbers(store, q="vpn", category="network", open=True, service="vpn") == [
        "INC0000001"
    ]
    first = await store.list_incidents(IncidentFilter(q="drops", open=True), limit=2)
    assert [item.number for item in first.items] == ["INC0000006", "INC0000005"]
    second = await store.list_incidents(
        IncidentFilter(q="drops", open=True), limit=2, cursor=first.next_cursor
    )
    assert [item.number for item in second.items] == ["INC0000004", "INC0000002"]


async def test_similar_ranks_open_incidents_by_text_service_and_ci(store: RecordStore) -> None:
    await put(store, make_view("INC0000001", short_description="Office internet down", ci="rt-1"))
    await put(store, make_view("INC0000002", short_description="Internet slow", service="net"))
    await put(store, make_view("INC0000003", short_description="Printer broken", service="net"))
    await put(
        store,
        make_view("INC0000004", short_description="Office internet down", status=Status.RESOLVED),
    )
    await put(store, make_view("INC0000005", short_description="Office internet down again"))

    found = await store.similar_incidents(
        SimilarQuery(
            text="The office internet is down", service="NET", ci="rt-1", exclude="INC0000005"
        )
    )
    assert [(s.number, s.why) for s in found] == [
        ("INC0000001", ["text", "ci"]),
        ("INC0000002", ["text", "service"]),
        ("INC0000003", ["service"]),
    ]
    assert found[0].score > found[1].score > found[2].score > 0
    assert found[0].short_description == "Office internet down"
    # Nothing to go on: nothing found.
    assert await store.similar_incidents(SimilarQuery(text="the")) == []


def clock(name: str, due: datetime | None, **fields: Any) -> SlaClock:
    return SlaClock(name=name, target_seconds=3600, calendar="24x7", due_at=due, **fields)


async def test_queue_orders_by_nearest_breach_and_skips_resolved(store: RecordStore) -> None:
    def view(number: str, response: SlaClock, resolution: SlaClock, **changes: Any) -> IncidentView:
        fields = {"assignment_group": "network", "assignee": "bob", "status": Status.IN_PROGRESS}
        return make_view(
            number, response_sla=response, resolution_sla=resolution, **(fields | changes)
        )

    stopped = clock("response", None, stopped_at=T0)
    await put(store, view("INC0000001", stopped, clock("resolution", T0 + timedelta(hours=5))))
    await put(
        store,
        view(
            "INC0000002",
            clock("response", T0 + timedelta(hours=1)),
            clock("resolution", T0 + timedelta(hours=8)),
        ),
    )
    await put(
        store,
        view("INC0000003", stopped, clock("resolution", None, paused_since=T0, pause_reason="x")),
    )
    await put(
        store,
        view(
            "INC0000004",
            stopped,
            clock("resolution", T0 - timedelta(hours=1), breached_at=T0 - timedelta(hours=1)),
        ),
    )
    await put(store, view("INC0000005", stopped, clock("resolution", T0), status=Status.RESOLVED))
    await put(store, view("INC0000006", stopped, clock("resolution", T0), assignee="carol"))

    group = await store.queue(group="network")
    assert [item.number for item in group] == [
        "INC0000004",
        "INC0000006",
        "INC0000002",
        "INC0000001",
        "INC0000003",
    ]
    mine = await store.queue(assignee="bob")
    assert [item.number for item in mine] == [
        "INC0000004",
        "INC0000002",
        "INC0000001",
        "INC0000003",
    ]
    assert await store.queue(group="nobody") == []
