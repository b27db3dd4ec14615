"""The incident lifecycle: one transition table and pure functions that apply it.

One row per action: its request model, the states it may start from, the state it leads to,
the check that must pass and the change it makes. The workflow (its handlers are made from the
rows), the API (routes, 409 bodies, docs) and the tests all read `TRANSITIONS`; no other copy
of a lifecycle rule exists. Nothing here does I/O or reads a clock: `now` is always passed in.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from temporalio.exceptions import ApplicationError

from domain import bounds, playbooks, sla
from domain.calendar import Calendar
from domain.incident_models import ModelSnapshot, fill
from domain.messages import INVALID_REQUEST as INVALID_REQUEST
from domain.messages import invalid_request as invalid_request
from domain.models import (
    API_FILLED_FIELDS,
    Action,
    ActionRequest,
    AffectedRequest,
    AssignRequest,
    CancelRequest,
    CloseCode,
    CloseRequest,
    CommentRequest,
    CompleteStepRequest,
    DeclareMajorRequest,
    EscalateRequest,
    EscalationKind,
    ImpactSuggestion,
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
    ReturnRequest,
    ReviewRequest,
    SkipStepRequest,
    SlaClock,
    StartRequest,
    Status,
    StatusUpdateRequest,
    TimelineEntry,
    UndeclareMajorRequest,
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
    "rules_version",
    "playbooks_enabled",
}
# Incidents opened now follow the rules of this version (IncidentState.rules_version).
# 2: `resolve` with code duplicate needs `duplicate_of`.
RULES_VERSION = 2
INVALID_TRANSITION = "InvalidTransition"
# A check raises the rejection a caller should see; a change alters the state in place and
# returns the details of the transition's timeline entry. Both receive the row's request model.
Check = Callable[[IncidentState, Any], None]
Change = Callable[[IncidentState, Any, datetime], dict[str, Any]]
# What follows a transition's own timeline entry (an escalation it triggers), in entries of its own.
FollowUp = Callable[[IncidentState, datetime], None]


@dataclass(frozen=True)
class Transition:
    summary: str  # what the action does, for the Temporal UI, the CLI and the API docs
    request: type[ActionRequest]
    sources: frozenset[Status]
    target: Status | None  # None: the status does not change
    change: Change
    check: Check | None = None
    follow_up: FollowUp | None = None

    def describe(self) -> str:
        """One line for the Temporal UI and CLI: what, from where to where, the body's fields
        (`?`: optional; `actor` and `request_id` may always be sent)."""
        sources = ", ".join(status.value for status in Status if status in self.sources)
        target = f" to {self.target.value}" if self.target else "; the status stays"
        fields = ", ".join(
            name + ("" if field.is_required() else "?")
            for name, field in self.request.model_fields.items()
            if name not in ActionRequest.model_fields and name not in API_FILLED_FIELDS
        )
        return f"{self.summary}. From {sources}{target}. Body: {fields or 'none'}"


def allowed_actions(status: Status) -> list[Action]:
    return [action for action, rule in TRANSITIONS.items() if status in rule.sources]


def precondition_unmet(
    state: IncidentState, action: Action, message: str, missing: list[str] | None = None
) -> ApplicationError:
    """The state does not allow `action` yet (a 409, like a wrong state, not bad input): the
    rejection names the state, the actions it allows and what is `missing`."""
    allowed = [a.value for a in allowed_actions(state.status)]
    details = {
        "state": state.status.value,
        "action": action.value,
        "allowed_actions": allowed,
        "missing": missing or [],
    }
    return ApplicationError(message, details, type=INVALID_TRANSITION, non_retryable=True)


# How a refusal names the actions whose names are not verbs ("cannot affected ..." otherwise).
_AS_VERB = {
    "affected": "add an affected caller to",
    "declare_major": "declare as major",
    "undeclare_major": "undeclare as major",
    "link_parent": "link a parent to",
    "vendor_ticket": "open a vendor ticket for",
    "status_update": "post a status update on",
}


def invalid_transition(status: Status, action: Action | str) -> ApplicationError:
    allowed = [a.value for a in allowed_actions(status)]
    verb = _AS_VERB.get(str(action), str(action))
    return ApplicationError(
        f"cannot {verb} an incident that is {status}; allowed: {', '.join(allowed) or 'none'}",
        {"state": status.value, "action": str(action), "allowed_actions": allowed},
        type=INVALID_TRANSITION,
        non_retryable=True,
    )


# --- creation -----------------------------------------------------------------------------


def open_incident(
    number: str,
    create: IncidentCreate,
    caller: str,
    opened_by: str,
    policy: Policy,
    now: datetime,
    *,
    by_requester: bool = False,
    model: ModelSnapshot | None = None,
    caller_name: str | None = None,
) -> IncidentState:
    """`by_requester`: impact and urgency are the caller's own assessment, so the priority is
    capped at `[intake].requester_max_priority` and no major incident starts until an agent
    triages with `update`. `model`: the incident model the API matched (contract 14); its
    defaults fill what the caller left out, and its playbook is attached."""
    if model is not None:
        create = _with_model_defaults(create, model)
    assessed = policy.priority_for(create.impact, create.urgency)
    cap = policy.intake.requester_max_priority
    priority = max(assessed, cap) if by_requester else assessed  # "P3" > "P1": the lower one
    major = priority in policy.major.priorities and not by_requester
    target = policy.sla[priority]
    group = policy.route(create.category, create.subcategory, create.service)
    if group is None and model is not None:
        group = model.defaults.group
    state = IncidentState(
        number=number,
        **create.model_dump(exclude={"caller"}),
        caller=caller,
        opened_by=opened_by,
        priority=priority,
        status=Status.ASSIGNED if group else Status.NEW,
        assignment_group=group,
        assigned_at=now if group else None,
        major=major,
        major_since=now if major else None,
        created_at=now,
        updated_at=now,
        response_sla=sla.new_clock(
            "response", policy.seconds(target.response, target.calendar), target.calendar, now
        ),
        resolution_sla=sla.new_clock(
            "resolution", policy.seconds(target.resolution, target.calendar), target.calendar, now
        ),
        policy=policy,
        caller_name=caller_name,
        rules_version=RULES_VERSION,
    )
    for clock in clocks(state):
        sla.refresh_due(clock, calendar_of(state, clock))
    if model is not None and not state.description and model.defaults.description:
        state.description = fill(model.defaults.description, playbooks.template_values(state))
    details: dict[str, Any] = {
        "priority": priority.value,
        "short_description": create.short_description,
    }
    if group:
        details["routed_to"] = group
    if priority != assessed:
        details["requester_assessed"] = assessed.value
    record(state, now, opened_by, "created", None, state.status, details)
    _escalate_urgent(state, now, f"{priority} incident opened")
    if model is not None:
        attached = playbooks.attach(state, model, now)
        record(state, now, "system", PLAYBOOK_ATTACHED, details=attached)
    return state


PLAYBOOK_ATTACHED = "playbook_attached"


def _with_model_defaults(create: IncidentCreate, model: ModelSnapshot) -> IncidentCreate:
    """Impact and urgency from the model where the request gave none."""
    defaults, given = model.defaults, create.model_fields_set
    update: dict[str, Any] = {}
    if defaults.impact is not None and "impact" not in given:
        update["impact"] = defaults.impact
    if defaults.urgency is not None and "urgency" not in given:
        update["urgency"] = defaults.urgency
    return create.model_copy(update=update) if update else create


def _escalate_urgent(state: IncidentState, now: datetime, reason: str) -> None:
    """P1 and P2 (per policy) tell the incident manager: a hierarchical escalation."""
    if state.priority not in state.policy.escalation.notify_manager_at_creation:
        return
    state.escalation_count += 1
    details = {"kind": EscalationKind.HIERARCHICAL.value, "reason": reason}
    details |= notice([state.policy.contacts.incident_manager])
    record(state, now, "system", "escalated", details=details)


# --- reading ------------------------------------------------------------------------------


def view(state: IncidentState) -> IncidentView:
    fields = state.model_dump(exclude=INTERNAL_FIELDS)
    return IncidentView(**fields, allowed_actions=allowed_actions(state.status))


TIMELINE_KEPT = 200
# The window kept in workflow state, whatever the incident's life: at most 2 x TIMELINE_KEPT
# entries and TIMELINE_BYTES of them once recorded (the record store has them all), and while
# the record store is behind, machine repeats (an alert's, rejected junk) coalesce past
# BACKLOG_ENTRIES unrecorded ones; people's entries (comments) are never folded.
TIMELINE_BYTES = 256 * 1024
BACKLOG_ENTRIES = 200
COALESCIBLE = frozenset({"alert_repeated", "rejected"})


def trim_timeline(state: IncidentState) -> None:
    """Drop the oldest entries that are recorded and whose effects have started, once the
    window is over its size in entries or bytes, down to half of it."""
    done = min(state.recorded_timeline, state.dispatched_timeline) - state.timeline_offset
    if done <= 0:
        return
    sizes = [len(entry.model_dump_json()) for entry in state.timeline]
    total = sum(sizes)
    if len(sizes) <= 2 * TIMELINE_KEPT and total <= TIMELINE_BYTES:
        return
    drop = 0
    while drop < done and (len(sizes) - drop > TIMELINE_KEPT or total > TIMELINE_BYTES // 2):
        total -= sizes[drop]
        drop += 1
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
        details=bounds.bounded(details or {}),
    )
    state.updated_at = now
    state.version += 1
    last = state.timeline[-1] if state.timeline else None
    if last is not None and _same_event(last, entry) and _unrecorded(state, last):
        if state.timeline_offset + len(state.timeline) - state.recorded_timeline > BACKLOG_ENTRIES:
            # The record store is far behind and this event repeats (an alert storm): fold
            # it into the last entry, counted, rather than growing the state without bound.
            coalesced = int(last.details.get("coalesced", 1)) + 1
            last.details = bounds.bounded(entry.details | {"coalesced": coalesced})
            last.at = now
            return last
    state.timeline.append(entry)
    return entry


def _same_event(last: TimelineEntry, entry: TimelineEntry) -> bool:
    return entry.kind in COALESCIBLE and (
        last.kind,
        last.actor,
        last.from_status,
        last.to_status,
    ) == (
        entry.kind,
        entry.actor,
        entry.from_status,
        entry.to_status,
    )


def _unrecorded(state: IncidentState, entry: TimelineEntry) -> bool:
    seq = state.timeline_offset + len(state.timeline) - 1
    return state.timeline[-1] is entry and seq >= state.recorded_timeline


# --- transitions --------------------------------------------------------------------------


def check(state: IncidentState, action: Action, request: ActionRequest) -> None:
    """Raise the ApplicationError a caller should see if `action` cannot happen now."""
    rule = TRANSITIONS[action]
    if state.status not in rule.sources:
        raise invalid_transition(state.status, action)
    if not isinstance(request, rule.request):
        raise invalid_request("body", f"{action} expects {rule.request.__name__}")
    if rule.check is not None:
        rule.check(state, request)


def apply(
    state: IncidentState, action: Action, request: ActionRequest, now: datetime
) -> TimelineEntry:
    """Check, then change `state` in place; returns the timeline entry of the transition."""
    return _transition(state, action, request, now, TRANSITIONS[action].change)


def close_automatically(state: IncidentState, now: datetime) -> TimelineEntry:
    """The auto-close timer: the close row, with close code `auto`."""
    return _transition(
        state,
        Action.CLOSE,
        CloseRequest(actor="system"),
        now,
        lambda state, request, now: _closed(state, request, now, CloseCode.AUTO),
    )


def _transition(
    state: IncidentState, action: Action, request: ActionRequest, now: datetime, change: Change
) -> TimelineEntry:
    check(state, action, request)
    before, priority = state.status, state.priority
    details = _enter(state, action, request, now, change)
    entry = record(state, now, request.actor, action.value, before, state.status, details)
    follow_up = TRANSITIONS[action].follow_up
    if follow_up is not None:
        follow_up(state, now)
    if state.priority < priority:  # raised: P3 -> P2 compares as "P2" < "P3"
        _escalate_urgent(state, now, f"priority raised to {state.priority}")
    if state.status == Status.CLOSED:
        invite_to_survey(state, now)
    return entry


def _enter(
    state: IncidentState, action: Action, request: ActionRequest, now: datetime, change: Change
) -> dict[str, Any]:
    """The row's change and its target state, without a timeline entry of its own."""
    details = change(state, request, now)
    target = TRANSITIONS[action].target
    if target is not None:
        state.status = target
    return details


