"""The incident lifecycle: one transition table and pure functions that apply it.

The workflow, the API (409 bodies, docs) and the tests all read `TRANSITIONS`; no other copy of a
lifecycle rule exists. Nothing here does I/O or reads a clock: `now` is always passed in.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from temporalio.exceptions import ApplicationError

from domain import sla
from domain.calendar import Calendar
from domain.models import (
    Action,
    ActionRequest,
    AssignRequest,
    CancelRequest,
    CloseCode,
    CloseRequest,
    CommentRequest,
    DeclareMajorRequest,
    EscalateRequest,
    EscalationKind,
    IncidentCreate,
    IncidentState,
    IncidentView,
    LinkParentRequest,
    PendingReason,
    PendRequest,
    PostIncidentReview,
    ReopenRequest,
    ResolutionCode,
    ResolveRequest,
    ResumeRequest,
    ReviewRequest,
    SlaClock,
    StartRequest,
    Status,
    TimelineEntry,
    UpdateRequest,
    VendorTicket,
    VendorTicketCreate,
    Visibility,
)
from domain.policy import Policy, Priority

OPEN = frozenset({Status.NEW, Status.ASSIGNED, Status.IN_PROGRESS, Status.PENDING})
FINAL = frozenset({Status.CLOSED, Status.CANCELED})
SUPPORT_LEVELS = ("L1", "L2", "L3")

INTERNAL_FIELDS = {
    "dispatched_timeline",
    "timeline_offset",
    "bridge_requested",
    "policy",
    "timeline",
    "handled_request_ids",
    "recorded_version",
    "recorded_timeline",
}
INVALID_TRANSITION = "InvalidTransition"
INVALID_REQUEST = "InvalidRequest"


@dataclass(frozen=True)
class Transition:
    request: type[ActionRequest]
    sources: frozenset[Status]
    target: Status | None  # None: the status does not change


TRANSITIONS: dict[Action, Transition] = {
    Action.ASSIGN: Transition(AssignRequest, OPEN, Status.ASSIGNED),
    Action.START: Transition(StartRequest, frozenset({Status.ASSIGNED}), Status.IN_PROGRESS),
    Action.PEND: Transition(PendRequest, frozenset({Status.IN_PROGRESS}), Status.PENDING),
    Action.RESUME: Transition(ResumeRequest, frozenset({Status.PENDING}), Status.IN_PROGRESS),
    Action.RESOLVE: Transition(
        ResolveRequest,
        frozenset({Status.ASSIGNED, Status.IN_PROGRESS, Status.PENDING}),
        Status.RESOLVED,
    ),
    Action.REOPEN: Transition(ReopenRequest, frozenset({Status.RESOLVED}), Status.IN_PROGRESS),
    Action.CLOSE: Transition(CloseRequest, frozenset({Status.RESOLVED}), Status.CLOSED),
    Action.CANCEL: Transition(CancelRequest, OPEN, Status.CANCELED),
    Action.ESCALATE: Transition(EscalateRequest, OPEN, None),
    Action.UPDATE: Transition(UpdateRequest, OPEN, None),
    Action.COMMENT: Transition(CommentRequest, OPEN | {Status.RESOLVED}, None),
    Action.DECLARE_MAJOR: Transition(DeclareMajorRequest, OPEN, None),
    Action.LINK_PARENT: Transition(LinkParentRequest, OPEN, None),
    Action.REVIEW: Transition(ReviewRequest, OPEN | {Status.RESOLVED}, None),
    Action.VENDOR_TICKET: Transition(VendorTicketCreate, OPEN, None),
}


def allowed_actions(status: Status) -> list[Action]:
    return [action for action, rule in TRANSITIONS.items() if status in rule.sources]


def invalid_transition(status: Status, action: Action | str) -> ApplicationError:
    allowed = [a.value for a in allowed_actions(status)]
    return ApplicationError(
        f"cannot {action} an incident that is {status}; allowed: {', '.join(allowed) or 'none'}",
        {"state": status.value, "action": str(action), "allowed_actions": allowed},
        type=INVALID_TRANSITION,
        non_retryable=True,
    )


def invalid_request(field: str, message: str) -> ApplicationError:
    return ApplicationError(
        f"{field}: {message}",
        {"field": field, "message": message},
        type=INVALID_REQUEST,
        non_retryable=True,
    )


# --- creation -----------------------------------------------------------------------------


def open_incident(
    number: str, create: IncidentCreate, caller: str, opened_by: str, policy: Policy, now: datetime
) -> IncidentState:
    priority = policy.priority_for(create.impact, create.urgency)
    target = policy.sla[priority]
    group = policy.route(create.category, create.subcategory, create.service)
    state = IncidentState(
        number=number,
        **create.model_dump(exclude={"caller"}),
        caller=caller,
        opened_by=opened_by,
        priority=priority,
        status=Status.ASSIGNED if group else Status.NEW,
        assignment_group=group,
        assigned_at=now if group else None,
        major=priority in policy.major.priorities,
        major_since=now if priority in policy.major.priorities else None,
        created_at=now,
        updated_at=now,
        response_sla=sla.new_clock(
            "response", policy.seconds(target.response, target.calendar), target.calendar, now
        ),
        resolution_sla=sla.new_clock(
            "resolution", policy.seconds(target.resolution, target.calendar), target.calendar, now
        ),
        policy=policy,
    )
    for clock in clocks(state):
        sla.refresh_due(clock, calendar_of(state, clock))
    details: dict[str, Any] = {
        "priority": priority.value,
        "short_description": create.short_description,
    }
    if group:
        details["routed_to"] = group
    record(state, now, opened_by, "created", None, state.status, details)
    _escalate_urgent(state, now, f"{priority} incident opened")
    return state


def _escalate_urgent(state: IncidentState, now: datetime, reason: str) -> None:
    """P1 and P2 (per policy) tell the incident manager: a hierarchical escalation."""
    if state.priority not in state.policy.escalation.notify_manager_at_creation:
        return
    state.escalation_count += 1
    details = {
        "kind": EscalationKind.HIERARCHICAL.value,
        "reason": reason,
        "notify": [state.policy.contacts.incident_manager],
    }
    record(state, now, "system", "escalated", details=details)


# --- reading ------------------------------------------------------------------------------


def view(state: IncidentState) -> IncidentView:
    fields = state.model_dump(exclude=INTERNAL_FIELDS)
    return IncidentView(**fields, allowed_actions=allowed_actions(state.status))


TIMELINE_KEPT = 200


def trim_timeline(state: IncidentState) -> None:
    """Drop the oldest entries that are recorded and whose effects have started."""
    done = min(state.recorded_timeline, state.dispatched_timeline) - state.timeline_offset
    if len(state.timeline) <= 2 * TIMELINE_KEPT or done <= 0:
        return
    drop = min(done, len(state.timeline) - TIMELINE_KEPT)
    if drop > 0:
        del state.timeline[:drop]
        state.timeline_offset += drop


def entry_at(state: IncidentState, seq: int) -> TimelineEntry:
    return state.timeline[seq - state.timeline_offset]


def clocks(state: IncidentState) -> tuple[SlaClock, SlaClock]:
    return state.response_sla, state.resolution_sla


def calendar_of(state: IncidentState, clock: SlaClock) -> Calendar:
    return state.policy.calendar(clock.calendar)


def record(
    state: IncidentState,
    now: datetime,
    actor: str,
    kind: str,
    from_status: Status | None = None,
    to_status: Status | None = None,
    details: dict[str, Any] | None = None,
) -> TimelineEntry:
    entry = TimelineEntry(
        at=now,
        actor=actor,
        kind=kind,
        from_status=from_status,
        to_status=to_status,
        details=details or {},
    )
    state.timeline.append(entry)
    state.updated_at = now
    state.version += 1
    return entry


# --- transitions --------------------------------------------------------------------------


def check(state: IncidentState, action: Action, request: ActionRequest) -> None:
    """Raise the ApplicationError a caller should see if `action` cannot happen now."""
    rule = TRANSITIONS[action]
    if state.status not in rule.sources:
        raise invalid_transition(state.status, action)
    if not isinstance(request, rule.request):
        raise invalid_request("body", f"{action} expects {rule.request.__name__}")
    precondition = PRECONDITIONS.get(action)
    if precondition is not None:
        precondition(state, request)


def apply(
    state: IncidentState, action: Action, request: ActionRequest, now: datetime
) -> TimelineEntry:
    """Check, then change `state` in place; returns the timeline entry of the transition."""
    check(state, action, request)
    before = state.status
    rule = TRANSITIONS[action]
    priority = state.priority
    details = EFFECTS[action](state, request, now) or {}
    if rule.target is not None:
        state.status = rule.target
    entry = record(state, now, request.actor, action.value, before, state.status, details)
    if state.priority < priority:  # raised: P3 -> P2 compares as "P2" < "P3"
        _escalate_urgent(state, now, f"priority raised to {state.priority}")
    if state.status == Status.CLOSED:
        invite_to_survey(state, now)
    return entry


def invite_to_survey(state: IncidentState, now: datetime) -> None:
    """Ask the caller how it went, for a share of closed incidents fixed by the policy. The
    sample is a hash of the number, so a replay or a retry always makes the same choice."""
    digest = hashlib.sha256(state.number.encode()).digest()
    if int.from_bytes(digest[:4], "big") / 2**32 < state.policy.survey.rate:
        state.survey_invited = True
        record(state, now, "system", "survey_invited", details={"caller": state.caller})


def _check_start(state: IncidentState, request: ActionRequest) -> None:
    assert isinstance(request, StartRequest)
    if not (request.assignee or state.assignee):
        raise invalid_request("assignee", "an incident needs an assignee before work starts")


def _check_resolve(state: IncidentState, request: ActionRequest) -> None:
    assert isinstance(request, ResolveRequest)
    if request.resolution_code == ResolutionCode.KNOWN_ERROR and not request.known_error_id:
        raise invalid_request("known_error_id", "required when resolution_code is known_error")


def _check_escalate(state: IncidentState, request: ActionRequest) -> None:
    assert isinstance(request, EscalateRequest)
    if request.kind == EscalationKind.FUNCTIONAL and state.support_level == SUPPORT_LEVELS[-1]:
        raise invalid_request("kind", f"already at the top support level {state.support_level}")


def _check_update(state: IncidentState, request: ActionRequest) -> None:
    assert isinstance(request, UpdateRequest)
    if not _changes(state, request):
        raise invalid_request("body", "no field differs from the incident's current values")
    if _new_priority(state, request) != state.priority and not request.reason:
        raise invalid_request("reason", "required when the priority changes")


def _check_declare_major(state: IncidentState, request: ActionRequest) -> None:
    if state.major:
        raise invalid_request("major", "the incident is already a major incident")


def _check_link_parent(state: IncidentState, request: ActionRequest) -> None:
    assert isinstance(request, LinkParentRequest)
    if request.parent == state.number:
        raise invalid_request("parent", "an incident cannot be its own parent")
    if request.parent in state.children:
        raise invalid_request("parent", f"{request.parent} is a child of this incident")


def _check_close(state: IncidentState, request: ActionRequest) -> None:
    if state.major and state.review is None:
        raise invalid_request("review", "a major incident needs its post-incident review first")


def _check_review(state: IncidentState, request: ActionRequest) -> None:
    if not state.major:
        raise invalid_request("major", "only major incidents have a post-incident review")


PRECONDITIONS: dict[Action, Callable[[IncidentState, ActionRequest], None]] = {
    Action.CLOSE: _check_close,
    Action.REVIEW: _check_review,
    Action.START: _check_start,
    Action.RESOLVE: _check_resolve,
    Action.ESCALATE: _check_escalate,
    Action.UPDATE: _check_update,
    Action.DECLARE_MAJOR: _check_declare_major,
    Action.LINK_PARENT: _check_link_parent,
}


def _request_details(request: BaseModel) -> dict[str, Any]:
    return request.model_dump(mode="json", exclude={"actor", "request_id"}, exclude_none=True)


def _resume_resolution_clock(state: IncidentState, now: datetime) -> None:
    if state.status == Status.PENDING:
        sla.resume(state.resolution_sla, calendar_of(state, state.resolution_sla), now)
        state.pending_reason = None


def _assign(state: IncidentState, request: ActionRequest, now: datetime) -> dict[str, Any]:
    assert isinstance(request, AssignRequest)
    if state.assignment_group is not None and state.assignment_group != request.group:
        state.reassignment_count += 1
    state.assignment_group = request.group
    state.assignee = request.assignee
    state.assigned_at = state.assigned_at or now
    _resume_resolution_clock(state, now)
    return _request_details(request)


def _start(state: IncidentState, request: ActionRequest, now: datetime) -> dict[str, Any]:
    assert isinstance(request, StartRequest)
    state.assignee = request.assignee or state.assignee
    state.started_at = state.started_at or now
    sla.stop(state.response_sla, calendar_of(state, state.response_sla), now)
    return {"assignee": state.assignee}


def _pend(state: IncidentState, request: ActionRequest, now: datetime) -> dict[str, Any]:
    assert isinstance(request, PendRequest)
    state.pending_reason = request.reason
    sla.pause(
        state.resolution_sla, calendar_of(state, state.resolution_sla), now, request.reason.value
    )
    return _request_details(request)


def _resume(state: IncidentState, request: ActionRequest, now: datetime) -> dict[str, Any]:
    _resume_resolution_clock(state, now)
    return _request_details(request)


def _resolve(state: IncidentState, request: ActionRequest, now: datetime) -> dict[str, Any]:
    assert isinstance(request, ResolveRequest)
    state.resolution_code = request.resolution_code
    state.resolution_notes = request.resolution_notes
    state.known_error_id = request.known_error_id
    state.workaround = request.workaround or request.resolution_code == ResolutionCode.WORKAROUND
    state.category = request.category or state.category
    state.subcategory = request.subcategory or state.subcategory
    state.resolved_at = now
    state.resolved_by_parent = False
    _resume_resolution_clock(state, now)
    sla.stop(state.response_sla, calendar_of(state, state.response_sla), now)
    sla.pause(state.resolution_sla, calendar_of(state, state.resolution_sla), now, "resolved")
    return _request_details(request)


def _reopened(state: IncidentState, request: ActionRequest, now: datetime) -> dict[str, Any]:
    assert isinstance(request, ReopenRequest)
    state.reopen_count += 1
    previous = {
        "resolution_code": state.resolution_code,
        "resolution_notes": state.resolution_notes,
    }
    state.resolution_code = None
    state.resolution_notes = None
    state.resolved_at = None
    state.known_error_id = None
    state.workaround = False
    sla.resume(state.resolution_sla, calendar_of(state, state.resolution_sla), now)
    return {"reason": request.reason, "previous_resolution": previous}


def _close(state: IncidentState, request: ActionRequest, now: datetime) -> dict[str, Any]:
    return finish(state, now, CloseCode.CONFIRMED) | _request_details(request)


def _cancel(state: IncidentState, request: ActionRequest, now: datetime) -> dict[str, Any]:
    state.canceled_at = now
    sla.stop(state.resolution_sla, calendar_of(state, state.resolution_sla), now)
    sla.stop(state.response_sla, calendar_of(state, state.response_sla), now)
    return _request_details(request)


def finish(state: IncidentState, now: datetime, close_code: CloseCode) -> dict[str, Any]:
    state.close_code = close_code
    state.closed_at = now
    sla.stop(state.resolution_sla, calendar_of(state, state.resolution_sla), now)
    return {"close_code": close_code.value}


def _escalate(state: IncidentState, request: ActionRequest, now: datetime) -> dict[str, Any]:
    assert isinstance(request, EscalateRequest)
    state.escalation_count += 1
    details = _request_details(request)
    if request.kind == EscalationKind.FUNCTIONAL:
        details |= escalate_support_level(state)
    else:
        details["notify"] = state.policy.contacts.incident_manager
    return details


def escalate_support_level(state: IncidentState) -> dict[str, Any]:
    """L1 -> L2 -> L3; reassigned to the level's group when the policy names one."""
    level = SUPPORT_LEVELS[
        min(SUPPORT_LEVELS.index(state.support_level) + 1, len(SUPPORT_LEVELS) - 1)
    ]
    details: dict[str, Any] = {"from_level": state.support_level, "to_level": level}
    state.support_level = level
    group = state.policy.routing.levels.get(level)
    if group and group != state.assignment_group:
        if state.assignment_group is not None:
            state.reassignment_count += 1
        details["group"] = state.assignment_group = group
        state.assignee = None
    return details


