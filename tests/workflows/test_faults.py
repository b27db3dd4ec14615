"""Nothing lost: a worker killed over and over, Temporal restarted, the record store away,
notification and vendor endpoints down for longer than an SLA."""

from __future__ import annotations

import asyncio
import random
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from core.temporal_client import start_incident
from domain.lifecycle import open_incident
from domain.models import IncidentCreate, IncidentView, Status, TimelineEntry
from domain.policy import parse_policy
from recordstore import RecordStore
from tests.support.apistack import TOKENS, eventually, free_port, serve_api, write_tokens
from tests.support.factories import act, new_incident, start
from tests.support.postgres import ThrowawayPostgres
from tests.support.processes import (
    Process,
    child_env,
    connect_when_up,
    dev_server,
    fault_settings,
    worker,
)
from worker import build_worker

T = TypeVar("T")
SECONDS_POLICY = """
[sla.P3]
response = "2s"
resolution = "5s"
calendar = "24x7"
warn_at = [0.5]
escalate_at = 0.8

[closure]
auto_close_after = "1h"
calendar = "24x7"

[routing]
levels = { L1 = "desk" }  # the automatic escalation to L2 keeps the assignee
"""
LIFECYCLE: list[tuple[str, dict[str, Any]]] = [
    ("assign", {"group": "desk", "assignee": "sam"}),
    ("start", {}),
    ("comment", {"text": "looking", "visibility": "work_note"}),
    ("pend", {"reason": "awaiting_caller", "note": "which one?"}),
    ("resume", {}),
    ("resolve", {"resolution_code": "fixed", "resolution_notes": "done"}),
    ("close", {}),
]
KILLS = 20


