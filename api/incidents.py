"""Talking to incident workflows on behalf of the routes: live reads with a record fallback,
transitions as Updates, and the requester's isolation."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from typing import Any

import structlog
from pydantic import BaseModel, create_model
from temporalio.client import WorkflowHandle
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from api.auth import REQUESTER_ACTIONS, Principal, Role
from api.deps import Services
from api.errors import ApiError, not_found
from temporal_client import start_incident, workflow_id
from workflows import domain, sla
from workflows.models import (
    Action,
    ActionRequest,
    IncidentCreate,
    IncidentRecord,
    IncidentState,
    IncidentView,
    Strict,
    TimelineEntry,
    Visibility,
)
from workflows.sla import ClockStatus

log = structlog.get_logger()


class IncidentDetail(IncidentView):
    """The live view plus each SLA clock as it stands at the moment of the request."""

    clocks: list[ClockStatus] = []


def body_model(action: Action) -> type[BaseModel]:
    """The API body of an action: its request model without what the API fills in itself."""
    request = domain.TRANSITIONS[action].request
    fields: dict[str, Any] = {
        name: (info.annotation, info)
        for name, info in request.model_fields.items()
        if name not in ActionRequest.model_fields
    }
    return create_model(
        f"{request.__name__.removesuffix('Request')}Body", __base__=Strict, **fields
    )


def handle_of(services: Services, number: str) -> WorkflowHandle[Any, Any]:
    return services.client.get_workflow_handle(workflow_id(number))


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
    state = domain.open_incident(number, body, caller, principal.name, services.policy, now)
    if not created:
        return await _replay(services, principal, state), False
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
        IncidentRecord(view=domain.view(state), timeline_start=0, new_entries=state.timeline)
    )
    log.info("incident created", incident=number, priority=state.priority.value, caller=caller)
    return domain.view(state), True


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
    if record is None or record.status not in domain.FINAL:
        try:
            view = await handle_of(services, number).query("view", result_type=IncidentView)
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
    entries: list[TimelineEntry]
    if view.status in domain.FINAL:
        entries = await services.store.get_timeline(number)
    else:
        entries = await handle_of(services, number).query(
            "timeline", result_type=list[TimelineEntry]
        )
    if principal.requester_only:
        entries = [entry for entry in entries if not _work_note(entry)]
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
    request_id = key or str(uuid.uuid4())
    request = domain.TRANSITIONS[action].request(
        **body.model_dump(exclude_unset=True), actor=principal.name, request_id=request_id
    )
    handle = handle_of(services, number)
    log.info("transition", incident=number, action=action.value, actor=principal.name)
    try:
        view: IncidentView = await handle.execute_update(
            action.value, request, id=request_id, result_type=IncidentView
        )
    except RPCError as error:
        if error.status != RPCStatusCode.NOT_FOUND:
            raise
        ended = await services.store.get_incident(number)
        if ended is None or not _may_see(principal, ended):
            raise not_found(number) from None
        raise domain_conflict(ended, action) from None
    return view


def domain_conflict(view: IncidentView, action: Action) -> ApiError:
    error = domain.invalid_transition(view.status, action)
    return ApiError(409, error.message, state=view.status.value, allowed_actions=[])


def _may_see(principal: Principal, view: IncidentView) -> bool:
    return not principal.requester_only or view.caller == principal.name


def _work_note(entry: TimelineEntry) -> bool:
    return (
        entry.kind == Action.COMMENT.value
        and entry.details.get("visibility") == Visibility.WORK_NOTE
    )
