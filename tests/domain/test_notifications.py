"""Who hears what: the pure notification rules, on incidents built with the real domain."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from domain import lifecycle, timers
from domain.models import Action, IncidentState, TimelineEntry
from domain.notifications import deliveries_for, recipients_for
from domain.policy import ContactsPolicy, NotificationPolicy, Policy
from tests.support.factories import new_incident

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # a Monday, inside business hours
POLICY = Policy(
    contacts=ContactsPolicy(
        incident_manager="irene", problem_manager="pat", stakeholders=("cio", "comms")
    ),
    notifications=NotificationPolicy(
        email_domain="corp.example",
        addresses={"service-desk": "desk@corp.example", "comms": "comms-team@corp.example"},
        routes={
            "caller": ("mail",),
            "assignee": ("mail", "chat"),
            "group": ("chat",),
            "incident_manager": ("mail", "pager"),
            "stakeholders": ("mail",),
            # problem_manager: no route, so nobody is told through any channel
        },
    ),
)


def opened(**fields: Any) -> IncidentState:
    return new_incident(POLICY, NOW, caller="alice", **fields)


def act(state: IncidentState, action: Action, actor: str = "sam", **body: Any) -> TimelineEntry:
    request = lifecycle.TRANSITIONS[action].request(actor=actor, **body)
    return lifecycle.apply(state, action, request, NOW)


def told(state: IncidentState, entry: TimelineEntry | None = None) -> list[tuple[str, str]]:
    return recipients_for(state, entry or state.timeline[-1])


def working(**fields: Any) -> IncidentState:
    state = opened(**fields)
    act(state, Action.ASSIGN, group="service-desk", assignee="sam")
    act(state, Action.START)
    return state


# --- the caller ----------------------------------------------------------------------------


def test_the_caller_hears_that_the_incident_was_opened() -> None:
    state = opened()
    assert [entry.kind for entry in state.timeline] == ["created"]
    assert told(state) == [("caller", "alice")]


def test_the_caller_hears_every_status_change() -> None:
    state = opened()
    assert told(state, act(state, Action.ASSIGN, group="service-desk", assignee="sam")) == [
        ("caller", "alice"),
        ("assignee", "sam"),
        ("group", "service-desk"),
    ]
    steps: list[tuple[Action, dict[str, Any]]] = [
        (Action.START, {}),
        (Action.PEND, {"reason": "awaiting_caller", "note": "Which office are you in?"}),
        (Action.RESUME, {}),
        (Action.RESOLVE, {"resolution_code": "fixed", "resolution_notes": "Reset the port"}),
        (Action.REOPEN, {"reason": "Still down"}),
        (Action.RESOLVE, {"resolution_code": "fixed", "resolution_notes": "New cable"}),
        (Action.CLOSE, {}),
    ]
    for action, body in steps:
        entry = act(state, action, **body)
        assert told(state, entry) == [("caller", "alice")], action


def test_the_caller_hears_a_cancel_and_an_auto_close() -> None:
    canceled = opened()
    assert told(canceled, act(canceled, Action.CANCEL, reason="Duplicate of a call")) == [
        ("caller", "alice")
    ]

    state = working()
    act(state, Action.RESOLVE, resolution_code="fixed", resolution_notes="Reset")
    fired = timers.fire_due(state, NOW + timedelta(days=30))
    assert [event.kind for event in fired] == [timers.AUTO_CLOSE]
    close = next(entry for entry in state.timeline if entry.kind == "close")
    assert close.actor == "system" and close.details["close_code"] == "auto"
    assert told(state, close) == [("caller", "alice")]


def test_a_reassignment_without_a_status_change_skips_the_caller() -> None:
    state = working()
    act(state, Action.ASSIGN, group="service-desk", assignee="sam")
    entry = act(state, Action.ASSIGN, group="network-l1", assignee="nina")
    assert entry.from_status == entry.to_status == "assigned"
    assert told(state, entry) == [("assignee", "nina"), ("group", "network-l1")]


def test_public_comments_by_others_reach_the_caller_and_work_notes_never_do() -> None:
    state = working()
    public = act(state, Action.COMMENT, text="We are on it", visibility="public")
    assert told(state, public) == [("caller", "alice")]
    note = act(state, Action.COMMENT, text="Looks like the switch", visibility="work_note")
    assert told(state, note) == []
    own = act(state, Action.COMMENT, actor="alice", text="Thanks", visibility="public")
    assert told(state, own) == [("assignee", "sam")]  # issue 15: the caller's words reach them


def test_a_caller_comment_on_an_unassigned_incident_reaches_the_group() -> None:
    state = opened(category="network")
    entry = act(state, Action.COMMENT, actor="alice", text="Any news?", visibility="public")
    assert told(state, entry) == [("group", "network-l1")]


def test_a_caller_comment_that_resumes_the_incident_is_a_status_change() -> None:
    state = working()
    act(state, Action.PEND, reason="awaiting_caller", note="Which office?")
    entry = act(state, Action.COMMENT, actor="alice", text="Office 3", visibility="public")
    assert entry.details["resumed"] is True and entry.to_status == "in_progress"
    assert told(state, entry) == [("caller", "alice"), ("assignee", "sam")]


# --- assignee and group --------------------------------------------------------------------


def test_a_functional_escalation_that_moves_the_group_tells_the_new_group() -> None:
    state = working()
    entry = act(state, Action.ESCALATE, kind="functional", reason="Needs platform")
    assert entry.details["group"] == "platform-l2" and state.assignee is None
    assert told(state, entry) == [("group", "platform-l2")]


def test_a_functional_escalation_within_the_same_group_tells_nobody() -> None:
    state = opened()
    act(state, Action.ASSIGN, group="platform-l2", assignee="sam")
    entry = act(state, Action.ESCALATE, kind="functional", reason="Needs L2")
    assert "group" not in entry.details
    assert told(state, entry) == []


def test_sla_warnings_tell_assignee_and_group() -> None:
    state = working(impact=1, urgency=2)  # P2: 8 h resolution, 24x7
    fired = timers.fire_due(state, NOW + timedelta(hours=4, minutes=1))
    assert [event.kind for event in fired] == [timers.WARNING]
    assert state.timeline[-1].kind == "sla_warning"
    assert told(state) == [("assignee", "sam"), ("group", "service-desk")]


def test_an_automatic_functional_escalation_tells_the_new_group() -> None:
    state = working(impact=1, urgency=2)
    timers.fire_due(state, NOW + timedelta(hours=6, minutes=1))  # 75%: L1 -> L2
    escalated = state.timeline[-1]
    assert escalated.kind == "escalated" and escalated.details["group"] == "platform-l2"
    assert told(state, escalated) == [("group", "platform-l2")]


# --- incident manager ----------------------------------------------------------------------


def test_a_breach_tells_assignee_group_and_incident_manager_once() -> None:
    state = working(impact=1, urgency=2)
    act(state, Action.ASSIGN, group="platform-l3", assignee="sam")  # no level group to move to
    state.support_level = "L3"
    timers.fire_due(state, NOW + timedelta(hours=8, minutes=1))
    breach = next(entry for entry in state.timeline if entry.kind == "sla_breach")
    assert told(state, breach) == [
        ("assignee", "sam"),
        ("group", "platform-l3"),
        ("incident_manager", "irene"),
    ]
    escalation = state.timeline[-1]
    assert escalation.kind == "escalated" and escalation.details["kind"] == "hierarchical"
    assert told(state, escalation) == []  # the breach message already told the manager


def test_a_hierarchical_escalation_tells_the_incident_manager() -> None:
    state = working()
    entry = act(state, Action.ESCALATE, kind="hierarchical", reason="Customer is a VIP")
    assert told(state, entry) == [("incident_manager", "irene")]


def test_p1_and_p2_tell_the_incident_manager_at_creation() -> None:
    p2 = opened(impact=1, urgency=2)
    created, escalated = p2.timeline
    assert told(p2, created) == [("caller", "alice"), ("incident_manager", "irene")]
    assert escalated.kind == "escalated" and told(p2, escalated) == []

    p3 = opened(impact=2, urgency=2)
    assert told(p3) == [("caller", "alice")]


def test_a_due_post_incident_review_reminds_the_incident_manager() -> None:
    state = working()
    entry = lifecycle.record(state, NOW, "system", "review_due", details={"notify": ["irene"]})
    assert told(state, entry) == [("incident_manager", "irene")]


def test_a_priority_raised_to_p2_tells_the_incident_manager() -> None:
    state = working()
    entry = act(state, Action.UPDATE, impact=1, urgency=2, reason="Whole floor affected")
    assert told(state, entry) == []
    escalation = state.timeline[-1]
    assert escalation.kind == "escalated" and escalation.actor == "system"
    assert told(state, escalation) == [("incident_manager", "irene")]


# --- stakeholders --------------------------------------------------------------------------


def test_stakeholders_hear_of_a_p1_at_creation() -> None:
    state = opened(impact=1, urgency=1)
    assert told(state, state.timeline[0]) == [
        ("caller", "alice"),
        ("incident_manager", "irene"),
        ("stakeholders", "cio"),
        ("stakeholders", "comms"),
    ]


def test_stakeholders_hear_of_a_declared_major_incident_and_its_updates() -> None:
    state = working()
    entry = act(state, Action.DECLARE_MAJOR, reason="Payroll is down")
    assert told(state, entry) == [("stakeholders", "cio"), ("stakeholders", "comms")]
    update = lifecycle.record(
        state, NOW, "system", "major_update", details={"status": "in_progress"}
    )
    assert told(state, update) == [("stakeholders", "cio"), ("stakeholders", "comms")]


def test_stakeholders_hear_when_an_update_makes_the_incident_major_only_once() -> None:
    state = working()
    entry = act(state, Action.UPDATE, impact=1, urgency=1, reason="Company-wide")
    assert state.major
    assert told(state, entry) == [("stakeholders", "cio"), ("stakeholders", "comms")]

    declared = working()
    act(declared, Action.DECLARE_MAJOR, reason="Board meeting at risk")
    again = act(declared, Action.UPDATE, impact=1, urgency=1, reason="Company-wide")
    assert told(declared, again) == []


# --- problem manager, silence, dedup -------------------------------------------------------


def test_the_problem_manager_hears_of_a_proposed_problem() -> None:
    state = working()
    entry = lifecycle.record(state, NOW, "system", "problem_proposed", details={"reason": "x"})
    assert told(state, entry) == [("problem_manager", "pat")]


def test_rejections_failed_notifications_and_plain_edits_tell_nobody() -> None:
    state = working()
    for kind in ("rejected", "notification_failed"):
        entry = lifecycle.record(state, NOW, "automation", kind, details={"action": "resolve"})
        assert told(state, entry) == [], kind
    assert told(state, act(state, Action.UPDATE, description="More detail")) == []
    assert told(state, act(state, Action.LINK_PARENT, parent="INC9999999")) == []


def test_a_person_in_two_roles_hears_once_in_the_first_role() -> None:
    state = opened()
    entry = act(state, Action.ASSIGN, group="service-desk", assignee="alice")
    assert told(state, entry) == [("caller", "alice"), ("group", "service-desk")]


# --- deliveries ----------------------------------------------------------------------------


def test_deliveries_follow_the_routes_with_keys_and_addresses() -> None:
    state = opened()
    entry = act(state, Action.ASSIGN, group="service-desk", assignee="sam")
    seq = len(state.timeline) - 1
    deliveries = deliveries_for(state, entry, seq)
    n = state.number
    assert [(d.role, d.channel, d.address) for d in deliveries] == [
        ("caller", "mail", "alice@corp.example"),
        ("assignee", "mail", "sam@corp.example"),
        ("assignee", "chat", "sam@corp.example"),
        ("group", "chat", "desk@corp.example"),
    ]
    assert [d.key for d in deliveries] == [
        f"{n}/1/mail/alice@corp.example",
        f"{n}/1/mail/sam@corp.example",
        f"{n}/1/chat/sam@corp.example",
        f"{n}/1/chat/desk@corp.example",
    ]
    assert {d.event for d in deliveries} == {"assign"}
    assert deliveries[3].recipient == "service-desk"


def test_a_role_without_a_route_gets_nothing() -> None:
    state = working()
    entry = lifecycle.record(state, NOW, "system", "problem_proposed")
    assert told(state, entry) == [("problem_manager", "pat")]
    assert deliveries_for(state, entry, len(state.timeline) - 1) == []


def test_two_names_with_one_address_get_one_delivery() -> None:
    policy = POLICY.model_copy(
        update={
            "notifications": POLICY.notifications.model_copy(
                update={
                    "addresses": {"sam": "desk@corp.example", "service-desk": "desk@corp.example"}
                }
            )
        }
    )
    state = new_incident(policy, NOW, caller="alice")
    entry = act(state, Action.ASSIGN, group="service-desk", assignee="sam")
    keys = [d.key for d in deliveries_for(state, entry, 1)]
    assert len(keys) == len(set(keys)) == 3  # alice by mail; desk by mail and by chat


def test_the_context_carries_what_the_templates_need() -> None:
    state = working()
    entry = act(state, Action.PEND, reason="awaiting_caller", note="Which office are you in?")
    (delivery,) = deliveries_for(state, entry, len(state.timeline) - 1)
    context = delivery.context
    assert context["number"] == state.number and context["short_description"] == "Mail is down"
    assert context["status"] == "pending" and context["pending_reason"] == "awaiting_caller"
    assert context["details"]["note"] == "Which office are you in?"
    assert context["assignee"] == "sam" and context["assignment_group"] == "service-desk"
    assert context["at"] == NOW.isoformat() and context["role"] == "caller"


def test_deliveries_are_the_same_after_a_round_trip_through_json() -> None:
    """What a replay or continue-as-new sees: the state deserialised from history."""
    state = opened(impact=1, urgency=1)
    act(state, Action.ASSIGN, group="service-desk", assignee="sam")
    copy = IncidentState.model_validate_json(state.model_dump_json())
    for seq, entry in enumerate(state.timeline):
        assert deliveries_for(copy, copy.timeline[seq], seq) == deliveries_for(state, entry, seq)
        assert recipients_for(copy, copy.timeline[seq]) == recipients_for(state, entry)


def test_the_caller_is_invited_to_the_survey_when_the_incident_closes() -> None:
    state = working()
    act(state, Action.RESOLVE, resolution_code="fixed", resolution_notes="done")
    act(state, Action.CLOSE, actor="alice")
    invitation = state.timeline[-1]
    assert invitation.kind == "survey_invited"
    assert told(state, invitation) == [("caller", "alice")]


def test_suggested_known_errors_and_vendor_news_reach_assignee_and_group() -> None:
    state = working()
    for kind in ("known_errors_suggested", "vendor_update"):
        entry = lifecycle.record(state, NOW, "system", kind, details={})
        assert told(state, entry) == [("assignee", "sam"), ("group", "service-desk")], kind


# --- affected callers and the desk's checks -----------------------------------------------------


def test_affected_callers_hear_the_public_news_of_the_incident_as_its_caller_does() -> None:
    state = working()
    added = act(state, Action.AFFECTED, caller="bob")
    assert told(state, added) == [("caller", "bob")]  # just bob: "you are on this incident"
    act(state, Action.AFFECTED, caller="carol")
    public = act(state, Action.COMMENT, text="Router replaced", visibility="public")
    assert told(state, public) == [("caller", "alice"), ("caller", "bob"), ("caller", "carol")]
    note = act(state, Action.COMMENT, text="Firmware bug?", visibility="work_note")
    assert ("caller", "bob") not in told(state, note) and ("caller", "carol") not in told(
        state, note
    )
    by_bob = act(state, Action.COMMENT, actor="bob", text="Still down here", visibility="public")
    assert ("caller", "bob") not in told(state, by_bob)
    act(state, Action.PEND, reason="awaiting_caller", note="Is it back?")
    reopened_by_alice = act(state, Action.RESUME, actor="alice")
    deliveries = deliveries_for(state, reopened_by_alice, len(state.timeline) - 1)
    to_bob = [d for d in deliveries if d.recipient == "bob"]
    assert to_bob and to_bob[0].context["caller"] == "bob"
    assert to_bob[0].context["actor"] == "the caller"  # never alice's name
    mailed = act(state, Action.COMMENT, actor="carol", text="Me too", visibility="public")
    to_alice = deliveries_for(state, mailed, len(state.timeline) - 1)
    assert [d.context["actor"] for d in to_alice if d.recipient == "alice"] == ["another caller"]


def test_a_return_tells_the_service_desk_group_and_repeated_ones_the_incident_manager() -> None:
    state = working()
    act(state, Action.ASSIGN, group="network-l1", assignee="sam")
    returned = act(state, Action.RETURN, reason="Not the network")
    assert ("group", "service-desk") in told(state, returned)
    act(state, Action.ASSIGN, group="dba-l1")
    act(state, Action.RETURN, reason="Not the database")
    assert state.timeline[-1].kind == "escalated"
    assert ("incident_manager", "irene") in told(state)
