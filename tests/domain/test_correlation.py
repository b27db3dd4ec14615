"""What an incident does with the record store's correlation answer: the suggestion entry the
service desk group hears of, or the parent incident it opens and the links that parent asks of
its children. Pure: no server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain import correlation, names
from domain.correlation_policy import CorrelationPolicy
from domain.effects import RunActivity, SendSignal, StartIncident, effects_for
from domain.models import IncidentState
from domain.notifications import recipients_for
from domain.policy import Policy
from tests.support.factories import new_incident

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def on_ci(policy: Policy | None = None, **fields: object) -> IncidentState:
    return new_incident(policy, NOW, ci="office-internet", service="office-network", **fields)


def test_an_incident_on_a_ci_asks_for_correlation_after_create() -> None:
    state = on_ci()
    asked = [e for e in effects_for(state, state.timeline[0], 0) if isinstance(e, RunActivity)]
    requests = [e.arg for e in asked if e.activity == names.CORRELATE_INCIDENTS]
    assert len(requests) == 1
    assert isinstance(requests[0], correlation.CorrelationRequest)
    assert (requests[0].keys, requests[0].threshold) == (["ci:office-internet"], 3)
    both = Policy(correlation=CorrelationPolicy(by=("service", "ci"), window="90s"))
    request = correlation.request_for(on_ci(both))
    assert request is not None and request.keys == ["service:office-network", "ci:office-internet"]
    assert request.window_seconds == 90
    assert correlation.request_for(new_incident(now=NOW)) is None  # no CI
    off = Policy(correlation=CorrelationPolicy(threshold=0))
    assert correlation.request_for(on_ci(off)) is None


def test_a_suggestion_names_the_others_and_tells_the_service_desk() -> None:
    state = on_ci()
    outcome = correlation.CorrelationOutcome(
        kind="suggested",
        key="ci:office-internet",
        members=["INC0000001", "INC0000002"],
        window_end=NOW + timedelta(hours=1),
    )
    correlation.apply_outcome(state, outcome, NOW)
    entry = state.timeline[-1]
    assert entry.kind == "correlation_suggested"
    assert entry.details["members"] == ["INC0000001", "INC0000002"]
    assert recipients_for(state, entry) == [("group", "service-desk")]
    told = Policy(correlation=CorrelationPolicy(notify="desk"))
    other = on_ci(told)
    correlation.apply_outcome(other, outcome, NOW)
    assert recipients_for(other, other.timeline[-1]) == [("group", "desk")]
    before = len(state.timeline)
    correlation.apply_outcome(state, correlation.CorrelationOutcome(), NOW)
    assert len(state.timeline) == before  # below the threshold: nothing


def test_open_parent_starts_one_parent_that_links_its_children() -> None:
    state = on_ci(short_description="Internet down")
    outcome = correlation.CorrelationOutcome(
        kind="open_parent",
        key="ci:office-internet",
        members=["INC0000001", "INC0000002"],
        parent="INC0000009",
        link=["INC0000001", "INC0000002", state.number],
    )
    correlation.apply_outcome(state, outcome, NOW)
    seq = len(state.timeline) - 1
    effects = effects_for(state, state.timeline[-1], seq)
    starts = [e for e in effects if isinstance(e, StartIncident)]
    assert len(starts) == 1
    parent = starts[0].state
    assert (parent.number, parent.ci, parent.opened_by) == (
        "INC0000009",
        "office-internet",
        "correlation",
    )
    links = [e for e in effects_for(parent, parent.timeline[0], 0) if isinstance(e, SendSignal)]
    assert [(s.workflow_id, s.signal) for s in links] == [
        (names.incident_workflow_id(child), "link_parent")
        for child in ["INC0000001", "INC0000002", state.number]
    ]
    assert correlation.request_for(parent) is None  # the parent is no member of its key


def test_joining_a_parent_links_the_incident_itself() -> None:
    state = on_ci()
    joined = correlation.CorrelationOutcome(kind="joined", key="ci:x", parent="INC0000009")
    correlation.apply_outcome(state, joined, NOW)
    assert state.parent == "INC0000009" and state.timeline[-1].kind == "link_parent"
    effects = effects_for(state, state.timeline[-1], len(state.timeline) - 1)
    assert any(isinstance(e, SendSignal) and e.signal == names.CHILD_LINKED_SIGNAL for e in effects)
