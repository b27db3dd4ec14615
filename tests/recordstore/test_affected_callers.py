"""Affected callers in the record store, on SQLite and PostgreSQL: written from the `affected`
timeline entries, once however often a retry delivers them, and found by the caller filter."""

from __future__ import annotations

from datetime import timedelta

from domain.models import IncidentRecord, TimelineEntry
from recordstore import IncidentFilter, RecordStore
from tests.recordstore.test_recordstore import T0, make_view


def affected(minute: int, caller: object) -> TimelineEntry:
    at = T0 + timedelta(minutes=minute)
    return TimelineEntry(at=at, actor="sam", kind="affected", details={"caller": caller})


async def test_the_caller_filter_finds_incidents_one_is_affected_on(
    store_on_each_backend: RecordStore,
) -> None:
    store = store_on_each_backend
    own = make_view("INC0000001", caller="bob")
    reported = make_view("INC0000002", caller="alice", affected_callers=["bob"], version=2)
    other = make_view("INC0000003", caller="alice")
    entries = [affected(1, "bob"), affected(2, 42)]  # a malformed one is left out
    for view, new in ((own, []), (reported, entries), (other, [])):
        await store.upsert_incident(IncidentRecord(view=view, timeline_start=0, new_entries=new))
    # A retry delivers the same entries again: still one row.
    again = IncidentRecord(view=reported, timeline_start=0, new_entries=entries)
    await store.upsert_incident(again)

    page = await store.list_incidents(IncidentFilter(caller="bob"))
    assert [view.number for view in page.items] == ["INC0000002", "INC0000001"]
    alices = await store.list_incidents(IncidentFilter(caller="alice", status="new"))
    assert [view.number for view in alices.items] == ["INC0000003", "INC0000002"]
    assert (await store.list_incidents(IncidentFilter(caller="carol"))).items == []
