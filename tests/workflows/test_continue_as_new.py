"""A long-lived major incident continues as new when Temporal suggests it and loses nothing."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from domain.models import IncidentView, Status, TimelineWindow
from domain.policy import parse_policy
from recordstore import RecordStore
from tests.support.devserver import dev_server_with
from tests.support.factories import act, new_incident, start
from worker import build_worker

# One status update a second stands in for 30 days of updates every 30 minutes (1,440 of
# them): the history limit below is scaled down by the same factor.
POLICY = parse_policy('[major]\nupdate_interval = "1s"\n')
COMMENTS = 50  # at most 20 updates a run (below): at least three runs


@pytest_asyncio.fixture(scope="module")
async def small_history_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await dev_server_with(
        **{"limit.historyCount.suggestContinueAsNew": 60, "history.maxTotalUpdates": 20}
    )
    yield env
    await env.shutdown()


@pytest.mark.slow
async def test_status_updates_run_across_runs_with_the_whole_state(
    small_history_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    env = small_history_env
    store = RecordStore(f"sqlite+aiosqlite:///{tmp_path / 'records.db'}")
    await store.database.migrate()
    queue = f"can-{uuid.uuid4()}"
    async with build_worker(env.client, queue, store):
        opened = datetime.now(UTC)
        handle = await start(
            env.client, queue, new_incident(policy=POLICY, now=opened, impact=1, urgency=1)
        )
        number = (await act(handle, "assign", group="desk", assignee="sam")).number
        await act(handle, "start")
        await act(handle, "comment", text="Failover in progress", visibility="work_note")
        await act(
            handle, "update", impact=1, urgency=2, reason="Partial service"
        )  # P2, still major
        await asyncio.sleep(12)

        latest = env.client.get_workflow_handle(handle.id)  # follows to the newest run
        runs = [wf async for wf in env.client.list_workflows(f'WorkflowId="{handle.id}"')]
        assert len(runs) >= 2, "expected at least one continue-as-new"
        first_run = env.client.get_workflow_handle(handle.id, run_id=handle.result_run_id)
        last_event = (await first_run.fetch_history()).events[-1]
        assert last_event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW

        view = await latest.query("view", result_type=IncidentView)
        assert (view.status, view.priority, view.assignee, view.major) == (
            Status.IN_PROGRESS,
            "P2",
            "sam",
            True,
        )
        assert view.last_work_note == "Failover in progress"
        assert (
            view.resolution_sla.target_seconds == 8 * 3600
            and view.resolution_sla.running_since is not None
        )
        window = await latest.query("timeline_window", result_type=TimelineWindow)
        stored = await store.get_timeline(number)
        merged = stored[: window.offset] + window.entries
        updates = [entry.at for entry in merged if entry.kind == "major_update"]
        assert len(updates) >= 10
        gaps = {
            round((b - a).total_seconds(), 3) for a, b in zip(updates, updates[1:], strict=False)
        }
        assert gaps == {1.0}, "every status update once, a second apart, across the runs"
        kinds = [entry.kind for entry in merged]
        assert kinds.count("assign") == kinds.count("start") == kinds.count("update") == 1

        resolved = await act(
            latest, "resolve", resolution_code="fixed", resolution_notes="Back to normal"
        )
        assert resolved.status == Status.RESOLVED
    await store.dispose()


@pytest.mark.slow
async def test_a_stream_of_updates_continues_as_new_before_the_update_limit(
    small_history_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """Temporal refuses updates past `history.maxTotalUpdates` in one run (2,000 by default;
    20 here): a busy incident must move to a new run before that, never wedge."""
    env = small_history_env
    store = RecordStore(f"sqlite+aiosqlite:///{tmp_path / 'records.db'}")
    await store.database.migrate()
    queue = f"updates-{uuid.uuid4()}"
    async with build_worker(env.client, queue, store):
        handle = await start(env.client, queue, new_incident())
        for index in range(COMMENTS):
            await act(handle, "comment", text=f"comment {index}")
        runs = [wf async for wf in env.client.list_workflows(f'WorkflowId="{handle.id}"')]
        assert len(runs) >= 3
        number = (await act(handle, "assign", group="desk", assignee="sam")).number
        window = await env.client.get_workflow_handle(handle.id).query(
            "timeline_window", result_type=TimelineWindow
        )
        stored = await store.get_timeline(number)
        merged = stored[: window.offset] + window.entries
        texts = [e.details["text"] for e in merged if e.kind == "comment"]
        assert texts == [f"comment {index}" for index in range(COMMENTS)]
    await store.dispose()
