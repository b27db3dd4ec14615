"""The record store on SQLite and on PostgreSQL: what lists, reports and closed incidents see."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain.models import (
    IncidentRecord,
    IncidentView,
    SlaClock,
    Status,
    TimelineEntry,
)
from domain.policy import Priority
from domain.similar import SimilarQuery
from recordstore import IdempotencyConflict, IncidentFilter, InvalidCursor, RecordStore

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def store(store_on_each_backend: RecordStore) -> RecordStore:
    """Every test here runs on SQLite and on PostgreSQL, each time on an empty database."""
    return store_on_each_backend


def make_view(number: str, **changes: Any) -> IncidentView:
    fields: dict[str, Any] = {
        "number": number,
        "short_description": f"{number}: mail is down",
        "caller": "alice",
        "opened_by": "alice",
        "impact": 2,
        "urgency": 2,
        "priority": Priority.P3,
        "status": Status.NEW,
        "created_at": T0,
        "updated_at": T0,
        "response_sla": SlaClock(name="response", target_seconds=14_400, calendar="business"),
        "resolution_sla": SlaClock(
            name="resolution", target_seconds=86_400, calendar="business", running_since=T0
        ),
    }
    fields.update(changes)
    return IncidentView(**fields)


def entry(minute: int, kind: str, old: Status | None, new: Status | None) -> TimelineEntry:
    return TimelineEntry.model_validate(
        {
            "at": T0 + timedelta(minutes=minute),
            "actor": "bob",
            "kind": kind,
            "from": old,
            "to": new,
            "details": {"minute": minute, "note": f"{kind} at {minute}", "tags": ["a", "b"]},
        }
    )


def record(view: IncidentView, start: int = 0, *entries: TimelineEntry) -> IncidentRecord:
    return IncidentRecord(view=view, timeline_start=start, new_entries=list(entries))


async def test_numbers_are_sequential(store: RecordStore) -> None:
    assert [await store.allocate_number() for _ in range(3)] == [
        "INC0000001",
        "INC0000002",
        "INC0000003",
    ]
    await store.database.migrate()  # idempotent: the counter is not reset
    assert await store.allocate_number() == "INC0000004"
    await store.ping()


async def test_concurrent_allocations_are_distinct_and_consecutive(store: RecordStore) -> None:
    numbers = await asyncio.gather(*(store.allocate_number() for _ in range(20)))
    assert sorted(numbers) == [f"INC{n:07d}" for n in range(1, 21)]


async def test_idempotency_key_returns_the_same_number(store: RecordStore) -> None:
    assert await store.claim_idempotency_key("k-1", "alice", "hash-a") == ("INC0000001", True)
    assert await store.claim_idempotency_key("k-1", "alice", "hash-a") == ("INC0000001", False)
    # Keys are per principal.
    assert await store.claim_idempotency_key("k-1", "carol", "hash-a") == ("INC0000002", True)
    with pytest.raises(IdempotencyConflict):
        await store.claim_idempotency_key("k-1", "alice", "hash-b")


async def test_concurrent_claims_of_one_key_give_one_number(store: RecordStore) -> None:
    claims = await asyncio.gather(
        *(store.claim_idempotency_key("same-key", "alice", "hash") for _ in range(10))
    )
    assert {number for number, _ in claims} == {"INC0000001"}
    assert sorted(first for _, first in claims) == [False] * 9 + [True]
    # The losers rolled back: no number was burnt.
    assert await store.allocate_number() == "INC0000002"


async def test_upsert_then_get_returns_the_view(store: RecordStore) -> None:
    view = make_view(
        "INC0000001",
        status=Status.ASSIGNED,
        assignment_group="service-desk",
        category="email",
        assigned_at=T0 + timedelta(minutes=3),
        version=1,
    )
    await store.upsert_incident(record(view))
    stored = await store.get_incident("INC0000001")
    assert stored == view
    assert stored is not None and stored.assigned_at is not None
    assert stored.assigned_at.tzinfo is not None
    assert await store.get_incident("INC0000099") is None


async def test_stale_version_does_not_overwrite_newer(store: RecordStore) -> None:
    newer = make_view("INC0000001", status=Status.IN_PROGRESS, assignee="bob", version=3)
    stale = make_view("INC0000001", status=Status.ASSIGNED, version=2)
    await store.upsert_incident(record(newer))
    await store.upsert_incident(record(stale))
    assert await store.get_incident("INC0000001") == newer
    # The filter columns follow the view, not the stale snapshot.
    page = await store.list_incidents(IncidentFilter(status=Status.ASSIGNED))
    assert page.items == []
    resolved = make_view(
        "INC0000001", status=Status.RESOLVED, resolved_at=T0 + timedelta(hours=1), version=4
    )
    await store.upsert_incident(record(resolved))
    assert await store.get_incident("INC0000001") == resolved


async def test_timeline_is_appended_once_in_order(store: RecordStore) -> None:
    created = entry(0, "created", None, Status.NEW)
    assigned = entry(1, "assigned", Status.NEW, Status.ASSIGNED)
    comment = entry(2, "comment", None, None)
    started = entry(3, "started", Status.ASSIGNED, Status.IN_PROGRESS)
    view = make_view("INC0000001")

    await store.upsert_incident(record(view.model_copy(update={"version": 1}), 0, created))
    batch = record(view.model_copy(update={"version": 2}), 1, assigned, comment)
    await store.upsert_incident(batch)
    await store.upsert_incident(batch)  # an activity retry sends the same entries again
    await store.upsert_incident(record(view.model_copy(update={"version": 3}), 3, started))
    await store.upsert_incident(batch)  # a late retry of an older batch

    timeline = await store.get_timeline("INC0000001")
    assert timeline == [created, assigned, comment, started]
    as_json = [item.model_dump(mode="json") for item in timeline]
    assert as_json[1]["from"] == "new" and as_json[1]["to"] == "assigned"
    assert as_json[2]["from"] is None and as_json[2]["to"] is None
    assert as_json == [
        item.model_dump(mode="json") for item in (created, assigned, comment, started)
    ]
    assert all(item.at.tzinfo is not None for item in timeline)
    assert await store.get_timeline("INC0000099") == []


async def test_a_write_from_a_workflow_task_that_never_committed_is_replaced(
    store: RecordStore,
) -> None:
    """A worker killed after its local activity wrote, before its workflow task committed: the
    task's next attempt fires a due warning first and writes the same range in another order."""
    created = entry(0, "created", None, Status.NEW)
    assigned = entry(1, "assign", Status.NEW, Status.ASSIGNED)
    warned = entry(2, "sla_warning", None, None)
    assigned_later = entry(3, "assign", Status.NEW, Status.ASSIGNED)
    view = make_view("INC0000001")
    await store.upsert_incident(record(view.model_copy(update={"version": 1}), 0, created))
    never_committed = record(view.model_copy(update={"version": 2}), 1, assigned)
    await store.upsert_incident(never_committed)
    committed = record(view.model_copy(update={"version": 3}), 1, warned, assigned_later)
    await store.upsert_incident(committed)

    assert await store.get_timeline("INC0000001") == [created, warned, assigned_later]
    assert (await store.get_incident("INC0000001")) == committed.view
    await store.upsert_incident(never_committed)  # delivered late: changes nothing
    assert await store.get_timeline("INC0000001") == [created, warned, assigned_later]


