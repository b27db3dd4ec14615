"""Playbook steps as an incident works them: attaching a model's playbook, steps unlocking as
their dependencies finish, completing, skipping and retrying them, and what blocks `resolve`.

Pure and deterministic: `now` is passed in; the lifecycle rows (`complete_step`, `skip_step`,
`resolve`, `update`) and `domain.playbook_runs` (the automated steps) call these.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from domain.incident_models import (
    FINISHED,
    KEPT_PLAYBOOKS,
    ModelDefaults,
    ModelSnapshot,
    Playbook,
    PlaybookStep,
    StepKind,
    StepState,
    fill,
)
from domain.models import CompleteStepRequest, IncidentState, SkipStepRequest

# A step keeps the start of its note (the timeline entry has it whole): the state stays small.
NOTE_KEPT = 500


class StepConflict(Exception):
    """A step action the playbook's state does not allow (a 409); `missing` names the steps
    that stand in the way."""

    def __init__(self, message: str, missing: list[str] | None = None) -> None:
        super().__init__(message)
        self.message, self.missing = message, missing or []


class StepUnknown(Exception):
    """A step id the incident's playbook does not have (a 422 on `step`)."""


# --- attaching ----------------------------------------------------------------------------


def attach(state: IncidentState, snapshot: ModelSnapshot, now: datetime) -> dict[str, Any]:
    """Give the incident the model's playbook; one it had before is kept on record (its
    completed steps with it). Returns the details of the timeline entry."""
    details: dict[str, Any] = {
        "model": snapshot.name,
        "version": snapshot.version,
        "steps": [step.id for step in snapshot.steps],
    }
    if state.playbook is not None:
        state.playbook.replaced_at = now
        details["replaces"] = f"{state.playbook.model}@{state.playbook.version}"
        state.previous_playbooks = [*state.previous_playbooks, state.playbook][-KEPT_PLAYBOOKS:]
    state.playbook = Playbook(
        model=snapshot.name,
        title=snapshot.title,
        version=snapshot.version,
        attached_at=now,
        steps=[step.model_copy(deep=True) for step in snapshot.steps],
    )
    refresh(state, now)
    return details


def apply_defaults(state: IncidentState, defaults: ModelDefaults) -> dict[str, Any]:
    """The model's group and description where the incident has none (impact and urgency are
    set only when the incident opens, and only where the caller gave none)."""
    applied: dict[str, Any] = {}
    if state.assignment_group is None and defaults.group:
        applied["assignment_group"] = state.assignment_group = defaults.group
    if not state.description and defaults.description:
        state.description = fill(defaults.description, template_values(state))
        applied["description"] = True
    return applied


def template_values(state: IncidentState, step: PlaybookStep | None = None) -> dict[str, str]:
    """What `{placeholders}` in a model's templates stand for."""
    values = {
        "number": state.number,
        "short_description": state.short_description,
        "caller": state.caller,
        "caller_name": state.caller_name or state.caller,
        "priority": state.priority.value,
        "status": state.status.value,
        "category": state.category or "",
        "subcategory": state.subcategory or "",
        "service": state.service or "",
        "assignment_group": state.assignment_group or "",
        "assignee": state.assignee or "",
        "assignee_name": state.assignee or state.assignment_group or "the service desk",
        "group": state.assignment_group or "the service desk",
        "due": _due(state),
        "resolution_notes": state.resolution_notes or "",
        "model": state.playbook.model if state.playbook else "",
        "step": step.title if step else "",
    }
    if step is not None and step.comment is not None:
        values |= step.comment.vars
    return values


def _due(state: IncidentState) -> str:
    due = state.resolution_sla.due_at
    if due is None or state.resolution_sla.paused_since is not None:
        return "to be confirmed"
    return f"{due:%a %d %b %Y, %H:%M} UTC"


# --- readiness ----------------------------------------------------------------------------


