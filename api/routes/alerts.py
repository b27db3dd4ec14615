"""POST /alerts: monitoring opens, repeats, acknowledges and clears incidents by dedup_key."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Response
from pydantic import Field, StringConstraints, field_validator
from temporalio.client import WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy

from api.auth import Principal, Role
from api.deps import ServicesDep, require
from api.errors import ApiError, documented
from domain.models import Strict
from domain.names import ALERT_UPDATE, alert_workflow_id
from domain.relations import AlertEvent
from workflows.alerts import AlertOutcome, AlertStart, AlertWorkflow

router = APIRouter(tags=["alerts"])
Key = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
DETAILS_MAX = 64_000
DETAILS_DEPTH = 32


class AlertIn(Strict):
    source: Key = Field(examples=["prometheus"])
    dedup_key: Key = Field(examples=["db01/cpu"])
    action: Literal["trigger", "acknowledge", "resolve"]
    summary: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
    severity: Key = Field(default="error", description="a key of the policy's [alerts].severity")
    service: Key | None = None
    details: dict[str, Any] = Field(
        default={},
        description=f"free-form: {DETAILS_MAX:,} characters as JSON, {DETAILS_DEPTH} levels deep",
    )

    @field_validator("details")
    @classmethod
    def _bounded(cls, details: dict[str, Any]) -> dict[str, Any]:
        # The alert rides in workflow payloads, which Temporal caps (2 MB a blob) and the
        # workflow's JSON decoder reads only so deep (200 levels).
        if _deeper_than(details, DETAILS_DEPTH):
            raise ValueError(f"at most {DETAILS_DEPTH} levels deep")
        if len(json.dumps(details, ensure_ascii=False, default=str)) > DETAILS_MAX:
            raise ValueError(f"at most {DETAILS_MAX:,} characters as JSON")
        return details


def _deeper_than(value: Any, levels: int) -> bool:
    if levels < 0:
        return True
    children = (
        value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    )
    return any(_deeper_than(child, levels - 1) for child in children)


@router.post(
    "/alerts",
    response_model=AlertOutcome,
    responses=documented(401, 403, 404, 422, 429, 503),
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
