"""The lifecycle rules as a user meets them: every state x action, priorities, policy errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError

from domain import lifecycle, playbooks
from domain.models import Action, IncidentState, Status
from domain.policy import Policy, PolicyError, Priority, parse_policy
from tests.support.factories import new_incident
from tests.support.playbooks import TRIAGE, snapshot_of

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)

# A valid body for each action, so that only the state decides whether it is allowed.
BODIES: dict[Action, dict[str, Any]] = {
    Action.ASSIGN: {"group": "network-l1", "assignee": "sam"},
    Action.START: {"assignee": "sam"},
    Action.PEND: {"reason": "awaiting_caller", "note": "Which printer?"},
    Action.RESUME: {},
    Action.RESOLVE: {"resolution_code": "fixed", "resolution_notes": "Restarted the spooler"},
    Action.REOPEN: {"reason": "Still broken"},
    Action.CLOSE: {},
    Action.CANCEL: {"reason": "Raised twice"},
    Action.ESCALATE: {"kind": "hierarchical", "reason": "VIP caller"},
    Action.UPDATE: {"urgency": 3, "reason": "Only one user"},
    Action.COMMENT: {"text": "Looking at it", "visibility": "work_note"},
    Action.DECLARE_MAJOR: {"reason": "Whole site down"},
    Action.LINK_PARENT: {"parent": "INC9999999"},
    Action.VENDOR_TICKET: {"vendor": "acme", "summary": "Replace the failed disk"},
    Action.UNDECLARE_MAJOR: {"reason": "Only one site after all"},
    Action.STATUS_UPDATE: {"text": "Failover done; mail flows again"},
    Action.COMPLETE_STEP: {"step": "triage", "note": "done"},
    Action.SKIP_STEP: {"step": "triage", "reason": "not needed here"},
    Action.REVIEW: {
        "summary": "Mail outage",
        "root_cause": "Expired certificate",
        "lessons": "Monitor expiry",
        "actions": [{"action": "Add expiry alert", "owner": "sam"}],
    },
    Action.RETURN: {"reason": "Not a network fault: the laptop's Wi-Fi is off"},
    Action.AFFECTED: {"caller": "bob"},
}

EXPECTED: dict[Status, dict[Action, Status]] = {
    Status.NEW: {
        Action.ASSIGN: Status.ASSIGNED,
        Action.CANCEL: Status.CANCELED,
        Action.ESCALATE: Status.NEW,
        Action.UPDATE: Status.NEW,
        Action.COMMENT: Status.NEW,
        Action.DECLARE_MAJOR: Status.NEW,
        Action.LINK_PARENT: Status.NEW,
        Action.REVIEW: Status.NEW,
        Action.VENDOR_TICKET: Status.NEW,
        Action.UNDECLARE_MAJOR: Status.NEW,
        Action.STATUS_UPDATE: Status.NEW,
        Action.AFFECTED: Status.NEW,
        Action.COMPLETE_STEP: Status.NEW,
        Action.SKIP_STEP: Status.NEW,
    },
    Status.ASSIGNED: {
        Action.ASSIGN: Status.ASSIGNED,
        Action.START: Status.IN_PROGRESS,
        Action.RESOLVE: Status.RESOLVED,
        Action.CANCEL: Status.CANCELED,
        Action.ESCALATE: Status.ASSIGNED,
        Action.UPDATE: Status.ASSIGNED,
        Action.COMMENT: Status.ASSIGNED,
        Action.DECLARE_MAJOR: Status.ASSIGNED,
        Action.LINK_PARENT: Status.ASSIGNED,
        Action.REVIEW: Status.ASSIGNED,
        Action.VENDOR_TICKET: Status.ASSIGNED,
        Action.UNDECLARE_MAJOR: Status.ASSIGNED,
        Action.STATUS_UPDATE: Status.ASSIGNED,
        Action.RETURN: Status.ASSIGNED,
        Action.AFFECTED: Status.ASSIGNED,
        Action.COMPLETE_STEP: Status.ASSIGNED,
        Action.SKIP_STEP: Status.ASSIGNED,
    },
    Status.IN_PROGRESS: {
        Action.ASSIGN: Status.ASSIGNED,
        Action.PEND: Status.PENDING,
        Action.RESOLVE: Status.RESOLVED,
        Action.CANCEL: Status.CANCELED,
        Action.ESCALATE: Status.IN_PROGRESS,
        Action.UPDATE: Status.IN_PROGRESS,
        Action.COMMENT: Status.IN_PROGRESS,
        Action.DECLARE_MAJOR: Status.IN_PROGRESS,
        Action.LINK_PARENT: Status.IN_PROGRESS,
        Action.REVIEW: Status.IN_PROGRESS,
        Action.VENDOR_TICKET: Status.IN_PROGRESS,
        Action.UNDECLARE_MAJOR: Status.IN_PROGRESS,
        Action.STATUS_UPDATE: Status.IN_PROGRESS,
        Action.RETURN: Status.ASSIGNED,
        Action.AFFECTED: Status.IN_PROGRESS,
        Action.COMPLETE_STEP: Status.IN_PROGRESS,
        Action.SKIP_STEP: Status.IN_PROGRESS,
    },
    Status.PENDING: {
        Action.ASSIGN: Status.ASSIGNED,
        Action.RESUME: Status.IN_PROGRESS,
        Action.RESOLVE: Status.RESOLVED,
        Action.CANCEL: Status.CANCELED,
        Action.ESCALATE: Status.PENDING,
        Action.UPDATE: Status.PENDING,
        Action.COMMENT: Status.PENDING,
        Action.DECLARE_MAJOR: Status.PENDING,
        Action.LINK_PARENT: Status.PENDING,
        Action.REVIEW: Status.PENDING,
        Action.VENDOR_TICKET: Status.PENDING,
        Action.UNDECLARE_MAJOR: Status.PENDING,
        Action.STATUS_UPDATE: Status.PENDING,
        Action.AFFECTED: Status.PENDING,
        Action.COMPLETE_STEP: Status.PENDING,
        Action.SKIP_STEP: Status.PENDING,
    },
    Status.RESOLVED: {
        Action.REOPEN: Status.IN_PROGRESS,
        Action.CLOSE: Status.CLOSED,
        Action.COMMENT: Status.RESOLVED,
        Action.REVIEW: Status.RESOLVED,
    },
    Status.CLOSED: {},
    Status.CANCELED: {},
}

PATHS: dict[Status, list[Action]] = {
    Status.NEW: [],
    Status.ASSIGNED: [Action.ASSIGN],
    Status.IN_PROGRESS: [Action.ASSIGN, Action.START],
    Status.PENDING: [Action.ASSIGN, Action.START, Action.PEND],
    Status.RESOLVED: [Action.ASSIGN, Action.START, Action.RESOLVE],
    Status.CLOSED: [Action.ASSIGN, Action.START, Action.RESOLVE, Action.CLOSE],
    Status.CANCELED: [Action.CANCEL],
}


def request(action: Action) -> Any:
    return lifecycle.TRANSITIONS[action].request(actor="sam", **BODIES[action])


def incident_in(status: Status) -> IncidentState:
    state = new_incident(now=NOW, impact=2, urgency=2)
    for step, action in enumerate(PATHS[status]):
        lifecycle.apply(state, action, request(action), NOW + timedelta(minutes=step))
    assert state.status == status
    return state


@pytest.mark.parametrize("status", list(Status))
@pytest.mark.parametrize("action", list(Action))
def test_every_state_and_action(status: Status, action: Action) -> None:
    state = incident_in(status)
    # only major incidents are reviewed, undeclared and given status updates
    state.major = action in (Action.REVIEW, Action.UNDECLARE_MAJOR, Action.STATUS_UPDATE)
    if action in (Action.COMPLETE_STEP, Action.SKIP_STEP):
        playbooks.attach(state, snapshot_of(TRIAGE, "triage"), NOW)
    entries = len(state.timeline)
    expected = EXPECTED[status].get(action)
    if expected is None:
        with pytest.raises(ApplicationError) as rejected:
            lifecycle.apply(state, action, request(action), NOW + timedelta(hours=1))
        assert rejected.value.type == lifecycle.INVALID_TRANSITION
        assert rejected.value.details[0]["state"] == status.value
        assert rejected.value.details[0]["allowed_actions"] == [a.value for a in EXPECTED[status]]
        assert state.status == status and len(state.timeline) == entries
    else:
        entry = lifecycle.apply(state, action, request(action), NOW + timedelta(hours=1))
        assert state.status == expected
        assert (entry.kind, entry.from_status, entry.to_status) == (action.value, status, expected)
        assert state.timeline[entries] == entry


def test_allowed_actions_come_from_the_one_table() -> None:
    for status, allowed in EXPECTED.items():
        assert lifecycle.allowed_actions(status) == list(allowed)


@pytest.mark.parametrize(
    ("impact", "urgency", "priority"),
    [(1, 1, "P1"), (1, 2, "P2"), (1, 3, "P3"), (2, 1, "P2"), (2, 2, "P3"), (2, 3, "P4"),
     (3, 1, "P3"), (3, 2, "P4"), (3, 3, "P5")],
)  # fmt: skip
def test_default_priority_matrix(impact: int, urgency: int, priority: str) -> None:
    assert new_incident(now=NOW, impact=impact, urgency=urgency).priority == Priority(priority)


def test_priority_change_needs_a_reason_and_is_recomputed() -> None:
    state = incident_in(Status.IN_PROGRESS)
    with pytest.raises(ApplicationError) as rejected:
        lifecycle.apply(
            state, Action.UPDATE, lifecycle.TRANSITIONS[Action.UPDATE].request(impact=1), NOW
        )
    assert rejected.value.details[0]["field"] == "reason"
    update = lifecycle.TRANSITIONS[Action.UPDATE].request(impact=1, reason="Whole floor affected")
    entry = lifecycle.apply(state, Action.UPDATE, update, NOW)
    assert state.priority == Priority.P2
    assert (
        entry.details["priority"] == ["P3", "P2"]
        and entry.details["reason"] == "Whole floor affected"
    )


def test_start_needs_an_assignee_and_known_error_needs_its_id() -> None:
    state = new_incident(now=NOW)
    lifecycle.apply(
        state, Action.ASSIGN, lifecycle.TRANSITIONS[Action.ASSIGN].request(group="desk"), NOW
    )
    with pytest.raises(ApplicationError) as no_assignee:
        lifecycle.check(state, Action.START, lifecycle.TRANSITIONS[Action.START].request())
    assert no_assignee.value.details[0]["field"] == "assignee"
    body = {"resolution_code": "known_error", "resolution_notes": "KE"}
    with pytest.raises(ApplicationError) as no_id:
        lifecycle.check(
            state, Action.RESOLVE, lifecycle.TRANSITIONS[Action.RESOLVE].request(**body)
        )
    assert no_id.value.details[0]["field"] == "known_error_id"


def test_routing_rule_assigns_at_creation() -> None:
    policy = parse_policy('[routing]\nrules = [{ category = "network", group = "network-l1" }]')
    state = new_incident(policy=policy, now=NOW, category="network")
    assert (state.status, state.assignment_group) == (Status.ASSIGNED, "network-l1")
    assert new_incident(policy=policy, now=NOW, category="email").status == Status.NEW


def test_caller_comment_resumes_awaiting_caller() -> None:
    state = incident_in(Status.PENDING)
    comment = lifecycle.TRANSITIONS[Action.COMMENT].request(
        actor="alice", text="It's the 3rd floor one", visibility="public"
    )
    entry = lifecycle.apply(state, Action.COMMENT, comment, NOW + timedelta(hours=2))
    assert state.status == Status.IN_PROGRESS and entry.details["resumed"] is True
    assert (entry.kind, entry.from_status, entry.to_status) == (
        "comment",
        Status.PENDING,
        Status.IN_PROGRESS,
    )
    assert state.pending_reason is None and state.resolution_sla.running_since is not None
    assert [e.kind for e in state.timeline].count("resume") == 0


def test_auto_close_is_the_close_row_with_close_code_auto() -> None:
    state = incident_in(Status.RESOLVED)
    later = NOW + timedelta(days=9)
    entry = lifecycle.close_automatically(state, later)
    assert (entry.kind, entry.actor, entry.from_status, entry.to_status) == (
        "close",
        "system",
        Status.RESOLVED,
        Status.CLOSED,
    )
    assert entry.details == {"close_code": "auto"}
    assert (state.close_code, state.closed_at, state.resolution_sla.stopped_at) == (
        "auto",
        later,
        later,
    )
    with pytest.raises(ApplicationError):
        lifecycle.close_automatically(state, later)  # the row's sources: only from resolved


def test_every_row_describes_itself_for_the_temporal_ui() -> None:
    assign = lifecycle.TRANSITIONS[Action.ASSIGN].describe()
    assert "From new, assigned, in_progress, pending to assigned" in assign
    assert assign.endswith("Body: group, assignee?")
    assert "the status stays" in lifecycle.TRANSITIONS[Action.COMMENT].describe()


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        (
            "[sla.P1]\nresponse = '15x'\nresolution = '4h'",
            "sla.P1.response: invalid duration '15x'",
        ),
        (
            "[sla.P2]\nresponse = '1m'\nresolution = '4h'\ncalendar = 'office'",
            "unknown calendar 'office'",
        ),
        ("[calendars.business]\ntimezone = 'Mars/Olympus'", "unknown timezone 'Mars/Olympus'"),
        ("[priority]\nmatrix = [['P1','P2','P3']]", "3 rows"),
        ("[sla.P1]\nresponse = '15m'\nresolution = '4h'\nwarn_at = [1.5]", "sla.P1.warn_at.0"),
        ("[closure]\nauto_close = '5d'", "closure.auto_close: Extra inputs are not permitted"),
        ("not toml = = =", "not valid TOML"),
    ],
)
def test_policy_errors_name_the_key(toml: str, message: str) -> None:
    with pytest.raises(PolicyError) as error:
        parse_policy(toml, source="custom.toml")
    assert str(error.value).startswith("custom.toml: ")
    assert message in str(error.value)


def test_shipped_policy_is_the_contract_default() -> None:
    from core.settings import DEFAULT_POLICY_FILE

    shipped = parse_policy(DEFAULT_POLICY_FILE.read_text())
    assert shipped.sla == Policy().sla
    assert shipped.priority == Policy().priority
    assert shipped.routing == Policy().routing
    assert shipped.seconds(shipped.closure.auto_close_after, "business") == 5 * 8 * 3600


def test_a_major_incident_closes_only_after_its_review() -> None:
    state = incident_in(Status.RESOLVED)
    state.major = True
    with pytest.raises(ApplicationError) as rejected:
        lifecycle.check(state, Action.CLOSE, request(Action.CLOSE))
    assert rejected.value.type == lifecycle.INVALID_TRANSITION  # a 409, not bad input
    assert rejected.value.details[0]["missing"] == ["review"]
    assert rejected.value.details[0]["state"] == "resolved"
    lifecycle.apply(state, Action.REVIEW, request(Action.REVIEW), NOW)
    lifecycle.apply(state, Action.CLOSE, request(Action.CLOSE), NOW)
    assert state.status == Status.CLOSED and state.review is not None
    assert state.review.actions[0].owner == "sam"


def test_only_major_incidents_are_reviewed() -> None:
    with pytest.raises(ApplicationError) as rejected:
        lifecycle.check(incident_in(Status.RESOLVED), Action.REVIEW, request(Action.REVIEW))
    assert rejected.value.details[0]["missing"] == ["major"]
