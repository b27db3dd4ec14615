"""A stalled worker (issue 12 point 4): with no worker polling, transitions answer 503 with
Retry-After, reads answer from the record marked as such, another caller's incident is still a
plain 404; once the worker is back, the transition retried with its Idempotency-Key lands once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from api.service import incidents
from recordstore import RecordStore
from tests.support.apistack import Stack, eventually, serve_api, stack_settings
from worker import build_worker


class Workers:
    """The stack's worker, which the test can stop and start again."""

    def __init__(self, client: object, task_queue: str, store: RecordStore) -> None:
        self.client, self.task_queue, self.store = client, task_queue, store
        self._running: AsyncExitStack | None = None

    async def start(self) -> None:
        self._running = AsyncExitStack()
        await self._running.enter_async_context(
            build_worker(self.client, self.task_queue, self.store)  # type: ignore[arg-type]
        )

    async def stop(self) -> None:
        if self._running is not None:
            await self._running.aclose()
            self._running = None


@pytest_asyncio.fixture
async def stoppable(
    dev_env: WorkflowEnvironment, tmp_path: Path, task_queue: str, records_url: str
) -> AsyncIterator[tuple[Stack, Workers]]:
    address = dev_env.client.service_client.config.target_host
    settings = stack_settings(tmp_path, address, task_queue, database_url=records_url)
    store = RecordStore(settings.resolved_database_url)
    await store.database.migrate()
    workers = Workers(dev_env.client, task_queue, store)
    await workers.start()
    try:
        async with serve_api(settings) as url:
            async with httpx.AsyncClient(base_url=url, timeout=60) as http:
                yield Stack(http, settings, store), workers
    finally:
        await workers.stop()
        await store.dispose()


@pytest.mark.slow
async def test_a_stalled_worker_gives_503s_and_record_reads_then_lands_once(
    stoppable: tuple[Stack, Workers], monkeypatch: pytest.MonkeyPatch
) -> None:
    stack, workers = stoppable
    monkeypatch.setattr(incidents, "UPDATE_WAIT_SECONDS", 6.0)
    body = {"short_description": "Stalled", "caller": "alice"}
    number = (await stack.ok("POST", "/incidents", status=201, json=body))["number"]
    path = f"/incidents/{number}"
    await stack.ok("POST", f"{path}/assign", json={"group": "desk", "assignee": "sam"})
    await eventually(
        lambda: stack.ok("GET", "/incidents?caller=alice&status=assigned"),
        lambda page: number in [item["number"] for item in page["items"]],
    )
    live = await stack.ok("GET", path)
    assert live["source"] == "workflow" and live["as_of"] is None

    await workers.stop()
    key = {"Idempotency-Key": f"start-{number}"}
    stalled = await stack.call("POST", f"{path}/start", json={}, headers=key)
    assert stalled.status_code == 503, stalled.text
    assert int(stalled.headers["Retry-After"]) > 0
    assert stalled.json()["retry_after_seconds"] == int(stalled.headers["Retry-After"])
    assert "Idempotency-Key" in stalled.json()["error"]

    read = await stack.call("GET", path)
    assert read.status_code == 200 and read.elapsed.total_seconds() < 10
    assert read.json()["source"] == "record" and read.json()["status"] == "assigned"
    assert read.json()["as_of"] is not None and read.json()["clocks"]
    assert (await stack.call("GET", path, "alice")).json()["source"] == "record"
    timeline = await stack.ok("GET", f"{path}/timeline")
    kinds = [entry["kind"] for entry in timeline if entry["kind"] != "similar_found"]
    assert kinds[:2] == ["created", "assign"]
    # Another caller's incident: the same 404 as ever, at once, stalled or not.
    for method, target, payload in (
        ("GET", path, None),
        ("GET", f"{path}/timeline", None),
        ("POST", f"{path}/comment", {"text": "hello?"}),
    ):
        refused = await stack.call(method, target, "bob", json=payload)
        assert refused.status_code == 404 and refused.elapsed.total_seconds() < 5, refused.text

    await workers.start()
    landed = await eventually(
        lambda: stack.call("POST", f"{path}/start", json={}, headers=key),
        lambda response: response.status_code == 200,
        seconds=60,
    )
    assert landed.status_code == 200 and landed.json()["status"] == "in_progress"
    again = await stack.call("POST", f"{path}/start", json={}, headers=key)
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    fresh = await eventually(
        lambda: stack.ok("GET", path), lambda view: view["source"] == "workflow"
    )
    assert fresh["status"] == "in_progress"
    timeline = await stack.ok("GET", f"{path}/timeline")
    assert [entry["kind"] for entry in timeline].count("start") == 1
