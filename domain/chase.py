"""Chasing a caller who does not answer (contract 13): while an incident is pending on
`awaiting_caller`, the caller is reminded every `[pending].remind_after` of working time, and
after `[pending].reminders` unanswered reminders the incident resolves with `no_response`.

Pure, like `domain.timers`, which asks `next_chase` for its due event and fires it through
`fire`. The wait's start is the resolution clock's `paused_since`; a caller's reply resumes
the incident (the comment rule), so the chase stops by itself, and a later pend starts a new
count because its wait starts at another instant.
"""

from __future__ import annotations

from datetime import datetime

from domain import lifecycle
from domain.calendar import add_working_seconds
from domain.models import (
    Action,
    IncidentState,
    PendingReason,
    ResolutionCode,
    ResolveRequest,
    Status,
)

REMINDER = "caller_reminder"
NO_RESPONSE = "no_response"
NO_RESPONSE_NOTES = "Closed for lack of an answer: we asked {count} times and heard nothing back."


def waiting_since(state: IncidentState) -> datetime | None:
    """When the current wait for the caller began; None when the incident is not waiting on
    the caller or the policy it was opened under does not chase."""
    if state.policy.pending.remind_after is None:
        return None
    if state.status != Status.PENDING or state.pending_reason != PendingReason.AWAITING_CALLER:
        return None
    return state.resolution_sla.paused_since


def reminders_sent(state: IncidentState, since: datetime) -> int:
    return state.caller_reminders if state.caller_chase_since == since else 0


def next_chase(state: IncidentState) -> tuple[datetime, str] | None:
    """(when, kind) of the next reminder or of the `no_response` resolution."""
    since = waiting_since(state)
    if since is None:
        return None
    pending = state.policy.pending
    assert pending.remind_after is not None
    sent = reminders_sent(state, since)
    period = state.policy.seconds(pending.remind_after, pending.calendar)
    calendar = state.policy.calendar(pending.calendar)
    at = add_working_seconds(calendar, since, period * (sent + 1))
    return at, (REMINDER if sent < pending.reminders else NO_RESPONSE)


def remind(state: IncidentState, at: datetime) -> None:
    since = waiting_since(state)
    assert since is not None
    sent = reminders_sent(state, since) + 1
    state.caller_chase_since, state.caller_reminders = since, sent
    details = {"reminder": sent, "of": state.policy.pending.reminders}
    lifecycle.record(
        state, at, "system", REMINDER, details=details | lifecycle.notice([state.caller])
    )


def resolve_unanswered(state: IncidentState, at: datetime) -> None:
    count = state.caller_reminders
    request = ResolveRequest(
        actor="system",
        resolution_code=ResolutionCode.NO_RESPONSE,
        resolution_notes=NO_RESPONSE_NOTES.format(count=count),
    )
    lifecycle.apply(state, Action.RESOLVE, request, at)