def _update(state: IncidentState, request: ActionRequest, now: datetime) -> dict[str, Any]:
    assert isinstance(request, UpdateRequest)
    changes = _changes(state, request)
    for field, (_, new) in changes.items():
        setattr(state, field, new)
    new_priority = state.policy.priority_for(state.impact, state.urgency)
    details: dict[str, Any] = {"changes": changes}
    if new_priority != state.priority:
        details["priority"] = [state.priority.value, new_priority.value]
        details["reason"] = request.reason
        change_priority(state, new_priority, now)
    return details


def change_priority(state: IncidentState, priority: Priority, now: datetime) -> None:
    """Keep the working time already used; measure it against the new priority's targets.
    A clock that already stopped (response met) keeps the outcome it had."""
    state.priority = priority
    target = state.policy.sla[priority]
    for clock, duration in (
        (state.response_sla, target.response),
        (state.resolution_sla, target.resolution),
    ):
        if clock.stopped_at is not None:
            continue
        calendar = state.policy.calendar(target.calendar)
        used = sla.elapsed(clock, calendar_of(state, clock), now)
        if clock.running_since is not None:
            clock.elapsed_seconds, clock.running_since = used, now
        else:
            clock.elapsed_seconds = used
        clock.calendar = target.calendar
        sla.retarget(clock, calendar, state.policy.seconds(duration, target.calendar), now)
    if priority in state.policy.major.priorities:
        become_major(state, now)


