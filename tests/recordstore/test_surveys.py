"""A survey answer is written once, on SQLite and PostgreSQL: of concurrent writers that read
the same version, exactly one lands, with its one timeline entry."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from domain import lifecycle
from domain.models import IncidentRecord, Status, TimelineEntry
from recordstore import RecordStore
from recordstore.surveys import record_once
from tests.support.factories import new_incident


async def test_ten_concurrent_answers_one_lands(store_on_each_backend: RecordStore) -> None:
    store = store_on_each_backend
    state = new_incident()
    closed = lifecycle.view(state).model_copy(
        update={"status": Status.CLOSED, "survey_invited": True, "version": 7}
    )
    record = IncidentRecord(view=closed, timeline_start=0, new_entries=state.timeline)
    await store.upsert_incident(record)
    now = datetime.now(UTC)

    async def answer(score: int) -> bool:
        answered = closed.model_copy(update={"survey_score": score, "version": 8})
        entry = TimelineEntry(at=now, actor="alice", kind="survey", details={"score": score})
        return await record_once(store.database, answered, 7, entry)

    landed = await asyncio.gather(*[answer(1 + i % 5) for i in range(10)])
    assert landed.count(True) == 1
    winner = 1 + landed.index(True) % 5
    stored = await store.get_incident(closed.number)
    assert stored is not None and stored.survey_score == winner
    timeline = await store.get_timeline(closed.number)
    assert [entry.details for entry in timeline if entry.kind == "survey"] == [{"score": winner}]
    assert len(timeline) == len(state.timeline) + 1
