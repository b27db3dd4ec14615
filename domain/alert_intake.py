"""The incident an alert opens: what `POST /alerts` gives it, and what an integration adds (its
description, category, CI, assignment group, and where it came from)."""

from __future__ import annotations

from datetime import datetime

from domain import lifecycle
from domain.models import Action, AssignRequest, Channel, IncidentCreate, IncidentState
from domain.policy import Policy
from domain.relations import AlertEvent


def create_for(event: AlertEvent, policy: Policy) -> IncidentCreate:
    # Cut to the incident's field sizes here: a ValidationError inside the router workflow
    # would fail its task over and over, and the alert's caller would wait for ever.
    impact, urgency = policy.alerts.severity[event.severity]
    origin = event.origin
    described = origin.description if origin is not None and origin.description else None
    return IncidentCreate(
        short_description=event.summary[:160],
        description=(
            described or f"{event.summary}\n\nAlert {event.dedup_key} from {event.source}"
        )[:32_000],
        impact=impact,
        urgency=urgency,
        category=_name(origin.category if origin is not None else None),
        subcategory=_name(origin.subcategory if origin is not None else None),
        service=_name(event.service),
        channel=Channel.MONITORING,
    )


def _name(value: str | None) -> str | None:
    return (value or "").strip()[:128].strip() or None


def enrich(state: IncidentState, event: AlertEvent, now: datetime) -> None:
    """An integration's incident: its source in the `created` entry, then its group."""
    origin = event.origin
    if origin is None:
        return
    created = next(entry for entry in state.timeline if entry.kind == "created")
    created.details["alert"] = origin.source_details() | {"dedup_key": event.dedup_key}
    if origin.ci:
        created.details["alert"]["ci"] = origin.ci
    group = _name(origin.group)
    if group and state.assignment_group is None:
        request = AssignRequest(actor=_name(event.source) or "monitoring", group=group)
        lifecycle.apply(state, Action.ASSIGN, request, now)