def _changes(state: IncidentState, request: UpdateRequest) -> dict[str, Any]:
    wanted = request.model_dump(exclude={"actor", "request_id", "reason"}, exclude_none=True)
    return {
        field: [getattr(state, field), value]
        for field, value in wanted.items()
        if getattr(state, field) != value
    }


def _new_priority(state: IncidentState, request: UpdateRequest) -> Priority:
    return state.policy.priority_for(
        request.impact or state.impact, request.urgency or state.urgency
    )


def _comment(state: IncidentState, request: ActionRequest, now: datetime) -> dict[str, Any]:
    assert isinstance(request, CommentRequest)
    details = _request_details(request)
    if request.visibility == Visibility.WORK_NOTE:
        state.last_work_note = request.text
    by_caller_publicly = request.actor == state.caller and request.visibility == Visibility.PUBLIC
    if by_caller_publicly and state.pending_reason == PendingReason.AWAITING_CALLER:
        _resume_resolution_clock(state, now)
        state.status = Status.IN_PROGRESS
        details["resumed"] = True
    return details


def _declare_major(state: IncidentState, request: ActionRequest, now: datetime) -> dict[str, Any]:
    become_major(state, now)
    return _request_details(request)


def _vendor_ticket(state: IncidentState, request: ActionRequest, now: datetime) -> dict[str, Any]:
    assert isinstance(request, VendorTicketCreate)
    key = request.request_id or f"{state.number}-vendor-{len(state.vendor_tickets) + 1}"
    ticket = VendorTicket(
        vendor=request.vendor,
        summary=request.summary,
        request_key=key,
        opened_at=now,
        updated_at=now,
    )
    state.vendor_tickets.append(ticket)
    return {"vendor": request.vendor, "summary": request.summary, "request_key": key}


