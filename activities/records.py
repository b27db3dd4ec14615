"""Incident-record persistence: the workflow upserts the record on every change."""

from __future__ import annotations

from temporalio import activity

from domain import names
from domain.models import IncidentRecord
from recordstore import RecordStore


class RecordActivities:
    def __init__(self, store: RecordStore) -> None:
        self._store = store

    @activity.defn(name=names.UPSERT_INCIDENT_RECORD)
    async def upsert_incident_record(self, record: IncidentRecord) -> None:
        # Idempotent (version check, timeline seq), so Temporal may retry it after any DB error.
        await self._store.upsert_incident(record)

    @activity.defn(name=names.ALLOCATE_INCIDENT_NUMBER)
    async def allocate_incident_number(self) -> str:
        # A retry after a lost reply allocates again: a gap in the numbers, never a duplicate.
        return await self._store.allocate_number()
