"""Talking to incident workflows on behalf of the routes: live reads with a record fallback,
transitions as Updates, and the requester's isolation."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

import structlog
from pydantic import BaseModel, Field, create_model
from temporalio.client import WorkflowHandle
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from api.auth import REQUESTER_ACTIONS, Principal, Role
from api.deps import Services
from api.errors import ApiError, not_found
from core.temporal_client import execute_action, start_incident
from domain import lifecycle, sla
from domain.models import (
    Action,
    ActionRequest,
    IncidentCreate,
    IncidentRecord,
    IncidentState,
    IncidentView,
    Status,
    Strict,
    TimelineEntry,
    Visibility,
)
from domain.names import incident_workflow_id
from domain.sla import ClockStatus
from workflows.incident import IncidentWorkflow

log = structlog.get_logger()
MAX_PARENT_DEPTH = 20
ViewT = TypeVar("ViewT", bound=IncidentView)


class IncidentDetail(IncidentView):
    """The live view plus each SLA clock as it stands at the moment of the request."""

    clocks: list[ClockStatus] = []


def body_model(action: Action) -> type[BaseModel]:
    """The API body of an action: its request model without what the API fills in itself."""
    request = lifecycle.TRANSITIONS[action].request
    fields: dict[str, Any] = {
        name: (info.annotation, info)
        for name, info in request.model_fields.items()
        if name not in ActionRequest.model_fields
    }
    return create_model(
        f"{request.__name__.removesuffix('Request')}Body", __base__=Strict, **fields
    )


def handle_of(services: Services, number: str) -> WorkflowHandle[Any, Any]:
    return services.client.get_workflow_handle(incident_workflow_id(number))


async def create(
    services: Services, principal: Principal, body: IncidentCreate, key: str | None
) -> tuple[IncidentView, bool]:
    """Open an incident; a retry with the same Idempotency-Key returns the first one."""
    caller = _caller_for(principal, body)
    if key:
        digest = hashlib.sha256(body.model_dump_json().encode()).hexdigest()
        number, created = await services.store.claim_idempotency_key(key, principal.name, digest)
    else:
        number, created = await services.store.allocate_number(), True
    now = datetime.now(UTC)
    state = lifecycle.open_incident(number, body, caller, principal.name, services.policy, now)
    if not created:
        return visible(principal, await _replay(services, principal, state)), False
    try:
        await start_incident(services.client, services.settings.task_queue, state)
    except WorkflowAlreadyStartedError:
        raise ApiError(
            503,
            f"{number} already exists in Temporal: the record store is behind Temporal's history",
        ) from None
    # The workflow records the same version itself; writing it here too makes the new
    # incident show in lists at once.
    await services.store.upsert_incident(
        IncidentRecord(view=lifecycle.view(state), timeline_start=0, new_entries=state.timeline)
    )
    log.info("incident created", incident=number, priority=state.priority.value, caller=caller)
    return lifecycle.view(state), True


async def _replay(services: Services, principal: Principal, state: IncidentState) -> IncidentView:
    """A retried create: the first attempt may have died before or after starting the workflow."""
    try:
        await start_incident(services.client, services.settings.task_queue, state)
    except WorkflowAlreadyStartedError:
        pass  # started and already closed
    return await read(services, principal, state.number)


def _caller_for(principal: Principal, body: IncidentCreate) -> str:
    if principal.requester_only:
        if body.caller not in (None, principal.name):
            raise ApiError(403, "requesters raise incidents for themselves only; leave caller out")
        return principal.name
    return body.caller or principal.name


async def read(services: Services, principal: Principal, number: str) -> IncidentView:
    """The live view from the workflow; the record once the workflow has ended or is gone."""
    record = await services.store.get_incident(number)
    view: IncidentView | None = record
    if record is None or record.status not in lifecycle.FINAL:
        try:
            view = await handle_of(services, number).query(IncidentWorkflow.view)
        except RPCError as error:
            if error.status != RPCStatusCode.NOT_FOUND:
                raise
    if view is None or not _may_see(principal, view):
        raise not_found(number)
    return view


def detail(services: Services, view: IncidentView) -> IncidentDetail:
    now = datetime.now(UTC)
    clocks = []
    for clock in (view.response_sla, view.resolution_sla):
        try:
            calendar = services.policy.calendar(clock.calendar)
        except ValueError:
            continue  # a calendar removed from the policy since this incident opened
        clocks.append(sla.status(clock, calendar, now))
    return IncidentDetail(**view.model_dump(), clocks=clocks)


async def timeline(services: Services, principal: Principal, number: str) -> list[TimelineEntry]:
    view = await read(services, principal, number)
    entries = await services.store.get_timeline(number)
    if view.status not in lifecycle.FINAL:
        # Entries before the window's offset are all recorded; the window has the newest.
        live = await handle_of(services, number).query(IncidentWorkflow.timeline_window)
        entries = entries[: live.offset] + live.entries
    if principal.requester_only:
        entries = [_without_work_notes(entry) for entry in entries if not _work_note(entry)]
    return entries


async def transition(
    services: Services,
    principal: Principal,
    number: str,
    action: Action,
    body: BaseModel,
    key: str | None,
) -> IncidentView:
    if principal.requester_only:
        if action not in REQUESTER_ACTIONS:
            raise ApiError(403, f"requesters may not {action.value.replace('_', '-')} incidents")
        await read(services, principal, number)  # 404 unless it is their own
    elif not principal.has(Role.AGENT, Role.MANAGER, Role.AUTOMATION):
        raise ApiError(403, f"{principal.name} may not change incidents")
    if action == Action.REVIEW and not principal.has(Role.MANAGER):
        raise ApiError(403, "post-incident reviews are written by managers")
    await _check_references(services, principal, number, action, body)
    request_id = key or str(uuid.uuid4())
    request = lifecycle.TRANSITIONS[action].request(
        **body.model_dump(exclude_unset=True), actor=principal.name, request_id=request_id
    )
    handle = handle_of(services, number)
    log.info("transition", incident=number, action=action.value, actor=principal.name)
    try:
        async with asyncio.timeout(UPDATE_WAIT_SECONDS), _update_slot(number):
            view = await execute_action(handle, action, request, update_id=request_id)
    except TimeoutError:
        raise ApiError(
            503,
            f"{number} did not answer within {UPDATE_WAIT_SECONDS:.0f} s; the change may still "
            "apply: retry with the same Idempotency-Key",
            retry_after_seconds=5,
        ) from None
    except RPCError as error:
        if error.status != RPCStatusCode.NOT_FOUND:
            raise
        ended = await services.store.get_incident(number)
        if ended is None or not _may_see(principal, ended):
            raise not_found(number) from None
        raise domain_conflict(ended, action) from None
    return visible(principal, view)


# Temporal refuses an update while 10 are in flight on one workflow (history.maxInFlightUpdates):
# a burst on one incident queues here instead of failing.
UPDATES_IN_FLIGHT = 8
# No worker, or a workflow that cannot take the update: answer rather than hold the client.
UPDATE_WAIT_SECONDS = 25.0
_update_gates: dict[str, tuple[asyncio.Semaphore, int]] = {}


@asynccontextmanager
async def _update_slot(number: str) -> AsyncIterator[None]:
    gate, users = _update_gates.get(number, (asyncio.Semaphore(UPDATES_IN_FLIGHT), 0))
    _update_gates[number] = (gate, users + 1)
    try:
        async with gate:
            yield
    finally:
        gate, users = _update_gates[number]
        if users == 1:
            del _update_gates[number]
        else:
            _update_gates[number] = (gate, users - 1)


class SurveyAnswer(Strict):
    score: int = Field(ge=1, le=5, description="1 very poor ... 5 very good")
    comment: str | None = Field(default=None, max_length=4000)


async def answer_survey(
    services: Services, principal: Principal, number: str, answer: SurveyAnswer
) -> IncidentView:
    """The caller's satisfaction with a closed incident: once, by the caller only. The workflow
    has ended by then, so the answer goes straight onto the record."""
    view = await read(services, principal, number)
    if principal.name != view.caller:
        raise ApiError(403, "only the incident's caller answers its survey")
    if view.status != Status.CLOSED or not view.survey_invited:
        raise ApiError(
            409, f"no survey is open for {number}", state=view.status.value, allowed_actions=[]
        )
    if view.survey_score is not None:
        raise ApiError(
            409,
            f"the survey of {number} is already answered",
            state=view.status.value,
            allowed_actions=[],
        )
    now = datetime.now(UTC)
    answered = view.model_copy(
        update={
            "survey_score": answer.score,
            "survey_comment": answer.comment,
            "version": view.version + 1,
            "updated_at": now,
        }
    )
    entry = TimelineEntry(
        at=now, actor=principal.name, kind="survey", details=answer.model_dump(exclude_none=True)
    )
    timeline = await services.store.get_timeline(number)
    await services.store.upsert_incident(
        IncidentRecord(view=answered, timeline_start=len(timeline), new_entries=[entry])
    )
    return visible(principal, answered)


async def _check_references(
    services: Services, principal: Principal, number: str, action: Action, body: BaseModel
) -> None:
    """What only the API can check: the vendor is configured, the parent exists and is open
    and linking it makes no cycle."""
    if action == Action.VENDOR_TICKET:
        vendor = getattr(body, "vendor", "")
        if vendor not in services.policy.vendors:
            known = ", ".join(services.policy.vendors) or "none configured"
            raise _unprocessable("vendor", f"unknown vendor '{vendor}' (known: {known})")
    if action == Action.LINK_PARENT:
        parent_number = getattr(body, "parent", "")
        try:
            parent = await read(services, principal, parent_number)
        except ApiError:
            raise _unprocessable("parent", f"no incident {parent_number}") from None
        if parent.status not in lifecycle.OPEN:
            raise _unprocessable("parent", f"{parent_number} is {parent.status}, not open")
        ancestor, seen = parent, 0
        while ancestor.parent and seen < MAX_PARENT_DEPTH:
            if ancestor.parent == number:
                raise _unprocessable("parent", f"{parent_number} already descends from {number}")
            ancestor, seen = await read(services, principal, ancestor.parent), seen + 1


def _unprocessable(field: str, message: str) -> ApiError:
    return ApiError(422, f"{field}: {message}", problems=[{"field": field, "message": message}])


def domain_conflict(view: IncidentView, action: Action) -> ApiError:
    error = lifecycle.invalid_transition(view.status, action)
    return ApiError(409, error.message, state=view.status.value, allowed_actions=[])


def visible(principal: Principal, view: ViewT) -> ViewT:
    """What the principal may be shown of an incident: requesters never see work notes."""
    if principal.requester_only and view.last_work_note is not None:
        return view.model_copy(update={"last_work_note": None})
    return view


def _without_work_notes(entry: TimelineEntry) -> TimelineEntry:
    # Stakeholder status updates of a major incident quote the last work note.
    if "last_work_note" not in entry.details:
        return entry
    details = {key: value for key, value in entry.details.items() if key != "last_work_note"}
    return entry.model_copy(update={"details": details})


def _may_see(principal: Principal, view: IncidentView) -> bool:
    return not principal.requester_only or view.caller == principal.name


def _work_note(entry: TimelineEntry) -> bool:
    return (
        entry.kind == Action.COMMENT.value
        and entry.details.get("visibility") == Visibility.WORK_NOTE
    )
