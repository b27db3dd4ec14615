"""What the pages read, from the service layer: queues, similar incidents, SLA clocks as they
stand now, open major incidents. The one seam where the console meets service functions still
being built (playbook steps): each is wired here when it lands.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from api import permissions
from api.auth import Principal
from api.service import incidents, queues, replies, similar
from api.service.context import Services
from domain.models import IncidentView
from domain.replies import ReplyTemplate
from domain.similar import SimilarIncident
from domain.sla import ClockStatus
from recordstore import IncidentFilter

QUEUE_LIMIT = 200


@dataclass
class Row:
    """One incident of a list, with its clocks as they stand now."""

    view: IncidentView
    clocks: list[ClockStatus]

    @property
    def next_due(self) -> ClockStatus | None:
        """The clock nearest its breach among those still running (or breached and running)."""
        running = [c for c in self.clocks if c.state in ("running", "breached_running")]
        return min(running, key=lambda c: c.remaining_seconds, default=None)

    @property
    def breached(self) -> bool:
        return self.view.breached or any(c.breached for c in self.clocks)


def rows(services: Services, views: list[IncidentView]) -> list[Row]:
    now = datetime.now(UTC)
    return [Row(view, incidents.clocks_of(services, view, now)) for view in views]


def by_urgency(found: list[Row]) -> list[Row]:
    """Nearest breach first (breached ones lead, most overdue first); then no running clock."""

    def key(row: Row) -> tuple[int, float]:
        due = row.next_due
        return (0, due.remaining_seconds) if due else (1, 0.0)

    return sorted(found, key=key)


async def listed(
    services: Services, principal: Principal, filters: IncidentFilter, limit: int = QUEUE_LIMIT
) -> list[IncidentView]:
    page = await incidents.list_incidents(services, principal, filters, limit, None)
    return page.items


async def queue_mine(services: Services, principal: Principal) -> queues.Queue:
    """The reader's assigned open incidents, nearest breach first (`GET /queues/mine`)."""
    return await queues.mine(services, principal, limit=QUEUE_LIMIT)


async def queue_group(services: Services, principal: Principal, group: str) -> queues.Queue:
    return await queues.group(services, principal, group, limit=QUEUE_LIMIT)


def groups_of(services: Services, principal: Principal) -> list[str]:
    """The queues a reader has besides their own: their directory groups (all groups for those
    who work every incident)."""
    if principal.groups is not None:
        return sorted(principal.groups)
    return sorted(services.directory.groups)


def may(principal: Principal, method: str, path: str) -> bool:
    """Whether the API's permissions table admits the reader to an endpoint (pages and links
    show by the same rule as the endpoint they stand for)."""
    return permissions.admits(principal, permissions.TABLE[(method, path)])


async def similar_open(
    services: Services, principal: Principal, text: str, service: str | None, ci: str | None
) -> list[SimilarIncident] | None:
    """Open incidents like the one being logged (`GET /incidents/similar`); None before
    anything is typed."""
    if not text.strip() and not service and not ci:
        return None
    return await similar.similar(services, principal, text, service, ci, limit=8)


def playbook_of(view: IncidentView) -> object | None:
    """The incident's playbook steps, once the view carries them (contract 14)."""
    return getattr(view, "playbook", None)


def reply_templates(services: Services, principal: Principal) -> list[ReplyTemplate] | None:
    """Reply templates for the comment form (`GET /reply-templates`), for those it admits."""
    if principal.requester_only or not may(principal, "GET", "/reply-templates"):
        return None
    return replies.list_templates(services).items
