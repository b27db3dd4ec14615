"""Building incidents for tests through the same domain code the API uses."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from temporalio.client import Client, WorkflowHandle

from core.temporal_client import start_incident
from domain.lifecycle import open_incident
from domain.models import IncidentCreate, IncidentState, IncidentView, TimelineEntry
from domain.policy import Policy

# Far from the numbers the API hands out, so tests that share the dev server never collide.
_numbers = iter(range(5_000_001, 10_000_000))
# Workflows started by tests, so a fixture can end them: on the time-skipping server an open
# workflow whose worker is gone holds every later time skip.
started: list[WorkflowHandle[Any, Any]] = []


def next_number() -> str:
    return f"INC{next(_numbers):07d}"


def new_incident(
    policy: Policy | None = None, now: datetime | None = None, caller: str = "alice", **fields: Any
) -> IncidentState:
    create = IncidentCreate(
        short_description=fields.pop("short_description", "Mail is down"), **fields
    )
    return open_incident(
        next_number(), create, caller, caller, policy or Policy(), now or datetime.now(UTC)
    )


async def start(client: Client, task_queue: str, state: IncidentState) -> WorkflowHandle[Any, Any]:
    handle = await start_incident(client, task_queue, state)
    started.append(handle)
    return handle


async def end_all_started() -> None:
    while started:
        handle = started.pop()
        try:
            await handle.terminate("test finished")
        except Exception:  # already completed
            pass


async def settled_history(handle: WorkflowHandle[Any, Any]) -> list[int]:
    """The history's event types once background work (a known-error lookup) has finished."""
    previous: list[int] = []
    while True:
        events = [event.event_type for event in (await handle.fetch_history()).events]
        if events == previous:
            return events
        previous = events
        await asyncio.sleep(0.3)


async def act(handle: WorkflowHandle[Any, Any], action: str, **body: Any) -> IncidentView:
    result: IncidentView = await handle.execute_update(action, body, result_type=IncidentView)
    return result


async def entries_of(handle: WorkflowHandle[Any, Any], kind: str) -> list[TimelineEntry]:
    """The timeline entries of one kind, as the workflow holds them."""
    timeline = await handle.query("timeline", result_type=list[TimelineEntry])
    return [entry for entry in timeline if entry.kind == kind]


async def view_of(handle: WorkflowHandle[Any, Any]) -> IncidentView:
    result: IncidentView = await handle.query("view", result_type=IncidentView)
    return result
