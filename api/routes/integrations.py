"""Monitoring tools, unchanged: Alertmanager and Grafana webhooks, and PagerDuty's Events API v2.

Each alert goes to the same alert router as `POST /alerts` (update-with-start on
`alert-<source>:<dedup_key>`), so repeats, acknowledgements, resolutions and flapping behave
the same whatever door the alert came in by.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from api.deps import AuthorizedDep, ServicesDep
from api.errors import documented
from api.service.alerts import route_alert
from api.service.errors import (
    Forbidden,
    TooManyRequests,
    Unauthorized,
    Unavailable,
    Unprocessable,
)
from domain import alertmanager, pagerduty
from domain.relations import AlertEvent

router = APIRouter(tags=["integrations"])
FAN_OUT = 8  # alerts of one notification routed at once
RETRY_AFTER_SECONDS = 1
BUSY = {
    RPCStatusCode.RESOURCE_EXHAUSTED,
    RPCStatusCode.UNAVAILABLE,
    RPCStatusCode.DEADLINE_EXCEEDED,
    RPCStatusCode.ABORTED,
}


# --- Alertmanager and Grafana -------------------------------------------------------------


class RoutedAlert(BaseModel):
    dedup_key: str
    action: str
    incident: str | None
    created: bool
    reopened: bool = False


class WebhookOutcome(BaseModel):
    tool: str
    alerts: int
    routed: list[RoutedAlert]


@router.post(
    "/integrations/alertmanager",
    response_model=WebhookOutcome,
    responses=documented(Unauthorized, Forbidden, Unprocessable, TooManyRequests, Unavailable),
)
async def alertmanager_webhook(
    payload: alertmanager.WebhookPayload, services: ServicesDep, principal: AuthorizedDep
) -> WebhookOutcome:
    """Prometheus Alertmanager's `webhook_configs` (version "4") and Grafana's webhook contact
    point (version "1"): one incident per alert fingerprint, or per group key
    (`[integrations.alertmanager].group_by`); `resolved` resolves it as auto_resolved."""
    events = alertmanager.events_from(payload, services.policy, datetime.now(UTC))
    limit = asyncio.Semaphore(FAN_OUT)

    async def routed(event: AlertEvent) -> RoutedAlert:
        async with limit:
            outcome = await route_alert(services, event)
        return RoutedAlert(dedup_key=event.dedup_key, action=event.action, **outcome.model_dump())

    results = await asyncio.gather(*(routed(event) for event in events))
    return WebhookOutcome(tool=payload.tool, alerts=len(payload.alerts), routed=list(results))


# --- PagerDuty Events API v2 --------------------------------------------------------------


class EventProcessed(BaseModel):
    status: str
    message: str
    dedup_key: str


class EventRejected(BaseModel):
    status: str
    message: str
    errors: list[str] = []


_LINK = {"type": "object", "properties": {"href": {"type": "string"}, "text": {"type": "string"}},
         "required": ["href"]}  # fmt: skip
_IMAGE = {"type": "object", "required": ["src"], "properties": {
    "src": {"type": "string"}, "href": {"type": "string"}, "alt": {"type": "string"}}}  # fmt: skip
ENQUEUE_BODY: dict[str, Any] = {
    "type": "object",
    "required": ["routing_key", "event_action"],
    "properties": {
        "routing_key": {"type": "string", "description": "an [[integration]] key (tokens file)"},
        "event_action": {"type": "string", "enum": list(pagerduty.ACTIONS)},
        "dedup_key": {"type": "string", "maxLength": pagerduty.DEDUP_KEY_MAX,
                      "description": "required unless event_action is trigger"},
        "payload": {
            "type": "object",
            "required": ["summary", "source", "severity"],
            "properties": {
                "summary": {"type": "string", "minLength": 1},
                "source": {"type": "string", "minLength": 1},
                "severity": {"type": "string", "enum": list(pagerduty.SEVERITIES)},
                "timestamp": {"type": "string", "format": "date-time"},
                "component": {"type": "string"},
                "group": {"type": "string"},
                "class": {"type": "string"},
                "custom_details": {"type": "object"},
            },
        },
        "client": {"type": "string"},
        "client_url": {"type": "string"},
        "links": {"type": "array", "items": _LINK},
        "images": {"type": "array", "items": _IMAGE},
    },
}  # fmt: skip


def _answer(status: int, body: dict[str, Any], **headers: str) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=headers or None)


def _rejected(errors: list[str]) -> JSONResponse:
    return _answer(400, pagerduty.INVALID | {"errors": errors})


def _throttled() -> JSONResponse:
    body = {"status": "throttle exceeded", "message": "Too many API calls at a time; retry later"}
    return _answer(429, body, **{"Retry-After": str(RETRY_AFTER_SECONDS)})


@router.post(
    "/v2/enqueue",
    status_code=202,
    response_model=EventProcessed,
    responses={
        400: {"model": EventRejected, "description": "not a valid event: `errors` says why"},
        429: {"model": EventRejected, "description": "throttled: retry after `Retry-After`"},
        **documented(Unprocessable),
    },
    openapi_extra={"requestBody": {"required": True,
                                   "content": {"application/json": {"schema": ENQUEUE_BODY}}}},
)  # fmt: skip
async def enqueue(request: Request, services: ServicesDep) -> JSONResponse:
    """PagerDuty Events API v2, byte for byte: the `routing_key` is an `[[integration]]` key
    of the tokens file (no bearer token). `trigger` opens or repeats the incident of
    `dedup_key` (generated and returned when absent); `acknowledge` starts it when assigned;
    `resolve` resolves it. Events for a key with no open incident are accepted and ignored."""
    try:
        body = json.loads(await request.body())
    except ValueError:
        return _answer(400, pagerduty.UNRECOGNIZED)
    if not isinstance(body, dict):
        return _answer(400, pagerduty.UNRECOGNIZED)
    event, errors = pagerduty.check(body)
    if event is None:
        return _rejected(errors)
    integration = services.tokens.integration(event.routing_key)
    if integration is None:
        return _rejected(["Invalid routing key"])
    if event.dedup_key is None:
        event.dedup_key = uuid.uuid4().hex
    alert = pagerduty.alert_event(event, integration, services.policy, datetime.now(UTC))
    try:
        await route_alert(services, alert)
    except RPCError as error:
        if error.status in BUSY:
            return _throttled()
        raise
    except (TooManyRequests, Unavailable):
        return _throttled()
    except RuntimeError as error:
        if str(error).startswith("Failed client connect"):
            return _throttled()
        raise
    except WorkflowUpdateFailedError as error:
        return _rejected([str(error.cause or error)])
    return _answer(202, pagerduty.SUCCESS | {"dedup_key": event.dedup_key})
