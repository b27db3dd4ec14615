"""Configuration items and correlation over real HTTP against the dev server (contract 15):
GET /cis and /cis/{id} with its open incidents, `ci` checked against the catalogue, and
N incidents on one CI within the window: exactly one suggestion to the desk, also when they
are created at the same moment, or one parent incident that links them all."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from domain.names import CORRELATE_INCIDENTS, incident_workflow_id
from tests.support.apistack import Stack, api_stack, eventually, stack_settings

CATALOGUE = """
[[ci]]
id = "office-internet-{tag}"
name = "Office internet uplink"
class = "network link"
service = "office-network"
owner_group = "network-l1"
location = "HQ, comms room"

[[ci]]
id = "payroll-app-{tag}"
name = "Payroll application"
class = "application"
service = "payroll"

[[ci]]
id = "printer-{tag}"
name = "Printer 2nd floor"
class = "printer"
service = "printing"
location = "HQ, 2nd floor"
"""
POLICY = """
[correlation]
threshold = 3
window = "1h"
by = ["ci"]
action = "{action}"
"""


@asynccontextmanager
async def desk(
    dev_env: WorkflowEnvironment, folder: Path, task_queue: str, records_url: str, action: str
) -> AsyncIterator[tuple[Stack, str]]:
    """The API and a worker with a catalogue of CIs of this test's own (tagged ids)."""
    tag = uuid.uuid4().hex[:8]
    (folder / "cis.toml").write_text(CATALOGUE.format(tag=tag))
    (folder / "policy.toml").write_text(POLICY.format(action=action))
    address = dev_env.client.service_client.config.target_host
    settings = stack_settings(
        folder,
        address,
        task_queue,
        database_url=records_url,
        cis_file=folder / "cis.toml",
        policy_file=folder / "policy.toml",
    )
    async with api_stack(dev_env.client, settings) as stack:
        yield stack, tag


async def create(stack: Stack, ci: str, **fields: Any) -> dict[str, Any]:
    body = {"short_description": "The office internet is down", "ci": ci} | fields
    created: dict[str, Any] = await stack.ok("POST", "/incidents", status=201, json=body)
    return created


async def correlated(client: Client, number: str) -> bool:
    """Whether the incident's correlation activity has answered."""
    history = await client.get_workflow_handle(incident_workflow_id(number)).fetch_history()
    scheduled = {
        event.event_id
        for event in history.events
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        and event.activity_task_scheduled_event_attributes.activity_type.name == CORRELATE_INCIDENTS
    }
    return any(
        event.activity_task_completed_event_attributes.scheduled_event_id in scheduled
        for event in history.events
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED
    )


async def until(probe: Callable[[], Awaitable[bool]], seconds: float = 60) -> None:
    assert await eventually(probe, bool, seconds), "not within the time allowed"


async def entries(stack: Stack, number: str, kind: str) -> list[dict[str, Any]]:
    timeline = await stack.ok("GET", f"/incidents/{number}/timeline")
    return [entry for entry in timeline if entry["kind"] == kind]


async def test_the_catalogue_lists_filters_and_pages(
    dev_env: WorkflowEnvironment, tmp_path: Path, task_queue: str, records_url: str
) -> None:
    async with desk(dev_env, tmp_path, task_queue, records_url, "suggest") as (stack, tag):
        everything = await stack.ok("GET", "/cis")
        assert [ci["id"] for ci in everything["items"]] == [
            f"office-internet-{tag}",
            f"payroll-app-{tag}",
            f"printer-{tag}",
        ]
        assert everything["items"][0]["class"] == "network link"
        by_service = await stack.ok("GET", "/cis", params={"service": "payroll"})
        assert [ci["id"] for ci in by_service["items"]] == [f"payroll-app-{tag}"]
        by_class = await stack.ok("GET", "/cis", "morgan", params={"class": "printer"})
        assert [ci["id"] for ci in by_class["items"]] == [f"printer-{tag}"]
        by_text = await stack.ok("GET", "/cis", params={"q": "hq"})
        assert len(by_text["items"]) == 2
        first = await stack.ok("GET", "/cis", params={"limit": 2})
        rest = await stack.ok("GET", "/cis", params={"limit": 2, "cursor": first["next_cursor"]})
        assert [ci["id"] for ci in rest["items"]] == [f"printer-{tag}"]
        assert rest["next_cursor"] is None
        assert (await stack.call("GET", "/cis", params={"cursor": "nonsense!"})).status_code == 422
        assert (await stack.call("GET", "/cis/no-such-ci")).status_code == 404
        assert (await stack.call("GET", "/cis", params={"owner": "x"})).status_code == 422
        assert (await stack.call("GET", "/cis", "alice")).status_code == 403


