"""Contract 7 and 11 over real HTTP against the dev server, with the test directory
(tests/support/directory.toml): requester caps, a requester's work note, agents and groups,
`assign` against the directory, close codes, and what leaves the agents' side: a work-note
marker reaches no webhook, no e-mail (real local receivers) and no requester response."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from aiosmtpd.controller import Controller
from temporalio.testing import WorkflowEnvironment

from core.settings import load_directory, load_policy
from recordstore import RecordStore
from tests.activities.test_notification_adapters import Inbox
from tests.support.apistack import Stack, free_port, serve_api, stack_settings
from tests.support.httpstub import HttpStub, http_stub
from worker import build_worker

MARKER = "ZEBRA-7731-INTERNAL"  # only ever in work notes
P1_WORDS = {"short_description": "Laptop fan noisy", "impact": 1, "urgency": 1}


async def test_a_requesters_p1_words_give_at_most_p3_and_no_major(stack: Stack) -> None:
    created = await stack.ok("POST", "/incidents", "alice", status=201, json=P1_WORDS)
    assert (created["impact"], created["urgency"]) == (1, 1)  # their assessment, kept
    assert created["priority"] == "P3" and not created["major"]
    # an agent's triage works the priority out again
    path = f"/incidents/{created['number']}"
    triaged = await stack.ok("PATCH", path, json={"category": "hardware", "reason": "all sales"})
    assert triaged["priority"] == "P1" and triaged["major"]


async def test_requester_comments_are_public_and_a_work_note_is_403(stack: Stack) -> None:
    own = await stack.ok("POST", "/incidents", "alice", status=201, json={"short_description": "x"})
    path = f"/incidents/{own['number']}/comment"
    note = await stack.call("POST", path, "alice", json={"text": "psst", "visibility": "work_note"})
    assert note.status_code == 403 and "work_note" in note.json()["error"]
    await stack.ok("POST", path, "alice", json={"text": "any news?"})
    timeline = await stack.ok("GET", f"/incidents/{own['number']}/timeline", "alice")
    comments = [e for e in timeline if e["kind"] == "comment"]
    assert [c["details"]["visibility"] for c in comments] == ["public"]


async def test_an_agent_outside_the_group_may_read_but_not_act(stack: Stack) -> None:
    body = {"short_description": "x", "caller": "bob"}
    created = await stack.ok("POST", "/incidents", status=201, json=body)
    path = f"/incidents/{created['number']}"
    await stack.ok("POST", f"{path}/assign", "morgan", json={"group": "network-l2"})
    refused = await stack.call("POST", f"{path}/start", "sam", json={"assignee": "sam"})
    assert refused.status_code == 403 and "network-l2" in refused.json()["error"]
    seen = await stack.ok("GET", path, "sam")
    assert seen["allowed_actions"] == ["affected"]  # any agent takes a caller's "me too"
    assert (await stack.ok("POST", f"{path}/start", "dana", json={"assignee": "dana"}))[
        "status"
    ] == "in_progress"


async def test_assign_names_a_directory_group_and_one_of_its_members(stack: Stack) -> None:
    created = await stack.ok("POST", "/incidents", status=201, json={"short_description": "x"})
    path = f"/incidents/{created['number']}/assign"
    typo = await stack.call("POST", path, json={"group": "desktpo-suport"})
    assert typo.status_code == 422 and typo.json()["problems"][0]["field"] == "group"
    stranger = await stack.call("POST", path, json={"group": "network-l2", "assignee": "sam"})
    assert stranger.status_code == 422 and stranger.json()["problems"][0]["field"] == "assignee"
    assigned = await stack.ok("POST", path, json={"group": "network-l2", "assignee": "dana"})
    assert (assigned["assignment_group"], assigned["assignee"]) == ("network-l2", "dana")
    start = f"/incidents/{created['number']}/start"
    outsider = await stack.call("POST", start, "morgan", json={"assignee": "sam"})
    assert outsider.status_code == 422 and outsider.json()["problems"][0]["field"] == "assignee"


async def resolved_incident(stack: Stack, caller: str) -> str:
    created = await stack.ok(
        "POST", "/incidents", status=201, json={"short_description": "x", "caller": caller}
    )
    path = f"/incidents/{created['number']}"
    await stack.ok("POST", f"{path}/assign", json={"group": "service-desk", "assignee": "sam"})
    await stack.ok("POST", f"{path}/start", json={})
    fixed = {"resolution_code": "fixed", "resolution_notes": "Replaced the fan"}
    await stack.ok("POST", f"{path}/resolve", json=fixed)
    return path


async def test_close_codes_say_who_closed(stack: Stack) -> None:
    confirmed = await resolved_incident(stack, "alice")
    assert (await stack.ok("POST", f"{confirmed}/close", "alice", json={}))[
        "close_code"
    ] == "confirmed"
    for_caller = await resolved_incident(stack, "alice")
    bare = await stack.call("POST", f"{for_caller}/close", "sam", json={})
    assert bare.status_code == 422 and bare.json()["problems"][0]["field"] == "note"
    closed = await stack.ok("POST", f"{for_caller}/close", "sam", json={"note": "by phone"})
    assert closed["close_code"] == "closed_by_agent"


# --- nothing internal leaves the agents' side -------------------------------------------------


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


@pytest_asyncio.fixture
async def webhook() -> AsyncIterator[HttpStub]:
    async with http_stub() as running:
        yield running


def notifying_policy(webhook_url: str, smtp_port: int) -> str:
    every_role = ("caller", "assignee", "group", "incident_manager", "stakeholders")
    routes = ", ".join(f'{role} = ["mail", "chat"]' for role in every_role)
    return f"""
