"""What the incident waits for next: SLA warnings, escalation, breach, auto-closure.

`next_due` is a pure function of the state, so the workflow re-arms one durable timer whenever
the answer changes (a pause, a priority change, a reopen) and never polls.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from domain import chase, lifecycle, playbook_runs
from domain.calendar import add_working_seconds
from domain.models import EscalationKind, IncidentState, SlaClock, Status
from domain.sla import moment

WARNING = "sla_warning"
ESCALATION = "escalation"
BREACH = "sla_breach"
AUTO_CLOSE = "auto_close"
MAJOR_UPDATE = "major_update"
REVIEW_DUE = "review_due"
CALLER_REMINDER = chase.REMINDER
NO_RESPONSE = chase.NO_RESPONSE
STEP_DUE = playbook_runs.STEP_DUE
STEP_OVERDUE = playbook_runs.STEP_OVERDUE


@dataclass(frozen=True)
class DueEvent:
    at: datetime
    kind: str
    clock: str | None = None
    fraction: float | None = None
    step: str | None = None  # a playbook step's reminder

    @property
    def summary(self) -> str:
        if self.step is not None:
            what = "due" if self.kind == STEP_DUE else "overdue"
            return f"playbook step {self.step} {what} at {self.at:%Y-%m-%d %H:%M:%S}Z"
        if self.clock is None:
            return f"{self.kind.replace('_', ' ')} at {self.at:%Y-%m-%d %H:%M:%S}Z"
        what = self.kind.replace("sla_", "")
        percent = f"{(self.fraction or 1.0) * 100:g}%"
        return f"{self.clock} SLA {what} at {percent}, {self.at:%Y-%m-%d %H:%M:%S}Z"


def next_due(state: IncidentState) -> DueEvent | None:
    candidates = [
        event for clock in lifecycle.clocks(state) for event in _clock_events(state, clock)
    ]
    dues = (_auto_close(state), _major_update(state), _review_due(state), _chase(state))
    for due in (*dues, _step_due(state)):
        if due is not None:
            candidates.append(due)
    return min(candidates, key=lambda event: event.at, default=None)


def _clock_events(state: IncidentState, clock: SlaClock) -> list[DueEvent]:
    if clock.running_since is None or clock.breached_at is not None:
        return []
    target = state.policy.sla[state.priority]
    thresholds = [(WARNING, f) for f in target.warn_at if f < 1.0 and f not in clock.warnings_fired]
    if clock.name == "resolution" and target.escalate_at is not None and not clock.escalated:
        thresholds.append((ESCALATION, target.escalate_at))
    thresholds.append((BREACH, 1.0))
    calendar = lifecycle.calendar_of(state, clock)
    events = []
    for kind, fraction in thresholds:
        at = moment(clock, calendar, fraction)
        if at is not None:
            events.append(DueEvent(at=at, kind=kind, clock=clock.name, fraction=fraction))
    return events


def _auto_close(state: IncidentState) -> DueEvent | None:
    if state.status != Status.RESOLVED or state.resolved_at is None:
        return None
    at = _after_resolution(state, state.policy.closure.auto_close_after)
    if state.major:  # a major incident waits for its post-incident review
        if state.review is None:
            return None
        at = max(at, state.review.at)
    return DueEvent(at=at, kind=AUTO_CLOSE)


def _review_due(state: IncidentState) -> DueEvent | None:
    if not state.major or state.review is not None or state.review_reminded:
        return None
    if state.status != Status.RESOLVED or state.resolved_at is None:
        return None
    return DueEvent(at=_after_resolution(state, state.policy.major.review_due), kind=REVIEW_DUE)


def _after_resolution(state: IncidentState, duration: str) -> datetime:
    assert state.resolved_at is not None
    calendar_name = state.policy.closure.calendar
    period = state.policy.seconds(duration, calendar_name)
    return add_working_seconds(state.policy.calendar(calendar_name), state.resolved_at, period)


def _major_update(state: IncidentState) -> DueEvent | None:
    """Stakeholders hear how a major incident stands every update_interval until it is resolved."""
    if not state.major or state.status not in lifecycle.OPEN:
        return None
    since = state.last_major_update_at or state.major_since
    if since is None:
        return None
    interval = state.policy.seconds(state.policy.major.update_interval, "24x7")
    return DueEvent(at=since + timedelta(seconds=interval), kind=MAJOR_UPDATE)


def _chase(state: IncidentState) -> DueEvent | None:
    """A reminder to a caller who has not answered, or the `no_response` resolution."""
    found = chase.next_chase(state)
    return None if found is None else DueEvent(at=found[0], kind=found[1])


def _step_due(state: IncidentState) -> DueEvent | None:
    found = playbook_runs.next_due(state)
    return None if found is None else DueEvent(at=found[0], kind=found[1], step=found[2])


def _remind_step(state: IncidentState, event: DueEvent) -> None:
    assert event.step is not None
    playbook_runs.remind(state, event.kind, event.step, event.at)


def fire_due(state: IncidentState, now: datetime) -> list[DueEvent]:
    """Apply every event due at or before `now`, earliest first; returns what fired."""
    fired = []
    while (event := next_due(state)) is not None and event.at <= now:
        FIRE[event.kind](state, event)
        fired.append(event)
    return fired


def _clock(state: IncidentState, event: DueEvent) -> SlaClock:
    return state.response_sla if event.clock == "response" else state.resolution_sla


def _assignees(state: IncidentState) -> list[str]:
    return [who for who in (state.assignee, state.assignment_group) if who]


def _warn(state: IncidentState, event: DueEvent) -> None:
    clock = _clock(state, event)
    clock.warnings_fired.append(event.fraction or 0.0)
    details = _clock_details(clock, event) | lifecycle.notice(_assignees(state))
    lifecycle.record(state, event.at, "system", WARNING, details=details)


def _escalate(state: IncidentState, event: DueEvent) -> None:
    _clock(state, event).escalated = True
    state.escalation_count += 1
    details: dict[str, Any] = {"kind": EscalationKind.FUNCTIONAL.value, "automatic": True}
    details |= {"reason": f"resolution SLA at {(event.fraction or 0) * 100:g}%"}
    details |= lifecycle.escalate_support_level(state)
    details |= lifecycle.notice(_assignees(state))
    lifecycle.record(state, event.at, "system", "escalated", details=details)


def _breach(state: IncidentState, event: DueEvent) -> None:
    clock = _clock(state, event)
    clock.breached_at = event.at
    state.breached = True
    manager = state.policy.contacts.incident_manager
    details = _clock_details(clock, event) | lifecycle.notice([*_assignees(state), manager])
    lifecycle.record(state, event.at, "system", BREACH, details=details)
    state.escalation_count += 1
    escalation = {"kind": EscalationKind.HIERARCHICAL.value, "reason": f"{clock.name} SLA breached"}
    lifecycle.record(
        state, event.at, "system", "escalated", details=escalation | lifecycle.notice([manager])
    )


def _auto_close_now(state: IncidentState, event: DueEvent) -> None:
    lifecycle.close_automatically(state, event.at)


def _send_major_update(state: IncidentState, event: DueEvent) -> None:
    state.last_major_update_at = event.at
    # Stakeholders read this: public facts only, never the last work note (contract 11).
    since = state.last_status_update_at or state.major_since or state.created_at
    details = {
        "status": state.status.value,
        "assignee": state.assignee,
        "assignment_group": state.assignment_group,
        "latest": f"no new update since {since:%H:%M} UTC",
        "last_update_at": since.isoformat(),
        "open_for_seconds": (event.at - state.created_at).total_seconds(),
        "bridge_url": state.bridge_url,
    }
    lifecycle.record(state, event.at, "system", MAJOR_UPDATE, details=details)


def _remind_review(state: IncidentState, event: DueEvent) -> None:
    state.review_reminded = True
    manager = state.policy.contacts.incident_manager
    lifecycle.record(state, event.at, "system", REVIEW_DUE, details=lifecycle.notice([manager]))


def _remind_caller(state: IncidentState, event: DueEvent) -> None:
    chase.remind(state, event.at)


def _resolve_unanswered(state: IncidentState, event: DueEvent) -> None:
    chase.resolve_unanswered(state, event.at)


def _clock_details(clock: SlaClock, event: DueEvent) -> dict[str, Any]:
    return {"clock": clock.name, "fraction": event.fraction, "target_seconds": clock.target_seconds}


FIRE = {
    WARNING: _warn,
    ESCALATION: _escalate,
    BREACH: _breach,
    AUTO_CLOSE: _auto_close_now,
    MAJOR_UPDATE: _send_major_update,
    REVIEW_DUE: _remind_review,
    CALLER_REMINDER: _remind_caller,
    NO_RESPONSE: _resolve_unanswered,
    STEP_DUE: _remind_step,
    STEP_OVERDUE: _remind_step,
}
