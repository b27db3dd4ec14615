"""Liveness, readiness (Temporal and the record store answer) and Prometheus metrics."""

from __future__ import annotations

import asyncio
from http import HTTPStatus
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest

from api.deps import ServicesDep

router = APIRouter(tags=["health"])
PROBE_TIMEOUT_S = 3.0


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    responses={
        HTTPStatus.OK: {"description": "Temporal and the record store answer"},
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


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        HTTPStatus.OK: {"content": {"text/plain": {}}, "description": "Prometheus text format"}
    },
)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
