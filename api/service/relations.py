"""What only the service can check of an action's references: the vendor is configured, the
parent exists and is open, and linking it makes no cycle (decided by the record store's links
table, in one serialised transaction, before the workflow hears of the link)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from api.service.errors import Conflict, NotFound, Unprocessable
from domain import lifecycle
from domain.models import IncidentView, Status
from domain.policy import Policy
from recordstore.links import IncidentLinks, LinkCycle

Reader = Callable[[str], Awaitable[IncidentView]]


def check_vendor(policy: Policy, vendor: str) -> None:
    if vendor not in policy.vendors:
        known = ", ".join(policy.vendors) or "none configured"
        raise Unprocessable("vendor", f"unknown vendor '{vendor}' (known: {known})")


async def check_parent(parent_number: str, read: Reader) -> None:
    """`read` is the reader's view of an incident: a parent they may not see does not exist."""
    try:
        parent = await read(parent_number)
    except NotFound:
        raise Unprocessable("parent", f"no incident {parent_number}") from None
    if parent.status not in lifecycle.OPEN:
        raise Unprocessable("parent", f"{parent_number} is {parent.status}, not open")


async def check_original(number: str, original_number: str, read: Reader) -> None:
    """`duplicate_of` names an incident the reader may see, open or resolved, not this one."""
    if original_number == number:
        raise Unprocessable("duplicate_of", "an incident cannot be a duplicate of itself")
    try:
        original = await read(original_number)
    except NotFound:
        raise Unprocessable("duplicate_of", f"no incident {original_number}") from None
    if original.status not in lifecycle.OPEN | {Status.RESOLVED}:
        raise Unprocessable(
            "duplicate_of", f"{original_number} is {original.status}: not open or resolved"
        )


async def linked(
    number: str,
    parent: str,
    link: Callable[[], Awaitable[IncidentView]],
    links: IncidentLinks,
) -> IncidentView:
    """Record the link (refused if it closes a loop, however long), then let the workflow
    make it; if the workflow refuses, the recorded link is taken back."""
    try:
        previous = await links.link(number, parent, datetime.now(UTC))
    except LinkCycle as cycle:
        chain = " -> ".join(cycle.path)
        raise Unprocessable(
            "parent", f"{parent} already descends from {number} ({chain}): no cycles"
        ) from None
    try:
        return await link()
    except (Conflict, Unprocessable, NotFound):
        await links.undo(number, parent, previous, datetime.now(UTC))
        raise
