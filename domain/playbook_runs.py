"""Automated playbook steps and step reminders: what the workflow starts when a step is ready,
and what it records when the step's activity answers or gives up.

Pure decisions, like `domain.effects`: `advance` marks ready automated steps running and
returns the activities to start; kinds that are a lifecycle action of their own (a vendor
ticket, a major-incident declaration, a public comment, a notice) apply that action here,
through the transition table, as actor `playbook`. A failed step never fails the incident:
it is `failed`, with the reason, until an agent retries it (`complete_step` with `retry`),
does it by hand (`complete_step`) or skips it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel
from temporalio.exceptions import ApplicationError

from domain import lifecycle, names, notifications, playbooks
from domain.effects import RunActivity
from domain.incident_models import PlaybookStep, StepActivity, StepKind, StepState, fill, fill_json
from domain.models import (
    Action,
    CommentRequest,
    DeclareMajorRequest,
    IncidentState,
    VendorTicketCreate,
    Visibility,
)

ACTOR = "playbook"
STEP_STARTED = "step_started"
STEP_DONE = "step_done"
STEP_FAILED = "step_failed"
STEP_DUE = "step_due"
STEP_OVERDUE = "step_overdue"
PLAYBOOK_NOTICE = "playbook_notice"
# Timeline kinds whose `recipients` detail ([role, name] pairs) says who hears of them.
ADDRESSED_KINDS = frozenset({STEP_FAILED, STEP_DUE, STEP_OVERDUE, PLAYBOOK_NOTICE})
HTTP_ATTEMPTS = 3  # an HTTP step's tries before it is `failed` (an agent may retry it)
HTTP_GIVE_UP = timedelta(minutes=10)


class PlaybookHttpCall(BaseModel):
    """One run of an `http` step; `key` goes out as the Idempotency-Key of every try."""

    key: str
    number: str
    model: str
    attached_at: datetime  # which attachment of the model (re-categorised A -> B -> A)
    step: str
    attempt: int
    method: str
    url: str
    body: Any = None
    expect: int


class PlaybookHttpResult(BaseModel):
    status: int
    summary: str  # the start of the answer, recorded on the step


def advance(state: IncidentState, now: datetime) -> list[RunActivity]:
    """Unlock what can be unlocked and start every ready automated step, until nothing more
    is ready; returns the activities to start. Nothing runs once the incident is resolved."""
    if state.playbook is None or state.status not in lifecycle.OPEN:
        return []
    launched: list[RunActivity] = []
    _vendor_outcomes(state, now)
    while state.playbook is not None and state.status in lifecycle.OPEN:
        playbooks.refresh(state, now)
        ready = [
            step
            for step in state.playbook.steps
            if step.kind == StepKind.AUTOMATED and step.state == StepState.READY
        ]
        if not ready:
            break
        for step in ready:
            launched += _run(state, step, now)
    return launched


def _run(state: IncidentState, step: PlaybookStep, now: datetime) -> list[RunActivity]:
    assert state.playbook is not None
    step.attempts += 1
    step.state, step.at, step.by, step.error = StepState.RUNNING, now, ACTOR, None
    values = playbooks.template_values(state, step)
    try:
        match step.activity:
            case StepActivity.HTTP:
                return [_http(state, step, values, now)]
            case StepActivity.NOTIFY:
                assert step.notify is not None
                recipients = _recipients(state, step, step.notify.recipients)
                details = {"step": step.id, "text": fill(step.notify.template, values)}
                details |= _addressed(recipients)
                lifecycle.record(state, now, ACTOR, PLAYBOOK_NOTICE, details=details)
                _done(state, step, now, "notice to " + ", ".join(n for _, n in recipients))
            case StepActivity.DECLARE_MAJOR:
                if state.major:
                    _done(state, step, now, "already a major incident")
                else:
                    reason = step.declare_major.reason if step.declare_major else ACTOR
                    request = DeclareMajorRequest(actor=ACTOR, reason=fill(reason, values))
                    lifecycle.apply(state, Action.DECLARE_MAJOR, request, now)
                    _done(state, step, now, "declared a major incident")
            case StepActivity.VENDOR_TICKET:
                assert step.vendor_ticket is not None
                key = f"{state.number}-playbook-{state.playbook.model}-{step.id}-{step.attempts}"
                ticket = VendorTicketCreate(
                    actor=ACTOR,
                    vendor=step.vendor_ticket.vendor,
                    summary=fill(step.vendor_ticket.summary, values)[:4000],
                    request_id=key,
                )
                lifecycle.apply(state, Action.VENDOR_TICKET, ticket, now)
                step.ticket_key = key
            case StepActivity.COMMENT:
                assert step.comment is not None
                text = fill(step.comment.text, values)[:4000]
                comment = CommentRequest(actor=ACTOR, text=text, visibility=Visibility.PUBLIC)
                lifecycle.apply(state, Action.COMMENT, comment, now)
                _done(state, step, now, "public comment from the reply template")
    except (ApplicationError, ValueError) as refused:
        failed(state, step, str(refused), now)
    return []


def _http(
    state: IncidentState, step: PlaybookStep, values: dict[str, str], now: datetime
) -> RunActivity:
    assert step.http is not None and state.playbook is not None
    model = state.playbook.model
    call = PlaybookHttpCall(
        key=f"{state.number}/playbook/{model}/{step.id}/{step.attempts}",
        number=state.number,
        model=model,
        attached_at=state.playbook.attached_at,
        step=step.id,
        attempt=step.attempts,
        method=step.http.method,
        url=fill(step.http.url, values),
        body=fill_json(step.http.body, values),
        expect=step.http.expect,
    )
    details = {"step": step.id, "title": step.title, "attempt": step.attempts}
    lifecycle.record(state, now, ACTOR, STEP_STARTED, details=details)
    return RunActivity(
        names.RUN_PLAYBOOK_HTTP,
        call,
        summary(model, step),
        HTTP_GIVE_UP,
        max_attempts=HTTP_ATTEMPTS,
    )


def summary(model: str, step: PlaybookStep) -> str:
    """How the Temporal UI shows the step's activity or timer: `playbook phishing: reset
    credentials`."""
    return f"playbook {model}: {step.title[:1].lower()}{step.title[1:]}"


def _done(state: IncidentState, step: PlaybookStep, now: datetime, result: str) -> None:
    step.state, step.at, step.result = StepState.DONE, now, result[:300]
    details = {"step": step.id, "title": step.title, "result": step.result}
    lifecycle.record(state, now, ACTOR, STEP_DONE, details=details)


def failed(state: IncidentState, step: PlaybookStep, error: str, now: datetime) -> None:
    step.state, step.at, step.error = StepState.FAILED, now, error[:500]
    details: dict[str, Any] = {"step": step.id, "title": step.title, "error": step.error}
    if step.owner_group:
        details |= _addressed([(notifications.GROUP, step.owner_group)])
    lifecycle.record(state, now, ACTOR, STEP_FAILED, details=details)


def _running(state: IncidentState, call: PlaybookHttpCall) -> PlaybookStep | None:
    """The step the call ran for, in the playbook it ran for: the current one, or one a
    re-categorisation has put on record since (its outcome is recorded there)."""
    playbooks_ = [*state.previous_playbooks, *([state.playbook] if state.playbook else [])]
    playbook = next(
        (p for p in playbooks_ if (p.model, p.attached_at) == (call.model, call.attached_at)),
        None,
    )
    if playbook is None:
        return None
    step = playbook.step(call.step)
    if step is None or step.state != StepState.RUNNING or step.attempts != call.attempt:
        return None
    return step


def apply_result(state: IncidentState, call: PlaybookHttpCall, result: Any, now: datetime) -> None:
    answered = PlaybookHttpResult.model_validate(result)
    step = _running(state, call)
    if step is not None:
        _done(state, step, now, f"HTTP {answered.status}: {answered.summary}")


def apply_failure(state: IncidentState, call: PlaybookHttpCall, error: str, now: datetime) -> None:
    step = _running(state, call)
    if step is not None:
        failed(state, step, error, now)


def _vendor_outcomes(state: IncidentState, now: datetime) -> None:
    """A vendor_ticket step follows its ticket: done once the vendor answered with one,
    failed when the ticket failed."""
    assert state.playbook is not None
    for step in state.playbook.steps:
        if step.state != StepState.RUNNING or step.ticket_key is None:
            continue
        ticket = next((t for t in state.vendor_tickets if t.request_key == step.ticket_key), None)
        if ticket is None:
            continue
        if ticket.ticket_id is not None:
            _done(state, step, now, f"{ticket.vendor} ticket {ticket.ticket_id}")
        elif ticket.status == "failed":
            failed(state, step, f"the {ticket.vendor} ticket could not be opened", now)


# --- who hears ----------------------------------------------------------------------------


def _recipients(
    state: IncidentState, step: PlaybookStep, wanted: tuple[str, ...]
) -> list[tuple[str, str]]:
    contacts = state.policy.contacts
    found: list[tuple[str, str | None]] = []
    for name in wanted:
        match name:
            case "caller":
                found.append((notifications.CALLER, state.caller))
            case "assignee":
                found.append((notifications.ASSIGNEE, state.assignee))
            case "group":
                found.append((notifications.GROUP, state.assignment_group))
            case "owner":
                found.append((notifications.GROUP, step.owner_group))
            case "incident_manager":
                found.append((notifications.INCIDENT_MANAGER, contacts.incident_manager))
            case "problem_manager":
                found.append((notifications.PROBLEM_MANAGER, contacts.problem_manager))
            case "stakeholders":
                found += [(notifications.STAKEHOLDERS, who) for who in contacts.stakeholders]
            case _:
                found.append((notifications.GROUP, name))
    return [(role, who) for role, who in found if who]


def _addressed(recipients: list[tuple[str, str]]) -> dict[str, Any]:
    return {
        "recipients": [[role, name] for role, name in recipients],
        **lifecycle.notice([name for _, name in recipients]),
    }


# --- due steps ----------------------------------------------------------------------------


def next_due(state: IncidentState) -> tuple[datetime, str, str] | None:
    """The next reminder of an unfinished step: (when, STEP_DUE or STEP_OVERDUE, step id)."""
    if state.playbook is None or state.status not in lifecycle.OPEN:
        return None
    found: list[tuple[datetime, str, str]] = []
    for step in state.playbook.steps:
        if step.due_at is None or step.state not in (
            StepState.READY,
            StepState.RUNNING,
            StepState.FAILED,
        ):
            continue
        if not step.reminded:
            found.append((step.due_at, STEP_DUE, step.id))
        elif not step.overdue_reminded and step.overdue_seconds is not None:
            found.append(
                (step.due_at + timedelta(seconds=step.overdue_seconds), STEP_OVERDUE, step.id)
            )
    return min(found, default=None)


def remind(state: IncidentState, kind: str, step_id: str, at: datetime) -> None:
    """Due: the owner group is reminded. Overdue: the owner group's lead (the incident
    manager when the group has none)."""
    assert state.playbook is not None
    step = state.playbook.step(step_id)
    assert step is not None
    details: dict[str, Any] = {"step": step.id, "title": step.title, "model": state.playbook.model}
    if kind == STEP_DUE:
        step.reminded = True
        owner = step.owner_group or state.assignment_group
        details |= _addressed([(notifications.GROUP, owner)] if owner else [])
    else:
        step.overdue_reminded = True
        lead = step.owner_lead or state.policy.contacts.incident_manager
        details |= _addressed([(notifications.INCIDENT_MANAGER, lead)])
    lifecycle.record(state, at, "system", kind, details=details)