def invite_to_survey(state: IncidentState, now: datetime) -> None:
    """Ask the caller how it went, for a share of closed incidents fixed by the policy. The
    sample is a hash of the number, so a replay or a retry always makes the same choice."""
    digest = hashlib.sha256(state.number.encode()).digest()
    if int.from_bytes(digest[:4], "big") / 2**32 < state.policy.survey.rate:
        state.survey_invited = True
        record(state, now, "system", "survey_invited", details={"caller": state.caller})


def notice(recipients: list[str] | str) -> dict[str, Any]:
    """The `notify` detail of automatic and hierarchical entries: who the entry is meant for,
    as the timeline shows it. Who actually hears of it is `domain.notifications`' business."""
    return {"notify": recipients}


# --- checks -------------------------------------------------------------------------------


def _check_start(state: IncidentState, request: StartRequest) -> None:
    if not (request.assignee or state.assignee):
        raise invalid_request("assignee", "an incident needs an assignee before work starts")


def _check_resolve(state: IncidentState, request: ResolveRequest) -> None:
    if request.resolution_code == ResolutionCode.KNOWN_ERROR and not request.known_error_id:
        raise invalid_request("known_error_id", "required when resolution_code is known_error")
    duplicate = request.resolution_code == ResolutionCode.DUPLICATE
    if duplicate and not request.duplicate_of and state.rules_version >= 2:
        raise invalid_request("duplicate_of", "required when resolution_code is duplicate")
    if request.duplicate_of is not None and not duplicate:
        raise invalid_request("duplicate_of", "only with resolution_code duplicate")
    if request.duplicate_of == state.number:
        raise invalid_request("duplicate_of", "an incident cannot be a duplicate of itself")
    missing = playbooks.open_required(state)
    if missing:
        message = f"required playbook steps are open: {', '.join(missing)}"
        raise precondition_unmet(state, Action.RESOLVE, message, missing)