def refresh(state: IncidentState, now: datetime) -> list[PlaybookStep]:
    """Steps whose dependencies are all finished become ready (or not needed, when their
    `when` does not hold now); until nothing changes. Returns the steps that changed."""
    playbook = state.playbook
    if playbook is None:
        return []
    changed: list[PlaybookStep] = []
    finished = {step.id for step in playbook.steps if step.state in FINISHED}
    progress = True
    while progress:
        progress = False
        for step in playbook.steps:
            if step.state != StepState.WAITING or not set(step.after) <= finished:
                continue
            if step.when is not None and not step.when.holds(
                state.priority, state.major, state.category
            ):
                step.state, step.at = StepState.NOT_NEEDED, now
                finished.add(step.id)
                progress = True
            else:
                step.state, step.ready_at, step.at = StepState.READY, now, now
                if step.due_seconds is not None:
                    step.due_at = now + timedelta(seconds=step.due_seconds)
            changed.append(step)
    return changed


def open_required(state: IncidentState) -> list[str]:
    """Required steps not done yet: `resolve` waits for them."""
    if state.playbook is None:
        return []
    return [
        step.id for step in state.playbook.steps if step.required and step.state not in FINISHED
    ]


def waiting_on(playbook: Playbook, step: PlaybookStep) -> list[str]:
    return [
        other
        for other in step.after
        if (found := playbook.step(other)) is not None and found.state not in FINISHED
    ]


# --- complete, skip, retry ----------------------------------------------------------------


def find(state: IncidentState, step_id: str) -> PlaybookStep:
    if state.playbook is None:
        raise StepConflict("the incident has no playbook")
    step = state.playbook.step(step_id)
    if step is None:
        known = ", ".join(s.id for s in state.playbook.steps)
        raise StepUnknown(f"the playbook {state.playbook.model} has no step '{step_id}' ({known})")
    return step


def check_complete(state: IncidentState, request: CompleteStepRequest) -> None:
    step = find(state, request.step)
    assert state.playbook is not None
    if step.state in FINISHED:
        raise StepConflict(f"step '{step.id}' is already {step.state}")
    if step.state == StepState.WAITING:
        missing = waiting_on(state.playbook, step)
        raise StepConflict(f"step '{step.id}' waits for {', '.join(missing)}", missing=missing)
    if step.state == StepState.RUNNING:
        raise StepConflict(f"step '{step.id}' is running; its outcome will be recorded")
    if request.retry and not (step.kind == StepKind.AUTOMATED and step.state == StepState.FAILED):
        raise StepConflict(
            f"only a failed automated step can be retried; '{step.id}' is {step.state}"
        )
    if step.kind == StepKind.AUTOMATED and step.state == StepState.READY:
        raise StepConflict(f"step '{step.id}' is automated and about to run")


def complete(state: IncidentState, request: CompleteStepRequest, now: datetime) -> dict[str, Any]:
    step = find(state, request.step)
    details: dict[str, Any] = {"step": step.id, "title": step.title}
    if request.note:
        details["note"] = request.note
    if request.retry:
        step.state, step.at, step.error = StepState.READY, now, None
        details["retry"] = True
        return details
    note = request.note[:NOTE_KEPT] if request.note else None
    step.state, step.by, step.at, step.note = StepState.DONE, request.actor, now, note
    refresh(state, now)
    return details


def check_skip(state: IncidentState, request: SkipStepRequest) -> None:
    step = find(state, request.step)
    if step.required:
        raise StepConflict(f"step '{step.id}' is required: it cannot be skipped", [step.id])
    if step.state in FINISHED:
        raise StepConflict(f"step '{step.id}' is already {step.state}")
    if step.state == StepState.RUNNING:
        raise StepConflict(f"step '{step.id}' is running; its outcome will be recorded")


def skip(state: IncidentState, request: SkipStepRequest, now: datetime) -> dict[str, Any]:
    step = find(state, request.step)
    reason = request.reason[:NOTE_KEPT]
    step.state, step.by, step.at, step.note = StepState.SKIPPED, request.actor, now, reason
    refresh(state, now)
    return {"step": step.id, "title": step.title, "reason": request.reason}
