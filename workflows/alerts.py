"""AlertWorkflow: one per open monitoring alert (`alert-<source>:<dedup_key>`).

POST /alerts reaches it by update-with-start with the USE_EXISTING conflict policy, so any
number of concurrent identical triggers meet in one workflow, whose lock lets exactly one of
them open the incident; the rest attach to it. It ends when its incident closes; the next
trigger for the same key then starts a new run and a new incident.

An alert may repeat for months: the router continues as new when Temporal suggests it (the
history's length or size, or the number of updates), carrying its incident. While it drains
for that, new repeats are acknowledged at once and kept in its state, and the next run passes
them on first, in order, so no acknowledged repeat is lost and the drain always ends. Event
details are bounded before they are kept or passed on (`domain.bounds`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.exceptions import ApplicationError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel

    from domain import alert_intake, bounds, flapping, lifecycle, messages, names, presentation
    from domain.effects import IncidentClosed
    from domain.incident_models import ModelSnapshot
    from domain.integrations_policy import window_seconds
    from domain.models import Action, ReopenRequest
    from domain.policy import Policy
    from domain.relations import ALERT_ACTIONS, AlertEvent, alert_info
    from workflows.incident import IncidentWorkflow


FLAPPING_PATCH = "alert-flapping"  # routers that saw a trigger after a resolve before it
INCIDENT_GONE_PATCH = "alert-incident-gone"  # a signal to an ended incident opens a new one
EXTERNAL_NOT_FOUND = "ExternalWorkflowExecutionNotFound"  # the failure type of such a signal


class AlertStart(BaseModel):
    source: str
    dedup_key: str
    policy: Policy
    # Carried by continue-as-new (absent when the first trigger starts the router):
    incident: str | None = None
    handled: int = 0
    pending: list[AlertEvent] = []
    resolution: flapping.Resolution | None = None
    reopened_at: datetime | None = None


class AlertOutcome(BaseModel):
    incident: str | None
    created: bool
    reopened: bool = False  # a trigger within [alerts].reopen_window of an auto-resolution


@workflow.defn(name=names.ALERT_WORKFLOW)
class AlertWorkflow:
    @workflow.init
    def __init__(self, start: AlertStart) -> None:
        self._policy = start.policy
        self._incident: str | None = start.incident
        self._handled = start.handled
        self._pending: list[AlertEvent] = list(start.pending)
        self._draining = False
        self._lock = asyncio.Lock()
        # the incident's resolution, as last heard (flapping: reopen or open anew)
        self._resolution: flapping.Resolution | None = start.resolution
        self._reopened_at: datetime | None = start.reopened_at

    @workflow.run
    async def run(self, start: AlertStart) -> None:
        if self._pending:
            async with self._lock:
                await self._pass_on_pending()
        await workflow.wait_condition(
            lambda: self._finished() or workflow.info().is_continue_as_new_suggested()
        )
        if self._finished():
            return
        self._draining = True  # from here new repeats wait in state for the next run
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(
            start.model_copy(
                update={
                    "policy": self._policy,
                    "incident": self._incident,
                    "handled": self._handled,
                    "pending": self._pending if self._incident is not None else [],
                    "resolution": self._resolution,
                    "reopened_at": self._reopened_at,
                }
            )
        )

    def _finished(self) -> bool:
        return self._handled > 0 and self._incident is None and workflow.all_handlers_finished()

    @workflow.update(
        name=names.ALERT_UPDATE,
        description="A monitoring alert: trigger opens or repeats, acknowledge, resolve.",
    )
    @messages.raw_payload(AlertOutcome)
    async def alert(self, *payloads: object) -> AlertOutcome:
        event = _decode(AlertEvent, payloads)  # the validator has accepted it
        model = event.model  # for opening an incident only: repeats do not carry it on
        event = event.model_copy(update={"details": bounds.bounded(event.details), "model": None})
        if self._may_keep_for_next_run(event):
            return self._keep_for_next_run(event)
        async with self._lock:  # one trigger at a time opens the incident; the rest attach
            if self._may_keep_for_next_run(event):
                return self._keep_for_next_run(event)
            try:
                await self._pass_on_pending()
                if (number := self._incident) is not None:
                    if (
                        event.action == "trigger"
                        and self._resolution is not None
                        and workflow.patched(FLAPPING_PATCH)
                    ):
                        outcome = await self._after_resolution(event, self._resolution, model)
                        if outcome is not None:
                            return outcome
                    elif await self._pass_on(event):
                        return AlertOutcome(incident=number, created=False)
                # No incident, or it ended before its closing news reached this router.
                if event.action != "trigger":
                    return AlertOutcome(incident=None, created=False)
                self._incident = await self._open_incident(event, model)
                return AlertOutcome(incident=self._incident, created=True)
            finally:
                self._handled += 1

    @alert.validator
    @messages.raw_payload(None)
    def _validate(self, *payloads: object) -> None:
        event = _decode(AlertEvent, payloads)
        if event.action not in ALERT_ACTIONS:
            raise lifecycle.invalid_request("action", f"use one of {', '.join(ALERT_ACTIONS)}")
        if event.action == "trigger" and event.severity not in self._policy.alerts.severity:
            known = ", ".join(self._policy.alerts.severity)
            raise lifecycle.invalid_request("severity", f"unknown severity (known: {known})")

    @workflow.signal(
        name=names.INCIDENT_CLOSED_SIGNAL,
        description="The incident this alert opened closed: the next trigger opens a new one.",
    )
    @messages.raw_payload(None)
    def incident_closed(self, *payloads: object) -> None:
        try:
            event = _decode(IncidentClosed, payloads)
        except ApplicationError as rejection:  # only incidents send it: nothing to record
            workflow.logger.warning("signal rejected", extra={"error": rejection.message})
            return
        if event.number == self._incident:
            self._incident = None

    @workflow.signal(
        name=flapping.RESOLUTION_SIGNAL,
        description="The incident this alert opened was resolved or reopened (flapping).",
    )
    @messages.raw_payload(None)
    def incident_resolution(self, *payloads: object) -> None:
        try:
            news = _decode(flapping.Resolution, payloads)
        except ApplicationError as rejection:  # only incidents send it: nothing to record
            workflow.logger.warning("signal rejected", extra={"error": rejection.message})
            return
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
        self, event: AlertEvent, resolution: flapping.Resolution, model: ModelSnapshot | None
    ) -> AlertOutcome | None:
        """Reopen within the window, open anew after it; None when the incident has ended."""
        window = self._policy.alerts.reopen_window
        decision = flapping.after_resolution(resolution, workflow.now(), window_seconds(window))
        self._resolution = None
        if decision == flapping.Flap.OPEN_NEW:
            self._incident = await self._open_incident(event, model)
            return AlertOutcome(incident=self._incident, created=True)
        reopen = ReopenRequest(
            actor=event.source[:128],
            reason=f"alert {event.dedup_key} fired again within {window} of its auto-resolution",
            request_id=f"{workflow.info().workflow_id}/reopen/{self._handled}"[-200:],
        )
        assert self._incident is not None
        number = self._incident  # the closing news may come in while a signal is on its way
        if not await self._signal_incident(number, Action.REOPEN.value, reopen):
            return None
        self._reopened_at = workflow.now()
        if not await self._signal_incident(number, IncidentWorkflow.alert, event):
            return None
        return AlertOutcome(incident=number, created=False, reopened=True)

    async def _pass_on(self, event: AlertEvent) -> bool:
        """Pass the event on to the incident; False when the incident has ended."""
        assert self._incident is not None
        if not await self._signal_incident(self._incident, IncidentWorkflow.alert, event):
            return False
        if event.action == "resolve":
            self._expect_auto_resolution()
        return True

    async def _signal_incident(self, number: str, signal: Any, arg: Any) -> bool:
        """Signal this router's incident; False (and no incident any more) when it has ended
        and its own closing news has not arrived yet: the next trigger opens a new one."""
        incident = workflow.get_external_workflow_handle(names.incident_workflow_id(number))
        try:
            await incident.signal(signal, arg)
        except ApplicationError as failure:
            if failure.type != EXTERNAL_NOT_FOUND or not workflow.patched(INCIDENT_GONE_PATCH):
                raise  # routers that failed this way before replay as they ran
            workflow.logger.info("incident ended before its news came: " + number)
            if self._incident == number:
                self._incident, self._resolution = None, None
            return False
        return True

    def _may_keep_for_next_run(self, event: AlertEvent) -> bool:
        """While draining, a repeat waits in state; a trigger after a resolution does not (it
        reopens or opens anew, which the next run could not answer for)."""
        flaps = event.action == "trigger" and self._resolution is not None
        return self._draining and self._incident is not None and not flaps

    def _keep_for_next_run(self, event: AlertEvent) -> AlertOutcome:
        self._pending.append(event)
        self._handled += 1
        return AlertOutcome(incident=self._incident, created=False)

    async def _pass_on_pending(self) -> None:
        """Repeats acknowledged while the previous run drained reach the incident first."""
        while self._pending and self._incident is not None:
            await self._pass_on(self._pending[0])
            del self._pending[0]
        self._pending.clear()  # an incident that closed meanwhile takes no more repeats

    async def _open_incident(self, event: AlertEvent, model: ModelSnapshot | None) -> str:
        number: str = await workflow.execute_activity(
            names.ALLOCATE_INCIDENT_NUMBER,
            start_to_close_timeout=timedelta(seconds=10),
            result_type=str,
        )
        create = alert_intake.create_for(event, self._policy)
        state = lifecycle.open_incident(
            number, create, event.source, event.source, self._policy, workflow.now(), model=model
        )
        state.alert = alert_info(event)
        alert_intake.enrich(state, event, workflow.now())
        await workflow.start_child_workflow(
            IncidentWorkflow.run,
            state,
            id=names.incident_workflow_id(number),
            parent_close_policy=ParentClosePolicy.ABANDON,
            static_summary=presentation.summary(state),
        )
        return number


ModelT = TypeVar("ModelT", bound=BaseModel)


def _decode(model: type[ModelT], payloads: Sequence[object]) -> ModelT:
    return messages.decode(model, payloads, workflow.payload_converter())
