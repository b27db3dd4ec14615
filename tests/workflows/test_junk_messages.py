"""No message can brick an incident: generated junk to every Update and Signal name of both
workflows, on the real dev server, then a normal lifecycle still runs.

Junk: wrong types for the right field names, unknown fields, unknown action names, huge
strings, non-JSON and binary payloads. Updates must be rejected (or, rarely, be valid);
signals must leave a `rejected` timeline entry; no workflow task may fail.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from temporalio import workflow
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.common import RawValue
from temporalio.testing import WorkflowEnvironment

from domain.names import alert_workflow_id, incident_workflow_id
from tests.support.apistack import Stack, api_stack, stack_settings
from workflows.alerts import AlertWorkflow
from workflows.incident import IncidentWorkflow

CALL_TIMEOUT_S = 20.0
FIELD_NAMES = [
    "action", "group", "assignee", "reason", "text", "visibility", "kind", "impact", "urgency",
    "resolution_code", "resolution_notes", "parent", "child", "vendor", "summary", "details",
    "dedup_key", "source", "severity", "request_id", "number", "status", "ticket_id",
]  # fmt: skip
SENT: dict[str, int] = {"signals": 0, "updates": 0}


def handler_names(cls: type) -> tuple[list[str], list[str]]:
    definition = workflow._Definition.must_from_class(cls)
    signals = [name for name in definition.signals if name]
    updates = [name for name in definition.updates if name]
    return signals, updates


INCIDENT_SIGNALS, INCIDENT_UPDATES = handler_names(IncidentWorkflow)
ALERT_SIGNALS, ALERT_UPDATES = handler_names(AlertWorkflow)
UNKNOWN_NAMES = ["bogus", "ASSIGN", "assign-", "__stack_trace", "declare--major", "alert "]


def raw(encoding: bytes, data: bytes) -> RawValue:
    return RawValue(Payload(metadata={"encoding": encoding}, data=data))


not_text = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=8,
)
wrong_types = st.dictionaries(st.sampled_from(FIELD_NAMES), not_text, min_size=1, max_size=4)
unknown_fields = st.dictionaries(
    st.text(min_size=1, max_size=8).filter(lambda key: key not in FIELD_NAMES),
    st.text(max_size=20) | not_text,
    min_size=1,
    max_size=3,
)
json_junk = wrong_types | unknown_fields | not_text | st.lists(st.text(max_size=10), max_size=3)
raw_junk = st.one_of(
    st.binary(max_size=64).map(lambda data: raw(b"binary/plain", data)),
    st.binary(min_size=1, max_size=64).map(lambda data: raw(b"json/plain", b"{" + data)),
    st.just(raw(b"binary/null", b"")),
    st.just(raw(b"json/plain", json.dumps({"text": "x" * 1_500_000}).encode())),
    st.just(raw(b"json/plain", b"[" * 300 + b"]" * 300)),
    st.just(raw(b"json/plain", b'{"text": "lone \\ud800", "reason": "\\udfff"}')),
)
junk = json_junk | raw_junk


async def send(handle: WorkflowHandle[Any, Any], kind: str, name: str, payload: Any) -> None:
    if kind == "signal":
        await asyncio.wait_for(handle.signal(name, payload), CALL_TIMEOUT_S)
        SENT["signals"] += 1
        return
    try:
        await asyncio.wait_for(handle.execute_update(name, payload), CALL_TIMEOUT_S)
    except WorkflowUpdateFailedError:
        pass  # rejected: what junk should get
    SENT["updates"] += 1


async def no_failed_workflow_task(handle: WorkflowHandle[Any, Any]) -> None:
    events = [event.event_type async for event in handle.fetch_history_events()]
    assert EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED not in events


@dataclass
class Junked:
    stack: Stack
    client: Client
    incident: WorkflowHandle[Any, Any]
    alerted: WorkflowHandle[Any, Any]
    router: WorkflowHandle[Any, Any]

    def handles(self, workflow_kind: str) -> list[WorkflowHandle[Any, Any]]:
        return [self.incident, self.alerted] if workflow_kind == "incident" else [self.router]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def junked(
    dev_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory, records_url: str
) -> AsyncIterator[Junked]:
    """One API, worker, incident and alert router for the module: the junk goes to them, and
    the lifecycle test then works the same incidents."""
    address = dev_env.client.service_client.config.target_host
    settings = stack_settings(
        tmp_path_factory.mktemp("junk"), address, f"junk-{uuid.uuid4()}", database_url=records_url
    )
    caller = f"junk-{uuid.uuid4().hex[:8]}"
    async with api_stack(dev_env.client, settings) as stack:
        created = await stack.ok(
            "POST", "/incidents", status=201, json={"short_description": "Junk", "caller": caller}
        )
        alert = {"source": "junk", "dedup_key": caller, "action": "trigger", "summary": "Disk"}
        opened = await stack.ok("POST", "/alerts", "monitoring", status=201, json=alert)
        client = dev_env.client
        yield Junked(
            stack,
            client,
            client.get_workflow_handle(incident_workflow_id(created["number"])),
            client.get_workflow_handle(incident_workflow_id(opened["incident"])),
            client.get_workflow_handle(alert_workflow_id("junk", caller)),
        )


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    workflow_kind=st.sampled_from(["incident", "router"]),
    kind=st.sampled_from(["signal", "update"]),
    data=st.data(),
)
async def test_junk_to_every_handler_name_is_refused(
    junked: Junked, workflow_kind: str, kind: str, data: st.DataObject
) -> None:
    signals, updates = (
        (INCIDENT_SIGNALS, INCIDENT_UPDATES)
        if workflow_kind == "incident"
        else (ALERT_SIGNALS, ALERT_UPDATES)
    )
    names = (signals if kind == "signal" else updates) + UNKNOWN_NAMES
    name = data.draw(st.sampled_from(names), label="name")
    payload = data.draw(junk, label="payload")
    for handle in junked.handles(workflow_kind):
        await send(handle, kind, name, payload)


async def test_after_the_junk_every_incident_still_takes_a_normal_lifecycle(
    junked: Junked,
) -> None:
    stack = junked.stack
    print(f"junk sent: {SENT['signals']} signals, {SENT['updates']} updates")
    assert SENT["signals"] + SENT["updates"] >= 400
    for handle in (junked.incident, junked.alerted, junked.router):
        await no_failed_workflow_task(handle)
    for handle in (junked.incident, junked.alerted):
        number = handle.id.removeprefix("incident-")
        timeline = await stack.ok("GET", f"/incidents/{number}/timeline", "root")
        rejected = [entry for entry in timeline if entry["kind"] == "rejected"]
        assert rejected, "junk signals leave a rejected entry with the reason"
        assert all(entry["details"].get("error") for entry in rejected)
        view = await stack.ok("GET", f"/incidents/{number}", "root")
        if view["status"] == "new":
            await stack.ok("POST", f"/incidents/{number}/assign", json={"group": "service-desk"})
        view = await stack.ok("GET", f"/incidents/{number}", "root")
        if view["status"] == "pending":
            await stack.ok("POST", f"/incidents/{number}/resume", json={})
        if view["status"] == "assigned":
            await stack.ok("POST", f"/incidents/{number}/start", json={"assignee": "sam"})
        await stack.ok(
            "POST",
            f"/incidents/{number}/resolve",
            json={"resolution_code": "fixed", "resolution_notes": "after the junk"},
        )
        closed = await stack.ok(
            "POST", f"/incidents/{number}/close", "root", json={"note": "caller confirmed by phone"}
        )
        assert closed["status"] == "closed"
    # the router still routes: a resolve for its key is answered
    router_alert = {"source": "junk", "dedup_key": junked.router.id.split(":", 1)[1]}
    answer = await stack.call(
        "POST",
        "/alerts",
        "monitoring",
        json=router_alert | {"action": "trigger", "summary": "Disk again"},
    )
    assert answer.status_code in (200, 201), answer.text
