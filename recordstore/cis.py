"""The open incidents of a configuration item (GET /cis/{id})."""

from __future__ import annotations

import sqlalchemy as sa

from domain import lifecycle
from domain.models import IncidentView
from recordstore.database import Database
from recordstore.schema import incidents

OPEN_STATUSES = sorted(status.value for status in lifecycle.OPEN)


async def open_incidents_on(database: Database, ci: str, limit: int = 200) -> list[IncidentView]:
    """Newest first, at most `limit`: those not resolved, closed or canceled."""
    query = (
        sa.select(incidents.c.view)
        .where(incidents.c.ci == ci, incidents.c.status.in_(OPEN_STATUSES))
        .order_by(incidents.c.number.desc())
        .limit(limit)
    )
    async with database.engine.connect() as conn:
        stored = (await conn.execute(query)).scalars().all()
    return [IncidentView.model_validate(view) for view in stored]
