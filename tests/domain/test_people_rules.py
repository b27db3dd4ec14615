"""The lifecycle rules of contract 7 and 11 that need no directory: requester caps, close
codes, undeclaring a major incident, status updates, per-group ladders, what stakeholders read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain import lifecycle, notifications, timers
from domain.lifecycle import open_incident
from domain.models import (
    Action,
    AssignRequest,
    CloseCode,
    CloseRequest,
    CommentRequest,
    EscalateRequest,
    IncidentCreate,
    IncidentState,
    ResolveRequest,
    StartRequest,
    StatusUpdateRequest,
    UndeclareMajorRequest,
    UpdateRequest,
)
from domain.policy import GroupPolicy, IntakePolicy, Policy, Priority
from tests.support.factories import new_incident, next_number

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
P1_WORDS = IncidentCreate(short_description="Laptop fan noisy", impact=1, urgency=1)


def by_requester(policy: Policy | None = None) -> IncidentState:
    return open_incident(
        next_number(), P1_WORDS, "alice", "alice", policy or Policy(), NOW, by_requester=True
    )


def test_a_requesters_priority_is_capped_and_never_major() -> None:
    state = by_requester()
    assert (state.impact, state.urgency) == (1, 1)  # their own assessment, kept
    assert state.priority == Priority.P3 and not state.major
    assert state.timeline[0].details["requester_assessed"] == "P1"
    assert [e.kind for e in state.timeline] == ["created"]  # no incident manager, no stakeholders
    looser = by_requester(Policy(intake=IntakePolicy(requester_max_priority=Priority.P2)))
    assert looser.priority == Priority.P2 and not looser.major
    low = open_incident(
        next_number(),
        IncidentCreate(short_description="x", impact=3, urgency=3),
        "alice", "alice", Policy(), NOW, by_requester=True,
    )  # fmt: skip
    assert low.priority == Priority.P5


def test_an_agent_triage_makes_it_major() -> None:
    state = by_requester()
    update = UpdateRequest(actor="sam", category="hardware", reason="confirmed: all of sales")
    lifecycle.apply(state, Action.UPDATE, update, NOW + timedelta(minutes=5))
    assert state.priority == Priority.P1 and state.major


def resolved() -> IncidentState:
    state = new_incident(now=NOW)
    lifecycle.apply(state, Action.ASSIGN, AssignRequest(group="desk", assignee="sam"), NOW)
    lifecycle.apply(state, Action.START, StartRequest(actor="sam"), NOW)
    resolve = ResolveRequest(actor="sam", resolution_code="fixed", resolution_notes="ok")
    lifecycle.apply(state, Action.RESOLVE, resolve, NOW)
    return state


def test_close_codes() -> None:
    by_caller = resolved()
    lifecycle.apply(by_caller, Action.CLOSE, CloseRequest(actor="alice"), NOW)
    assert by_caller.close_code == CloseCode.CONFIRMED

    for_caller = resolved()
    bare = CloseRequest(actor="sam", on_behalf_of_caller=True)
    try:
        lifecycle.apply(for_caller, Action.CLOSE, bare, NOW)
        raise AssertionError("a close on the caller's behalf needs a note")
    except Exception as error:
        assert "note" in str(error)
    noted = CloseRequest(actor="sam", on_behalf_of_caller=True, note="confirmed by phone")
    entry = lifecycle.apply(for_caller, Action.CLOSE, noted, NOW)
    assert for_caller.close_code == CloseCode.CLOSED_BY_AGENT
    assert entry.details == {"close_code": "closed_by_agent", "note": "confirmed by phone"}

    automatic = resolved()
    lifecycle.close_automatically(automatic, NOW + timedelta(days=9))
    assert automatic.close_code == CloseCode.AUTO


def major() -> IncidentState:
    state = new_incident(now=NOW, impact=1, urgency=1)
    lifecycle.apply(state, Action.ASSIGN, AssignRequest(group="desk", assignee="sam"), NOW)
    assert state.major
    return state


def test_undeclare_major_ends_status_updates_and_the_review_gate() -> None:
    state = major()
    assert timers.next_due(state) is not None
    lifecycle.apply(state, Action.UNDECLARE_MAJOR, UndeclareMajorRequest(reason="one site"), NOW)
    assert not state.major
    assert all(
        e.kind != timers.MAJOR_UPDATE for e in timers.fire_due(state, NOW + timedelta(hours=3))
    )
    start = StartRequest(actor="sam", assignee="sam")  # the SLA escalation moved it on
    lifecycle.apply(state, Action.START, start, NOW + timedelta(hours=3))
    resolve = ResolveRequest(actor="sam", resolution_code="fixed", resolution_notes="ok")
    lifecycle.apply(state, Action.RESOLVE, resolve, NOW + timedelta(hours=3))
    lifecycle.apply(state, Action.CLOSE, CloseRequest(actor="alice"), NOW + timedelta(hours=3))


def test_a_lowered_major_asks_the_incident_manager() -> None:
    state = major()
    update = UpdateRequest(actor="sam", impact=3, urgency=3, reason="one user")
    entry = lifecycle.apply(state, Action.UPDATE, update, NOW + timedelta(minutes=1))
    assert state.priority == Priority.P5 and state.major and entry.details["major_kept"]
    told = notifications.recipients_for(state, entry)
    assert (notifications.INCIDENT_MANAGER, "incident-manager") in told


def test_status_updates_reach_stakeholders_and_the_caller_and_work_notes_do_not() -> None:
    policy = Policy.model_validate({"contacts": {"stakeholders": ["cio"]}})
    state = new_incident(policy=policy, now=NOW, impact=1, urgency=1)
    note = CommentRequest(actor="sam", text="SECRET-MARKER", visibility="work_note")
    noted = lifecycle.apply(state, Action.COMMENT, note, NOW)
    assert notifications.recipients_for(state, noted) == []
    text = StatusUpdateRequest(actor="sam", text="Mail flows again at 80%")
    entry = lifecycle.apply(state, Action.STATUS_UPDATE, text, NOW + timedelta(minutes=10))
    told = {name: role for role, name in notifications.recipients_for(state, entry)}
    assert told == {"alice": notifications.CALLER, "cio": notifications.STAKEHOLDERS}
    fired = timers.fire_due(state, NOW + timedelta(minutes=41))
    assert [e.kind for e in fired].count(timers.MAJOR_UPDATE) == 1  # 30 min after 10:10
    update = next(e for e in state.timeline if e.kind == timers.MAJOR_UPDATE)
    assert update.details["latest"] == "no new update since 10:10 UTC"
    assert "SECRET-MARKER" not in str(update.details)


def test_functional_escalation_follows_the_groups_own_ladder() -> None:
    policy = Policy(groups={"network-l1": GroupPolicy(levels={"L2": "network-l2", "L3": "net-l3"})})
    state = new_incident(policy=policy, now=NOW)
    lifecycle.apply(state, Action.ASSIGN, AssignRequest(group="network-l1"), NOW)
    climb = EscalateRequest(actor="sam", kind="functional", reason="needs routing expertise")
    lifecycle.apply(state, Action.ESCALATE, climb, NOW)
    assert (state.support_level, state.assignment_group) == ("L2", "network-l2")
    lifecycle.apply(state, Action.ESCALATE, climb, NOW)
    assert (state.support_level, state.assignment_group) == ("L3", "net-l3")

    other = new_incident(policy=policy, now=NOW)
    lifecycle.apply(other, Action.ASSIGN, AssignRequest(group="desk"), NOW)
    lifecycle.apply(other, Action.ESCALATE, climb, NOW)
    assert other.assignment_group == "platform-l2"  # the global [routing].levels