[major]
priorities = ["P1"]
update_interval = "3s"

[contacts]
incident_manager = "incident-manager"
problem_manager = "problem-manager"
stakeholders = ["morgan"]

[notifications]
retry_for = "30s"
routes = {{ {routes}, problem_manager = ["mail"] }}

[notifications.channels.chat]
type = "webhook"
url = "{webhook_url}/chat"

[notifications.channels.mail]
type = "email"
host = "127.0.0.1"
port = {smtp_port}
sender = "incidents@corp.example"
"""


@asynccontextmanager
async def notifying_stack(
    env: WorkflowEnvironment,
    tmp_path: Path,
    task_queue: str,
    records_url: str,
    policy: str,
    **extra: Any,
) -> AsyncIterator[Stack]:
    """The API and a worker with the policy's channels and the directory's addresses; `extra`
    settings on top (a CI catalogue...)."""
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text(policy)
    address = env.client.service_client.config.target_host
    settings = stack_settings(
        tmp_path, address, task_queue, database_url=records_url, policy_file=policy_file, **extra
    )
    full_policy = load_policy(settings)
    directory = load_directory(settings, full_policy)
    store = RecordStore(settings.resolved_database_url)
    await store.database.migrate()
    async with httpx.AsyncClient() as worker_http:
        worker = build_worker(env.client, task_queue, store, full_policy, worker_http, directory)
        async with worker, serve_api(settings) as url:
            async with httpx.AsyncClient(base_url=url, timeout=30) as http:
                yield Stack(http, settings, store)
    await store.dispose()


async def settled(count: callable[[], int], quiet: float = 2.0) -> None:  # type: ignore[valid-type]
    """Until no new message arrived for `quiet` seconds (at most 30 s)."""
    loop = asyncio.get_running_loop()
    deadline, last, since = loop.time() + 30, -1, loop.time()
    while loop.time() < deadline:
        now = count()
        if now != last:
            last, since = now, loop.time()
        elif loop.time() - since >= quiet:
            return
        await asyncio.sleep(0.2)


async def test_a_work_note_marker_reaches_no_outbound_message(
    dev_env: WorkflowEnvironment,
    tmp_path: Path,
    task_queue: str,
    records_url: str,
    webhook: HttpStub,
    smtp: tuple[Inbox, int],
) -> None:
    inbox, smtp_port = smtp
    policy = notifying_policy(webhook.url, smtp_port)
    async with notifying_stack(dev_env, tmp_path, task_queue, records_url, policy) as stack:
        created = await stack.ok("POST", "/incidents", "alice", status=201, json=P1_WORDS)
        path = f"/incidents/{created['number']}"

        async def note(text: str) -> None:
            work_note = {"text": f"{text} {MARKER}", "visibility": "work_note"}
            await stack.ok("POST", f"{path}/comment", json=work_note)

        await note("Caller sounds unsure")
        await stack.ok(
            "POST", f"{path}/comment", json={"text": "We are on it", "visibility": "public"}
        )
        assign = {"group": "service-desk", "assignee": "sam"}
        await stack.ok("POST", f"{path}/assign", json=assign)
        triage = {"impact": 1, "urgency": 1, "category": "email", "reason": "all of sales"}
        assert (await stack.ok("PATCH", path, json=triage))["major"]
        await note("Internal: payroll data may have leaked")
        await stack.ok("POST", f"{path}/start", json={})
        climb = {"kind": "hierarchical", "reason": "Stakeholders asking"}
        await stack.ok("POST", f"{path}/escalate", json=climb)
        await note("Still digging")
        await stack.ok("POST", f"{path}/escalate", json=climb | {"kind": "functional"})
        await stack.ok(
            "POST",
            f"{path}/status-update",
            "morgan",
            json={"text": "Mail restored for 80% of users"},
        )
        await asyncio.sleep(4)  # the periodic update (every 3 s) finds no new update
        await note("Root cause is the config push")
        resolve = {
            "resolution_code": "workaround",
            "resolution_notes": "Rolled back the mail config",
        }
        await stack.ok("POST", f"{path}/resolve", "morgan", json=resolve)
        review = {
            "summary": "Mail outage",
            "root_cause": "A config push",
            "lessons": "Stage config pushes",
            "actions": [{"action": "Add a canary", "owner": "sam"}],
        }
        await stack.ok("POST", f"{path}/review", "morgan", json=review)
        await note("Closing soon")
        await stack.ok("POST", f"{path}/close", "alice", json={})

        await settled(lambda: len(webhook.requests) + len(inbox.messages))
        posted = [json.dumps(seen.json) for seen in webhook.requests]
        mailed = [message.as_string() for message in inbox.messages]
        assert any("no new update since" in text for text in posted)  # the periodic update
        assert any("Mail restored for 80%" in text for text in mailed)  # the status update
        assert any("incident-managers@example.com" in m for m in mailed)  # directory address
        assert len(posted) >= 10 and len(mailed) >= 10
        for text in posted + mailed:
            assert MARKER not in text

        for answer in (
            await stack.call("GET", path, "alice"),
            await stack.call("GET", f"{path}/timeline", "alice"),
            await stack.call("GET", "/incidents?limit=200", "alice"),
        ):
            assert answer.status_code == 200 and MARKER not in answer.text
        assert MARKER in (await stack.call("GET", f"{path}/timeline", "sam")).text
