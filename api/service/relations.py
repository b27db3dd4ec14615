"""What only the service can check of an action's references: the vendor is configured, the
parent exists and is open, and linking it makes no cycle."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from api.service.errors import NotFound, Unprocessable
from domain import lifecycle
from domain.models import IncidentView
from domain.policy import Policy

MAX_PARENT_DEPTH = 20
Reader = Callable[[str], Awaitable[IncidentView]]


def check_vendor(policy: Policy, vendor: str) -> None:
    if vendor not in policy.vendors:
        known = ", ".join(policy.vendors) or "none configured"
        raise Unprocessable("vendor", f"unknown vendor '{vendor}' (known: {known})")


async def check_parent(number: str, parent_number: str, read: Reader) -> None:
    """`read` is the reader's view of an incident: a parent they may not see does not exist."""
    try:
        parent = await read(parent_number)
    except NotFound:
        raise Unprocessable("parent", f"no incident {parent_number}") from None
    if parent.status not in lifecycle.OPEN:
        raise Unprocessable("parent", f"{parent_number} is {parent.status}, not open")
    ancestor, seen = parent, 0
    while ancestor.parent and seen < MAX_PARENT_DEPTH:
        if ancestor.parent == number:
            raise Unprocessable("parent", f"{parent_number} already descends from {number}")
        ancestor, seen = await read(ancestor.parent), seen + 1
