"""Prometheus metrics: the API's on /metrics, the worker's Temporal SDK series on its own port."""

from __future__ import annotations

import re
import uuid

import httpx
from temporalio.testing import WorkflowEnvironment

from core.metrics import INCIDENTS_CREATED, worker_runtime
from core.settings import Settings
from core.temporal_client import connect
from recordstore import RecordStore
from tests.support.apistack import Stack, eventually, free_port
from tests.support.factories import act, end_all_started, new_incident, start
from worker import build_worker

LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    """The samples of one series in the Prometheus text format, as (labels, value)."""
    found = []
    for line in text.splitlines():
        if line.startswith((name + "{", name + " ")):
            series, _, value = line.rpartition(" ")
            found.append((dict(LABEL.findall(series[len(name) :])), float(value)))
    return found


def total(text: str, name: str, **labels: str) -> float:
    """The sum of the samples of `name` whose labels include `labels`."""
    return sum(value for found, value in samples(text, name) if labels.items() <= found.items())


async def test_the_api_counts_and_times_its_requests(stack: Stack) -> None:
    before = total((await stack.http.get("/metrics")).text, "incidentflow_api_requests_total")
    await stack.ok("GET", "/incidents?limit=1")
    await stack.ok("GET", "/incidents?limit=1")
    body = (await stack.http.get("/metrics")).text

    route = {"method": "GET", "route": "/incidents"}
    assert total(body, "incidentflow_api_requests_total", **route, status="200") >= 2
    assert total(body, "incidentflow_api_requests_total") >= before + 3  # and the first scrape
    assert total(body, "incidentflow_api_request_seconds_count", **route) >= 2
    assert total(body, "incidentflow_api_request_seconds_bucket", **route, le="+Inf") >= 2


async def test_the_worker_exports_temporal_sdk_metrics(
    dev_env: WorkflowEnvironment, store: RecordStore
) -> None:
    port = free_port()
    runtime = worker_runtime(port)
    address = dev_env.client.service_client.config.target_host
    client = await connect(Settings(temporal_address=address), runtime=runtime)
    task_queue = f"metrics-{uuid.uuid4()}"
    async with build_worker(client, task_queue, store):
        # A number of its own: the API tests' incidents on this dev server start at INC0000001.
        incident = new_incident()
        incident.number = f"INC7{uuid.uuid4().int % 1_000_000:06d}"
        handle = await start(client, task_queue, incident)
        await act(handle, "assign", group="service-desk", assignee="sam")
        await end_all_started()

    async def scrape() -> str:
        async with httpx.AsyncClient() as http:
            response = await http.get(f"http://127.0.0.1:{port}/metrics")
            assert response.status_code == 200
            return response.text

    ours = {"namespace": "default", "task_queue": task_queue}
    # The workflow counts the incident it opened, through its replay-safe metric meter.
    body = await eventually(
        scrape, lambda text: total(text, INCIDENTS_CREATED, priority="P3", **ours) == 1
    )
    assert total(body, "temporal_request", operation="StartWorkflowExecution", **ours) == 1
    assert total(body, "temporal_workflow_task_queue_poll_succeed", **ours) >= 1
    latency = "temporal_workflow_task_execution_latency_count"
    assert total(body, latency, workflow_type="IncidentWorkflow", **ours) >= 1
    assert total(body, "temporal_activity_execution_latency_count", **ours) >= 1
    assert total(body, "temporal_worker_start", **ours) == 1
    assert total(body, INCIDENTS_CREATED, priority="P3", **ours) == 1
