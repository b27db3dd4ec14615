"""End to end over HTTP: a real API, a real worker, the real Temporal dev server."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from domain.names import incident_workflow_id as workflow_id
from tests.support.apistack import TOKENS, Stack, eventually, free_port, serve_api, stack_settings
from tests.support.factories import settled_history


async def create(stack: Stack, who: str = "sam", **fields: Any) -> dict[str, Any]:
    on_behalf = {} if who in ("alice", "bob") else {"caller": "alice"}  # requesters are the caller
    body = {"short_description": "Printer on 3rd floor jams"} | on_behalf | fields
    result: dict[str, Any] = await stack.ok("POST", "/incidents", who, status=201, json=body)
    return result


async def test_the_readme_flow(stack: Stack, caller: str) -> None:
    incident = await create(stack, impact=2, urgency=2, category="hardware", caller=caller)
    number = incident["number"]
    assert number.startswith("INC") and incident["status"] == "new" and incident["priority"] == "P3"

    listed = await stack.ok("GET", f"/incidents?caller={caller}")
    assert [item["number"] for item in listed["items"]] == [number]

    steps: list[tuple[str, dict[str, Any], str]] = [
        ("assign", {"group": "service-desk", "assignee": "sam"}, "assigned"),
        ("start", {}, "in_progress"),
        ("pend", {"reason": "awaiting_caller", "note": "Which tray?"}, "pending"),
        ("resume", {}, "in_progress"),
        (
            "resolve",
            {"resolution_code": "fixed", "resolution_notes": "Replaced the roller"},
            "resolved",
        ),
        ("reopen", {"reason": "Jams again"}, "in_progress"),
        (
            "resolve",
            {"resolution_code": "fixed", "resolution_notes": "Replaced the fuser"},
            "resolved",
        ),
    ]
    for action, body, status in steps:
        view = await stack.ok("POST", f"/incidents/{number}/{action}", json=body)
        assert view["status"] == status, action

    comment = {"text": "Please confirm it prints", "visibility": "public"}
    await stack.ok("POST", f"/incidents/{number}/comment", json=comment)
    # The agent closes for the caller: issue 13 calls `confirmed` here a bug (no caller
    # confirmed); it is `closed_by_agent`, with the note saying how the caller agreed.
    closed = await stack.ok("POST", f"/incidents/{number}/close", json={"note": "By phone"})
    assert closed["status"] == "closed" and closed["close_code"] == "closed_by_agent"

    other = await create(stack, short_description="Duplicate printer ticket")
    updated = await stack.ok(
        "PATCH",
        f"/incidents/{other['number']}",
        json={"impact": 1, "urgency": 1, "reason": "Board meeting"},
    )
    assert updated["priority"] == "P1"
    canceled = await stack.ok(
        "POST", f"/incidents/{other['number']}/cancel", json={"reason": "duplicate"}
    )
    assert canceled["status"] == "canceled"

    # Known errors stored by other tests in the shared record store may be suggested too.
    everything = await stack.ok("GET", f"/incidents/{number}/timeline")
    # Known errors and similar incidents are looked up at create, found by their own timing.
    lookups = ("known_errors_suggested", "similar_found")
    timeline = [entry for entry in everything if entry["kind"] not in lookups]
    kinds = [entry["kind"] for entry in timeline]
    assert kinds == [
        "created",
        *[action for action, _, _ in steps],
        "comment",
        "close",
        "survey_invited",
    ]
    assert timeline[1]["from"] == "new" and timeline[1]["to"] == "assigned"
    update_entry = next(
        e
        for e in await stack.ok("GET", f"/incidents/{other['number']}/timeline")
        if e["kind"] == "update"
    )
    assert update_entry["details"]["priority"] == ["P3", "P1"]
    assert update_entry["details"]["reason"] == "Board meeting"

    # The workflow has ended; the incident is still readable from its record.
    after = await stack.ok("GET", f"/incidents/{number}")
    assert after["status"] == "closed" and after["reopen_count"] == 1
    resolution = {clock["name"]: clock for clock in after["clocks"]}["resolution"]
    assert resolution["state"] == "met" and resolution["pause_seconds"]["awaiting_caller"] > 0


async def test_errors_say_what_is_wrong(stack: Stack) -> None:
    missing = await stack.call("POST", "/incidents", json={"caller": "alice"})
    assert missing.status_code == 422 and "short_description" in missing.json()["error"]
    bad_impact = await stack.call(
        "POST", "/incidents", json={"short_description": "x", "impact": 7}
    )
    assert bad_impact.status_code == 422 and bad_impact.json()["problems"][0]["field"] == "impact"
    unknown_field = await stack.call(
        "POST", "/incidents", json={"short_description": "x", "colour": "red"}
    )
    assert (
        unknown_field.status_code == 422
        and unknown_field.json()["problems"][0]["field"] == "colour"
    )

    number = (await create(stack))["number"]
    conflict = await stack.call("POST", f"/incidents/{number}/close", json={})
    assert conflict.status_code == 409
    assert conflict.json()["state"] == "new" and "assign" in conflict.json()["allowed_actions"]
    no_reason = await stack.call("PATCH", f"/incidents/{number}", json={"impact": 1})
    assert no_reason.status_code == 422 and no_reason.json()["problems"][0]["field"] == "reason"
    no_assignee = await stack.call("POST", f"/incidents/{number}/assign", json={"group": "desk"})
    assert no_assignee.status_code == 200
    start = await stack.call("POST", f"/incidents/{number}/start", json={})
    assert start.status_code == 422 and start.json()["problems"][0]["field"] == "assignee"

    assert (await stack.call("GET", "/incidents/INC9999998")).status_code == 404
    assert (await stack.call("POST", "/incidents/INC9999998/start", json={})).status_code == 404
    assert (await stack.call("GET", "/incidents/not-a-number")).status_code == 422
    assert (await stack.call("GET", "/incidents?cursor=%%%")).status_code == 422
    assert (await stack.http.get("/incidents")).status_code == 401
    assert (
        await stack.http.get("/incidents", headers={"Authorization": "Bearer nope"})
    ).status_code == 401


async def test_a_rejected_update_leaves_no_trace_in_history(
    stack: Stack, dev_env: WorkflowEnvironment
) -> None:
    number = (await create(stack))["number"]
    handle = dev_env.client.get_workflow_handle(workflow_id(number))
    await stack.ok("POST", f"/incidents/{number}/comment", json={"text": "looking"})

    before = await settled_history(handle)
    assert (await stack.call("POST", f"/incidents/{number}/resolve", json={})).status_code == 422
    reopen = await stack.call("POST", f"/incidents/{number}/reopen", json={"reason": "x"})
    assert reopen.status_code == 409
    after = [event.event_type for event in (await handle.fetch_history()).events]
    assert after == before
    assert after.count(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED) == 1  # the comment


async def test_requesters_see_and_touch_only_their_own(stack: Stack) -> None:
    own = await create(stack, "alice", short_description="My laptop is slow")
    assert own["caller"] == "alice" and own["opened_by"] == "alice"
    theirs = await create(stack, "bob", short_description="Bob's monitor flickers")
    path = f"/incidents/{theirs['number']}"

    listed = await stack.ok("GET", "/incidents?limit=200", "alice")
    assert own["number"] in [item["number"] for item in listed["items"]]
    assert {item["caller"] for item in listed["items"]} == {"alice"}
    assert (await stack.call("GET", "/incidents?caller=bob", "alice")).status_code == 403
    assert (await stack.call("GET", path, "alice")).status_code == 404
    assert (await stack.call("GET", f"{path}/timeline", "alice")).status_code == 404
    comment = {"text": "me too", "visibility": "public"}
    assert (await stack.call("POST", f"{path}/comment", "alice", json=comment)).status_code == 404
    assert (
        await stack.call("POST", f"{path}/cancel", "alice", json={"reason": "x"})
    ).status_code == 404
    for_someone_else = {"short_description": "x", "caller": "bob"}
    assert (
        await stack.call("POST", "/incidents", "alice", json=for_someone_else)
    ).status_code == 403

    mine = f"/incidents/{own['number']}"
    assign = {"group": "desk", "assignee": "sam"}
    assert (await stack.call("POST", f"{mine}/assign", "alice", json=assign)).status_code == 403
    await stack.ok(
        "POST",
        f"{mine}/comment",
        "sam",
        json={"text": "internal: RAM low", "visibility": "work_note"},
    )
    await stack.ok("POST", f"{mine}/comment", "alice", json=comment)
    seen = [
        entry["details"].get("text") for entry in await stack.ok("GET", f"{mine}/timeline", "alice")
    ]
    assert "me too" in seen and "internal: RAM low" not in seen
    assert (await stack.ok("POST", f"{mine}/cancel", "alice", json={"reason": "fixed itself"}))[
        "status"
    ] == "canceled"


async def test_idempotency_key_gives_one_incident(stack: Stack, caller: str) -> None:
    body = {"short_description": "Payroll export failed", "caller": caller}
    headers = {"Idempotency-Key": f"payroll-{caller}"}
    responses = await asyncio.gather(
        *[stack.call("POST", "/incidents", json=body, headers=headers) for _ in range(5)]
    )
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["number"] for r in responses}) == 1
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in responses) == 4
    listed = await stack.ok("GET", f"/incidents?caller={caller}")
    assert len(listed["items"]) == 1
    changed = await stack.call("POST", "/incidents", json=body | {"impact": 1}, headers=headers)
    assert changed.status_code == 422 and "Idempotency-Key" in changed.json()["error"]


async def test_list_filters_and_pagination(stack: Stack, caller: str) -> None:
    numbers = []
    for index in range(7):
        fields = {"impact": 1 + index % 3, "urgency": 1, "caller": caller}
        incident = await create(stack, short_description=f"Outage {index}", **fields)
        numbers.append(incident["number"])
    await stack.ok(
        "POST", f"/incidents/{numbers[0]}/assign", json={"group": "network-l1", "assignee": "sam"}
    )
    await stack.ok("POST", f"/incidents/{numbers[0]}/start", json={})

    async def page(query: str) -> dict[str, Any]:
        result: dict[str, Any] = await stack.ok("GET", f"/incidents?caller={caller}&{query}")
        return result

    in_progress = await eventually(
        lambda: page("status=in_progress"), lambda p: len(p["items"]) == 1
    )
    assert [i["number"] for i in in_progress["items"]] == [numbers[0]]
    assert [i["number"] for i in (await page("group=network-l1&assignee=sam"))["items"]] == [
        numbers[0]
    ]
    p1 = await page("priority=P1")
    assert {i["number"] for i in p1["items"]} == {numbers[0], numbers[3], numbers[6]}
    assert all(i["major"] for i in p1["items"])
    assert len((await page("major=true"))["items"]) == 3

    seen: list[str] = []
    cursor = ""
    for expected in (3, 3, 1):
        result = await page(f"limit=3{cursor}")
        assert len(result["items"]) == expected
        seen += [item["number"] for item in result["items"]]
        cursor = f"&cursor={result['next_cursor']}" if result["next_cursor"] else ""
    assert seen == sorted(numbers, reverse=True) and cursor == ""


async def test_operators_find_incidents_by_search_attributes(
    stack: Stack, dev_env: WorkflowEnvironment
) -> None:
    number = (await create(stack, impact=1, urgency=2, short_description="Checkout errors"))[
        "number"
    ]
    await stack.ok(
        "POST", f"/incidents/{number}/assign", json={"group": "web-l2", "assignee": "sam"}
    )
    await stack.ok("POST", f"/incidents/{number}/start", json={})
    query = (
        f'IncidentStatus="in_progress" AND IncidentPriority="P2" AND IncidentGroup="web-l2" '
        f'AND IncidentAssignee="sam" AND IncidentNumber="{number}"'
    )

    async def matching() -> list[str]:
        return [wf.id async for wf in dev_env.client.list_workflows(query)]

    assert await eventually(matching, lambda ids: ids == [workflow_id(number)]) == [
        workflow_id(number)
    ]
    description = await dev_env.client.get_workflow_handle(workflow_id(number)).describe()
    assert await description.static_summary() == f"{number} P2 - Checkout errors"
    details = await dev_env.client.get_workflow_handle(workflow_id(number)).query(
        "__temporal_workflow_metadata"
    )
    assert "in_progress" in details.current_details and "resolution SLA" in details.current_details


async def test_temporal_down_gives_503(tmp_path: Path, task_queue: str) -> None:
    settings = stack_settings(tmp_path, f"127.0.0.1:{free_port()}", task_queue)
    async with serve_api(settings) as url, httpx.AsyncClient(base_url=url) as http:
        headers = {"Authorization": f"Bearer {TOKENS['sam'][1]}"}
        created = await http.post("/incidents", json={"short_description": "x"}, headers=headers)
        assert created.status_code == 503 and "Temporal" in created.json()["error"]
        ready = await http.get("/readyz")
        assert ready.status_code == 503 and ready.json()["temporal"].startswith("unreachable")
        assert ready.json()["database"] == "ok"
        assert (await http.get("/healthz")).status_code == 200


@pytest.mark.parametrize("who", ["alice", "sam", "morgan", "monitoring", "root"])
async def test_every_role_can_read_its_view(stack: Stack, who: str) -> None:
    assert (await stack.call("GET", "/incidents", who)).status_code == 200


async def test_a_temporal_envconfig_profile_is_used_when_named(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    from core.settings import Settings
    from core.temporal_client import connect

    address = dev_env.client.service_client.config.target_host
    config = tmp_path / "temporal.toml"
    config.write_text(f'[profile.cloud]\naddress = "{address}"\nnamespace = "default"\n')
    settings = Settings(
        temporal_address="127.0.0.1:1", temporal_profile="cloud", temporal_config_file=config
    )
    client = await connect(settings)
    assert client.service_client.config.target_host == address
    assert await client.count_workflows() is not None


async def test_the_temporal_ui_shows_a_hostile_summary_as_plain_text(
    stack: Stack, dev_env: WorkflowEnvironment
) -> None:
    hostile = "**Urgent** <img src=x onerror=alert(1)> \u202eelif\u202c [pay](http://x.test)"
    created = await stack.ok("POST", "/incidents", status=201, json={"short_description": hostile})
    number = created["number"]
    assert created["short_description"] == hostile  # the record keeps what was typed
    handle = dev_env.client.get_workflow_handle(workflow_id(number))
    summary = await (await handle.describe()).static_summary()
    assert summary == f"{number} P3 - Urgent elif pay"
    metadata = await handle.query("__temporal_workflow_metadata")
    assert "Urgent elif pay" in metadata.current_details
    assert "\u202e" not in metadata.current_details and "<img" not in metadata.current_details
