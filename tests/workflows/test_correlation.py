"""Correlation through the incident workflow on the time-skipping server: the third incident on
one CI within the window is suggested to the desk; after the window has passed (skipped, not
waited for), a new burst is suggested again."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from domain.correlation_policy import CorrelationPolicy
from domain.names import CORRELATE_INCIDENTS
from domain.policy import Policy
from tests.support.factories import entries_of, new_incident, start

POLICY = Policy(correlation=CorrelationPolicy(threshold=3, window="10m"))


async def correlated(handle: WorkflowHandle[Any, Any]) -> None:
    """Wait until the incident's correlation activity has answered."""
    for _ in range(600):
        events = (await handle.fetch_history()).events
        scheduled = {
            e.event_id
            for e in events
            if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
            and e.activity_task_scheduled_event_attributes.activity_type.name == CORRELATE_INCIDENTS
        }
        if any(
            e.activity_task_completed_event_attributes.scheduled_event_id in scheduled
            for e in events
            if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED
        ):
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the correlation activity did not answer")


async def burst(
    env: WorkflowEnvironment, worker: Worker, ci: str
) -> list[WorkflowHandle[Any, Any]]:
    handles = []
    for _ in range(3):
        await env.sleep(timedelta(minutes=1))
        now = await env.get_current_time()
        state = new_incident(POLICY, now, ci=ci, short_description="Internet down")
        handle = await start(env.client, worker.task_queue, state)
        await correlated(handle)
        handles.append(handle)
    return handles


async def test_a_burst_on_one_ci_is_suggested_once_per_window(
    time_env: WorkflowEnvironment, time_worker: Worker
) -> None:
    first = await burst(time_env, time_worker, "office-internet")
    suggested = [await entries_of(handle, "correlation_suggested") for handle in first]
    assert [len(found) for found in suggested] == [0, 0, 1]
    members = suggested[2][0].details["members"]
    assert members == [handle.id.removeprefix("incident-") for handle in first[:2]]
    await time_env.sleep(timedelta(minutes=20))  # the window has passed
    second = await burst(time_env, time_worker, "office-internet")
    again = [await entries_of(handle, "correlation_suggested") for handle in second]
    assert [len(found) for found in again] == [0, 0, 1]
    assert again[2][0].details["members"] == [h.id.removeprefix("incident-") for h in second[:2]]
