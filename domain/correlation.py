"""Correlation (contract 15): an incident opened on a configuration item or service that already
has `[correlation].threshold` open incidents within the window is probably one outage.

The decision needs every incident of the key, so it is the record store's (an activity,
`correlate_incidents`, one serialised transaction per decision: one suggestion per key and
window however many incidents open at once). What the incident does with the answer is
decided here: a `correlation_suggested` entry naming the others (the service desk group is
told), or, by policy, a parent incident opened from this one that links them all.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel
from temporalio.exceptions import ApplicationError

from domain import lifecycle
from domain.models import (
    Action,
    IncidentCreate,
    IncidentState,
    LinkParentRequest,
    TimelineEntry,
)

ACTOR = "correlation"
SUGGESTED = "correlation_suggested"
PARENT_OPENED = "correlation_parent_opened"
KINDS = frozenset({SUGGESTED, PARENT_OPENED})


class CorrelationRequest(BaseModel):
    number: str
    opened_at: datetime
    keys: list[str]  # "ci:<id>", "service:<name>", in the policy's order
    threshold: int
    window_seconds: float
    action: Literal["suggest", "open_parent"]


class CorrelationOutcome(BaseModel):
    """`none`: below the threshold, or the key's window already had its suggestion.
    `suggested` / `open_parent`: this incident tipped the key over (once per window);
    `joined`: a parent was opened for the key's window already, this incident joins it."""

    kind: Literal["none", "suggested", "open_parent", "joined"] = "none"
    key: str | None = None
    members: list[str] = []  # the other open incidents of the window, oldest first
    parent: str | None = None  # open_parent, joined: its number
    link: list[str] = []  # open_parent: the incidents the parent links (no parent before)
    window_end: datetime | None = None


def keys_of(state: IncidentState) -> list[str]:
    values = {"ci": state.ci, "service": state.service}
    return [f"{by}:{values[by]}" for by in state.policy.correlation.by if values[by]]


def request_for(state: IncidentState) -> CorrelationRequest | None:
    policy = state.policy.correlation
    keys = keys_of(state)
    if policy.threshold == 0 or not keys or state.opened_by == ACTOR:  # a parent it opened
        return None
    return CorrelationRequest(
        number=state.number,
        opened_at=state.created_at,
        keys=keys,
        threshold=policy.threshold,
        window_seconds=policy.window_seconds(),
        action=policy.action,
    )


def desk_group(state: IncidentState) -> str | None:
    return state.policy.correlation.notify or state.policy.routing.levels.get("L1")


def apply_outcome(state: IncidentState, outcome: CorrelationOutcome, now: datetime) -> None:
    """Record what the record store decided for this incident."""
    if outcome.kind == "none" or outcome.key is None:
        return
    details: dict[str, Any] = {
        "key": outcome.key,
        "members": outcome.members,
        "window_end": outcome.window_end.isoformat() if outcome.window_end else None,
        "notify": desk_group(state),
    }
    if outcome.kind == "suggested":
        lifecycle.record(state, now, ACTOR, SUGGESTED, details=details)
    elif outcome.kind == "open_parent" and outcome.parent:
        details |= {"parent": outcome.parent, "link": outcome.link}
        lifecycle.record(state, now, ACTOR, PARENT_OPENED, details=details)
    elif outcome.kind == "joined" and outcome.parent and state.status in lifecycle.OPEN:
        try:
            lifecycle.apply(
                state, Action.LINK_PARENT, link_request(outcome.parent, state.number), now
            )
        except ApplicationError:
            return  # refused (its own child, say): it stays as it is


def parent_incident(state: IncidentState, entry: TimelineEntry) -> IncidentState:
    """The parent a `correlation_parent_opened` entry calls for, the same on every replay."""
    details = entry.details
    children = [*details["link"]]
    others = ", ".join(details["members"])
    label = str(details["key"]).split(":", 1)[1]
    create = IncidentCreate(
        short_description=f"Several incidents on {label}: {state.short_description}"[:160],
        description=(
            f"Opened by correlation: {len(details['members']) + 1} open incidents on "
            f"{details['key']} within the window ({others}, {state.number})."
        ),
        impact=state.impact,
        urgency=state.urgency,
        category=state.category,
        subcategory=state.subcategory,
        service=state.service,
        ci=state.ci,
    )
    parent = lifecycle.open_incident(
        details["parent"], create, ACTOR, ACTOR, state.policy, entry.at
    )
    parent.timeline[0].details["correlated"] = {"key": details["key"], "children": children}
    return parent


def children_to_link(entry: TimelineEntry) -> list[str]:
    """A parent opened by correlation links its children (a `created` entry says which)."""
    if entry.kind != "created":
        return []
    correlated = entry.details.get("correlated")
    if not isinstance(correlated, dict):
        return []
    return [str(child) for child in correlated.get("children", [])]


def link_request(parent: str, child: str) -> LinkParentRequest:
    return LinkParentRequest(parent=parent, actor=ACTOR, request_id=_link_id(parent, child))


def _link_id(parent: str, child: str) -> str:
    return f"correlation/{parent}/{child}"


def window_end(opened_at: datetime, window_seconds: float) -> datetime:
    return opened_at + timedelta(seconds=window_seconds)
