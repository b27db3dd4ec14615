"""How an incident shows to operators: UI summary, search attributes, details, counters."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from temporalio.common import SearchAttributeKey

from domain import lifecycle, search_attributes, sla
from domain.incident_models import FINISHED, Playbook, StepState
from domain.models import IncidentFields, IncidentState, TimelineEntry

# Business counters, counted in workflow code through the replay-safe `workflow.metric_meter()`
# and exported by the worker runtime's Prometheus exporter (core/metrics.py).
INCIDENTS_CREATED = "incidentflow_incidents_created"
SLA_BREACHES = "incidentflow_sla_breaches"
ESCALATIONS = "incidentflow_escalations"
COUNTERS = {
    INCIDENTS_CREATED: "incidents opened (attribute: priority)",
    SLA_BREACHES: "SLA clocks breached (attributes: clock, priority)",
    ESCALATIONS: "escalations (attributes: kind functional|hierarchical, priority)",
}
COUNTED_KINDS = {
    "created": INCIDENTS_CREATED,
    "sla_breach": SLA_BREACHES,
    "escalated": ESCALATIONS,
    "escalate": ESCALATIONS,
}


def counter_attributes(state: IncidentState, entry: TimelineEntry) -> dict[str, str]:
    attributes = {"priority": state.priority.value}
    for key in ("clock", "kind"):
        if isinstance(entry.details.get(key), str):
            attributes[key] = entry.details[key]
    return attributes


# What the Temporal UI shows is rendered as markdown: people's text reaches it as plain text,
# without markup, HTML, control characters or bidirectional overrides (which can make a
# summary read backwards, or as something else than it is).
_INVISIBLE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")
_TAG = re.compile(r"</?[A-Za-z!?][^>]*>?")
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MARKUP = re.compile(r"[*`~|\[\]\\]|^[#>]+|(?<=\s)#+")


def plain(text: str | None) -> str:
    if not text:
        return ""
    text = _INVISIBLE.sub(" ", text)
    text = _LINK.sub(r"\1", text)
    text = _TAG.sub(" ", text)
    text = _MARKUP.sub("", text)
    return " ".join(text.split())


def summary(incident: IncidentFields) -> str:
    return f"{incident.number} {incident.priority} - {plain(incident.short_description)}"


def search_attributes_of(state: IncidentState) -> dict[SearchAttributeKey[Any], Any]:
    return {
        search_attributes.INCIDENT_NUMBER: state.number,
        search_attributes.INCIDENT_STATUS: state.status.value,
        search_attributes.INCIDENT_PRIORITY: state.priority.value,
        search_attributes.INCIDENT_GROUP: state.assignment_group,
        search_attributes.INCIDENT_ASSIGNEE: state.assignee,
        search_attributes.INCIDENT_CATEGORY: state.category,
        search_attributes.INCIDENT_CALLER: state.caller,
        search_attributes.INCIDENT_MAJOR: state.major,
        search_attributes.INCIDENT_BREACHED: state.breached,
    }


def current_details(state: IncidentState, now: datetime) -> str:
    """Markdown for the UI. The static summary is fixed at start, so the current line leads."""
    lines = [
        f"**{summary(state)}**",
        "",
        f"- status: `{state.status}`"
        + (f" ({state.pending_reason})" if state.pending_reason else ""),
        f"- group: {plain(state.assignment_group) or '-'},"
        f" assignee: {plain(state.assignee) or '-'},"
        f" level {state.support_level}" + (", **major**" if state.major else ""),
    ]
    for clock in lifecycle.clocks(state):
        shown = sla.status(clock, lifecycle.calendar_of(state, clock), now)
        due = f", due {shown.due_at:%Y-%m-%d %H:%M:%S}Z" if shown.due_at else ""
        lines.append(f"- {clock.name} SLA: {shown.state}{due} ({clock.calendar})")
    if state.playbook is not None:
        lines.append(_playbook_line(state.playbook))
    return "\n".join(lines)


def _playbook_line(playbook: Playbook) -> str:
    """`- playbook phishing (3f2a...): 2/6 done; ready: reset-credentials; failed: ...`"""
    done = sum(step.state in FINISHED for step in playbook.steps)
    line = f"- playbook {plain(playbook.model)} ({playbook.version}):"
    line += f" {done}/{len(playbook.steps)} done"
    for state in (StepState.READY, StepState.RUNNING, StepState.FAILED):
        ids = [step.id for step in playbook.steps if step.state == state]
        if ids:
            line += f"; {state}: {', '.join(ids)}"
    return line
