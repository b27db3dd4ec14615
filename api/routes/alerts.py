"""POST /alerts: monitoring opens, repeats, acknowledges and clears incidents by dedup_key."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Response
from pydantic import Field, StringConstraints
from temporalio.client import WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy

from api.auth import Principal, Role
from api.deps import ServicesDep, require
from api.errors import ApiError, documented
from workflows.alerts import ALERT_UPDATE, AlertOutcome, AlertStart, AlertWorkflow
from workflows.effects import alert_workflow_id
from workflows.models import Strict
from workflows.relations import AlertEvent

router = APIRouter(tags=["alerts"])
Key = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class AlertIn(Strict):
    source: Key = Field(examples=["prometheus"])
    dedup_key: Key = Field(examples=["db01/cpu"])
    action: Literal["trigger", "acknowledge", "resolve"]
    summary: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
    severity: Key = Field(default="error", description="a key of the policy's [alerts].severity")
    service: Key | None = None
    details: dict[str, Any] = {}


@router.post(
    "/alerts",
    response_model=AlertOutcome,
    responses=documented(401, 403, 404, 422, 503),
)
async def receive_alert(
    alert: AlertIn,
    services: ServicesDep,
    principal: Annotated[Principal, Depends(require(Role.AUTOMATION))],
    response: Response,
) -> AlertOutcome:
    """`trigger` opens one incident per open dedup_key (concurrent repeats attach to it);
    `acknowledge` starts it when assigned; `resolve` resolves it as auto_resolved."""
    if alert.action == "trigger" and alert.severity not in services.policy.alerts.severity:
        known = ", ".join(services.policy.alerts.severity)
        message = f"unknown severity '{alert.severity}' (known: {known})"
        raise ApiError(
            422, f"severity: {message}", problems=[{"field": "severity", "message": message}]
        )
    event = AlertEvent(**alert.model_dump(), received_at=datetime.now(UTC))
    start = WithStartWorkflowOperation(
        AlertWorkflow.run,
        AlertStart(source=alert.source, dedup_key=alert.dedup_key, policy=services.policy),
        id=alert_workflow_id(alert.source, alert.dedup_key),
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        task_queue=services.settings.task_queue,
        static_summary=f"alert {alert.source}:{alert.dedup_key}",
    )
    outcome: AlertOutcome = await services.client.execute_update_with_start_workflow(
        ALERT_UPDATE, event, start_workflow_operation=start, result_type=AlertOutcome
    )
    if outcome.incident is None:
        raise ApiError(404, f"no open incident for alert {alert.source}:{alert.dedup_key}")
    response.status_code = 201 if outcome.created else 200
    return outcome
