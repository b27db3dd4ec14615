"""Events between incidents and from monitoring: parent/child cascades and alert repeats.

These arrive as signals from other workflows (a parent, the alert router), never from users,
so they are not rows of the transition table; each one that changes the lifecycle goes
through `lifecycle.apply` all the same, so the table still decides what may happen.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from domain import lifecycle, names
from domain.alert_origin import AlertOrigin
from domain.incident_models import ModelSnapshot
from domain.models import (
    Action,
    AlertInfo,
    AssignRequest,
    IncidentState,
    PendingReason,
    ReopenRequest,
    ResolutionCode,
    ResolveRequest,
    ResumeRequest,
    StartRequest,
    Status,
)
from domain.vendors import VendorUpdate

# Timeline kinds of the events (the signals that bring them are named in `domain.names`).
CHILD_LINKED = "child_linked"
DUPLICATE_LINKED = "duplicate_linked"
ALERT_REPEATED = "alert_repeated"
ALERT_ACKNOWLEDGED = "alert_acknowledged"
ALERT_RESOLVED = "alert_resolved"
VENDOR_UPDATED = "vendor_update"


class ChildLinked(BaseModel):
    child: str


class ParentResolved(BaseModel):
    parent: str
    group: str | None  # the parent's group: an unassigned child is handed to it first
    resolution_code: ResolutionCode
    resolution_notes: str
    request_id: str
    duplicate_of: str | None = None  # a parent resolved as a duplicate: its children are too


class DuplicateLinked(BaseModel):
    """An incident was resolved as a duplicate of this one: its caller is affected here too."""

    duplicate: str
    caller: str
    request_id: str


class ParentReopened(BaseModel):
    parent: str
    reason: str
    request_id: str


class AlertEvent(BaseModel):
    """One call of POST /alerts, as the alert router passes it on to the incident."""

    source: str
    dedup_key: str
    action: str  # trigger, acknowledge, resolve
    summary: str
    severity: str
    service: str | None = None
    details: dict[str, Any] = {}
    received_at: datetime
    origin: AlertOrigin | None = None  # integrations: tool, receiver, links, labels
    # The incident model a trigger's incident would open with, matched by the API (contract
    # 14); the router uses it only to open an incident and never passes it on.
    model: ModelSnapshot | None = None


def link_child(state: IncidentState, event: ChildLinked, now: datetime) -> None:
    if event.child in state.children:
        return
    state.children.append(event.child)
    lifecycle.record(state, now, event.child, CHILD_LINKED, details={"child": event.child})


def resolve_from_parent(state: IncidentState, event: ParentResolved, now: datetime) -> None:
    """The parent was resolved: an open child follows with the same resolution."""
    _hand_over_if_new(state, event.parent, event.group, now)
    if state.status not in lifecycle.TRANSITIONS[Action.RESOLVE].sources:
        return
    request = ResolveRequest(
        actor=event.parent,
        request_id=event.request_id,
        resolution_code=event.resolution_code,
        resolution_notes=event.resolution_notes,
        duplicate_of=event.duplicate_of if event.duplicate_of != state.number else None,
    )
    entry = lifecycle.apply(state, Action.RESOLVE, request, now)
    entry.details["by_parent"] = event.parent
    state.resolved_by_parent = True


def link_duplicate(state: IncidentState, event: DuplicateLinked, now: datetime) -> None:
    """The other side of `resolve` with `duplicate_of`: the link, and the duplicate's caller
    counted as affected, as the `affected` action does (its escalation and suggestion too)."""
    if event.duplicate not in state.duplicates and len(state.duplicates) < lifecycle.AFFECTED_KEPT:
        state.duplicates.append(event.duplicate)
    details: dict[str, Any] = {"duplicate": event.duplicate, "caller": event.caller}
    lifecycle.record(state, now, event.duplicate, DUPLICATE_LINKED, details=details)
    if lifecycle.add_affected(state, event.caller):
        counted = details | {"affected_count": state.affected_count}
        lifecycle.record(state, now, event.duplicate, Action.AFFECTED.value, details=counted)
        lifecycle.repeat_calls_follow_up(state, now)


def _hand_over_if_new(state: IncidentState, actor: str, group: str | None, now: datetime) -> None:
    """Only an assigned incident can be resolved: a new one goes to `group` (or level L1) first."""
    if state.status == Status.NEW:
        group = group or state.policy.routing.levels.get("L1", "service-desk")
        lifecycle.apply(state, Action.ASSIGN, AssignRequest(actor=actor, group=group), now)


def reopen_from_parent(state: IncidentState, event: ParentReopened, now: datetime) -> None:
    """The parent was reopened: children it resolved are reopened; ones resolved by hand stay."""
    if state.status != Status.RESOLVED or not state.resolved_by_parent:
        return
    request = ReopenRequest(actor=event.parent, request_id=event.request_id, reason=event.reason)
    entry = lifecycle.apply(state, Action.REOPEN, request, now)
    entry.details["by_parent"] = event.parent


def vendor_updated(state: IncidentState, update: VendorUpdate, now: datetime) -> None:
    """A vendor's news lands in the timeline; `resolved` resumes an incident awaiting it."""
    ticket = next(
        (
            t
            for t in state.vendor_tickets
            if t.vendor == update.vendor and t.ticket_id == update.ticket_id
        ),
        None,
    )
    if ticket is None:
        details = {
            "action": names.VENDOR_UPDATE_SIGNAL,
            "error": "unknown vendor ticket",
        } | update.model_dump()
        lifecycle.record(state, now, update.vendor, "rejected", details=details)
        return
    ticket.status, ticket.last_comment, ticket.updated_at = update.status, update.comment, now
    lifecycle.record(
        state,
        now,
        update.vendor,
        VENDOR_UPDATED,
        details=update.model_dump(exclude_none=True),
    )
    if update.resolved and state.pending_reason == PendingReason.AWAITING_VENDOR:
        note = f"{update.vendor} resolved ticket {update.ticket_id}"
        lifecycle.apply(state, Action.RESUME, ResumeRequest(actor=update.vendor, note=note), now)


