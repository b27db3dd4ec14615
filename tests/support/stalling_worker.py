"""The production worker, except that its record write stalls for ever once it has written an
`assign` entry, after touching the file named by INCIDENTFLOW_TEST_STALL_MARK: a test kills it
there, between the write and the commit of the workflow task that made it."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from temporalio import activity

import worker
from activities.records import RecordActivities
from domain import names
from domain.models import IncidentRecord

MARK = Path(os.environ["INCIDENTFLOW_TEST_STALL_MARK"])


class StallingRecordActivities(RecordActivities):
    @activity.defn(name=names.UPSERT_INCIDENT_RECORD)
    async def upsert_incident_record(self, record: IncidentRecord) -> None:
        await self._store.upsert_incident(record)
        if any(entry.kind == "assign" for entry in record.new_entries):
            MARK.write_text(record.view.number)
            await asyncio.Event().wait()


worker.RecordActivities = StallingRecordActivities  # type: ignore[attr-defined]

if __name__ == "__main__":
    worker.main()
