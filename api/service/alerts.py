"""Monitoring alerts: each goes to the alert router workflow of its dedup key, which opens one
incident per open key, attaches repeats, and acknowledges or resolves it."""

from __future__ import annotations

from temporalio.client import WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy

from api.service import people, playbooks
from api.service.context import Services
from api.service.errors import NotFound, Unprocessable
from domain import alert_intake
from domain.incident_models import ModelSnapshot
from domain.names import ALERT_UPDATE, alert_workflow_id
from domain.relations import AlertEvent
from recordstore.payloads import keep_large
from workflows.alerts import AlertOutcome, AlertStart, AlertWorkflow


async def receive_alert(services: Services, event: AlertEvent) -> AlertOutcome:
    """POST /alerts: an alert with no open incident to acknowledge or resolve is a 404."""
    if event.action == "trigger" and event.severity not in services.policy.alerts.severity:
        known = ", ".join(services.policy.alerts.severity)
        raise Unprocessable("severity", f"unknown severity '{event.severity}' (known: {known})")
    outcome = await route_alert(services, event)
    if outcome.incident is None:
        raise NotFound(f"no open incident for alert {event.source}:{event.dedup_key}")
    return outcome


async def route_alert(services: Services, event: AlertEvent) -> AlertOutcome:
    """Every door's alert (POST /alerts, Alertmanager, Grafana, PagerDuty) to its router."""
    # Large details go to the record store first; the workflows carry only their reference.
    details = await keep_large(services.store.database, event.details)
    event = event.model_copy(update={"details": details, "model": _model_for(services, event)})
    # Update-with-start: concurrent identical triggers all meet in the one router workflow.
    start = WithStartWorkflowOperation(
        AlertWorkflow.run,
        AlertStart(
            source=event.source,
            dedup_key=event.dedup_key,
            policy=people.incident_policy(services.policy, services.directory),
        ),
        id=alert_workflow_id(event.source, event.dedup_key),
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        task_queue=services.settings.task_queue,
        static_summary=f"alert {event.source}:{event.dedup_key}"[:400],
    )
    outcome: AlertOutcome = await services.client.execute_update_with_start_workflow(
        ALERT_UPDATE, event, start_workflow_operation=start, result_type=AlertOutcome
    )
    return outcome


def _model_for(services: Services, event: AlertEvent) -> ModelSnapshot | None:
    """The incident model a trigger would open its incident with (by the alert's category,
    service and priority, as a create is matched); the router decides whether it opens one."""
    if event.action != "trigger" or event.severity not in services.policy.alerts.severity:
        return None
    return playbooks.model_for_create(services, alert_intake.create_for(event, services.policy))
