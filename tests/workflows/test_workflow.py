"""The incident workflow on the time-skipping server, driven as the API and automation do."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from domain import search_attributes as sa
from domain.lifecycle import TIMELINE_KEPT, TRANSITIONS
from domain.models import IncidentView, Status, TimelineEntry, TimelineWindow
from recordstore import RecordStore
from tests.support.factories import act, new_incident, settled_history, start


async def open_one(
    env: WorkflowEnvironment, worker: Worker, **fields: Any
) -> WorkflowHandle[Any, Any]:
    state = new_incident(now=await env.get_current_time(), **fields)
    return await start(env.client, worker.task_queue, state)


async def timeline(handle: WorkflowHandle[Any, Any]) -> list[TimelineEntry]:
    entries: list[TimelineEntry] = await handle.query("timeline", result_type=list[TimelineEntry])
    return entries


async def recorded_events(handle: WorkflowHandle[Any, Any]) -> list[str]:
    """History events other than workflow-task bookkeeping (the test server, unlike the real one,
    does not drop the workflow task of a rejected update)."""
    names = [EventType.Name(event_type) for event_type in await settled_history(handle)]
    return [name for name in names if "WORKFLOW_TASK" not in name]


async def test_full_lifecycle_through_updates(
    time_env: WorkflowEnvironment, time_worker: Worker, store: RecordStore
) -> None:
    handle = await open_one(time_env, time_worker, short_description="VPN drops every hour")
    steps: list[tuple[str, dict[str, Any], Status]] = [
        ("assign", {"group": "network-l1", "assignee": "sam"}, Status.ASSIGNED),
        ("start", {}, Status.IN_PROGRESS),
        ("pend", {"reason": "awaiting_caller", "note": "Which office?"}, Status.PENDING),
        ("resume", {}, Status.IN_PROGRESS),
        (
            "resolve",
            {"resolution_code": "fixed", "resolution_notes": "New DHCP lease"},
            Status.RESOLVED,
        ),
        ("reopen", {"reason": "Dropped again"}, Status.IN_PROGRESS),
        (
            "resolve",
            {"resolution_code": "fixed", "resolution_notes": "Firmware update"},
            Status.RESOLVED,
        ),
        ("close", {}, Status.CLOSED),
    ]
    for action, body, status in steps:
        view = await act(handle, action, actor="sam", **body)
        assert view.status == status, action
    assert view.reopen_count == 1 and view.close_code == "confirmed"
    assert view.resolution_notes == "Firmware update"

    final = await handle.result()
    assert final.status == Status.CLOSED
    kinds = [entry.kind for entry in await timeline(handle)]
    assert kinds == ["created", *[action for action, _, _ in steps], "survey_invited"]
    record = await store.get_incident(final.number)
    assert record is not None and record.status == Status.CLOSED and record.version == final.version
    stored = await store.get_timeline(final.number)
    assert [entry.kind for entry in stored] == kinds


async def test_invalid_update_is_rejected_and_leaves_history_alone(
    time_env: WorkflowEnvironment, time_worker: Worker
) -> None:
    handle = await open_one(time_env, time_worker)
    await act(handle, "comment", text="first look")
    events_before = await recorded_events(handle)
    with pytest.raises(WorkflowUpdateFailedError) as failure:
        await act(handle, "close")
    cause = failure.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "InvalidTransition"
    assert cause.details[0]["state"] == "new"
    assert "assign" in cause.details[0]["allowed_actions"]
    with pytest.raises(WorkflowUpdateFailedError) as bad_body:
        await act(handle, "pend", reason="awaiting_godot", note="x")
    assert isinstance(bad_body.value.cause, ApplicationError)
    assert bad_body.value.cause.details[0]["field"] == "reason"
    assert await recorded_events(handle) == events_before
    assert [e.kind for e in await timeline(handle)] == ["created", "comment"]


async def test_invalid_signals_are_recorded_as_rejected_and_work_goes_on(
    time_env: WorkflowEnvironment, time_worker: Worker
) -> None:
    handle = await open_one(time_env, time_worker)
    await handle.signal("start", {"actor": "monitoring"})  # not assigned yet
    await handle.signal("pend", {"reason": 42})  # malformed
    await handle.signal("frobnicate", {})  # no such action
    await handle.signal("assign", {"group": "service-desk", "assignee": "sam", "actor": "router"})
    view = await act(handle, "start")
    assert view.status == Status.IN_PROGRESS
    entries = await timeline(handle)
    rejected = [entry.details for entry in entries if entry.kind == "rejected"]
    assert [r["action"] for r in rejected] == ["start", "pend", "frobnicate"]
    assert rejected[0]["state"] == "new"
    assert rejected[1]["field"] == "reason"
    assert rejected[2]["field"] == "action"
    assert entries[-2].kind == "assign" and entries[-2].actor == "router"


async def test_the_same_update_id_applies_once(
    time_env: WorkflowEnvironment, time_worker: Worker
) -> None:
    handle = await open_one(time_env, time_worker)
    body = {"text": "called the caller", "visibility": "work_note"}
    first = await handle.execute_update("comment", body, id="req-1", result_type=IncidentView)
    again = await handle.execute_update("comment", body, id="req-1", result_type=IncidentView)
    assert first.version == again.version
    for _ in range(2):
        await handle.signal("comment", body | {"request_id": "sig-7"})
    kinds = [entry.kind for entry in await timeline(handle)]
    assert kinds.count("comment") == 2


async def test_every_other_action_and_search_attributes(
    time_env: WorkflowEnvironment, time_worker: Worker
) -> None:
    handle = await open_one(time_env, time_worker, impact=3, urgency=3, category="email")
    await act(handle, "assign", group="service-desk", assignee="sam")
    view = await act(handle, "update", impact=1, urgency=2, reason="CEO affected")
    assert view.priority == "P2"
    view = await act(handle, "escalate", kind="functional", reason="needs platform team")
    assert (view.support_level, view.assignment_group, view.assignee) == ("L2", "platform-l2", None)
    view = await act(handle, "declare_major", reason="all mail down")
    assert view.major
    view = await act(handle, "link_parent", parent="INC0999999")
    assert view.parent == "INC0999999"
    await act(handle, "comment", text="bridge open", visibility="public")
    attributes = (await handle.describe()).typed_search_attributes
    assert attributes.get(sa.INCIDENT_PRIORITY) == "P2"
    assert attributes.get(sa.INCIDENT_GROUP) == "platform-l2"
    assert attributes.get(sa.INCIDENT_MAJOR) is True
    assert attributes.get(sa.INCIDENT_STATUS) == "assigned"
    assert attributes.get(sa.INCIDENT_ASSIGNEE) is None
    view = await act(handle, "cancel", reason="duplicate of a parent")
    assert view.status == Status.CANCELED
    assert (await handle.result()).status == Status.CANCELED


async def test_a_long_timeline_stays_whole_in_the_record_and_small_in_the_workflow(
    time_env: WorkflowEnvironment, time_worker: Worker, store: RecordStore
) -> None:
    handle = await open_one(time_env, time_worker)
    await asyncio.gather(
        *[
            handle.signal("comment", {"text": f"note {n}", "request_id": f"c{n}"})
            for n in range(600)
        ]
    )
    view = await act(handle, "comment", text="the last word")
    window = await handle.query("timeline_window", result_type=TimelineWindow)
    assert window.offset > 0 and len(window.entries) <= 2 * TIMELINE_KEPT
    number = view.number
    for _ in range(100):
        stored = await store.get_timeline(number)
        if len(stored) == window.offset + len(window.entries):
            break
        await asyncio.sleep(0.1)
    merged = stored[: window.offset] + window.entries
    texts = [entry.details.get("text") for entry in merged if entry.kind == "comment"]
    assert len(texts) == 601 and texts[-1] == "the last word"
    assert sorted(texts[:-1], key=lambda t: int(t.split()[1])) == [f"note {n}" for n in range(600)]


async def test_every_action_is_a_named_update_and_signal_with_a_description(
    time_env: WorkflowEnvironment, time_worker: Worker
) -> None:
    """What the Temporal UI's Send Signal/Update menus and `temporal workflow metadata` list."""
    handle = await open_one(time_env, time_worker)
    metadata = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    definition = metadata.definition
    updates = {update.name: update.description for update in definition.update_definitions}
    signals = {signal.name: signal.description for signal in definition.signal_definitions}
    queries = {query.name for query in definition.query_definitions}
    for action, rule in TRANSITIONS.items():
        assert updates[action.value] == signals[action.value] == rule.describe()
        assert rule.summary in updates[action.value]
    events = {"child_linked", "parent_resolved", "parent_reopened", "vendor_update", "alert"}
    assert events <= set(signals) and all(signals[name] for name in events)
    assert {"view", "timeline", "timeline_window"} <= queries


