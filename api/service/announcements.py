"""Announcements (contract 16): the open major incidents as everybody may read them, the status
page and the banner of the web console. Only the public side: the headline, since when, the
state and the last public `status_update`; a requester learns nothing else of incidents that
are not theirs."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from api.service.context import Services
from domain.models import Status
from recordstore import IncidentFilter

MAX_ANNOUNCED = 50


class Announcement(BaseModel):
    number: str
    short_description: str
    status: Status
    major_since: datetime | None
    last_status_update: str | None
    last_status_update_at: datetime | None


async def open_majors(services: Services) -> list[Announcement]:
    """Open major incidents, the most recently declared first."""
    page = await services.store.list_incidents(
        IncidentFilter(major=True, open=True), limit=MAX_ANNOUNCED, cursor=None
    )
    views = sorted(page.items, key=lambda v: v.major_since or v.created_at, reverse=True)
    return [Announcement.model_validate(view, from_attributes=True) for view in views]
