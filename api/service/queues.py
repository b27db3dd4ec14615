"""Work queues for the desk (contract 15): the reader's assigned open incidents, and a group's,
the nearest SLA breach first, each with the clock that breaches next and the time left.

Typed results for any client of the service (the API, a web console)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, Field

from api.auth import Principal
from api.service.context import Services
from api.service.errors import Forbidden, NotFound
from domain import queues
from domain.models import IncidentView, Status
from domain.policy import Priority

MAX_QUEUE = 500


class QueueItem(BaseModel):
    number: str
    short_description: str
    status: Status
    priority: Priority
    major: bool
    assignment_group: str | None
    assignee: str | None
    breached: bool
    clock: Literal["response", "resolution"] | None = Field(
        description="the running SLA clock due first; null when every clock is paused"
    )
    due_at: datetime | None
    remaining_seconds: int | None = Field(description="negative once the clock is past due")
    remaining: str | None = Field(description="the same in words: `2h 05m`, `overdue 12m`")


class Queue(BaseModel):
    name: str = Field(description="`mine` or the group's name")
    as_of: datetime
    items: list[QueueItem]


async def mine(services: Services, principal: Principal, limit: int = 100) -> Queue:
    """The open incidents assigned to the reader."""
    _staff_only(principal)
    views = await services.store.queue(assignee=principal.name, limit=min(limit, MAX_QUEUE))
    return _queue("mine", views)


async def group(services: Services, principal: Principal, name: str, limit: int = 100) -> Queue:
    """The open incidents of a group; staff read every group's (contract 7). With a directory,
    a group it does not know is a 404."""
    _staff_only(principal)
    if services.directory.groups and name not in services.directory.groups:
        raise NotFound(f"group {name} is not in the directory")
    views = await services.store.queue(group=name, limit=min(limit, MAX_QUEUE))
    return _queue(name, views)


def item(view: IncidentView, now: datetime) -> QueueItem:
    nearest = queues.nearest_breach(view)
    due = nearest.due_at if nearest else None
    seconds = int((due - now).total_seconds()) if due else None
    return QueueItem(
        number=view.number,
        short_description=view.short_description,
        status=view.status,
        priority=view.priority,
        major=view.major,
        assignment_group=view.assignment_group,
        assignee=view.assignee,
        breached=view.breached,
        clock=nearest.name if nearest else None,
        due_at=due,
        remaining_seconds=seconds,
        remaining=queues.remaining_text(seconds) if seconds is not None else None,
    )


def _queue(name: str, views: list[IncidentView]) -> Queue:
    now = datetime.now(UTC)
    return Queue(name=name, as_of=now, items=[item(view, now) for view in views])


def _staff_only(principal: Principal) -> None:
    if principal.requester_only:
        raise Forbidden("queues are the service desk's; requesters list their own incidents")