async def test_hyphenated_names_and_any_number_of_payloads(
    time_env: WorkflowEnvironment, time_worker: Worker
) -> None:
    handle = await open_one(time_env, time_worker)
    declared = await handle.execute_update(
        "declare-major", {"reason": "Whole floor"}, result_type=IncidentView
    )
    assert declared.major
    await handle.signal("assign", args=[{"group": "desk", "assignee": "sam"}, {"ignored": 1}])
    await handle.signal("start")  # no payload: an empty body, fine for start
    await handle.signal("link-parent", {"parent": "not a number"})
    await handle.signal("alert", {"x": 1})
    bogus = {
        "source": "prometheus",
        "dedup_key": "db01/cpu",
        "action": "bogus",
        "summary": "CPU",
        "severity": "warning",
        "received_at": "2026-11-30T09:00:00Z",
    }
    await handle.signal("alert", bogus)
    await handle.signal("vendor_update", "just a string")
    view = await act(handle, "comment", text="still working")
    assert view.status == Status.IN_PROGRESS and view.assignee == "sam"
    rejected = [entry.details for entry in await timeline(handle) if entry.kind == "rejected"]
    assert [(r["action"], r["field"]) for r in rejected] == [
        ("link-parent", "parent"),
        ("alert", "source"),
        ("alert", "action"),
        ("vendor_update", "body"),
    ]
