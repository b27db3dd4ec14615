"""Playbooks over HTTP with the shipped models: matched on create, steps worked by the right
people, resolve refused with the open required steps named, re-categorised to another model;
an alert's incident matched as a create is."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from temporalio.testing import WorkflowEnvironment

from tests.support.apistack import Stack, api_stack, eventually, stack_settings


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


MODELS = """
[models.billing-alert]
title = "Billing alert"
match = { service = "billing" }

[[models.billing-alert.steps]]
id = "check-invoices"
title = "Check the invoice queue"
required = true

[models.badge]
title = "Badge does not open doors"
match = { category = "facilities", subcategory = "badge" }
defaults = { description = "Badge of {caller_name} refused at the doors." }

[[models.badge.steps]]
id = "tell-caller"
title = "Tell the caller"
kind = "automated"
activity = "comment"
comment = { text = "Hello {caller_name}, your badge is being checked ({number})." }
"""


@asynccontextmanager
async def stack_with_models(
    dev_env: WorkflowEnvironment, tmp_path: Path, task_queue: str, records_url: str
) -> AsyncIterator[Stack]:
    models = tmp_path / "models"
    models.mkdir()
    (models / "test.toml").write_text(MODELS)
    address = dev_env.client.service_client.config.target_host
    settings = stack_settings(
        tmp_path, address, task_queue, database_url=records_url, models_dir=models
    )
    async with api_stack(dev_env.client, settings) as stack:
        yield stack


async def test_a_models_texts_name_the_caller_as_the_directory_does(
    dev_env: WorkflowEnvironment, tmp_path: Path, task_queue: str, records_url: str
) -> None:
    async with stack_with_models(dev_env, tmp_path, task_queue, records_url) as stack:
        body = {"short_description": "Badge refused", "category": "facilities"}
        created = await stack.ok(
            "POST", "/incidents", "alice", status=201, json=body | {"subcategory": "badge"}
        )
        assert created["description"] == "Badge of Alice Martin refused at the doors."
        path = f"/incidents/{created['number']}"
        told = await eventually(
            lambda: stack.ok("GET", f"{path}/timeline", "alice"),
            lambda entries: any(entry["kind"] == "comment" for entry in entries),
        )
        [comment] = [entry for entry in told if entry["kind"] == "comment"]
        assert comment["details"]["text"].startswith("Hello Alice Martin, your badge")


async def test_an_alert_opens_its_incident_with_the_model_of_its_service(
    dev_env: WorkflowEnvironment, tmp_path: Path, task_queue: str, records_url: str
) -> None:
    key = f"billing/5xx/{uuid.uuid4().hex[:6]}"
    alert = {
        "source": "prometheus",
        "dedup_key": key,
        "action": "trigger",
        "summary": "Billing API errors above 5%",
        "severity": "warning",
        "service": "billing",
    }
    async with stack_with_models(dev_env, tmp_path, task_queue, records_url) as stack:
        first = await stack.ok("POST", "/alerts", "monitoring", status=201, json=alert)
        path = f"/incidents/{first['incident']}"
        opened = await stack.ok("GET", path)
        assert opened["playbook"]["model"] == "billing-alert"
        assert _states(opened) == {"check-invoices": "ready"}
        assert (opened["impact"], opened["urgency"]) == (2, 2)  # the severity's, not a default

        repeat = await stack.ok("POST", "/alerts", "monitoring", json=alert)
        assert repeat["incident"] == first["incident"] and not repeat["created"]
        await stack.ok("POST", "/alerts", "monitoring", json=alert | {"action": "resolve"})
        held = await eventually(
            lambda: stack.ok("GET", f"{path}/timeline"),
            lambda entries: any(entry["kind"] == "rejected" for entry in entries),
        )
        [rejected] = [entry for entry in held if entry["kind"] == "rejected"]
        assert "required playbook steps are open" in rejected["details"]["error"]
        view = await stack.ok("GET", path)
        assert view["status"] not in ("resolved", "closed")
        assert view["alert"]["occurrences"] == 2
        assert view["previous_playbooks"] == []

        other = await stack.ok(
            "POST",
            "/alerts",
            "monitoring",
            status=201,
            json=alert | {"dedup_key": f"{key}-payroll", "service": "payroll"},
        )
        assert (await stack.ok("GET", f"/incidents/{other['incident']}"))["playbook"] is None
