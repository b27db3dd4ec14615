"""The service desk's actions on the time-skipping server: `return` (misroutes), `affected`
("me too") and `resolve` with `duplicate_of`, as Updates and as Signals."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from domain.models import IncidentView, Status
from domain.policy import Policy, parse_policy
from tests.support.factories import act, entries_of, new_incident, start, view_of


async def open_now(
    env: WorkflowEnvironment, worker: Worker, policy: Policy | None = None, **fields: Any
) -> WorkflowHandle[Any, Any]:
    state = new_incident(policy=policy, now=await env.get_current_time(), **fields)
    return await start(env.client, worker.task_queue, state)


async def until(
    probe: Callable[[], Awaitable[IncidentView]], check: Callable[[IncidentView], bool]
) -> IncidentView:
    for _ in range(100):
        view = await probe()
        if check(view):
            return view
        await asyncio.sleep(0.1)
    return view


async def test_returned_twice_the_incident_manager_decides(
    time_env: WorkflowEnvironment, time_worker: Worker
) -> None:
    handle = await open_now(time_env, time_worker, category="network")  # routed to network-l1
    with pytest.raises(WorkflowUpdateFailedError) as already_home:
        await act(handle, "assign", group="service-desk")
        await act(handle, "return", reason="Ours after all?")
    refusal = already_home.value.cause
    assert isinstance(refusal, ApplicationError) and refusal.type == "InvalidTransition"
    assert refusal.details[0]["missing"] == ["another_group"]

    await act(handle, "assign", group="network-l1", assignee="sam")
    await act(handle, "start", actor="sam")
    first = await act(handle, "return", actor="sam", reason="A laptop's Wi-Fi, not the network")
    assert (first.status, first.assignment_group, first.assignee) == (
        Status.ASSIGNED,
        "service-desk",
        None,
    )
    assert first.returns == 1 and await entries_of(handle, "escalated") == []

    await act(handle, "assign", group="dba-l1")
    second = await act(handle, "return", actor="dana", reason="Not a database either")
    assert second.returns == 2 and second.reassignment_count == 5
    escalated = await entries_of(handle, "escalated")
    assert len(escalated) == 1
    assert escalated[0].details["kind"] == "hierarchical"
    assert escalated[0].details["notify"] == ["incident-manager"]
    assert escalated[0].details["returns"] == 2
    returned = await entries_of(handle, "return")
    assert [entry.details["from_group"] for entry in returned] == ["network-l1", "dba-l1"]

    await act(handle, "resolve", resolution_code="fixed", resolution_notes="Wi-Fi switched on")
    with pytest.raises(WorkflowUpdateFailedError) as resolved:
        await act(handle, "return", reason="too late")
    cause = resolved.value.cause
    assert isinstance(cause, ApplicationError) and cause.details[0]["state"] == "resolved"


async def test_repeat_callers_escalate_once_and_suggest_an_impact(
    time_env: WorkflowEnvironment, time_worker: Worker
) -> None:
    policy = parse_policy("[escalation]\nrepeat_calls = 2\naffected_impact = { 2 = 2, 3 = 1 }")
    handle = await open_now(time_env, time_worker, policy=policy, impact=3, urgency=2)
    view = await act(handle, "affected", caller="bob")
    assert (view.affected_callers, view.affected_count) == (["bob"], 1)
    for caller in ("carol", "dave", "erin"):
        view = await act(handle, "affected", caller=caller)
    assert view.affected_count == 4 and view.impact == 3  # a suggestion, not a change
    assert view.impact_suggestion is not None
    assert (view.impact_suggestion.impact, view.impact_suggestion.priority) == (1, "P2")
    escalated = await entries_of(handle, "escalated")
    assert len(escalated) == 1 and escalated[0].details["affected_count"] == 2
    suggested = await entries_of(handle, "impact_suggested")
    assert [entry.details["impact"] for entry in suggested] == [[3, 2], [3, 1]]

    for body, field in (
        ({"caller": "bob"}, "caller"),
        ({"caller": "alice"}, "caller"),
        ({}, "caller"),
    ):
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await act(handle, "affected", **body)
        cause = refused.value.cause
        assert isinstance(cause, ApplicationError) and cause.details[0]["field"] == field


async def test_bad_signals_for_the_new_actions_land_as_rejected(
    time_env: WorkflowEnvironment, time_worker: Worker
) -> None:
    handle = await open_now(time_env, time_worker)
    await handle.signal("return", {"reason": "misrouted"})  # new: not assigned yet
    await handle.signal("affected", {"caller": 42})
    await handle.signal("affected", {"caller": "alice"})  # the caller herself
    await handle.signal("assign", {"group": "network-l1", "assignee": "sam"})
    await handle.signal("start", {})
    await handle.signal("resolve", {"resolution_code": "duplicate", "resolution_notes": "Same"})
    await handle.signal("duplicate_linked", {"duplicate": "INC0000001"})
    await handle.signal("return", {})
    view = await act(handle, "affected", caller="bob")
    assert view.status == Status.IN_PROGRESS and view.affected_callers == ["bob"]
    rejected = [entry.details for entry in await entries_of(handle, "rejected")]
    assert [(r["action"], r.get("field") or r.get("state")) for r in rejected] == [
        ("return", "new"),
        ("affected", "caller"),
        ("affected", "caller"),
        ("resolve", "duplicate_of"),
        ("duplicate_linked", "caller"),
        ("return", "reason"),
    ]


async def test_a_duplicate_links_both_ways_and_its_caller_is_affected_on_the_original(
    time_env: WorkflowEnvironment, time_worker: Worker
) -> None:
    original = await open_now(time_env, time_worker, short_description="Office internet down")
    duplicate = await open_now(time_env, time_worker, short_description="No internet", caller="bob")
    original_number, duplicate_number = (
        (await view_of(original)).number,
        (await view_of(duplicate)).number,
    )
    await act(duplicate, "assign", group="service-desk", assignee="sam")
    resolved = await act(
        duplicate,
        "resolve",
        resolution_code="duplicate",
        resolution_notes="Reported already",
        duplicate_of=original_number,
    )
    assert resolved.duplicate_of == original_number
    linked = await until(lambda: view_of(original), lambda view: bool(view.duplicates))
    assert linked.duplicates == [duplicate_number]
    assert linked.affected_callers == ["bob"] and linked.affected_count == 1
    affected = await entries_of(original, "affected")
    assert affected[0].actor == duplicate_number
    assert affected[0].details["duplicate"] == duplicate_number

    # The same caller's second duplicate links, but is counted once.
    again = await open_now(time_env, time_worker, short_description="Still no net", caller="bob")
    await act(again, "assign", group="service-desk")
    await act(
        again,
        "resolve",
        resolution_code="duplicate",
        resolution_notes="Reported already",
        duplicate_of=original_number,
    )
    twice = await until(lambda: view_of(original), lambda view: len(view.duplicates) == 2)
    assert twice.affected_callers == ["bob"] and len(await entries_of(original, "affected")) == 1

    reopened = await act(duplicate, "reopen", reason="Not the same fault after all")
    assert reopened.duplicate_of is None
