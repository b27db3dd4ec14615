"""IncidentWorkflow: one durable workflow per incident.

Transitions arrive as Updates (API callers get the new view or a rejection) or as Signals
(automation; an invalid one is recorded as rejected). Each row of the transition table in
`domain.lifecycle` is a named Update and a named Signal with its description, made from the
table when the class is defined, so the Temporal UI and `temporal workflow metadata` list them;
dynamic handlers take the rest (a hyphen for an underscore, or an unknown name: rejected).
Events from linked incidents, alert routers and vendors arrive as named signals. Every handler
takes its payload raw and decodes it through `domain.messages.decode`, the one decode path.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any, TypeVar, cast

from temporalio import workflow
from temporalio.common import RawValue, RetryPolicy
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    CancelledError,
    WorkflowAlreadyStartedError,
)
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel

    from domain import (
        effects,
        flapping,
        lifecycle,
        messages,
        names,
        playbook_runs,
        presentation,
        relations,
        timers,
    )
    from domain.attachments import AttachmentAdded, attachment_added
    from domain.models import (
        Action,
        ActionRequest,
        IncidentRecord,
        IncidentState,
        IncidentView,
        TimelineEntry,
        TimelineWindow,
    )
    from domain.vendors import VendorUpdate

REMEMBERED_REQUEST_IDS = 500
RECORD_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1)
)
RECORD_LOCAL_RETRY = timedelta(seconds=2)
EFFECT_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=5)
)
EventT = TypeVar("EventT", bound=BaseModel)


def _with_action_handlers(cls: type[IncidentWorkflow]) -> type[IncidentWorkflow]:
    """One named Update and one named Signal per row of the transition table."""
    for action, rule in lifecycle.TRANSITIONS.items():
        for attribute in (action.value, f"{action.value}_signal"):
            if hasattr(cls, attribute):
                raise TypeError(f"action {action} would replace {cls.__name__}.{attribute}")
        setattr(cls, action.value, _action_update(action, rule.describe()))
        setattr(cls, f"{action.value}_signal", _action_signal(action, rule.describe()))
    return cls


def _action_update(action: Action, description: str) -> Any:
    @messages.raw_payload(IncidentView)
    def handle(self: IncidentWorkflow, *payloads: object) -> IncidentView:
        return self._transition(action.value, payloads)

    @messages.raw_payload(None)
    def validate(self: IncidentWorkflow, *payloads: object) -> None:
        self._validate_transition(action.value, payloads)

    handle.__name__ = handle.__qualname__ = action.value
    validate.__name__ = validate.__qualname__ = f"validate_{action.value}"
    update = workflow.update(name=action.value, description=description)(handle)
    update.validator(validate)
    return update


def _action_signal(action: Action, description: str) -> Any:
    @messages.raw_payload(None)
    def receive(self: IncidentWorkflow, *payloads: object) -> None:
        self._transition_signal(action.value, payloads)

    receive.__name__ = receive.__qualname__ = f"{action.value}_signal"
    return workflow.signal(name=action.value, description=description)(receive)


def action_update(action: Action) -> workflow.UpdateMethodMultiParam[[Any, Any], IncidentView]:
    """The named Update of `action`, for typed calls from clients (`core.temporal_client`)."""
    return cast(
        workflow.UpdateMethodMultiParam[[Any, Any], IncidentView],
        getattr(IncidentWorkflow, action.value),
    )


@workflow.defn(name=names.INCIDENT_WORKFLOW)
@_with_action_handlers
class IncidentWorkflow:
    @workflow.init
    def __init__(self, state: IncidentState) -> None:
        self.state = state
        # Histories from before a caller's comment told the assignee keep their commands.
        state.caller_comments_silent = not workflow.patched(names.CALLER_COMMENTS_NOTIFY_PATCH)
        # Incidents started before playbooks existed take no playbook on re-categorisation.
        state.playbooks_enabled = workflow.patched(names.PLAYBOOKS_PATCH)
        self._published: dict[str, Any] = {}
        self._effects_running = 0
        self._due_cache: tuple[int, timers.DueEvent | None] | None = None

    @workflow.run
    async def run(self, state: IncidentState) -> IncidentView:
        self._after_change(None)
        recorder = asyncio.create_task(self._record_changes())
        while self.state.status not in lifecycle.FINAL:
            if workflow.info().is_continue_as_new_suggested():
                await self._continue_as_new(recorder)
            await self._wait_for_change_or_due_event()
        await workflow.wait_condition(lambda: self._effects_running == 0)
        await recorder
        await workflow.wait_condition(workflow.all_handlers_finished)
        return lifecycle.view(self.state)

    # --- reads ----------------------------------------------------------------------------

    @workflow.query(
        name=names.VIEW_QUERY,
        description="The incident as it stands, with the actions its state allows.",
    )
    def view(self) -> IncidentView:
        return lifecycle.view(self.state)

    @workflow.query(
        name=names.TIMELINE_QUERY,
        description="The recent timeline (the whole of it for all but very long lives).",
    )
    def timeline(self) -> list[TimelineEntry]:
        return self.state.timeline

    @workflow.query(
        name=names.TIMELINE_WINDOW_QUERY,
        description="The timeline entries the workflow still holds, after `offset` older ones.",
    )
    def timeline_window(self) -> TimelineWindow:
        return TimelineWindow(offset=self.state.timeline_offset, entries=self.state.timeline)

    # --- transitions ----------------------------------------------------------------------
    # The named handlers, one per action, are added by `_with_action_handlers`.

    @workflow.update(
        dynamic=True,
        description="Any action by another spelling (declare-major); an unknown one is rejected.",
    )
    def transition(self, name: str, args: Sequence[RawValue]) -> IncidentView:
        return self._transition(name, args)

    @transition.validator
    def _validate_dynamic_transition(self, name: str, args: Sequence[RawValue]) -> None:
        self._validate_transition(name, args)

    @workflow.signal(
        dynamic=True,
        description="Any action by another spelling (declare-major); an unknown one is rejected.",
    )
    def transition_signal(self, name: str, args: Sequence[RawValue]) -> None:
        self._transition_signal(name, args)

    def _transition(self, name: str, payloads: Sequence[object]) -> IncidentView:
        action, request = self._decode(name, payloads)
        if not self._seen(request):
            self._catch_up()
            lifecycle.apply(self.state, action, request, workflow.now())
            self._after_change(request)
        return lifecycle.view(self.state)

    def _validate_transition(self, name: str, payloads: Sequence[object]) -> None:
        action, request = self._decode(name, payloads)
        if not self._seen(request):
            lifecycle.check(self.state, action, request)

    def _transition_signal(self, name: str, payloads: Sequence[object]) -> None:
        try:
            action, request = self._decode(name, payloads)
            if self._seen(request):
                return
            self._catch_up()
            lifecycle.apply(self.state, action, request, workflow.now())
        except ApplicationError as rejection:
            self._reject(name, rejection)
            return
        self._after_change(request)

    def _decode(self, name: str, payloads: Sequence[object]) -> tuple[Action, ActionRequest]:
        try:
            action = Action(name.replace("-", "_"))
        except ValueError:
            raise lifecycle.invalid_request("action", f"unknown action '{name}'") from None
        model = lifecycle.TRANSITIONS[action].request
        request = messages.decode(model, payloads, workflow.payload_converter())
        update = workflow.current_update_info()
        if request.request_id is None and update is not None:
            request = request.model_copy(update={"request_id": update.id})
        return action, request

    def _seen(self, request: ActionRequest) -> bool:
        handled = self.state.handled_request_ids
        return request.request_id is not None and request.request_id in handled

    def _reject(self, name: str, rejection: ApplicationError) -> None:
        details = _rejection(name, rejection)
        lifecycle.record(self.state, workflow.now(), "automation", "rejected", details=details)
        workflow.logger.warning(
            "signal rejected", extra={"action": name, "error": rejection.message}
        )
        self._after_change(None)

    def _after_change(self, request: ActionRequest | None) -> None:
        if request is not None and request.request_id is not None:
            handled = self.state.handled_request_ids
            handled.append(request.request_id)
            del handled[:-REMEMBERED_REQUEST_IDS]
        if self.state.playbook is not None and self.state.playbooks_enabled:
            for run in playbook_runs.advance(self.state, workflow.now()):
                self._launch(run)
        self._start_effects()
        self._publish()

    # --- events from other workflows ------------------------------------------------------

    @workflow.signal(
        name=names.CHILD_LINKED_SIGNAL,
        description="An incident linked itself to this one as its child: {child}.",
    )
    @messages.raw_payload(None)
    def child_linked(self, *payloads: object) -> None:
        self._on_event(
            names.CHILD_LINKED_SIGNAL, payloads, relations.ChildLinked, relations.link_child
        )

    @workflow.signal(
        name=names.DUPLICATE_LINKED_SIGNAL,
        description="An incident was resolved as a duplicate of this one: {duplicate, caller}.",
    )
    @messages.raw_payload(None)
    def duplicate_linked(self, *payloads: object) -> None:
        self._on_event(
            names.DUPLICATE_LINKED_SIGNAL,
            payloads,
            relations.DuplicateLinked,
            relations.link_duplicate,
        )

    @workflow.signal(
        name=names.PARENT_RESOLVED_SIGNAL,
        description="The parent was resolved: an open child follows with its resolution.",
    )
    @messages.raw_payload(None)
    def parent_resolved(self, *payloads: object) -> None:
        self._on_event(
            names.PARENT_RESOLVED_SIGNAL,
            payloads,
            relations.ParentResolved,
            relations.resolve_from_parent,
        )

    @workflow.signal(
        name=names.PARENT_REOPENED_SIGNAL,
        description="The parent was reopened: a child it resolved is reopened too.",
    )
    @messages.raw_payload(None)
    def parent_reopened(self, *payloads: object) -> None:
        self._on_event(
            names.PARENT_REOPENED_SIGNAL,
            payloads,
            relations.ParentReopened,
            relations.reopen_from_parent,
        )

    @workflow.signal(
        name=names.VENDOR_UPDATE_SIGNAL,
        description="A vendor's news about its ticket: {vendor, ticket_id, status, comment}.",
    )
    @messages.raw_payload(None)
    def vendor_update(self, *payloads: object) -> None:
        self._on_event(names.VENDOR_UPDATE_SIGNAL, payloads, VendorUpdate, relations.vendor_updated)

    @workflow.signal(
        name=names.ALERT_SIGNAL,
        description="The alert router passes on a repeat, an acknowledgement or a clear.",
    )
    @messages.raw_payload(None)
    def alert(self, *payloads: object) -> None:
        self._on_event(names.ALERT_SIGNAL, payloads, relations.AlertEvent, relations.alert_received)

    @workflow.signal(
        name=names.ATTACHMENT_ADDED_SIGNAL,
        description="A file was attached (stored outside the workflow): name, size, type, sha256.",
    )
    @messages.raw_payload(None)
    def attachment_added(self, *payloads: object) -> None:
        self._on_event(names.ATTACHMENT_ADDED_SIGNAL, payloads, AttachmentAdded, attachment_added)

    def _on_event(
        self,
        name: str,
        payloads: Sequence[object],
        model: type[EventT],
        handle: Callable[[IncidentState, EventT, Any], None],
    ) -> None:
        try:
            event = messages.decode(model, payloads, workflow.payload_converter())
            request_id = getattr(event, "request_id", None)
            if request_id is not None and request_id in self.state.handled_request_ids:
                return  # a cascade from the parent, delivered again
            self._catch_up()
            handle(self.state, event, workflow.now())
        except ApplicationError as rejection:
            self._reject(name, rejection)
            return
        marker = ActionRequest(request_id=request_id) if request_id else None
        self._after_change(marker)

    # --- timers ---------------------------------------------------------------------------

    def _next_due(self) -> timers.DueEvent | None:
        """What is due next, worked out once per state version: wait conditions are checked on
        every activation, and the calendar arithmetic behind the answer is not free."""
        version = self.state.version
        if self._due_cache is None or self._due_cache[0] != version:
            self._due_cache = (version, timers.next_due(self.state))
        return self._due_cache[1]

    def _catch_up(self) -> None:
        """Fire what came due before this message. After a worker outage the due timer and a
        later transition arrive in one workflow task, and the transition may come first: a
        breach that happened before a resolve must still be recorded, at its due time."""
        if timers.fire_due(self.state, workflow.now()):
            self._after_change(None)

    async def _wait_for_change_or_due_event(self) -> None:
        due = self._next_due()

        def rearm() -> bool:
            return (
                self.state.status in lifecycle.FINAL
                or self._next_due() != due
                or workflow.info().is_continue_as_new_suggested()
            )

        if due is None:
            await workflow.wait_condition(rearm)
            return
        wait = max(due.at - workflow.now(), timedelta(milliseconds=1))
        try:
            await workflow.wait_condition(rearm, timeout=wait, timeout_summary=due.summary)
        except TimeoutError:
            if timers.fire_due(self.state, workflow.now()):
                self._after_change(None)

    # --- side effects ---------------------------------------------------------------------

    def _start_effects(self) -> None:
        """Start what each new timeline entry calls for, in timeline order."""
        state = self.state
        while state.dispatched_timeline < state.timeline_offset + len(state.timeline):
            seq = state.dispatched_timeline
            state.dispatched_timeline += 1
            entry = lifecycle.entry_at(state, seq)
            self._count(entry)
            for effect in effects.effects_for(state, entry, seq):
                if self._replays_without(effect):
                    continue
                self._launch(effect)
            self._tell_alert_router(entry)
        for effect in effects.once_effects(state):
            self._launch(effect)

    def _replays_without(self, effect: effects.Effect) -> bool:
        # Incidents opened before an effect existed replay without it (its patch says so).
        patch = _PATCHED_ACTIVITIES.get(getattr(effect, "activity", None) or "")
        return patch is not None and not workflow.patched(patch)

    def _tell_alert_router(self, entry: TimelineEntry) -> None:
        news = flapping.router_news(self.state, entry)
        # Patched: an incident resolved before its router listened replays without the signal.
        if news is not None and workflow.patched(flapping.ROUTER_NEWS_PATCH):
            self._launch(news)

    def _count(self, entry: TimelineEntry) -> None:
        counter = presentation.COUNTED_KINDS.get(entry.kind)
        if counter is not None:
            meter = workflow.metric_meter()
            attributes = presentation.counter_attributes(self.state, entry)
            meter.create_counter(counter, presentation.COUNTERS[counter]).add(1, attributes)

    def _launch(self, effect: effects.Effect) -> None:
        self._effects_running += 1
        asyncio.create_task(self._carry_out(effect))

    async def _carry_out(self, effect: effects.Effect) -> None:
        try:
            if isinstance(effect, effects.SendSignal):
                handle = workflow.get_external_workflow_handle(effect.workflow_id)
                await handle.signal(effect.signal, effect.arg)
            elif isinstance(effect, effects.StartIncident):
                await self._start_incident(effect)
            else:
                retry = EFFECT_RETRY
                if effect.max_attempts:
                    retry = RetryPolicy(
                        initial_interval=EFFECT_RETRY.initial_interval,
                        maximum_interval=EFFECT_RETRY.maximum_interval,
                        maximum_attempts=effect.max_attempts,
                    )
                result = await workflow.execute_activity(
                    effect.activity,
                    effect.arg,
                    start_to_close_timeout=timedelta(seconds=30),
                    schedule_to_close_timeout=effect.give_up_after,
                    retry_policy=retry,
                    summary=effect.summary,
                )
                if isinstance(effect.arg, playbook_runs.PlaybookHttpCall):
                    playbook_runs.apply_result(self.state, effect.arg, result, workflow.now())
                else:
                    effects.apply_result(self.state, effect, result, workflow.now())
        except (ActivityError, ApplicationError) as failure:
            cause = (
                failure.cause if isinstance(failure, ActivityError) and failure.cause else failure
            )
            if isinstance(effect, effects.RunActivity) and isinstance(
                effect.arg, playbook_runs.PlaybookHttpCall
            ):
                playbook_runs.apply_failure(self.state, effect.arg, str(cause), workflow.now())
            else:
                effects.apply_failure(self.state, effect, str(cause), workflow.now())
        finally:
            self._effects_running -= 1
        self._after_change(None)

    async def _start_incident(self, effect: effects.StartIncident) -> None:
        try:
            await workflow.start_child_workflow(
                IncidentWorkflow.run,
                effect.state,
                id=names.incident_workflow_id(effect.state.number),
                parent_close_policy=ParentClosePolicy.ABANDON,
                static_summary=presentation.summary(effect.state),
            )
        except WorkflowAlreadyStartedError:
            pass  # started before a continue-as-new or a reset: it is there

    # --- records, search attributes, continue-as-new --------------------------------------

    async def _record_changes(self) -> None:
        """The one writer of the incident record. Coalesces changes; retries while the record
        store is down, so transitions and timers never wait for it."""
        state = self.state
        while True:
            await workflow.wait_condition(
                lambda: state.recorded_version < state.version or state.status in lifecycle.FINAL
            )
            if state.recorded_version >= state.version:
                return
            version, upto = state.version, state.timeline_offset + len(state.timeline)
            first = state.recorded_timeline - state.timeline_offset
            record = IncidentRecord(
                view=lifecycle.view(state),
                timeline_start=state.recorded_timeline,
                new_entries=state.timeline[first:],
            )
            try:
                await workflow.execute_local_activity(
                    names.UPSERT_INCIDENT_RECORD,
                    record,
                    start_to_close_timeout=timedelta(seconds=10),
                    retry_policy=RECORD_RETRY,
                    # Backoffs past this wait on a durable timer instead of inside the workflow
                    # task: while the record store is down, updates are then handled at once,
                    # not at the next workflow-task heartbeat (8 s, or 16).
                    local_retry_threshold=RECORD_LOCAL_RETRY,
                    summary=f"record {state.number} ({state.status})",
                )
            except ActivityError as stopped:
                if isinstance(stopped.cause, CancelledError):
                    return  # continuing as new: the next run's recorder takes over
                raise
            state.recorded_version, state.recorded_timeline = version, upto
            lifecycle.trim_timeline(state)

    def _publish(self) -> None:
        """Keep the search attributes and the UI's current details in step with the state."""
        wanted = presentation.search_attributes_of(self.state)
        changed = [
            key.value_set(value) if value is not None else key.value_unset()
            for key, value in wanted.items()
            if self._published.get(key.name) != value
        ]
        if changed:
            workflow.upsert_search_attributes(changed)
            self._published = {key.name: value for key, value in wanted.items()}
        workflow.set_current_details(presentation.current_details(self.state, workflow.now()))

    async def _continue_as_new(self, recorder: asyncio.Task[None]) -> None:
        # Not waiting for the recorder: a steady stream of updates would keep it behind for
        # ever, until Temporal refuses updates. The state says what is recorded, the next
        # run's recorder carries on from there (its writes are idempotent).
        await workflow.wait_condition(
            lambda: workflow.all_handlers_finished() and self._effects_running == 0
        )
        recorder.cancel()
        workflow.continue_as_new(self.state)


# Activities added after incidents were already running, each with the patch that guards it.
_PATCHED_ACTIVITIES = {
    names.LOOKUP_SIMILAR_INCIDENTS: names.SIMILAR_INCIDENTS_PATCH,
    names.CORRELATE_INCIDENTS: names.CORRELATION_PATCH,
}


def _rejection(name: str, rejection: ApplicationError) -> dict[str, Any]:
    details: dict[str, Any] = {"action": name, "error": rejection.message}
    if rejection.details and isinstance(rejection.details[0], dict):
        details |= rejection.details[0]
    return details
