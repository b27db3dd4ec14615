"""Major incidents and parent/child cascades, on the time-skipping server."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from domain.models import Status
from domain.policy import Policy, parse_policy
from tests.support.factories import act, new_incident, start
from tests.support.factories import entries_of as kinds
from tests.support.factories import view_of as view

REVIEW = {
    "summary": "Mail down for 2 hours",
    "highlights": ["10:02 first alert", "11:40 certificate renewed"],
    "root_cause": "The TLS certificate expired",
    "lessons": "Expiry was not monitored",
    "actions": [{"action": "Alert 30 days before expiry", "owner": "sam"}],
}


async def open_now(
    env: WorkflowEnvironment, worker: Worker, policy: Policy | None = None, **fields: Any
) -> WorkflowHandle[Any, Any]:
    state = new_incident(policy=policy, now=await env.get_current_time(), **fields)
    return await start(env.client, worker.task_queue, state)


async def test_a_major_incident_gets_a_bridge_and_status_updates_until_resolved(
    time_env: WorkflowEnvironment, time_worker: Worker
) -> None:
    handle = await open_now(time_env, time_worker, impact=1, urgency=1)  # P1: major by policy
    await act(handle, "assign", group="desk", assignee="sam")
    await act(handle, "start")
    await act(handle, "comment", text="Failing over to the DR site", visibility="work_note")
    await time_env.sleep(timedelta(minutes=95))
    current = await view(handle)
    assert (
        current.major
        and current.bridge_url == f"https://meet.example.com/incident/{current.number}"
    )
    updates = await kinds(handle, "major_update")
    assert len(updates) == 3  # at 30, 60 and 90 minutes
    assert [(u.at - current.created_at) for u in updates] == [
        timedelta(minutes=m) for m in (30, 60, 90)
    ]
    # Stakeholders read these: never the work note (issue 13), only how long it has been quiet.
    assert "Failing over" not in str(updates[-1].details)
    assert updates[-1].details["latest"] == f"no new update since {current.created_at:%H:%M} UTC"
    assert (
        updates[-1].details["assignee"] == "sam" and updates[-1].details["open_for_seconds"] == 5400
    )
    await act(handle, "resolve", resolution_code="fixed", resolution_notes="DR site live")
    await time_env.sleep(timedelta(hours=2))
    assert len(await kinds(handle, "major_update")) == 3


async def test_a_major_incident_waits_for_its_review_before_closing(
    time_env: WorkflowEnvironment, time_worker: Worker
) -> None:
    policy = parse_policy(
        '[closure]\nauto_close_after = "1d"\ncalendar = "24x7"\n[major]\nreview_due = "2d"'
    )
    handle = await open_now(time_env, time_worker, policy=policy, impact=2, urgency=2)
    await act(handle, "declare_major", reason="Whole office offline")
    await act(handle, "assign", group="desk", assignee="sam")
    await act(handle, "resolve", resolution_code="fixed", resolution_notes="Switch replaced")
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await act(handle, "close")
    assert refused.value.cause.details[0]["missing"] == ["review"]  # type: ignore[union-attr]

    await time_env.sleep(timedelta(days=3))  # past auto-close (1d) and review due (2d)
    assert (await view(handle)).status == Status.RESOLVED
    reminders = await kinds(handle, "review_due")
    assert len(reminders) == 1 and reminders[0].details["notify"] == ["incident-manager"]

    reviewed = await act(handle, "review", actor="morgan", **REVIEW)
    assert reviewed.review is not None and reviewed.review.by == "morgan"
    # The auto-close was overdue and waited only for the review: it closes at once.
    final = await handle.result()
    assert final.status == Status.CLOSED and final.close_code == "auto"
    assert final.closed_at == reviewed.review.at


async def test_resolving_a_parent_resolves_its_open_children_and_reopening_reopens_them(
    time_env: WorkflowEnvironment, time_worker: Worker
) -> None:
    parent = await open_now(time_env, time_worker, short_description="Core switch down")
    children = [
        await open_now(time_env, time_worker, short_description=f"No network, floor {n}")
        for n in (1, 2, 3)
    ]
    parent_number = (await view(parent)).number
    for child in children:
        await act(child, "link_parent", parent=parent_number)
    await act(children[2], "assign", group="desk", assignee="sam")
    await act(
        children[2], "resolve", resolution_code="fixed", resolution_notes="Patched the port by hand"
    )

    async def children_of_parent() -> list[str]:
        return (await view(parent)).children

    for _ in range(50):
        if len(await children_of_parent()) == 3:
            break
        await asyncio.sleep(0.1)
    assert sorted(await children_of_parent()) == sorted([(await view(c)).number for c in children])

    await act(parent, "assign", group="network-l2", assignee="nina")
    await act(
        parent, "resolve", resolution_code="fixed", resolution_notes="Replaced the supervisor card"
    )

    async def statuses() -> list[Status]:
        return [(await view(child)).status for child in children]

    for _ in range(50):
        if await statuses() == [Status.RESOLVED] * 3:
            break
        await asyncio.sleep(0.1)
    cascaded = [await view(child) for child in children]
    assert [c.resolution_notes for c in cascaded] == ["Replaced the supervisor card"] * 2 + [
        "Patched the port by hand"
    ]
    resolve_entry = (await kinds(children[0], "resolve"))[-1]
    assert (
        resolve_entry.actor == parent_number and resolve_entry.details["by_parent"] == parent_number
    )

    await act(parent, "reopen", reason="Flapping again")
    for _ in range(50):
        if (await statuses())[:2] == [Status.IN_PROGRESS] * 2:
            break
        await asyncio.sleep(0.1)
    assert await statuses() == [Status.IN_PROGRESS, Status.IN_PROGRESS, Status.RESOLVED]
    assert len(await kinds(children[0], "resolve")) == 1  # the cascade applied once


async def test_a_resolution_with_a_workaround_proposes_one_problem(
    time_env: WorkflowEnvironment, time_worker: Worker
) -> None:
    handle = await open_now(time_env, time_worker, short_description="Payroll export times out")
    await act(handle, "assign", group="desk", assignee="sam")
    await act(
        handle, "resolve", resolution_code="workaround", resolution_notes="Run the export at night"
    )
    for _ in range(50):
        if (await view(handle)).problem_id:
            break
        await asyncio.sleep(0.1)
    proposed = await kinds(handle, "problem_proposed")
    assert len(proposed) == 1 and proposed[0].details["reason"] == "workaround"
    await act(handle, "reopen", reason="Night run failed too")
    await act(
        handle, "resolve", resolution_code="workaround", resolution_notes="Split the export in two"
    )
    await time_env.sleep(timedelta(seconds=5))
    assert len(await kinds(handle, "problem_proposed")) == 1