def _check_complete_step(state: IncidentState, request: CompleteStepRequest) -> None:
    _step_check(state, Action.COMPLETE_STEP, playbooks.check_complete, request)


def _check_skip_step(state: IncidentState, request: SkipStepRequest) -> None:
    _step_check(state, Action.SKIP_STEP, playbooks.check_skip, request)


def _step_check(
    state: IncidentState,
    action: Action,
    step_check: Callable[[IncidentState, Any], None],
    request: Any,
) -> None:
    try:
        step_check(state, request)
    except playbooks.StepUnknown as unknown:
        raise invalid_request("step", str(unknown)) from None
    except playbooks.StepConflict as conflict:
        raise precondition_unmet(state, action, conflict.message, conflict.missing) from None


def _check_escalate(state: IncidentState, request: EscalateRequest) -> None:
    if request.kind == EscalationKind.FUNCTIONAL and state.support_level == SUPPORT_LEVELS[-1]:
        raise precondition_unmet(
            state,
            Action.ESCALATE,
            f"already at the top support level {state.support_level}: escalate hierarchically",
            ["higher_support_level"],
        )


def _check_update(state: IncidentState, request: UpdateRequest) -> None:
    if not _changes(state, request):
        raise invalid_request("body", "no field differs from the incident's current values")
    if _new_priority(state, request) != state.priority and not request.reason:
        raise invalid_request("reason", "required when the priority changes")