async def test_a_replaced_public_comment_leaves_the_searched_text(store: RecordStore) -> None:
    created = entry(0, "created", None, Status.NEW)
    comment = entry(1, "comment", None, None).model_copy(
        update={"details": {"text": "printer toner smudges", "visibility": "public"}}
    )
    view = make_view("INC0000001")
    await store.upsert_incident(record(view.model_copy(update={"version": 1}), 0, created))
    await store.upsert_incident(record(view.model_copy(update={"version": 2}), 1, comment))
    toner = SimilarQuery(text="toner")
    assert [found.number for found in await store.similar_incidents(toner)] == ["INC0000001"]
    await store.upsert_incident(record(view.model_copy(update={"version": 2}), 1))
    assert await store.similar_incidents(toner) == []


async def test_list_filters_narrow(store: RecordStore) -> None:
    views = [
        make_view("INC0000001", status=Status.NEW, caller="alice"),
        make_view(
            "INC0000002",
            status=Status.ASSIGNED,
            priority=Priority.P1,
            assignment_group="network-l1",
            major=True,
            caller="dave",
        ),
        make_view(
            "INC0000003",
            status=Status.IN_PROGRESS,
            priority=Priority.P1,
            assignment_group="network-l1",
            assignee="bob",
            breached=True,
        ),
        make_view(
            "INC0000004",
            status=Status.IN_PROGRESS,
            priority=Priority.P2,
            assignment_group="service-desk",
            assignee="bob",
            caller="dave",
        ),
    ]
    for view in views:
        await store.upsert_incident(record(view))

    async def numbers(**filters: Any) -> list[str]:
        page = await store.list_incidents(IncidentFilter(**filters))
        return [item.number for item in page.items]

    assert await numbers() == ["INC0000004", "INC0000003", "INC0000002", "INC0000001"]
    assert await numbers(status=Status.IN_PROGRESS) == ["INC0000004", "INC0000003"]
    assert await numbers(status=Status.CLOSED) == []
    assert await numbers(priority="P1") == ["INC0000003", "INC0000002"]
    assert await numbers(group="network-l1") == ["INC0000003", "INC0000002"]
    assert await numbers(assignee="bob") == ["INC0000004", "INC0000003"]
    assert await numbers(caller="dave") == ["INC0000004", "INC0000002"]
    assert await numbers(major=True) == ["INC0000002"]
    assert await numbers(major=False) == ["INC0000004", "INC0000003", "INC0000001"]
    assert await numbers(breached=True) == ["INC0000003"]
    assert await numbers(priority="P1", assignee="bob") == ["INC0000003"]
    assert await numbers(group="network-l1", breached=False, status=Status.ASSIGNED) == [
        "INC0000002"
    ]
    assert await numbers(caller="dave", major=True, priority="P2") == []


async def test_pagination_newest_first(store: RecordStore) -> None:
    for n in range(1, 24):
        await store.upsert_incident(record(make_view(f"INC{n:07d}")))

    pages: list[list[str]] = []
    cursor: str | None = None
    while True:
        page = await store.list_incidents(IncidentFilter(), limit=10, cursor=cursor)
        pages.append([item.number for item in page.items])
        cursor = page.next_cursor
        if cursor is None:
            break

    assert [len(numbers) for numbers in pages] == [10, 10, 3]
    flat = [number for numbers in pages for number in numbers]
    assert flat == [f"INC{n:07d}" for n in range(23, 0, -1)]


@pytest.mark.parametrize("cursor", ["not base64!", "", "SU5DMTIz", "%%%"])
async def test_bad_cursor_is_rejected(store: RecordStore, cursor: str) -> None:
    with pytest.raises(ValueError, match="invalid cursor") as raised:
        await store.list_incidents(IncidentFilter(), cursor=cursor)
    assert isinstance(raised.value, InvalidCursor)
