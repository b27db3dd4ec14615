"""A survey answer, written once: the record is the one source of truth for it (the workflow has
ended by then), and the write is conditional on the version that was read, so of any number of
concurrent answers exactly one lands, its timeline entry in the same transaction."""

from __future__ import annotations

import sqlalchemy as sa

from domain.models import IncidentView, TimelineEntry
from recordstore.database import Database
from recordstore.schema import incidents, timeline_entries
from recordstore.store import _incident_row, _timeline_row


async def record_once(
    database: Database, answered: IncidentView, read_version: int, entry: TimelineEntry
) -> bool:
    """Write `answered` and append `entry` if the record is still at `read_version`; False when
    another write came first (nothing is written then)."""
    row = _incident_row(answered)
    async with database.writer.begin() as conn:
        written = await conn.execute(
            incidents.update()
            .where(incidents.c.number == answered.number, incidents.c.version == read_version)
            .values(**{name: value for name, value in row.items() if name != "number"})
        )
        if written.rowcount != 1:
            return False
        last = sa.select(sa.func.max(timeline_entries.c.seq)).where(
            timeline_entries.c.number == answered.number
        )
        highest = (await conn.execute(last)).scalar_one_or_none()
        seq = 0 if highest is None else highest + 1
        await conn.execute(
            timeline_entries.insert().values(_timeline_row(answered.number, seq, entry))
        )
    return True