def _check_declare_major(state: IncidentState, request: DeclareMajorRequest) -> None:
    if state.major:
        raise precondition_unmet(
            state, Action.DECLARE_MAJOR, "the incident is already a major incident"
        )


def _check_link_parent(state: IncidentState, request: LinkParentRequest) -> None:
    if request.parent == state.number:
        raise invalid_request("parent", "an incident cannot be its own parent")
    if request.parent in state.children:
        raise invalid_request("parent", f"{request.parent} is a child of this incident")


def _check_close(state: IncidentState, request: CloseRequest) -> None:
    if state.major and state.review is None:
        raise precondition_unmet(
            state,
            Action.CLOSE,
            "a major incident needs its post-incident review before it closes",
            ["review"],
        )
    if request.on_behalf_of_caller and not request.note:
        raise invalid_request(
            "note", "required when closing on the caller's behalf: say how they confirmed"
        )


def _check_undeclare_major(state: IncidentState, request: UndeclareMajorRequest) -> None:
    if not state.major:
        raise precondition_unmet(
            state, Action.UNDECLARE_MAJOR, "the incident is not a major incident", ["major"]
        )


def _check_status_update(state: IncidentState, request: StatusUpdateRequest) -> None:
    if not state.major:
        raise precondition_unmet(
            state, Action.STATUS_UPDATE, "status updates are for major incidents", ["major"]
        )


def _check_review(state: IncidentState, request: ReviewRequest) -> None:
    if not state.major:
        raise precondition_unmet(
            state, Action.REVIEW, "only major incidents have a post-incident review", ["major"]
        )


# --- changes ------------------------------------------------------------------------------


def _request_details(request: BaseModel) -> dict[str, Any]:
    return request.model_dump(mode="json", exclude={"actor", "request_id"}, exclude_none=True)


def _resume_resolution_clock(state: IncidentState, now: datetime) -> None:
    if state.status == Status.PENDING:
        sla.resume(state.resolution_sla, calendar_of(state, state.resolution_sla), now)
        state.pending_reason = None


