"""Incidents for a principal: open one, list them, read one live (the record once the workflow
has ended, or while it does not answer), its timeline, and lifecycle actions as workflow
Updates."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from functools import partial
from typing import Any, Literal

import structlog
from pydantic import BaseModel, Field, create_model
from temporalio.client import (
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from api import permissions
from api.auth import Principal
from api.numbers import strict_field
from api.service import cis, people, playbooks, relations, replies
from api.service.context import Services
from api.service.errors import (
    Conflict,
    Forbidden,
    NotFound,
    Unavailable,
    Unprocessable,
    incident_not_found,
    workflow_refusal,
)
from api.service.idempotency import claim_number, update_id_for
from api.service.visibility import may_see, visible, visible_timeline
from core.temporal_client import execute_action, start_incident
from domain import lifecycle, sla
from domain.models import (
    API_FILLED_FIELDS,
    Action,
    ActionRequest,
    IncidentCreate,
    IncidentRecord,
    IncidentsPage,
    IncidentState,
    IncidentView,
    Strict,
    TimelineEntry,
)
from domain.names import incident_workflow_id
from domain.sla import ClockStatus
from recordstore import IncidentFilter, payloads
from recordstore.incident_search import NoSearchWords
from recordstore.links import IncidentLinks
from workflows.incident import IncidentWorkflow

log = structlog.get_logger()


class IncidentDetail(IncidentView):
    """The live view plus each SLA clock as it stands at the moment of the request."""

    clocks: list[ClockStatus] = []
    source: Literal["workflow", "record"] = Field(
        default="workflow",
        description="`record`: the workflow did not answer in time; this is its last record",
    )
    as_of: datetime | None = Field(
        default=None, description="with source `record`: the moment the record shows"
    )


def body_model(action: Action) -> type[BaseModel]:
    """The API body of an action: its request model without what the API fills in itself,
    with strict numbers; a comment's may name a reply template instead of its text."""
    if action == Action.COMMENT:
        return replies.CommentBody
    request = lifecycle.TRANSITIONS[action].request
    fields: dict[str, Any] = {
        name: (info.annotation, strict_field(info))
        for name, info in request.model_fields.items()
        if name not in ActionRequest.model_fields and name not in API_FILLED_FIELDS
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
    body = cis.checked(services.cis, body)
    number, created = await claim_number(services.store, principal, body, key)
    now = datetime.now(UTC)
    policy = people.incident_policy(services.policy, services.directory)
    state = lifecycle.open_incident(
        number,
        body,
        caller,
        principal.name,
        policy,
        now,
        by_requester=principal.requester_only,
        model=playbooks.model_for_create(services, body),
        caller_name=services.directory.display_name(caller),
    )
    if not created:
        return visible(principal, await _replay(services, principal, state)), False
    try:
        await start_incident(services.client, services.settings.task_queue, state)
    except WorkflowAlreadyStartedError:
        raise Unavailable(
            f"{number} already exists in Temporal: the record store is behind Temporal's history",
        ) from None
    # The workflow records the same version itself; writing it here too makes the new
    # incident show in lists at once.
    await services.store.upsert_incident(
        IncidentRecord(view=lifecycle.view(state), timeline_start=0, new_entries=state.timeline)
    )
    log.info("incident created", incident=number, priority=state.priority.value, caller=caller)
    return visible(principal, lifecycle.view(state)), True


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
            raise Forbidden("requesters raise incidents for themselves only; leave caller out")
        return principal.name
    return body.caller or principal.name


async def read(services: Services, principal: Principal, number: str) -> IncidentView:
    """The live view from the workflow; the record once the workflow has ended or is gone, or
    while it does not answer (see `read_marked`)."""
    view, _ = await read_marked(services, principal, number)
    return view


async def read_marked(
    services: Services, principal: Principal, number: str
) -> tuple[IncidentView, bool]:
    """The view, and whether it is the record standing in for a workflow that did not answer
    within QUERY_WAIT_SECONDS (stalled worker, Temporal down, a broken workflow task)."""
    record = await _record_if_visible(services, principal, number)
    if record is not None and record.status in lifecycle.FINAL:
        return record, False
    try:
        async with asyncio.timeout(QUERY_WAIT_SECONDS):
            view: IncidentView = await handle_of(services, number).query(IncidentWorkflow.view)
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            if record is None:
                raise incident_not_found(number) from None
            return record, False
        return _stand_in(principal, number, record, error)
    except (TimeoutError, WorkflowQueryFailedError, RuntimeError) as error:
        return _stand_in(principal, number, record, error)
    if not may_see(principal, view):
        raise incident_not_found(number)
    return view, False


async def _record_if_visible(
    services: Services, principal: Principal, number: str
) -> IncidentView | None:
    """The record, checked before the workflow is asked anything: an incident that is not the
    requester's is the same 404 whatever state its workflow is in (stalled, broken, ended).
    One just opened may have no record yet: the live view decides then, and a workflow that
    does not answer is a 404 to a requester too (`_stand_in`)."""
    record = await services.store.get_incident(number)
    if principal.requester_only and record is not None and not may_see(principal, record):
        raise incident_not_found(number)
    return record


def _stand_in(
    principal: Principal, number: str, record: IncidentView | None, error: BaseException
) -> tuple[IncidentView, bool]:
    log.warning("incident not answering; served from its record", incident=number, error=str(error))
    if record is None and principal.requester_only:
        raise incident_not_found(number)  # nothing shows it is hers: the same 404 as any other
    if record is None:
        raise Unavailable(
            f"{number} is not answering and has no record yet; retry shortly",
            retry_after_seconds=RETRY_AFTER_SECONDS,
        ) from None
    return record, True


async def get(services: Services, principal: Principal, number: str) -> IncidentDetail:
    """What the principal may see of the incident, with its SLA clocks as they stand now."""
    view, from_record = await read_marked(services, principal, number)
    detail = _with_clocks(services, visible(principal, view))
    if from_record:
        detail.source, detail.as_of = "record", view.updated_at
    return detail


async def list_incidents(
    services: Services,
    principal: Principal,
    filters: IncidentFilter,
    limit: int,
    cursor: str | None,
) -> IncidentsPage:
    """Newest first, from the record store; a requester lists only incidents they called in."""
    if principal.requester_only:
        if filters.caller not in (None, principal.name):
            raise Forbidden("requesters can list only their own incidents")
        filters = filters.model_copy(update={"caller": principal.name})
    try:
        page = await services.store.list_incidents(filters, limit=limit, cursor=cursor)
    except NoSearchWords:
        raise Unprocessable("q", "no word to search for") from None
    return page.model_copy(update={"items": [visible(principal, item) for item in page.items]})


def clocks_of(services: Services, view: IncidentView, now: datetime) -> list[ClockStatus]:
    """The incident's SLA clocks as they stand at `now` (the API's view and the console's)."""
    found = []
    for clock in (view.response_sla, view.resolution_sla):
        try:
            calendar = services.policy.calendar(clock.calendar)
        except ValueError:
            continue  # a calendar removed from the policy since this incident opened
        found.append(sla.status(clock, calendar, now))
    return found


def _with_clocks(services: Services, view: IncidentView) -> IncidentDetail:
    clocks = clocks_of(services, view, datetime.now(UTC))
    return IncidentDetail(**view.model_dump(), clocks=clocks)


async def timeline(services: Services, principal: Principal, number: str) -> list[TimelineEntry]:
    """Every entry, oldest first: the record's, then the live workflow's newest (the record's
    alone while the workflow does not answer)."""
    view, from_record = await read_marked(services, principal, number)
    entries = await services.store.get_timeline(number)
    if view.status not in lifecycle.FINAL and not from_record:
        # Entries before the window's offset are all recorded; the window has the newest.
        try:
            async with asyncio.timeout(QUERY_WAIT_SECONDS):
                live = await handle_of(services, number).query(IncidentWorkflow.timeline_window)
            entries = entries[: live.offset] + live.entries
        except (TimeoutError, RPCError, WorkflowQueryFailedError, RuntimeError) as error:
            log.warning("timeline served from the record", incident=number, error=str(error))
    return visible_timeline(principal, entries, view)


async def stored_details(services: Services, principal: Principal, number: str, digest: str) -> Any:
    """Large event details the timeline refers to by digest, for whoever may read it."""
    await read(services, principal, number)  # the same 404 as the incident itself
    found = await payloads.stored_details(services.store.database, number, digest)
    if found is None:
        raise NotFound(f"incident {number} has no stored details {digest}")
    return found


async def transition(
    services: Services,
    principal: Principal,
    number: str,
    action: Action,
    body: BaseModel,
    key: str | None,
) -> IncidentView:
    """One lifecycle action as a workflow Update: the new view, or the workflow's refusal."""
    permissions.authorize_action(principal, action)
    await _record_if_visible(services, principal, number)  # 404 unless a requester's own
    body = people.check_body(principal, action, body)
    current = await _as_recorded(services, principal, number)
    step = str(getattr(body, "step", ""))
    if not (action in playbooks.STEP_ACTIONS and playbooks.owns_step(principal, current, step)):
        people.authorize_on(principal, current, action)
    people.check_assignment(services.directory, action, body, current)
    await _check_references(services, principal, number, action, body)
    body = cis.checked(services.cis, body, current, action)
    fields = body.model_dump(exclude_unset=True)
    if action == Action.COMMENT:
        live = partial(read, services, principal, number)
        fields = await replies.comment_fields(services, principal, body, live)
    request_id = update_id_for(principal, key) if key else str(uuid.uuid4())
    request = lifecycle.TRANSITIONS[action].request(
        **fields,
        **people.api_filled(principal, current, action),
        **(playbooks.model_for_update(services, current, body) if action == Action.UPDATE else {}),
        actor=principal.name,
        request_id=request_id,
    )
    log.info("transition", incident=number, action=action.value, actor=principal.name)
    if action == Action.LINK_PARENT:
        return await relations.linked(
            number,
            getattr(body, "parent", ""),
            partial(_execute, services, principal, number, action, request),
            IncidentLinks(services.store.database),
        )
    view = await _execute(services, principal, number, action, request)
    original = getattr(request, "duplicate_of", None)
    if action == Action.RESOLVE and original:
        await _original_lists(services, original, number)
    return view


async def _original_lists(services: Services, original: str, duplicate: str) -> None:
    """The original hears of a duplicate a moment after the resolve (a signal, then its
    record): wait for its record to list it, bounded, so that the duplicate's caller, now
    affected, can read the original as soon as the resolve has answered."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + LINK_WAIT_SECONDS
    while loop.time() < deadline:
        record = await services.store.get_incident(original)
        if record is None or duplicate in record.duplicates:
            return
        await asyncio.sleep(0.1)
    log.warning("original not yet linked to its duplicate", incident=original, duplicate=duplicate)


async def _execute(
    services: Services, principal: Principal, number: str, action: Action, request: ActionRequest
) -> IncidentView:
    assert request.request_id is not None
    handle = handle_of(services, number)
    try:
        async with asyncio.timeout(UPDATE_WAIT_SECONDS), _update_slot(number):
            view = await execute_action(handle, action, request, update_id=request.request_id)
    except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
        raise Unavailable(
            f"{number} did not answer within {UPDATE_WAIT_SECONDS:.0f} s; the change may still "
            "apply: retry with the same Idempotency-Key",
            retry_after_seconds=RETRY_AFTER_SECONDS,
        ) from None
    except RPCError as error:
        if error.status != RPCStatusCode.NOT_FOUND:
            raise
        ended = await services.store.get_incident(number)
        if ended is None or not may_see(principal, ended):
            raise incident_not_found(number) from None
        raise domain_conflict(ended, action) from None
    except WorkflowUpdateFailedError as failed:
        if (refusal := workflow_refusal(failed)) is None:
            raise
        raise refusal from None
    return visible(principal, view)


async def _as_recorded(services: Services, principal: Principal, number: str) -> IncidentView:
    """The incident to authorise against. Staff: its record (the caller never changes, the group
    is behind the workflow by a moment at most), so a burst of changes adds no query per change
    to the workflow's query buffer. Requesters: the live view, 404 unless it is theirs."""
    if not principal.requester_only:
        record = await services.store.get_incident(number)
        if record is not None:
            return record
    return await read(services, principal, number)


# Temporal refuses an update while 10 are in flight on one workflow (history.maxInFlightUpdates):
# a burst on one incident queues here instead of failing.
UPDATES_IN_FLIGHT = 8
# No worker, or a workflow that cannot take the update: answer rather than hold the client.
UPDATE_WAIT_SECONDS = 25.0
# A read waits this long for the workflow, then shows the record instead (marked as such).
QUERY_WAIT_SECONDS = 3.0
# A resolve as a duplicate waits this long for the original's record to list it.
LINK_WAIT_SECONDS = 5.0
RETRY_AFTER_SECONDS = 5
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


async def _check_references(
    services: Services, principal: Principal, number: str, action: Action, body: BaseModel
) -> None:
    """What the workflow cannot check: other incidents and the policy's vendors."""
    if action == Action.VENDOR_TICKET:
        relations.check_vendor(services.policy, getattr(body, "vendor", ""))
    if action == Action.LINK_PARENT:
        as_seen = partial(read, services, principal)
        await relations.check_parent(getattr(body, "parent", ""), as_seen)
    original = getattr(body, "duplicate_of", None)
    if action == Action.RESOLVE and original:
        await relations.check_original(number, original, partial(read, services, principal))
    if action == Action.AFFECTED:
        people.check_person(services.directory, "caller", getattr(body, "caller", ""))


def domain_conflict(view: IncidentView, action: Action) -> Conflict:
    error = lifecycle.invalid_transition(view.status, action)
    return Conflict(error.message, state=view.status.value, allowed_actions=[])