def become_major(state: IncidentState, now: datetime) -> None:
    if not state.major:
        state.major, state.major_since = True, now


def _review(state: IncidentState, request: ActionRequest, now: datetime) -> dict[str, Any]:
    assert isinstance(request, ReviewRequest)
    fields = request.model_dump(exclude={"actor", "request_id"})
    state.review = PostIncidentReview(**fields, by=request.actor, at=now)
    return {"root_cause": request.root_cause, "actions": len(request.actions)}


def _link_parent(state: IncidentState, request: ActionRequest, now: datetime) -> dict[str, Any]:
    assert isinstance(request, LinkParentRequest)
    state.parent = request.parent
    return _request_details(request)


EFFECTS: dict[Action, Callable[[IncidentState, ActionRequest, datetime], dict[str, Any] | None]] = {
    Action.ASSIGN: _assign,
    Action.START: _start,
    Action.PEND: _pend,
    Action.RESUME: _resume,
    Action.RESOLVE: _resolve,
    Action.REOPEN: _reopened,
    Action.CLOSE: _close,
    Action.CANCEL: _cancel,
    Action.ESCALATE: _escalate,
    Action.UPDATE: _update,
    Action.COMMENT: _comment,
    Action.DECLARE_MAJOR: _declare_major,
    Action.LINK_PARENT: _link_parent,
    Action.REVIEW: _review,
    Action.VENDOR_TICKET: _vendor_ticket,
}