def _assign(state: IncidentState, request: AssignRequest, now: datetime) -> dict[str, Any]:
    if state.assignment_group is not None and state.assignment_group != request.group:
        state.reassignment_count += 1
    state.assignment_group = request.group
    state.assignee = request.assignee
    state.assigned_at = state.assigned_at or now
    _resume_resolution_clock(state, now)
    return _request_details(request)


def _start(state: IncidentState, request: StartRequest, now: datetime) -> dict[str, Any]:
    state.assignee = request.assignee or state.assignee
    state.started_at = state.started_at or now
    sla.stop(state.response_sla, calendar_of(state, state.response_sla), now)
    return {"assignee": state.assignee}


def _pend(state: IncidentState, request: PendRequest, now: datetime) -> dict[str, Any]:
    state.pending_reason = request.reason
    sla.pause(
        state.resolution_sla, calendar_of(state, state.resolution_sla), now, request.reason.value
    )
    return _request_details(request)


def _resume(state: IncidentState, request: ResumeRequest, now: datetime) -> dict[str, Any]:
    _resume_resolution_clock(state, now)
    return _request_details(request)


def _resolve(state: IncidentState, request: ResolveRequest, now: datetime) -> dict[str, Any]:
    state.resolution_code = request.resolution_code
    state.resolution_notes = request.resolution_notes
    state.known_error_id = request.known_error_id
    state.workaround = request.workaround or request.resolution_code == ResolutionCode.WORKAROUND
    state.category = request.category or state.category
    state.subcategory = request.subcategory or state.subcategory
    state.resolved_at = now
    state.resolved_by_parent = False
    state.duplicate_of = request.duplicate_of
    _resume_resolution_clock(state, now)
    sla.stop(state.response_sla, calendar_of(state, state.response_sla), now)
    sla.pause(state.resolution_sla, calendar_of(state, state.resolution_sla), now, "resolved")
    return _request_details(request)


def _reopened(state: IncidentState, request: ReopenRequest, now: datetime) -> dict[str, Any]:
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
    if state.duplicate_of is not None:
        previous["duplicate_of"], state.duplicate_of = state.duplicate_of, None
    sla.resume(state.resolution_sla, calendar_of(state, state.resolution_sla), now)
    return {"reason": request.reason, "previous_resolution": previous}


def _close(state: IncidentState, request: CloseRequest, now: datetime) -> dict[str, Any]:
    code = CloseCode.CLOSED_BY_AGENT if request.on_behalf_of_caller else CloseCode.CONFIRMED
    return _closed(state, request, now, code)


def _closed(
    state: IncidentState, request: CloseRequest, now: datetime, close_code: CloseCode
) -> dict[str, Any]:
    state.close_code = close_code
    state.closed_at = now
    sla.stop(state.resolution_sla, calendar_of(state, state.resolution_sla), now)
    details = {"close_code": close_code.value} | _request_details(request)
    details.pop("on_behalf_of_caller", None)  # the close code says it
    return details


def _cancel(state: IncidentState, request: CancelRequest, now: datetime) -> dict[str, Any]:
    state.canceled_at = now
    sla.stop(state.resolution_sla, calendar_of(state, state.resolution_sla), now)
    sla.stop(state.response_sla, calendar_of(state, state.response_sla), now)
    return _request_details(request)


def _escalate(state: IncidentState, request: EscalateRequest, now: datetime) -> dict[str, Any]:
    state.escalation_count += 1
    details = _request_details(request)
    if request.kind == EscalationKind.FUNCTIONAL:
        details |= escalate_support_level(state)
    else:
        details |= notice(state.policy.contacts.incident_manager)
    return details


def escalate_support_level(state: IncidentState) -> dict[str, Any]:
    """L1 -> L2 -> L3; reassigned to the level's group when the policy names one."""
    level = SUPPORT_LEVELS[
        min(SUPPORT_LEVELS.index(state.support_level) + 1, len(SUPPORT_LEVELS) - 1)
    ]
    details: dict[str, Any] = {"from_level": state.support_level, "to_level": level}
    state.support_level = level
    group = state.policy.ladder(state.assignment_group).get(level)
    if group and group != state.assignment_group:
        if state.assignment_group is not None:
            state.reassignment_count += 1
        details["group"] = state.assignment_group = group
        state.assignee = None
    return details