def alert_info(event: AlertEvent) -> AlertInfo:
    return AlertInfo(
        source=event.source,
        dedup_key=event.dedup_key,
        severity=event.severity,
        first_seen=event.received_at,
        last_seen=event.received_at,
        origin=event.origin,
    )


def alert_repeated(state: IncidentState, event: AlertEvent, now: datetime) -> None:
    if state.alert is None:
        return
    state.alert.occurrences += 1
    state.alert.last_seen = event.received_at
    details = {
        "occurrences": state.alert.occurrences,
        "summary": event.summary,
        "details": event.details,
    }
    lifecycle.record(state, now, event.source, ALERT_REPEATED, details=details)


def alert_acknowledged(state: IncidentState, event: AlertEvent, now: datetime) -> None:
    """Acknowledging an alert starts work on its incident when someone is assigned."""
    if state.status == Status.ASSIGNED and state.assignee:
        lifecycle.apply(state, Action.START, StartRequest(actor=event.source), now)
        return
    lifecycle.record(
        state, now, event.source, ALERT_ACKNOWLEDGED, details={"status": state.status.value}
    )


def alert_cleared(state: IncidentState, event: AlertEvent, now: datetime) -> None:
    """The monitored condition cleared: resolve as auto_resolved when the policy allows."""
    if state.policy.alerts.auto_resolve and state.status in lifecycle.OPEN:
        _hand_over_if_new(state, event.source, None, now)
        notes = f"Alert {event.dedup_key} from {event.source} cleared: {event.summary}"
        request = ResolveRequest(
            actor=event.source, resolution_code=ResolutionCode.AUTO_RESOLVED, resolution_notes=notes
        )
        lifecycle.apply(state, Action.RESOLVE, request, now)
        return
    lifecycle.record(
        state, now, event.source, ALERT_RESOLVED, details={"status": state.status.value}
    )


ALERT_ACTIONS = {
    "trigger": alert_repeated,
    "acknowledge": alert_acknowledged,
    "resolve": alert_cleared,
}


def alert_received(state: IncidentState, event: AlertEvent, now: datetime) -> None:
    """The alert router passes on a repeat, an acknowledgement or a clear."""
    handle = ALERT_ACTIONS.get(event.action)
    if handle is None:
        raise lifecycle.invalid_request("action", f"use one of {', '.join(ALERT_ACTIONS)}")
    handle(state, event, now)
