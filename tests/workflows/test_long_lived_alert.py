"""A long-lived alert: 1,000 repeats of one dedup_key with 64 KB details, through the API, on a
dev server whose history limits are lowered so that both the alert router and the incident
continue as new many times within the run (more than ten runs each: what 5,000 repeats gave
with a history limit of 400 events, in a fifth of the time). Every repeat is counted once,
one incident holds them all, it still resolves, and no payload comes near Temporal's 2 MB."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from domain.names import alert_workflow_id, incident_workflow_id
from tests.support.apistack import Stack, api_stack, stack_settings
from tests.support.devserver import dev_server_with

REPEATS = 1_000
CONCURRENCY = 8
VARIANTS = 10  # a real alert repeats the same labels; ten shapes of 64 KB each
BLOB = "disk usage above threshold; " * 2_270  # 63.6 KB: just under the 64,000-character cap


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def low_limits_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await dev_server_with(
        **{"limit.historyCount.suggestContinueAsNew": 150, "history.maxTotalUpdates": 300}
    )
    yield env
    await env.shutdown()


async def runs_of(client: Client, workflow_id: str) -> list[list[HistoryEvent]]:
    histories = []
    async for execution in client.list_workflows(f'WorkflowId = "{workflow_id}"'):
        handle = client.get_workflow_handle(workflow_id, run_id=execution.run_id)
        histories.append([event async for event in handle.fetch_history_events()])
    return histories


def largest_payload(events: list[HistoryEvent]) -> int:
    return max((event.ByteSize() for event in events), default=0)


@pytest.mark.slow
async def test_a_thousand_large_repeats_of_one_alert(
    low_limits_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    env = low_limits_env
    settings = stack_settings(tmp_path, env.client.service_client.config.target_host, "storm")
    key = f"db01/disk-{uuid.uuid4().hex[:6]}"
    statuses: Counter[int] = Counter()
    incidents: set[str] = set()
    async with api_stack(env.client, settings) as stack:
        queue: asyncio.Queue[int] = asyncio.Queue()
        for index in range(REPEATS):
            queue.put_nowait(index)

        async def sender() -> None:
            while not queue.empty():
                index = queue.get_nowait()
                body = alert(key, "trigger", {"variant": index % VARIANTS, "blob": BLOB})
                answer = await stack.call("POST", "/alerts", "monitoring", json=body)
                statuses[answer.status_code] += 1
                if answer.status_code in (200, 201):
                    incidents.add(answer.json()["incident"])

        await asyncio.gather(*(sender() for _ in range(CONCURRENCY)))
        assert statuses == Counter({200: REPEATS - 1, 201: 1}), statuses
        assert len(incidents) == 1
        number = incidents.pop()
        view = await settled_view(stack, number, REPEATS)
        assert view["alert"]["occurrences"] == REPEATS  # each repeat counted once
        timeline = await stack.ok("GET", f"/incidents/{number}/timeline")
        repeats = [entry for entry in timeline if entry["kind"] == "alert_repeated"]
        assert sum(entry["details"].get("coalesced", 1) for entry in repeats) == REPEATS - 1
        stored = repeats[-1]["details"]["details"]
        assert stored["stored"] is True and stored["bytes"] > 60_000
        whole = await stack.ok("GET", f"/incidents/{number}/details/{stored['digest']}")
        assert whole["blob"] == BLOB
        # still resolvable, through the same router
        cleared = await stack.call("POST", "/alerts", "monitoring", json=alert(key, "resolve", {}))
        assert cleared.status_code == 200, cleared.text
        resolved = await stack.ok("GET", f"/incidents/{number}")
        assert resolved["status"] == "resolved"
        assert resolved["resolution_code"] == "auto_resolved"
        router_runs = await runs_of(env.client, alert_workflow_id("prometheus", key))
        incident_runs = await runs_of(env.client, incident_workflow_id(number))
    assert len(router_runs) > 10 and len(incident_runs) > 10  # both continued as new, often
    largest = max(largest_payload(run) for run in router_runs + incident_runs)
    longest = max(len(run) for run in router_runs + incident_runs)
    assert largest < 400_000  # a fifth of the 2 MB payload limit at most
    print(
        f"{REPEATS:,} x 64 KB repeats: router runs {len(router_runs)}, incident runs "
        f"{len(incident_runs)}, longest history {longest} events, largest event "
        f"{largest:,} bytes; answers {dict(statuses)}"
    )


def alert(key: str, action: str, details: dict[str, Any]) -> dict[str, Any]:
    return {
        "source": "prometheus",
        "dedup_key": key,
        "action": action,
        "summary": "Disk full on db01",
        "severity": "error",
        "details": details,
    }


async def settled_view(stack: Stack, number: str, occurrences: int) -> dict[str, Any]:
    """The live view once the last repeat has reached the incident (signals are async)."""
    for _ in range(300):
        view: dict[str, Any] = await stack.ok("GET", f"/incidents/{number}")
        if view["alert"]["occurrences"] >= occurrences:
            return view
        await asyncio.sleep(0.2)
    return view
