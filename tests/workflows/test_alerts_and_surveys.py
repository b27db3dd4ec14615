"""Monitoring alerts, surveys and parent links over HTTP, on the real dev server."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from temporalio.testing import WorkflowEnvironment

from domain.names import incident_workflow_id
from tests.support.apistack import Stack, eventually


def alert(dedup_key: str, action: str = "trigger", **fields: Any) -> dict[str, Any]:
    body = {"source": "prometheus", "dedup_key": dedup_key, "action": action}
    return (
        body
        | {"summary": "db01 CPU above 95%", "severity": "warning", "service": "billing"}
        | fields
    )


async def test_fifty_concurrent_triggers_open_exactly_one_incident(stack: Stack) -> None:
    key = f"db01/cpu/{uuid.uuid4().hex[:6]}"
    responses = await asyncio.gather(
        *[stack.call("POST", "/alerts", "monitoring", json=alert(key)) for _ in range(50)]
    )
    assert all(r.status_code in (200, 201) for r in responses), [r.text for r in responses][:3]
    numbers = {r.json()["incident"] for r in responses}
    assert len(numbers) == 1
    assert sum(r.json()["created"] for r in responses) == 1
    assert sorted(r.status_code for r in responses) == [200] * 49 + [201]
    number = numbers.pop()

    incident = await eventually(
        lambda: stack.ok("GET", f"/incidents/{number}"), lambda i: i["alert"]["occurrences"] == 50
    )
    assert incident["alert"]["occurrences"] == 50 and incident["channel"] == "monitoring"
    assert (incident["impact"], incident["urgency"], incident["priority"]) == (2, 2, "P3")
    assert incident["caller"] == "prometheus" and incident["service"] == "billing"


async def test_acknowledge_starts_and_resolve_auto_resolves_then_a_new_trigger_opens_anew(
    stack: Stack,
) -> None:
    key = f"web/5xx/{uuid.uuid4().hex[:6]}"
    first = await stack.ok(
        "POST", "/alerts", "monitoring", status=201, json=alert(key, severity="critical")
    )
    number = first["incident"]
    opened = await stack.ok("GET", f"/incidents/{number}")
    assert opened["priority"] == "P1" and opened["major"]
    await stack.ok(
        "POST", f"/incidents/{number}/assign", json={"group": "web-l2", "assignee": "sam"}
    )
    await stack.ok("POST", "/alerts", "monitoring", json=alert(key, "acknowledge"))
    started = await eventually(
        lambda: stack.ok("GET", f"/incidents/{number}"), lambda i: i["status"] == "in_progress"
    )
    assert started["status"] == "in_progress"

    await stack.ok(
        "POST", "/alerts", "monitoring", json=alert(key, "resolve", summary="CPU normal")
    )
    resolved = await eventually(
        lambda: stack.ok("GET", f"/incidents/{number}"), lambda i: i["status"] == "resolved"
    )
    assert resolved["resolution_code"] == "auto_resolved"

    review = {
        "summary": "CPU storm",
        "root_cause": "A runaway batch job",
        "lessons": "Cap batch CPU",
        "actions": [{"action": "Add cgroup limits", "owner": "sam"}],
    }
    await stack.ok("POST", f"/incidents/{number}/review", "morgan", json=review)
    # automation closes for the monitoring source (an agent would need a note: closed_by_agent)
    await stack.ok("POST", f"/incidents/{number}/close", "monitoring", json={})

    async def retrigger() -> dict[str, Any]:
        response = await stack.call("POST", "/alerts", "monitoring", json=alert(key))
        result: dict[str, Any] = response.json()
        return result

    again = await eventually(retrigger, lambda outcome: outcome.get("incident") != number)
    assert again["created"] and again["incident"] != number


async def test_an_incident_that_ended_before_its_router_heard_is_never_a_500(
    stack: Stack, dev_env: WorkflowEnvironment
) -> None:
    """An incident can end (closed, or here terminated by an operator) before its closing news
    reaches its alert router: the next trigger opens a new incident, a clear is a 404."""
    key = f"edge/gone/{uuid.uuid4().hex[:6]}"

    async def trigger_opens_anew(gone: str) -> str:
        await dev_env.client.get_workflow_handle(incident_workflow_id(gone)).terminate("ended")
        again = await stack.ok("POST", "/alerts", "monitoring", status=201, json=alert(key))
        assert again["created"] and again["incident"] != gone
        number: str = again["incident"]
        return number

    first = await stack.ok("POST", "/alerts", "monitoring", status=201, json=alert(key))
    second = await trigger_opens_anew(first["incident"])  # a repeat would have attached

    await dev_env.client.get_workflow_handle(incident_workflow_id(second)).terminate("ended")
    clear = await stack.call("POST", "/alerts", "monitoring", json=alert(key, "resolve"))
    assert clear.status_code == 404, clear.text

    third = await stack.ok("POST", "/alerts", "monitoring", status=201, json=alert(key))
    await stack.ok("POST", "/alerts", "monitoring", json=alert(key, "resolve"))
    await eventually(
        lambda: stack.ok("GET", f"/incidents/{third['incident']}"),
        lambda incident: incident["status"] == "resolved",
    )
    # Within the reopen window: the router would reopen it, but it has ended.
    fourth = await trigger_opens_anew(third["incident"])
    assert (await stack.ok("GET", f"/incidents/{fourth}"))["status"] != "resolved"


async def test_alert_input_and_access(stack: Stack) -> None:
    key = f"x/{uuid.uuid4().hex[:6]}"
    assert (await stack.call("POST", "/alerts", "sam", json=alert(key))).status_code == 403
    bad = await stack.call("POST", "/alerts", "monitoring", json=alert(key, severity="apocalyptic"))
    assert bad.status_code == 422 and bad.json()["problems"][0]["field"] == "severity"
    lost = await stack.call("POST", "/alerts", "monitoring", json=alert(key, "resolve"))
    assert lost.status_code == 404


async def test_the_caller_answers_the_survey_once(stack: Stack) -> None:
    number = (
        await stack.ok(
            "POST", "/incidents", "alice", status=201, json={"short_description": "Slow VPN"}
        )
    )["number"]
    await stack.ok("POST", f"/incidents/{number}/assign", json={"group": "desk", "assignee": "sam"})
    await stack.ok(
        "POST",
        f"/incidents/{number}/resolve",
        json={"resolution_code": "fixed", "resolution_notes": "MTU"},
    )
    closed = await stack.ok("POST", f"/incidents/{number}/close", "alice", json={})
    assert closed["survey_invited"]
    await eventually(
        lambda: stack.ok("GET", f"/incidents/{number}"), lambda i: i["status"] == "closed"
    )

    answer = {"score": 4, "comment": "Quick, thanks"}
    assert (
        await stack.call("POST", f"/incidents/{number}/survey", "sam", json=answer)
    ).status_code == 403
    assert (
        await stack.call("POST", f"/incidents/{number}/survey", "bob", json=answer)
    ).status_code == 404
    bad = await stack.call("POST", f"/incidents/{number}/survey", "alice", json={"score": 9})
    assert bad.status_code == 422 and bad.json()["problems"][0]["field"] == "score"
    answered = await stack.ok("POST", f"/incidents/{number}/survey", "alice", json=answer)
    assert answered["survey_score"] == 4
    assert (
        await stack.call("POST", f"/incidents/{number}/survey", "alice", json=answer)
    ).status_code == 409
    record = await stack.ok("GET", f"/incidents/{number}")
    assert record["survey_score"] == 4 and record["survey_comment"] == "Quick, thanks"
    timeline = await stack.ok("GET", f"/incidents/{number}/timeline")
    assert timeline[-1]["kind"] == "survey" and timeline[-1]["details"]["score"] == 4


async def test_linking_a_parent_is_checked(stack: Stack) -> None:
    async def create(text: str) -> str:
        number: str = (
            await stack.ok("POST", "/incidents", status=201, json={"short_description": text})
        )["number"]
        return number

    parent, child = await create("Core switch down"), await create("Floor 2 offline")
    missing = await stack.call(
        "POST", f"/incidents/{child}/link-parent", json={"parent": "INC9999990"}
    )
    assert missing.status_code == 422 and missing.json()["problems"][0]["field"] == "parent"
    itself = await stack.call("POST", f"/incidents/{child}/link-parent", json={"parent": child})
    assert itself.status_code == 422
    linked = await stack.ok("POST", f"/incidents/{child}/link-parent", json={"parent": parent})
    assert linked["parent"] == parent
    shown = await eventually(
        lambda: stack.ok("GET", f"/incidents/{parent}"), lambda i: child in i["children"]
    )
    assert shown["children"] == [child]
    cycle = await stack.call("POST", f"/incidents/{parent}/link-parent", json={"parent": child})
    assert cycle.status_code == 422 and "descends" in cycle.json()["error"]
