"""AlertWorkflow: one per open monitoring alert (`alert-<source>:<dedup_key>`).

POST /alerts reaches it by update-with-start with the USE_EXISTING conflict policy, so any
number of concurrent identical triggers meet in one workflow, whose lock lets exactly one of
them open the incident; the rest attach to it. It ends when its incident closes; the next
trigger for the same key then starts a new run and a new incident.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel

    from domain import alert_intake, flapping, lifecycle, presentation
    from domain.effects import INCIDENT_CLOSED_SIGNAL, IncidentClosed, incident_workflow_id
    from domain.integrations_policy import window_seconds
    from domain.models import ReopenRequest
    from domain.policy import Policy
    from domain.relations import AlertEvent, alert_info
    from workflows.incident import IncidentWorkflow

ALERT_UPDATE = "alert"
ALLOCATE_NUMBER = "allocate_incident_number"
ACTIONS = ("trigger", "acknowledge", "resolve")
FLAPPING_PATCH = "alert-flapping"  # routers that saw a trigger after a resolve before it


class AlertStart(BaseModel):
    source: str
    dedup_key: str
    policy: Policy


class AlertOutcome(BaseModel):
    incident: str | None
    created: bool
    reopened: bool = False  # a trigger within [alerts].reopen_window of an auto-resolution


@workflow.defn(name="AlertWorkflow")
class AlertWorkflow:
    @workflow.init
    def __init__(self, start: AlertStart) -> None:
        self._policy = start.policy
        self._incident: str | None = None
        self._handled = 0
        self._lock = asyncio.Lock()
        self._resolution: flapping.Resolution | None = None  # of the incident, as last heard
        self._reopened_at: datetime | None = None

    @workflow.run
    async def run(self, start: AlertStart) -> None:
        await workflow.wait_condition(
            lambda: (
                self._handled > 0 and self._incident is None and workflow.all_handlers_finished()
            )
        )

    @workflow.update(name=ALERT_UPDATE)
    async def alert(self, event: AlertEvent) -> AlertOutcome:
        async with self._lock:  # one trigger at a time opens the incident; the rest attach
            try:
                if self._incident is None:
                    if event.action != "trigger":
                        return AlertOutcome(incident=None, created=False)
                    self._incident = await self._open_incident(event)
                    return AlertOutcome(incident=self._incident, created=True)
                if (
                    event.action == "trigger"
                    and self._resolution is not None
                    and workflow.patched(FLAPPING_PATCH)
                ):
                    return await self._after_resolution(event, self._resolution)
                incident = workflow.get_external_workflow_handle(
                    incident_workflow_id(self._incident)
                )
                await incident.signal("alert", event)
                if event.action == "resolve":
                    self._expect_auto_resolution()
                return AlertOutcome(incident=self._incident, created=False)
            finally:
                self._handled += 1

    @alert.validator
    def _validate(self, event: AlertEvent) -> None:
        if event.action not in ACTIONS:
            raise lifecycle.invalid_request("action", f"use one of {', '.join(ACTIONS)}")
        if event.action == "trigger" and event.severity not in self._policy.alerts.severity:
            known = ", ".join(self._policy.alerts.severity)
            raise lifecycle.invalid_request("severity", f"unknown severity (known: {known})")

    @workflow.signal(name=flapping.RESOLUTION_SIGNAL)
    def incident_resolution(self, news: flapping.Resolution) -> None:
        if news.number != self._incident:
            return
        if news.resolved and self._reopened_at is not None and news.at <= self._reopened_at:
            return  # the resolution this router has already reopened
        self._resolution = news if news.resolved else None

    def _expect_auto_resolution(self) -> None:
        # The incident's own news follows; a trigger right behind the resolve must not wait
        # for it, or it would attach to the incident it meant to reopen.
        if self._policy.alerts.auto_resolve and self._resolution is None and self._incident:
            now = workflow.now()
            self._resolution = flapping.Resolution(
                number=self._incident, resolved=True, auto=True, at=now
            )

    async def _after_resolution(
        self, event: AlertEvent, resolution: flapping.Resolution
    ) -> AlertOutcome:
        window = self._policy.alerts.reopen_window
        decision = flapping.after_resolution(resolution, workflow.now(), window_seconds(window))
        self._resolution = None
        if decision == flapping.Flap.OPEN_NEW:
            self._incident = await self._open_incident(event)
            return AlertOutcome(incident=self._incident, created=True)
        assert self._incident is not None
        incident = workflow.get_external_workflow_handle(incident_workflow_id(self._incident))
        reopen = ReopenRequest(
            actor=event.source[:128],
            reason=f"alert {event.dedup_key} fired again within {window} of its auto-resolution",
            request_id=f"{workflow.info().workflow_id}/reopen/{self._handled}"[-200:],
        )
        await incident.signal("reopen", reopen)
        self._reopened_at = workflow.now()
        await incident.signal("alert", event)
        return AlertOutcome(incident=self._incident, created=False, reopened=True)

    @workflow.signal(name=INCIDENT_CLOSED_SIGNAL)
    def incident_closed(self, event: IncidentClosed) -> None:
        if event.number == self._incident:
            self._incident = None

    async def _open_incident(self, event: AlertEvent) -> str:
        number: str = await workflow.execute_activity(
            ALLOCATE_NUMBER, start_to_close_timeout=timedelta(seconds=10), result_type=str
        )
        create = alert_intake.create_for(event, self._policy)
        state = lifecycle.open_incident(
            number, create, event.source, event.source, self._policy, workflow.now()
        )
        state.alert = alert_info(event)
        alert_intake.enrich(state, event, workflow.now())
        await workflow.start_child_workflow(
            IncidentWorkflow.run,
            state,
            id=incident_workflow_id(number),
            parent_close_policy=ParentClosePolicy.ABANDON,
            static_summary=presentation.summary(state),
        )
        return number