def _update(state: IncidentState, request: UpdateRequest, now: datetime) -> dict[str, Any]:
    changes = _changes(state, request)
    for field, (_, new) in changes.items():
        setattr(state, field, new)
    new_priority = state.policy.priority_for(state.impact, state.urgency)
    details: dict[str, Any] = {"changes": changes}
    if new_priority != state.priority:
        details["priority"] = [state.priority.value, new_priority.value]
        details["reason"] = request.reason
        change_priority(state, new_priority, now)
        details |= _major_kept(state)
    if request.model is not None and state.playbooks_enabled:
        details |= _recategorised(state, request.model, now)
    return details


def _recategorised(state: IncidentState, model: ModelSnapshot, now: datetime) -> dict[str, Any]:
    """The new values match another model: its defaults where the incident has none, and its
    playbook, the old one kept on record. The same model again keeps the version it had."""
    if state.playbook is not None and state.playbook.model == model.name:
        return {}
    details: dict[str, Any] = {"playbook": playbooks.attach(state, model, now)}
    defaults = playbooks.apply_defaults(state, model.defaults)
    if defaults:
        details["defaults"] = defaults
    return details


def _major_kept(state: IncidentState) -> dict[str, Any]:
    """A major incident whose priority falls below the major priorities stays major, and the
    incident manager is asked whether to `undeclare_major` it: neither kept nor dropped
    silently. (From rules version 1: the question is a notification an old history lacks.)"""
    if state.rules_version < 1 or not state.major:
        return {}
    if state.priority in state.policy.major.priorities:
        return {}
    return {"major_kept": True} | notice(state.policy.contacts.incident_manager)


def change_priority(state: IncidentState, priority: Priority, now: datetime) -> None:
    """Keep the working time already used; measure it against the new priority's targets.
    A clock that already stopped (response met) keeps the outcome it had."""
    state.priority = priority
    target = state.policy.sla[priority]
    calendar = state.policy.calendar(target.calendar)
    for clock, duration in (
        (state.response_sla, target.response),
        (state.resolution_sla, target.resolution),
    ):
        seconds = state.policy.seconds(duration, target.calendar)
        sla.retarget(clock, calendar_of(state, clock), target.calendar, calendar, seconds, now)
    if priority in state.policy.major.priorities:
        become_major(state, now)


def _changes(state: IncidentState, request: UpdateRequest) -> dict[str, Any]:
    wanted = request.model_dump(
        exclude={"actor", "request_id", "reason", "model"}, exclude_none=True
    )
    return {
        field: [getattr(state, field), value]
        for field, value in wanted.items()
        if getattr(state, field) != value
    }


def _new_priority(state: IncidentState, request: UpdateRequest) -> Priority:
    return state.policy.priority_for(
        request.impact or state.impact, request.urgency or state.urgency
    )


def _comment(state: IncidentState, request: CommentRequest, now: datetime) -> dict[str, Any]:
    details = _request_details(request)
    if request.visibility == Visibility.WORK_NOTE:
        state.last_work_note = request.text
    by_caller_publicly = request.actor == state.caller and request.visibility == Visibility.PUBLIC
    if by_caller_publicly and state.pending_reason == PendingReason.AWAITING_CALLER:
        # The caller answered: the resume row's change, recorded as part of this comment.
        resume = ResumeRequest(actor=request.actor)
        check(state, Action.RESUME, resume)
        _enter(state, Action.RESUME, resume, now, TRANSITIONS[Action.RESUME].change)
        details["resumed"] = True
    return details


def _declare_major(
    state: IncidentState, request: DeclareMajorRequest, now: datetime
) -> dict[str, Any]:
    become_major(state, now)
    return _request_details(request)


def _vendor_ticket(
    state: IncidentState, request: VendorTicketCreate, now: datetime
) -> dict[str, Any]:
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


def _undeclare_major(
    state: IncidentState, request: UndeclareMajorRequest, now: datetime
) -> dict[str, Any]:
    """No more stakeholder updates, and no review needed before closing."""
    state.major, state.major_since = False, None
    return _request_details(request)


def _status_update(
    state: IncidentState, request: StatusUpdateRequest, now: datetime
) -> dict[str, Any]:
    state.last_status_update, state.last_status_update_at = request.text, now
    state.last_major_update_at = now  # the periodic update counts from the latest one
    return _request_details(request)


def _review(state: IncidentState, request: ReviewRequest, now: datetime) -> dict[str, Any]:
    fields = request.model_dump(exclude={"actor", "request_id"})
    state.review = PostIncidentReview(**fields, by=request.actor, at=now)
    return {"root_cause": request.root_cause, "actions": len(request.actions)}


