"""Playbooks over HTTP with the shipped models: matched on create, steps worked by the right
people, resolve refused with the open required steps named, re-categorised to another model."""

from __future__ import annotations

from typing import Any

from tests.support.apistack import Stack, eventually


def _states(view: dict[str, Any]) -> dict[str, str]:
    return {step["id"]: step["state"] for step in view["playbook"]["steps"]}


async def test_a_network_outage_is_worked_through_its_playbook(stack: Stack) -> None:
    created = await stack.ok(
        "POST",
        "/incidents",
        "sam",
        status=201,
        json={
            "short_description": "Core switch down at HQ",
            "caller": "alice",
            "category": "network",
            "subcategory": "outage",
        },
    )
    number, path = created["number"], f"/incidents/{created['number']}"
    assert created["playbook"]["model"] == "network-outage"
    assert (created["impact"], created["priority"], created["assignment_group"]) == (
        1, "P2", "network-l1",
    )  # fmt: skip
    view = await eventually(
        lambda: stack.ok("GET", path), lambda v: _states(v)["declare-major"] == "done"
    )
    assert view["major"] is True and _states(view)["scope"] == "ready"

    refused = await stack.call(
        "POST", f"{path}/resolve", json={"resolution_code": "fixed", "resolution_notes": "x"}
    )
    assert refused.status_code == 409, refused.text
    assert refused.json()["missing"] == ["scope", "isolate", "restore", "verify"]
    assert "required playbook steps are open" in refused.json()["error"]

    # The requester neither sees nor works the steps.
    mine = await stack.ok("GET", path, "alice")
    assert mine["playbook"] is None
    assert (
        await stack.call("POST", f"{path}/complete-step", "alice", json={"step": "scope"})
    ).status_code == 403
    kinds = {entry["kind"] for entry in await stack.ok("GET", f"{path}/timeline", "alice")}
    assert not kinds & {"playbook_attached", "step_done", "complete_step"}

    # dana works network-l2 only: not the incident's group, but the owner of `isolate`.
    early = await stack.call("POST", f"{path}/complete-step", "dana", json={"step": "scope"})
    assert early.status_code == 403, early.text
    blocked = await stack.call("POST", f"{path}/complete-step", "dana", json={"step": "isolate"})
    assert blocked.status_code == 409 and blocked.json()["missing"] == ["scope"], blocked.text
    await stack.ok(
        "POST", f"{path}/complete-step", "sam", json={"step": "scope", "note": "HQ only"}
    )
    isolated = await stack.ok(
        "POST", f"{path}/complete-step", "dana", json={"step": "isolate", "note": "line card"}
    )
    steps = {step["id"]: step for step in isolated["playbook"]["steps"]}
    assert (steps["isolate"]["state"], steps["isolate"]["by"]) == ("done", "dana")
    assert steps["restore"]["state"] == "ready"
    required = await stack.call(
        "POST", f"{path}/skip-step", json={"step": "restore", "reason": "not needed"}
    )
    assert required.status_code == 409 and "required" in required.json()["error"]
    unknown = await stack.call("POST", f"{path}/complete-step", json={"step": "nope"})
    assert unknown.status_code == 422 and unknown.json()["problems"][0]["field"] == "step"

    # Re-categorised: the degradation model's playbook, the outage's kept on record.
    changed = await stack.ok(
        "PATCH", path, json={"category": "application", "subcategory": "degradation"}
    )
    assert changed["playbook"]["model"] == "service-degradation"
    [previous] = changed["previous_playbooks"]
    assert previous["model"] == "network-outage"
    assert {s["id"]: s["state"] for s in previous["steps"]}["isolate"] == "done"
    assert number == changed["number"]