async def test_a_ci_shows_its_open_incidents_and_unknown_ones_are_422(
    dev_env: WorkflowEnvironment, tmp_path: Path, task_queue: str, records_url: str
) -> None:
    async with desk(dev_env, tmp_path, task_queue, records_url, "suggest") as (stack, tag):
        printer = f"printer-{tag}"
        first = await create(stack, printer, short_description="Printer jams")
        assert first["service"] == "printing"  # filled in from the CI
        second = await create(stack, printer, short_description="Printer offline")
        path = f"/incidents/{first['number']}"
        await stack.ok("POST", f"{path}/assign", json={"group": "service-desk", "assignee": "sam"})
        await stack.ok("POST", f"{path}/start", json={})
        body = {"resolution_code": "fixed", "resolution_notes": "Cleared the jam"}
        await stack.ok("POST", f"{path}/resolve", json=body)

        async def open_ones() -> list[str]:
            shown = await stack.ok("GET", f"/cis/{printer}")
            return [incident["number"] for incident in shown["open_incidents"]]

        assert await eventually(open_ones, lambda numbers: numbers == [second["number"]])
        unknown = await stack.call(
            "POST", "/incidents", json={"short_description": "x", "ci": "printer-3f"}
        )
        assert unknown.status_code == 422
        assert unknown.json()["problems"][0]["field"] == "ci"
        patch = await stack.call(
            "PATCH", f"/incidents/{second['number']}", json={"ci": "printer-3f"}
        )
        assert patch.status_code == 422 and patch.json()["problems"][0]["field"] == "ci"
        moved = await stack.ok(
            "PATCH", f"/incidents/{second['number']}", json={"ci": f"payroll-app-{tag}"}
        )
        assert (moved["ci"], moved["service"]) == (f"payroll-app-{tag}", "printing")


async def test_incidents_created_together_on_one_ci_are_suggested_once(
    dev_env: WorkflowEnvironment, tmp_path: Path, task_queue: str, records_url: str
) -> None:
    async with desk(dev_env, tmp_path, task_queue, records_url, "suggest") as (stack, tag):
        ci = f"office-internet-{tag}"
        burst = await asyncio.gather(
            *(create(stack, ci, caller=c) for c in ("alice", "bob", "sam", "morgan", "dana"))
        )
        numbers = [incident["number"] for incident in burst]
        for number in numbers:
            await until(lambda n=number: correlated(dev_env.client, n))  # type: ignore[misc]
        suggestions = {n: await entries(stack, n, "correlation_suggested") for n in numbers}
        found = [(n, entry) for n, found in suggestions.items() for entry in found]
        assert len(found) == 1, found
        newest, suggestion = found[0]
        named = suggestion["details"]["members"]
        assert len(named) >= 2 and set(named) <= set(numbers) - {newest}
        assert suggestion["details"]["notify"] == "service-desk"


async def test_open_parent_links_the_burst_to_one_parent(
    dev_env: WorkflowEnvironment, tmp_path: Path, task_queue: str, records_url: str
) -> None:
    async with desk(dev_env, tmp_path, task_queue, records_url, "open_parent") as (stack, tag):
        ci = f"payroll-app-{tag}"
        burst = await asyncio.gather(
            *(create(stack, ci, short_description="Payroll run fails") for _ in range(3))
        )
        numbers = {incident["number"] for incident in burst}
        for number in numbers:
            await until(lambda n=number: correlated(dev_env.client, n))  # type: ignore[misc]
        opened = [e for n in numbers for e in await entries(stack, n, "correlation_parent_opened")]
        assert len(opened) == 1
        parent = opened[0]["details"]["parent"]

        async def linked() -> bool:
            shown = await stack.ok("GET", f"/incidents/{parent}")
            children = set(shown["children"])
            parents = {(await stack.ok("GET", f"/incidents/{n}"))["parent"] for n in numbers}
            return children == numbers and parents == {parent}

        if not await eventually(linked, bool, 60):
            timelines = {
                n: await stack.ok("GET", f"/incidents/{n}/timeline") for n in [*numbers, parent]
            }
            raise AssertionError(timelines)
        shown = await stack.ok("GET", f"/incidents/{parent}")
        assert shown["ci"] == ci and shown["service"] == "payroll"
        assert shown["short_description"].startswith(f"Several incidents on {ci}")