def _complete_step(
    state: IncidentState, request: CompleteStepRequest, now: datetime
) -> dict[str, Any]:
    return playbooks.complete(state, request, now)


def _skip_step(state: IncidentState, request: SkipStepRequest, now: datetime) -> dict[str, Any]:
    return playbooks.skip(state, request, now)


def _link_parent(state: IncidentState, request: LinkParentRequest, now: datetime) -> dict[str, Any]:
    state.parent = request.parent
    return _request_details(request)


# --- the service desk's checks: misroutes and repeat callers -------------------------------

# Affected callers an incident keeps by name, whatever its life (the workflow state stays
# bounded); more are refused: link further reports to the incident as children instead.
AFFECTED_KEPT = 200


def service_desk(state: IncidentState) -> str:
    """The group a misrouted incident goes back to: support level L1 of `[routing].levels`."""
    return state.policy.routing.levels.get(SUPPORT_LEVELS[0], "service-desk")


def _check_return(state: IncidentState, request: ReturnRequest) -> None:
    desk = service_desk(state)
    if state.assignment_group == desk:
        raise precondition_unmet(
            state,
            Action.RETURN,
            f"the incident is already with the service desk group {desk}: assign it onwards",
            ["another_group"],
        )


def _return(state: IncidentState, request: ReturnRequest, now: datetime) -> dict[str, Any]:
    desk = service_desk(state)
    details = {"reason": request.reason, "from_group": state.assignment_group, "group": desk}
    state.returns += 1
    if state.assignment_group is not None:
        state.reassignment_count += 1
    state.assignment_group, state.assignee, state.support_level = desk, None, SUPPORT_LEVELS[0]
    return details | {"returns": state.returns}


def _escalate_misroute(state: IncidentState, now: datetime) -> None:
    """From `[escalation].max_returns` hand-backs on, each one goes to the incident manager,
    who decides the group."""
    if state.returns < state.policy.escalation.max_returns:
        return
    reason = f"returned {state.returns} times: the incident manager decides the group"
    escalate_to_manager(state, now, reason, {"returns": state.returns})


def escalate_to_manager(
    state: IncidentState, now: datetime, reason: str, extra: dict[str, Any]
) -> None:
    """An automatic hierarchical escalation, in an `escalated` entry of its own."""
    state.escalation_count += 1
    details = {"kind": EscalationKind.HIERARCHICAL.value, "reason": reason} | extra
    details |= notice([state.policy.contacts.incident_manager])
    record(state, now, "system", "escalated", details=details)


def _check_affected(state: IncidentState, request: AffectedRequest) -> None:
    if request.caller == state.caller:
        raise invalid_request("caller", f"{request.caller} is the incident's own caller")
    if request.caller in state.affected_callers:
        raise invalid_request("caller", f"{request.caller} is already counted as affected")
    if len(state.affected_callers) >= AFFECTED_KEPT:
        raise precondition_unmet(
            state,
            Action.AFFECTED,
            f"the incident counts {AFFECTED_KEPT} affected callers, the most it keeps: "
            "link further reports to it as children",
        )


def add_affected(state: IncidentState, caller: str) -> bool:
    """Count `caller` as affected; False when they are the caller, already counted, or the
    incident keeps no more names."""
    known = caller == state.caller or caller in state.affected_callers
    if known or len(state.affected_callers) >= AFFECTED_KEPT:
        return False
    state.affected_callers.append(caller)
    state.affected_count = len(state.affected_callers)
    return True


def _affected(state: IncidentState, request: AffectedRequest, now: datetime) -> dict[str, Any]:
    add_affected(state, request.caller)
    return {"caller": request.caller, "affected_count": state.affected_count}


def repeat_calls_follow_up(state: IncidentState, now: datetime) -> None:
    """At `[escalation].repeat_calls` affected callers, once, the incident manager hears of
    it; `[escalation].affected_impact` may suggest a higher impact to the desk."""
    count, policy = state.affected_count, state.policy.escalation
    if count == policy.repeat_calls:
        reason = f"{count} more callers report the same incident"
        escalate_to_manager(state, now, reason, {"affected_count": count})
    impact = policy.suggested_impact(count)
    if impact is None or impact >= state.impact:
        return  # nothing above the impact the incident already has
    if state.impact_suggestion is not None and state.impact_suggestion.impact <= impact:
        return  # suggested already
    priority = state.policy.priority_for(impact, state.urgency)
    state.impact_suggestion = ImpactSuggestion(
        impact=impact, priority=priority, affected=count, at=now
    )
    details = {
        "impact": [state.impact, impact],
        "priority": [state.priority.value, priority.value],
        "affected_count": count,
    }
    record(state, now, "system", "impact_suggested", details=details)