async def persist(call: Callable[[], Awaitable[T]], seconds: float = 120) -> T:
    """Call until it answers: while the worker or the server is down a call stalls or fails,
    and the same request (same update id) is simply sent again."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        try:
            return await asyncio.wait_for(call(), timeout=15)
        except Exception:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.5)


async def lifecycle(
    client: Client, store: RecordStore, policy_text: str, rng: random.Random
) -> str:
    number = await store.allocate_number()
    create = IncidentCreate(short_description=f"Fault test {number}")
    state = open_incident(
        number, create, "alice", "alice", parse_policy(policy_text), datetime.now(UTC)
    )
    handle = await persist(lambda: start_incident(client, "incidents", state))
    for step, (action, body) in enumerate(LIFECYCLE):
        await asyncio.sleep(rng.uniform(0, 0.6))
        await persist(
            lambda a=action, b=body, s=step: handle.execute_update(
                a, b, id=f"{number}-{s}", result_type=IncidentView
            )
        )
    await persist(lambda: handle.result())
    return number


@pytest.mark.slow
async def test_a_worker_killed_20_times_loses_nothing(tmp_path: Path) -> None:
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text(SECONDS_POLICY)
    settings = fault_settings(tmp_path, policy_file)
    server, work = dev_server(settings), worker(settings)
    server.start()
    store = RecordStore(settings.resolved_database_url)
    await store.database.migrate()
    try:
        client = await connect_when_up(settings)
        work.start()
        rng = random.Random(7)

        async def killer() -> None:
            for _ in range(KILLS):
                await asyncio.sleep(rng.uniform(0.5, 1.5))
                work.kill()
                await asyncio.sleep(rng.uniform(0.1, 1.0))
                work.start()

        killing = asyncio.create_task(killer())
        lifecycles: list[asyncio.Task[str]] = []
        while not killing.done():
            lifecycles += [
                asyncio.create_task(lifecycle(client, store, SECONDS_POLICY, rng)) for _ in range(2)
            ]
            await asyncio.sleep(2)
        numbers = await asyncio.gather(*lifecycles)
        await killing
        assert work.starts == KILLS + 1

        for number in numbers:
            record = await eventually(
                lambda n=number: store.get_incident(n),
                lambda r: r is not None and r.status == Status.CLOSED,
            )
            assert record is not None and record.status == Status.CLOSED
            timeline = await store.get_timeline(number)
            actions = [
                e.kind for e in timeline if e.kind in {"created", *(a for a, _ in LIFECYCLE)}
            ]
            assert actions == ["created", *(a for a, _ in LIFECYCLE)], number
            assert len({(e.kind, e.at, e.actor) for e in timeline}) == len(timeline), (
                "an entry twice"
            )
            breaches = [
                e for e in timeline if e.kind == "sla_breach" and e.details["clock"] == "resolution"
            ]
            used = record.resolution_sla.elapsed_seconds
            assert len(breaches) == (1 if used >= record.resolution_sla.target_seconds else 0), (
                number
            )
    finally:
        work.stop()
        server.stop()
        await store.dispose()


@pytest.mark.slow
async def test_a_record_write_whose_workflow_task_never_committed_is_rewritten(
    tmp_path: Path,
) -> None:
    """The worker writes the record from inside a workflow task. Killed after the write and
    before the task commits, it leaves a record of a run that never happened; the task's next
    attempt, later, fires the due SLA warning before the assign. The record ends as the
    workflow's timeline: the warning kept, the assign once."""
    policy_text = SECONDS_POLICY.replace('"2s"', '"20s"').replace('"5s"', '"60s"')
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text(policy_text)
    settings = fault_settings(tmp_path, policy_file)
    mark = tmp_path / "stalled"
    stalling = Process(
        [sys.executable, "-m", "tests.support.stalling_worker"],
        child_env(settings) | {"INCIDENTFLOW_TEST_STALL_MARK": str(mark)},
        tmp_path / "stalling-worker.log",
    )
    server, work = dev_server(settings), worker(settings)
    server.start()
    store = RecordStore(settings.resolved_database_url)
    await store.database.migrate()
    assigning: asyncio.Future[IncidentView] = asyncio.get_running_loop().create_future()
    try:
        client = await connect_when_up(settings)
        stalling.start()
        number = await store.allocate_number()
        created_at = datetime.now(UTC)
        state = open_incident(
            number,
            IncidentCreate(short_description="Uncommitted write"),
            "alice",
            "alice",
            parse_policy(policy_text),
            created_at,
        )
        handle = await start_incident(client, "incidents", state)
        await eventually(lambda: store.get_timeline(number), bool, seconds=60)  # worker is up
        # The assign goes in 5 s before the response warning (half of 20 s) comes due: the
        # stalled task must be killed before the worker heartbeats (commits) it, at 8 s.
        warning_due = created_at + timedelta(seconds=10)
        await asyncio.sleep(
            (warning_due - timedelta(seconds=5) - datetime.now(UTC)).total_seconds()
        )
        assert datetime.now(UTC) < warning_due - timedelta(seconds=3), (
            "the worker was slow to start"
        )
        assign = {"group": "desk", "assignee": "sam"}
        assigning = asyncio.create_task(
            persist(
                lambda: handle.execute_update(
                    "assign", assign, id=f"{number}-assign", result_type=IncidentView
                )
            )
        )
        await eventually(lambda: asyncio.to_thread(mark.exists), lambda seen: seen, seconds=60)
        written = [entry.kind for entry in await store.get_timeline(number)]
        assert written == ["created", "assign"]  # what the doomed task wrote
        await asyncio.sleep((warning_due - datetime.now(UTC)).total_seconds() + 0.5)
        stalling.kill()
        work.start()

        assert (await assigning).status == Status.ASSIGNED
        timeline = await handle.query("timeline", result_type=list[TimelineEntry])
        assert [entry.kind for entry in timeline][:3] == ["created", "sla_warning", "assign"]
        recorded = await eventually(
            lambda: store.get_timeline(number), lambda entries: len(entries) >= len(timeline)
        )
        assert recorded[: len(timeline)] == timeline
    finally:
        assigning.cancel()
        stalling.kill()
        work.stop()
        server.stop()
        await store.dispose()


