"""Liveness, readiness (Temporal, a worker and the record store answer) and Prometheus metrics."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest, GetSystemInfoRequest

from api.deps import ServicesDep
from api.service.context import Services

router = APIRouter(tags=["health"])
PROBE_TIMEOUT_S = 3.0
# A worker long-polls for a minute at most before it polls again; a poller not seen for longer
# than this is gone.
POLLER_FRESH = timedelta(seconds=90)


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    responses={
        HTTPStatus.OK: {
            "description": "Temporal, a worker on the task queue and the record store answer"
        },
        HTTPStatus.SERVICE_UNAVAILABLE: {
            "description": "not ready: the body says which check failed"
        },
    },
)
async def readyz(services: ServicesDep) -> JSONResponse:
    checks: dict[str, Any] = {}
    try:
        info = services.client.workflow_service.get_system_info(GetSystemInfoRequest(), retry=False)
        await asyncio.wait_for(info, PROBE_TIMEOUT_S)
        checks["temporal"] = "ok"
    except Exception as error:  # any failure means "not ready"; the body says which
        checks["temporal"] = f"unreachable: {type(error).__name__}"
    checks["worker"] = await _worker_check(services) if checks["temporal"] == "ok" else "unknown"
    try:
        await asyncio.wait_for(services.store.ping(), PROBE_TIMEOUT_S)
        checks["database"] = "ok"
    except Exception as error:
        checks["database"] = f"unreachable: {type(error).__name__}"
    ready = all(value == "ok" for value in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not ready", **checks},
        status_code=HTTPStatus.OK if ready else HTTPStatus.SERVICE_UNAVAILABLE,
    )


async def _worker_check(services: Services) -> str:
    """Transitions hang without a worker: ready only while one polls the incidents' queue."""
    queue = services.settings.task_queue
    request = DescribeTaskQueueRequest(
        namespace=services.client.namespace,
        task_queue=TaskQueue(name=queue),
        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    )
    try:
        described = services.client.workflow_service.describe_task_queue(request, retry=False)
        pollers = (await asyncio.wait_for(described, PROBE_TIMEOUT_S)).pollers
    except Exception as error:
        return f"unreachable: {type(error).__name__}"
    now = datetime.now(UTC)
    if any(now - poller.last_access_time.ToDatetime(UTC) < POLLER_FRESH for poller in pollers):
        return "ok"
    return f"no worker polls task queue {queue!r}"


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        HTTPStatus.OK: {"content": {"text/plain": {}}, "description": "Prometheus text format"}
    },
)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
