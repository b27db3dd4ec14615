"""The README's shell examples, run verbatim against a real API, worker and dev server."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from core.settings import PROJECT_DIR
from domain import search_attributes as sa
from domain.policy import parse_policy
from tests.support.apistack import Stack, api_stack, eventually, stack_settings
from tests.support.factories import new_incident, start

README = (PROJECT_DIR / "README.md").read_text()
BLOCKS = re.findall(r"```sh\n(.*?)```", README, re.S)


async def run_shell(script: str, stack: Stack, address: str) -> str:
    env = os.environ | {
        "INCIDENTFLOW_TOKENS_FILE": str(stack.settings.resolved_tokens_file),
        "TEMPORAL_ADDRESS": address,
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }
    process = await asyncio.create_subprocess_exec(
        "bash", "-euo", "pipefail", "-c", script, cwd=PROJECT_DIR, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await process.communicate()
    text = output.decode()
    assert process.returncode == 0, text
    return text


def api_blocks(base_url: str) -> str:
    setup, *flow = BLOCKS[:4]
    assert setup.startswith("API=http://127.0.0.1:8000\n")
    return "\n".join([setup.replace("http://127.0.0.1:8000", base_url, 1), *flow])


async def test_the_readme_curl_flow_works_verbatim(
    stack: Stack, dev_env: WorkflowEnvironment
) -> None:
    address = dev_env.client.service_client.config.target_host
    output = await run_shell(api_blocks(str(stack.http.base_url)), stack, address)
    opened = re.search(r"opened (INC\d{7})", output)
    assert opened is not None, output
    number = opened.group(1)
    incident = await stack.ok("GET", f"/incidents/{number}")
    assert incident["status"] == "closed" and incident["close_code"] == "confirmed"
    assert incident["priority"] == "P2" and incident["reopen_count"] == 1
    timeline = await stack.ok("GET", f"/incidents/{number}/timeline")
    lookups = ("known_errors_suggested", "similar_found")  # timed by the lookups
    kinds = [entry["kind"] for entry in timeline if entry["kind"] not in lookups]
    assert kinds == [
        "created", "assign", "start", "pend", "resume", "comment", "update", "escalated",
        "resolve", "reopen", "resolve", "close", "survey_invited",
    ]  # fmt: skip
    canceled = await stack.ok("GET", "/incidents?status=canceled&caller=alice")
    assert "Printer offline" in [item["short_description"] for item in canceled["items"]]


async def test_the_readme_cli_flow_works_verbatim(
    stack: Stack, dev_env: WorkflowEnvironment
) -> None:
    created = await stack.ok(
        "POST", "/incidents", status=201, json={"short_description": "db01 CPU"}
    )
    number = created["number"]
    await stack.ok(
        "POST", f"/incidents/{number}/assign", json={"group": "dba-l1", "assignee": "sam"}
    )
    await stack.ok("POST", f"/incidents/{number}/start", json={})
    cli = BLOCKS[4]
    assert "N=INC0000001" in cli
    address = dev_env.client.service_client.config.target_host
    output = await run_shell(cli.replace("N=INC0000001", f"N={number}", 1), stack, address)
    timeline = json.loads(output.rsplit("QueryResult", 1)[1].strip())
    kinds = [entry["kind"] for entry in timeline]
    assert kinds[-4:] == ["comment", "pend", "resume", "resolve"]
    assert (
        timeline[-3]["actor"] == "monitoring"
        and timeline[-1]["details"]["resolution_code"] == "auto_resolved"
    )


OPERATOR_QUERIES = dict(re.findall(r"^\| ([^|`]+?) \| `([^`]*Incident[^`]*)` \|$", README, re.M))
RUNNING = WorkflowExecutionStatus.RUNNING
OPEN = ("new", "assigned", "in_progress", "pending")

# What each saved query of the README promises, as a check on one listed workflow.
PROMISES: dict[str, Callable[[Any, WorkflowExecutionStatus | None], bool]] = {
    "one incident": lambda a, s: a.get(sa.INCIDENT_NUMBER) == "INC0000042",
    "open P1s": lambda a, s: a.get(sa.INCIDENT_PRIORITY) == "P1" and s == RUNNING
                             and a.get(sa.INCIDENT_STATUS) in OPEN,
    "in progress P1s": lambda a, s: a.get(sa.INCIDENT_STATUS) == "in_progress"
                                    and a.get(sa.INCIDENT_PRIORITY) == "P1",
    "breached and still open": lambda a, s: a.get(sa.INCIDENT_BREACHED) is True and s == RUNNING
                                            and a.get(sa.INCIDENT_STATUS) in OPEN,
    "a group's queue": lambda a, s: a.get(sa.INCIDENT_GROUP) == "service-desk" and s == RUNNING
                                    and a.get(sa.INCIDENT_STATUS) in OPEN,
    "someone's open work": lambda a, s: a.get(sa.INCIDENT_ASSIGNEE) == "sam" and s == RUNNING
                                        and a.get(sa.INCIDENT_STATUS) in OPEN,
    "everything someone worked": lambda a, s: a.get(sa.INCIDENT_ASSIGNEE) == "sam",
    "waiting on someone": lambda a, s: a.get(sa.INCIDENT_STATUS) == "pending",
    "major incidents": lambda a, s: a.get(sa.INCIDENT_MAJOR) is True,
}  # fmt: skip


def test_every_saved_query_has_its_promise_checked() -> None:
    assert set(OPERATOR_QUERIES) == set(PROMISES)


async def test_the_readme_operator_queries_return_what_they_promise(
    stack: Stack, dev_env: WorkflowEnvironment
) -> None:
    client = dev_env.client
    p1 = (
        await stack.ok(
            "POST",
            "/incidents",
            status=201,
            json={"short_description": "Site down", "impact": 1, "urgency": 1},
        )
    )["number"]
    await stack.ok(
        "POST", f"/incidents/{p1}/assign", json={"group": "service-desk", "assignee": "sam"}
    )
    await stack.ok("POST", f"/incidents/{p1}/start", json={})
    p3 = (
        await stack.ok("POST", "/incidents", status=201, json={"short_description": "Slow wiki"})
    )["number"]
    await stack.ok("POST", f"/incidents/{p3}/assign", json={"group": "web-l2", "assignee": "nina"})
    await stack.ok("POST", f"/incidents/{p3}/start", json={})
    await stack.ok(
        "POST", f"/incidents/{p3}/pend", json={"reason": "awaiting_change", "note": "CHG42"}
    )
    # Resolved: its workflow runs on until it closes, and no query meaning "open" lists it.
    done = (
        await stack.ok(
            "POST",
            "/incidents",
            status=201,
            json={"short_description": "Site down again", "impact": 1, "urgency": 1},
        )
    )["number"]
    await stack.ok(
        "POST", f"/incidents/{done}/assign", json={"group": "service-desk", "assignee": "sam"}
    )
    await stack.ok(
        "POST",
        f"/incidents/{done}/resolve",
        json={"resolution_code": "fixed", "resolution_notes": "Restarted the site"},
    )
    quick = parse_policy('[sla.P3]\nresponse = "1s"\nresolution = "2s"\ncalendar = "24x7"')
    late = await start(client, stack.settings.task_queue, new_incident(policy=quick))
    await asyncio.sleep(2.5)  # its resolution SLA breaches

    p1, p3 = f"incident-{p1}", f"incident-{p3}"
    expected_in = {
        "one incident": None, "open P1s": p1, "in progress P1s": p1,
        "breached and still open": late.id, "a group's queue": p1, "someone's open work": p1,
        "everything someone worked": p1,
        "waiting on someone": p3, "major incidents": p1,
    }  # fmt: skip
    for label, query in OPERATOR_QUERIES.items():
        wanted = expected_in[label]

        async def listed(q: str = query) -> list[Any]:
            return [wf async for wf in client.list_workflows(q)]

        def shows(wfs: list[Any], w: str | None = wanted) -> bool:
            return w is None or w in {wf.id for wf in wfs}

        found = await eventually(listed, shows)
        assert shows(found), label
        promise = PROMISES[label]
        broken = [wf.id for wf in found if not promise(wf.typed_search_attributes, wf.status)]
        assert broken == [], f"{label}: {query} returned {broken}"
    resolved = f"incident-{done}"
    for label in ("open P1s", "a group's queue", "someone's open work"):

        async def still(q: str = OPERATOR_QUERIES[label]) -> list[Any]:
            return [wf async for wf in client.list_workflows(q)]

        found = await eventually(still, lambda wfs: resolved not in {wf.id for wf in wfs})
        assert resolved not in {wf.id for wf in found}, label
    running = await client.get_workflow_handle(resolved).describe()
    assert running.status == RUNNING  # resolved, not closed: ExecutionStatus alone would list it


async def test_the_readme_desk_walkthrough_works_verbatim(
    dev_env: WorkflowEnvironment, tmp_path: Path, task_queue: str, records_url: str
) -> None:
    """The "one outage, many callers" block (issue 16's check), with `make run`'s CI catalogue."""
    (desk,) = [block for block in BLOCKS if "/incidents/similar" in block]
    address = dev_env.client.service_client.config.target_host
    settings = stack_settings(
        tmp_path,
        address,
        task_queue,
        database_url=records_url,
        cis_file=PROJECT_DIR / "deploy" / "cis.example.toml",
    )
    async with api_stack(dev_env.client, settings) as stack:
        setup = BLOCKS[0].replace("http://127.0.0.1:8000", str(stack.http.base_url), 1)
        output = await run_shell(f"{setup}\n{desk}", stack, address)
        told = re.search(r"first (INC\d{7}) stray (INC\d{7}) vpn (INC\d{7})", output)
        assert told is not None, output
        first, stray, vpn = told.groups()
        original = await stack.ok("GET", f"/incidents/{first}")
        assert original["affected_callers"] == ["carol", "dave", "erin", "alice"]
        assert original["duplicates"] == [stray] and original["status"] == "in_progress"
        escalated = [e for e in await stack.ok("GET", f"/incidents/{first}/timeline")
                     if e["kind"] == "escalated"]  # fmt: skip
        assert len(escalated) == 1 and escalated[0]["details"]["affected_count"] == 3
        misrouted = await stack.ok("GET", f"/incidents/{vpn}")
        assert (misrouted["returns"], misrouted["assignment_group"]) == (2, "service-desk")
        assert "returned 2 times" in str(await stack.ok("GET", f"/incidents/{vpn}/timeline"))
        queue = await stack.ok("GET", "/queues/groups/service-desk?limit=500")
        listed = [item["number"] for item in queue["items"]]
        assert vpn in listed and first in listed and stray not in listed
        assert listed.index(vpn) < listed.index(first)  # P2's response clock before P3's
