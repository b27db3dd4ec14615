"""The incident an alert opens: what `POST /alerts` gives it, and what an integration adds (its
description, category, CI, assignment group, and where it came from)."""

from __future__ import annotations

from datetime import datetime

from domain import lifecycle
from domain.models import Action, AssignRequest, Channel, IncidentCreate, IncidentState
from domain.policy import Policy
from domain.relations import AlertEvent


def create_for(event: AlertEvent, policy: Policy) -> IncidentCreate:
    impact, urgency = policy.alerts.severity[event.severity]
    origin = event.origin
    described = origin.description if origin is not None and origin.description else None
    return IncidentCreate(
        short_description=event.summary[:160],
        description=described or f"{event.summary}\n\nAlert {event.dedup_key} from {event.source}",
        impact=impact,
        urgency=urgency,
        category=origin.category[:128] if origin is not None and origin.category else None,
        service=event.service,
        channel=Channel.MONITORING,
    )


def enrich(state: IncidentState, event: AlertEvent, now: datetime) -> None:
    """An integration's incident: its source in the `created` entry, then its group."""
    origin = event.origin
    if origin is None:
        return
    created = next(entry for entry in state.timeline if entry.kind == "created")
    created.details["alert"] = origin.source_details() | {"dedup_key": event.dedup_key}
    if origin.ci:
        created.details["alert"]["ci"] = origin.ci
    if origin.group and state.assignment_group is None:
        request = AssignRequest(actor=event.source[:128], group=origin.group[:128])
        lifecycle.apply(state, Action.ASSIGN, request, now)