@pytest.mark.slow
async def test_temporal_restarted_mid_lifecycle(tmp_path: Path) -> None:
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text("")
    settings = fault_settings(tmp_path, policy_file).model_copy(
        update={"tokens_file": write_tokens(tmp_path / "tokens.toml")}
    )
    server, work = dev_server(settings), worker(settings)
    server.start()
    await connect_when_up(settings)
    work.start()
    headers = {"Authorization": f"Bearer {TOKENS['sam'][1]}"}
    try:
        async with (
            serve_api(settings) as url,
            httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as http,
        ):
            created = await http.post(
                "/incidents", json={"short_description": "Router reboots", "caller": "alice"}
            )
            number = created.json()["number"]
            assert (
                await http.post(
                    f"/incidents/{number}/assign", json={"group": "net", "assignee": "sam"}
                )
            ).status_code == 200

            server.stop()
            down = await http.post(f"/incidents/{number}/start", json={})
            assert down.status_code == 503 and "Temporal is unreachable" in down.json()["error"]
            assert (await http.get("/readyz")).status_code == 503
            listed = await http.get("/incidents?status=assigned")
            assert [item["number"] for item in listed.json()["items"]] == [number]

            server.start()
            await connect_when_up(settings)
            started = await eventually(
                lambda: http.post(
                    f"/incidents/{number}/start", json={}, headers={"Idempotency-Key": "start-1"}
                ),
                lambda r: r.status_code == 200,
                seconds=60,
            )
            assert started.json()["status"] == "in_progress"
            timeline = (await http.get(f"/incidents/{number}/timeline")).json()
            kinds = [e["kind"] for e in timeline if e["kind"] in ("created", "assign", "start")]
            assert kinds == ["created", "assign", "start"]
    finally:
        work.stop()
        server.stop()


@pytest.mark.slow
async def test_the_record_store_away_for_a_while(
    dev_env: WorkflowEnvironment, task_queue: str
) -> None:
    postgres = ThrowawayPostgres()
    store = RecordStore(postgres.url)
    try:
        await store.database.migrate()
        async with build_worker(dev_env.client, task_queue, store):
            handle = await start(dev_env.client, task_queue, new_incident())
            number = (await act(handle, "assign", group="desk", assignee="sam")).number
            await eventually(
                lambda: store.get_incident(number),
                lambda r: r is not None and r.status == Status.ASSIGNED,
            )

            postgres.stop()
            await act(handle, "start")
            await act(handle, "comment", text="DB is down, work goes on")
            resolved = await act(handle, "resolve", resolution_code="fixed", resolution_notes="ok")
            assert resolved.status == Status.RESOLVED

            postgres.start()
            record = await eventually(
                lambda: _quietly(store.get_incident(number)),
                lambda r: r is not None and r.status == Status.RESOLVED,
                seconds=90,
            )
            assert record is not None and record.status == Status.RESOLVED
            kinds = [e.kind for e in await store.get_timeline(number)]
            assert [k for k in kinds if k in ("assign", "start", "comment", "resolve")] == [
                "assign",
                "start",
                "comment",
                "resolve",
            ]
    finally:
        await store.dispose()
        postgres.remove()


async def _quietly(call: Awaitable[T]) -> T | None:
    try:
        return await call
    except Exception:  # the pool's first connection after the restart may be stale
        return None


async def test_notification_and_vendor_endpoints_down_longer_than_the_sla(
    time_env: WorkflowEnvironment, task_queue: str, store: RecordStore
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    policy = parse_policy(f"""
[notifications]
retry_for = "3h"
routes = {{ assignee = ["hook"], group = ["hook"], incident_manager = ["hook"], caller = ["hook"] }}
[notifications.channels.hook]
type = "webhook"
url = "{dead}/hook"
[vendors.acme]
url = "{dead}/acme"
""")  # fmt: skip
    async with build_worker(time_env.client, task_queue, store, policy=policy):
        state = new_incident(
            policy=policy, now=await time_env.get_current_time(), impact=1, urgency=2
        )  # P2: 8h
        handle: WorkflowHandle[Any, Any] = await start(time_env.client, task_queue, state)
        await act(handle, "assign", group="desk", assignee="sam")
        await act(handle, "vendor_ticket", vendor="acme", summary="Disk array fault")
        await time_env.sleep(timedelta(hours=8, minutes=1))
        timeline = await handle.query("timeline", result_type=list[TimelineEntry])
        breach = [
            e for e in timeline if e.kind == "sla_breach" and e.details["clock"] == "resolution"
        ]
        assert [e.at for e in breach] == [state.created_at + timedelta(hours=8)]
        failed = [e.details for e in timeline if e.kind == "notification_failed"]
        assert failed and all(d["channel"] == "hook" for d in failed)
        assert any(e.kind == "vendor_ticket_failed" for e in timeline)
        # The 75% escalation handed it to L2 without an assignee; work goes on regardless.
        await act(handle, "assign", group="platform-l2", assignee="nina")
        started = await act(handle, "start")
        assert started.status == Status.IN_PROGRESS and started.vendor_tickets[0].status == "failed"
