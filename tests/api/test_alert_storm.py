"""An alert storm over both doors (PagerDuty Events v2 and the Alertmanager webhook): 200
distinct keys with 800 repeats, shuffled, 16 requests in flight. No 5xx; one incident per key;
every accepted trigger counted once (the incidents' occurrences add up to the accepted
triggers). Fewer keys than `make bench`'s 1,000 make a key's identical triggers meet in flight
more often, not less; the bench measures the rate at full size."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from bench import alert_storm
from tests.support.integrations import integration, integration_stack

KEYS, REPEATS, IN_FLIGHT = 200, 4, 16


async def bounded(calls: list[Callable[[], Awaitable[None]]], limit: int) -> list[BaseException]:
    gate = asyncio.Semaphore(limit)
    failures: list[BaseException] = []

    async def one(call: Callable[[], Awaitable[None]]) -> None:
        async with gate:
            try:
                await call()
            except Exception as failure:
                failures.append(failure)

    await asyncio.gather(*(one(call) for call in calls))
    return failures


@pytest.mark.slow
async def test_an_alert_storm_opens_one_incident_per_key_and_counts_every_trigger(
    dev_env: WorkflowEnvironment, tmp_path: Path, records_url: str
) -> None:
    run_id = uuid.uuid4().hex[:6]
    pagerduty = integration(f"storm-{run_id}")
    receiver = f"storm-{run_id}"
    async with integration_stack(dev_env, tmp_path, records_url, "", [pagerduty]) as stack:
        storm = alert_storm.Storm(
            stack.http,
            automation_headers=stack.as_("monitoring"),
            reader_headers=stack.as_("sam"),
            callers=(pagerduty["name"], f"alertmanager/{receiver}"),
        )
        sends = alert_storm.plan(KEYS, REPEATS, pagerduty["key"], receiver, run_id)
        assert sum(send.triggers for send in sends) == KEYS * (1 + REPEATS)
        started = time.perf_counter()
        failures = await bounded([lambda s=s: storm.send(s) for s in sends], IN_FLIGHT)
        seconds = time.perf_counter() - started
        found, last_incident_s = await storm.settled(KEYS, started)
        result = alert_storm.figures(
            storm, KEYS, REPEATS, len(sends), seconds, found, last_incident_s
        )
        print(f"\nalert storm: {result}")
        assert failures == [] and result["server_errors"] == 0, (failures[:3], result)
        assert result["accepted_triggers"] == KEYS * (1 + REPEATS)
        assert result["incidents"] == KEYS
        assert result["occurrences"] == result["accepted_triggers"]