# --- the table ----------------------------------------------------------------------------

WORKING = frozenset({Status.ASSIGNED, Status.IN_PROGRESS, Status.PENDING})

TRANSITIONS: dict[Action, Transition] = {
    Action.ASSIGN: Transition(
        "Assign to a group, and optionally an assignee", AssignRequest, OPEN, Status.ASSIGNED,
        _assign,
    ),
    Action.START: Transition(
        "Start work; stops the response SLA", StartRequest, frozenset({Status.ASSIGNED}),
        Status.IN_PROGRESS, _start, _check_start,
    ),
    Action.PEND: Transition(
        "Wait for the caller, a vendor, a problem or a change; pauses the resolution SLA",
        PendRequest, frozenset({Status.IN_PROGRESS}), Status.PENDING, _pend,
    ),
    Action.RESUME: Transition(
        "Resume work after a wait", ResumeRequest, frozenset({Status.PENDING}),
        Status.IN_PROGRESS, _resume,
    ),
    Action.RESOLVE: Transition(
        "Resolve with a resolution code and notes", ResolveRequest, WORKING, Status.RESOLVED,
        _resolve, _check_resolve,
    ),
    Action.REOPEN: Transition(
        "Reopen: the caller rejects the resolution", ReopenRequest,
        frozenset({Status.RESOLVED}), Status.IN_PROGRESS, _reopened,
    ),
    Action.CLOSE: Transition(
        "Close: the caller confirms (an agent closing for them: closed_by_agent, with a note)",
        CloseRequest, frozenset({Status.RESOLVED}),
        Status.CLOSED, _close, _check_close,
    ),
    Action.CANCEL: Transition(
        "Cancel with a reason", CancelRequest, OPEN, Status.CANCELED, _cancel,
    ),
    Action.ESCALATE: Transition(
        "Escalate: functional (next support level) or hierarchical (incident manager)",
        EscalateRequest, OPEN, None, _escalate, _check_escalate,
    ),
    Action.UPDATE: Transition(
        "Change impact, urgency, category, description or service", UpdateRequest, OPEN, None,
        _update, _check_update,
    ),
    Action.COMMENT: Transition(
        "Add a public comment or a work note", CommentRequest, OPEN | {Status.RESOLVED}, None,
        _comment,
    ),
    Action.DECLARE_MAJOR: Transition(
        "Declare a major incident", DeclareMajorRequest, OPEN, None, _declare_major,
        _check_declare_major,
    ),
    Action.LINK_PARENT: Transition(
        "Make this incident a child of an open parent", LinkParentRequest, OPEN, None,
        _link_parent, _check_link_parent,
    ),
    Action.REVIEW: Transition(
        "The post-incident review of a major incident", ReviewRequest, OPEN | {Status.RESOLVED},
        None, _review, _check_review,
    ),
    Action.VENDOR_TICKET: Transition(
        "Open a ticket with a vendor", VendorTicketCreate, OPEN, None, _vendor_ticket,
    ),
    Action.UNDECLARE_MAJOR: Transition(
        "No longer a major incident: ends status updates and the review gate",
        UndeclareMajorRequest, OPEN, None, _undeclare_major, _check_undeclare_major,
    ),
    Action.STATUS_UPDATE: Transition(
        "A public status update of a major incident, for stakeholders and callers",
        StatusUpdateRequest, OPEN, None, _status_update, _check_status_update,
    ),
    Action.RETURN: Transition(
        "Hand a misrouted incident back to the service desk group; after [escalation]."
        "max_returns hand-backs the incident manager decides", ReturnRequest,
        frozenset({Status.ASSIGNED, Status.IN_PROGRESS}), Status.ASSIGNED, _return,
        _check_return, _escalate_misroute,
    ),
    Action.AFFECTED: Transition(
        "Another caller reports the same incident (me too): counted and told of its progress",
        AffectedRequest, OPEN, None, _affected, _check_affected, repeat_calls_follow_up,
    ),
    Action.COMPLETE_STEP: Transition(
        "Complete a playbook step, or retry a failed automated one", CompleteStepRequest, OPEN,
        None, _complete_step, _check_complete_step,
    ),
    Action.SKIP_STEP: Transition(
        "Skip a playbook step that is not required, with the reason", SkipStepRequest, OPEN,
        None, _skip_step, _check_skip_step,
    ),
}  # fmt: skip
